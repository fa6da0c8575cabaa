// Plans: what an org keeps and may send. Retention bounds every org-owned table by the org's
// plan (store/retention.ts), the monthly events quota bounds ingest (api/quota.ts). Limits are
// data (PlanTable).

export const PLANS = ['free', 'starter', 'pro'] as const;
export type Plan = (typeof PLANS)[number];

/** What a plan allows: days of data kept and events accepted per calendar month (UTC). */
export interface PlanLimits {
  retention_days: number;
  events_per_month: number;
}

/** The limits of every plan: the defaults, or the operator's OPSTRAILS_PLANS over them (parsePlans). */
export type PlanTable = Readonly<Record<Plan, Readonly<PlanLimits>>>;

/** The documented defaults (README "Plans"). */
export const DEFAULT_PLAN_LIMITS: PlanTable = {
  free: { retention_days: 7, events_per_month: 10_000 },
  starter: { retention_days: 30, events_per_month: 250_000 },
  pro: { retention_days: 90, events_per_month: 5_000_000 },
};

/** Days of data each plan keeps by default (DEFAULT_PLAN_LIMITS; a running service uses its configured table). */
export const RETENTION_DAYS: Readonly<Record<Plan, number>> = {
  free: DEFAULT_PLAN_LIMITS.free.retention_days,
  starter: DEFAULT_PLAN_LIMITS.starter.retention_days,
  pro: DEFAULT_PLAN_LIMITS.pro.retention_days,
};

/** Longest retention a plan may have: the points' retention_days column is a UInt16; ten years is plenty. */
export const MAX_RETENTION_DAYS = 3650;

/** The settings OPSTRAILS_PLANS may give a plan, each with its limit field and largest value. */
const PLAN_SETTINGS: Readonly<Record<string, { field: keyof PlanLimits; max: number }>> = {
  retention: { field: 'retention_days', max: MAX_RETENTION_DAYS },
  events: { field: 'events_per_month', max: Number.MAX_SAFE_INTEGER },
};

/** True when `name` is one of PLANS. */
export function isPlan(name: string): name is Plan {
  return (PLANS as readonly string[]).includes(name);
}

/**
 * Read the operator's plan overrides, `free:retention=7,events=10000;pro:events=1000000`, over
 * `base`: plans and settings not named keep their value. Returns the table, or why the text is
 * not one (a printable phrase).
 */
export function parsePlans(
  text: string,
  base: PlanTable = DEFAULT_PLAN_LIMITS,
): { ok: true; plans: PlanTable } | { ok: false; reason: string } {
  const plans = Object.fromEntries(PLANS.map((p) => [p, { ...base[p] }])) as Record<Plan, PlanLimits>;
  const seen = new Set<string>();
  for (const entry of text.split(';').map((s) => s.trim())) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const name = (colon < 0 ? entry : entry.slice(0, colon)).trim();
    if (!isPlan(name)) return { ok: false, reason: `unknown plan "${name}" (expected ${PLANS.join(', ')})` };
    if (seen.has(name)) return { ok: false, reason: `plan "${name}" is given twice` };
    seen.add(name);
    const settings = colon < 0 ? '' : entry.slice(colon + 1).trim();
    if (settings === '') return { ok: false, reason: `plan "${name}" has no settings (e.g. ${name}:retention=30)` };
    for (const setting of settings.split(',').map((s) => s.trim())) {
      const m = /^([a-z_]+)\s*=\s*(\d+)$/.exec(setting);
      const known = m ? PLAN_SETTINGS[m[1]] : undefined;
      if (!m || !known) {
        return {
          ok: false,
          reason: `"${setting}" in plan "${name}": expected ${Object.keys(PLAN_SETTINGS)
            .map((k) => `${k}=<integer>`)
            .join(' or ')}`,
        };
      }
      const value = Number(m[2]);
      if (value < 1 || value > known.max) {
        return { ok: false, reason: `${m[1]} of plan "${name}" must be from 1 to ${known.max}` };
      }
      plans[name][known.field] = value;
    }
  }
  return { ok: true, plans };
}

/** The calendar month (UTC) holding `at`: [start, end) in epoch ms, the period of an events quota. */
export function quotaPeriod(at: number): { start: number; end: number } {
  const d = new Date(at);
  return {
    start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
    end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
  };
}

/** A rate limit: `perSecond` on average, up to `burst` at once (a token bucket). */
export interface Rate {
  perSecond: number;
  burst: number;
}

/** Events per second each plan may ingest (per process), with bursts of 10 seconds' worth. */
export const INGEST_RATES: Readonly<Record<Plan, Rate>> = {
  free: { perSecond: 50, burst: 500 },
  starter: { perSecond: 200, burst: 2_000 },
  pro: { perSecond: 1_000, burst: 10_000 },
};
