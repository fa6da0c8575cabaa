// The API reference as Markdown (docs/api.md): the same OpenAPI 3.1 document the /docs page
// renders, as text a repository shows. scripts/api-docs.ts writes it; a test keeps it current.

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const MAX_DEPTH = 8;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Text safe in Markdown prose and table cells (no HTML, no column breaks, one line). */
const text = (v: unknown) =>
  String(v ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('|', '\\|')
    .replace(/\s*\n\s*/g, ' ');

/** Inline code that survives backticks in the value. */
const code = (v: string) => (v.includes('`') ? `\`\` ${v} \`\`` : `\`${v}\``);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function refName(ref: string): string | null {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  return m ? m[1].replaceAll('~1', '/').replaceAll('~0', '~') : null;
}

const refLink = (ref: string) => {
  const name = refName(ref);
  return name ? `[${name}](#${slug(name)})` : code(ref);
};

const described = (line: string, s: Json) =>
  typeof s.description === 'string' ? `${line} — ${text(s.description)}` : line;

const BOUNDS: readonly [string, string][] = [
  ['minimum', '≥'],
  ['exclusiveMinimum', '>'],
  ['maximum', '≤'],
  ['exclusiveMaximum', '<'],
  ['minLength', 'length ≥'],
  ['maxLength', 'length ≤'],
  ['minItems', 'items ≥'],
  ['maxItems', 'items ≤'],
];

/** A schema's numeric bounds in words ("≥ 1", "length ≤ 200"): the same in /docs and docs/api.md. */
export function boundWords(s: Record<string, unknown>): string[] {
  return BOUNDS.filter(([k]) => typeof s[k] === 'number').map(([k, word]) => `${word} ${s[k] as number}`);
}

/** One line about a schema: type (with format, enum, const, bounds, default) and description. */
function typeLine(s: Json): string {
  const type = typeOnly(s);
  return type === '' ? '' : described(type, s);
}

/** The type part of typeLine; empty for a schema made only of oneOf/anyOf/allOf branches. */
function typeOnly(s: Json): string {
  if (typeof s.$ref === 'string') return refLink(s.$ref);
  const parts: string[] = [];
  let type = Array.isArray(s.type) ? s.type.join(' | ') : typeof s.type === 'string' ? s.type : '';
  if (type === 'array' && isObj(s.items)) {
    const items = s.items;
    type = `array of ${typeof items.$ref === 'string' ? refLink(items.$ref) : typeof items.type === 'string' ? items.type : 'items'}`;
  }
  if (typeof s.format === 'string') type += ` (${s.format})`;
  if (type) parts.push(type);
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((v) => code(JSON.stringify(v))).join(', ')}`);
  if ('const' in s) parts.push(`always ${code(JSON.stringify(s.const))}`);
  parts.push(...boundWords(s));
  if (typeof s.pattern === 'string') parts.push(`pattern ${code(s.pattern)}`);
  if ('default' in s) parts.push(`default ${code(JSON.stringify(s.default))}`);
  if (s.writeOnly === true) parts.push('write-only (never returned)');
  if (!type && !s.oneOf && !s.anyOf && !s.allOf && !('const' in s) && !Array.isArray(s.enum)) parts.unshift('any');
  return parts.join(', ');
}

/** A JSON Schema as a nested list: properties with required marks, items, and oneOf/anyOf/allOf branches. */
export function markdownSchema(schema: unknown, indent = '', depth = 0): string[] {
  if (!isObj(schema)) return [`${indent}- ${schema === true ? 'any' : 'none'}`];
  if (depth > MAX_DEPTH) return [`${indent}- …`];
  const head = `${indent}- ${typeLine(schema)}`;
  if (typeof schema.$ref === 'string') return [head];
  const lines: string[] = [];
  const inner = indent + '  ';
  const child = (label: string, sub: unknown) => {
    const [first, ...rest] = markdownSchema(sub, inner, depth + 1);
    lines.push(`${inner}- ${label}: ${first.slice(inner.length + 2)}`, ...rest);
  };
  if (isObj(schema.properties)) {
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    for (const [name, sub] of Object.entries(schema.properties))
      child(`${code(name)}${required.has(name) ? ' **required**' : ''}`, sub);
  }
  if (isObj(schema.additionalProperties)) child('*any other key*', schema.additionalProperties);
  const items = schema.items;
  if (isObj(items) && typeof items.$ref !== 'string' && (isObj(items.properties) || items.oneOf || items.anyOf))
    child('*each item*', items);
  const compositions = (
    [
      ['oneOf', 'exactly one of'],
      ['anyOf', 'any of'],
      ['allOf', 'all of'],
    ] as const
  ).flatMap(([k, word]) => (Array.isArray(schema[k]) ? [{ word, branches: schema[k] as unknown[] }] : []));
  // A schema made only of branches says its type in them: the branches go right under it.
  if (typeOnly(schema) === '' && compositions.length === 1 && lines.length === 0) {
    const [{ word, branches }] = compositions;
    const label = described(`*${word}*`, schema);
    return [`${indent}- ${label}:`, ...branches.flatMap((b) => markdownSchema(b, inner, depth + 1))];
  }
  for (const { word, branches } of compositions) {
    lines.push(`${inner}- *${word}*:`);
    for (const b of branches) lines.push(...markdownSchema(b, inner + '  ', depth + 1));
  }
  return [head, ...lines];
}

function content(c: unknown, indent: string): string[] {
  if (!isObj(c)) return [];
  return Object.entries(c).flatMap(([type, media]) => [
    `${indent}- ${code(type)}`,
    ...(isObj(media) && media.schema !== undefined ? markdownSchema(media.schema, indent + '  ') : []),
  ]);
}

function operation(path: string, method: string, op: Json, shared: unknown[]): string[] {
  const out = [`### ${method.toUpperCase()} ${path}`, ''];
  if (typeof op.summary === 'string') out.push(`**${text(op.summary)}**`, '');
  if (typeof op.description === 'string') out.push(text(op.description), '');
  if (Array.isArray(op.security) && op.security.length === 0) out.push('No authentication.', '');
  else if (typeof op['x-required-scope'] === 'string') {
    const scope = op['x-required-scope'];
    out.push(scope === 'root' ? 'Operator key only.' : `Scope: ${code(scope)} (admin holds every scope).`, '');
  }
  const params = [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])].filter(isObj);
  if (params.length > 0) {
    out.push('| Name | In | Required | Schema |', '|---|---|---|---|');
    for (const p of params) {
      const schema = isObj(p.schema) ? typeLine(p.schema) : '';
      const described = typeof p.description === 'string' ? `${schema} — ${text(p.description)}` : schema;
      out.push(
        `| ${code(String(p.name))} | ${p.in} | ${p.required ? 'yes' : 'no'} | ${described.replaceAll('|', '\\|')} |`,
      );
    }
    out.push('');
  }
  if (isObj(op.requestBody)) {
    out.push(
      `Request body${op.requestBody.required ? ' (required)' : ''}:`,
      '',
      ...content(op.requestBody.content, ''),
      '',
    );
  }
  if (isObj(op.responses)) {
    out.push('Responses:', '');
    for (const [status, r] of Object.entries(op.responses)) {
      if (!isObj(r)) continue;
      out.push(`- **${status}** ${text(r.description)}`, ...content(r.content, '  '));
      if (isObj(r.headers))
        for (const [h, d] of Object.entries(r.headers))
          out.push(`  - header ${code(h)}${isObj(d) && d.description ? `: ${text(d.description)}` : ''}`);
    }
    out.push('');
  }
  return out;
}

