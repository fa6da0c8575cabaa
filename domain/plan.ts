// Plans: what an org keeps. Retention bounds every table's rows (TTL) by the
// org's plan at the time a row is written.

export const PLANS = ['free', 'starter', 'pro'] as const;
export type Plan = (typeof PLANS)[number];

/** Days of data each plan keeps. */
export const RETENTION_DAYS: Readonly<Record<Plan, number>> = { free: 7, starter: 30, pro: 90 };
