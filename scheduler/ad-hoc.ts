// Ad-hoc windows (a report asked for with ?before=&after=&gap=): the caps on their length,
// the clip to an org's retention, and the per-org budget of the fetches they may plan.
import type { Plan } from '../domain/plan.js';
import { computeWindows, type WindowOverrides } from '../engine/index.js';
import type { StoredEvent } from '../store/events.js';
import type { Store } from '../store/index.js';
import type { PairWindows, TimeRange } from '../store/pairs.js';
import { iso } from './report-view.js';

const DAY = 86_400_000;

/** Longest ad-hoc before or after window: a week a side bounds what one request may have fetched. */
export const AD_HOC_MAX_WINDOW_MS = 7 * DAY;
/** Longest ad-hoc gap: a day around the event is already far from what it changed. */
export const AD_HOC_MAX_GAP_MS = DAY;
/** Distinct ad-hoc window sets an org may have fetched per rolling minute (default of the budget). */
export const AD_HOC_FETCHES_PER_MINUTE = 10;
const BUDGET_WINDOW_MS = 60_000;

/** Why an ad-hoc window is refused: the query parameter to name and the reason. */
export interface AdHocProblem {
  field: 'before' | 'after' | 'gap';
  message: string;
}

/**
 * Ranges clipped to start at `horizon` (empty ones dropped): what lies before an org's retention
 * would be deleted as soon as it was written, so an ad-hoc fetch never asks for it.
 */
export function clipToRetention(w: PairWindows, horizon: number): PairWindows {
  const clip = (r: TimeRange): TimeRange => ({ from: Math.min(Math.max(r.from, horizon), r.to), to: r.to });
  return {
    before: clip(w.before),
    after: clip(w.after),
    references: w.references.map(clip).filter((r) => r.to > r.from),
  };
}

/** Per org, the distinct ad-hoc window sets granted a fetch in the last minute (in memory, per process). */
export class AdHocBudget {
  private readonly granted = new Map<string, Map<string, number>>();

  constructor(readonly perMinute: number = AD_HOC_FETCHES_PER_MINUTE) {}

  /** Whether an org may have this window set fetched now (asking again for the same one within the minute is free). */
  take(orgId: string, key: string, now: number): boolean {
    const granted = this.granted.get(orgId) ?? new Map<string, number>();
    this.granted.set(orgId, granted);
    for (const [k, at] of granted) if (at <= now - BUDGET_WINDOW_MS) granted.delete(k);
    if (granted.has(key)) return true;
    if (granted.size >= this.perMinute) return false;
    granted.set(key, now);
    return true;
  }
}

/** The org's plan, its days of retention, and the oldest instant still kept at `now`. */
export async function retentionOf(
  store: Store,
  orgId: string,
  now: number,
): Promise<{ plan: Plan; days: number; horizon: number }> {
  // An org that cannot be read counts as free, as the scheduler's pull does.
  const plan = (await store.orgs.get(orgId))?.plan ?? 'free';
  const days = store.retentionDays(plan);
  return { plan, days, horizon: now - days * DAY };
}

/**
 * Why ad-hoc windows cannot be computed for this event, if they cannot: the before window would
 * start before the org's retention (that data is deleted). Lengths are capped by the route's schema.
 * The history stretch and the 7 reference days reach further back (window + 7 days); they are not
 * refused, since on a 7-day plan even the default windows' last reference days lie past retention:
 * their fetch is clipped to the retention and the engine uses the reference days still stored.
 */
export async function adHocProblem(
  store: Store,
  orgId: string,
  event: StoredEvent,
  request: WindowOverrides,
  now: number,
): Promise<AdHocProblem | undefined> {
  const { plan, days, horizon } = await retentionOf(store, orgId, now);
  const w = computeWindows({ time: event.time, type: event.type, stepSeconds: 60, request });
  if (w.before.from >= horizon) return undefined;
  const field = request.before !== undefined ? 'before' : request.gap !== undefined ? 'gap' : 'after';
  return {
    field,
    message:
      `the before window would start at ${iso(w.before.from)}, past the ${days}-day retention of the ` +
      `${plan} plan: data older than ${iso(horizon)} is deleted`,
  };
}