/** docs/api.md from an OpenAPI 3.1 document: contents by tag, each operation, the shared schemas. */
export function renderApiMarkdown(openapi: object): string {
  const doc = openapi as Json;
  const info = isObj(doc.info) ? doc.info : {};
  const ops: { path: string; method: string; op: Json; shared: unknown[]; tag: string }[] = [];
  for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
    if (!isObj(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isObj(op)) continue;
      const tag = Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? op.tags[0] : 'other';
      ops.push({ path, method, op, shared, tag });
    }
  }
  const tags = [...new Set(ops.map((o) => o.tag))];
  const schemas = isObj(doc.components) && isObj(doc.components.schemas) ? doc.components.schemas : {};
  const heading = (o: { method: string; path: string }) => `${o.method.toUpperCase()} ${o.path}`;
  const out = [
    `# ${text(info.title ?? 'API reference')}`,
    '',
    '<!-- Generated from the app’s OpenAPI document by `npm run docs:api` (scripts/api-docs.ts); do not edit. -->',
    '',
    ...(typeof info.description === 'string' ? [text(info.description), ''] : []),
    `OpenAPI ${text(doc.openapi)}, version ${text(info.version)}. The running service serves this document at ` +
      '`/openapi.json` and as a page at `/docs`. Authenticate with `Authorization: Bearer <api key>`; ' +
      'errors are RFC 9457 problem+json ([Problem](#problem)) naming each failing field.',
    '',
    '## Contents',
    '',
    ...tags.map(
      (tag) =>
        `- **${tag}**: ${ops
          .filter((o) => o.tag === tag)
          .map((o) => `[${heading(o)}](#${slug(heading(o))})`)
          .join(', ')}`,
    ),
    ...(Object.keys(schemas).length > 0
      ? [
          `- **schemas**: ${Object.keys(schemas)
            .map((n) => `[${n}](#${slug(n)})`)
            .join(', ')}`,
        ]
      : []),
    '',
  ];
  for (const tag of tags) {
    out.push(`## ${tag}`, '');
    for (const o of ops.filter((x) => x.tag === tag)) out.push(...operation(o.path, o.method, o.op, o.shared));
  }
  if (Object.keys(schemas).length > 0) {
    out.push('## Schemas', '');
    for (const [name, s] of Object.entries(schemas)) out.push(`### ${name}`, '', ...markdownSchema(s), '');
  }
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}
