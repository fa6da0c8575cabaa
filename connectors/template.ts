// Query templates: `{{subject}}`, `{{version}}` and `{{service}}` in any string of
// a saved query are filled from the event the query is run for.

/** Values a query template may use. */
export interface TemplateVars {
  subject?: string;
  version?: string;
  service?: string;
}

const PLACEHOLDER = /\{\{\s*(subject|version|service)\s*\}\}/g;

/** A copy of `query` with every placeholder in its strings replaced; unknown values become "". */
export function renderQuery<Q>(query: Q, vars: TemplateVars): Q {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(PLACEHOLDER, (_m, name: keyof TemplateVars) => vars[name] ?? '');
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(query) as Q;
}

/** Template values of a CloudEvent: subject, the `version` extension, and `service` from the extension or data. */
export function eventVars(event: {
  subject?: string;
  version?: unknown;
  service?: unknown;
  data?: unknown;
}): TemplateVars {
  const data = event.data && typeof event.data === 'object' ? (event.data as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { subject: event.subject, version: str(event.version), service: str(event.service) ?? str(data.service) };
}

/**
 * The series a rendered query stands for: the template values it actually uses,
 * e.g. "subject=production"; "" when it uses none (one series per metric).
 */
export function seriesKey(query: unknown, vars: TemplateVars): string {
  const used = new Set<keyof TemplateVars>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') for (const m of v.matchAll(PLACEHOLDER)) used.add(m[1] as keyof TemplateVars);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(query);
  return (['subject', 'version', 'service'] as const)
    .filter((name) => used.has(name))
    .map((name) => `${name}=${vars[name] ?? ''}`)
    .join(';');
}
