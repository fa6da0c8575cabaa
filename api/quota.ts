// The monthly events quota at ingest: a batch whose new events do not fit what is left of the
// org's quota this month is refused whole (429 quota-exceeded, Retry-After to the month's end);
// what is accepted is counted once (a retry of stored events is a duplicate and costs nothing).
//
// Usage is read from the store (every replica adds to it) at most every USAGE_FRESH_MS per org,
// and counted here in between, with the batches admitted but not yet stored reserved, so
// concurrent requests to one process cannot overshoot together. Replicas can: by what they
// admit within USAGE_FRESH_MS of each other.
import type { ReceivedEvent } from '../domain/event.js';
import { quotaPeriod, type PlanTable } from '../domain/plan.js';
import type { Store } from '../store/index.js';
import type { Org } from '../store/orgs.js';
import type { QuotaUsage } from '../notify/usage-alerts.js';
import { ProblemError } from './errors.js';

/** How long a usage read from the store is trusted, ms. */
export const USAGE_FRESH_MS = 5_000;

/** The problem type's end of a refused batch. */
export const QUOTA_EXCEEDED = 'quota-exceeded';

interface OrgUsage {
  periodStart: number;
  /** Events stored this period: as last read, plus what this process stored since. */
  used: number;
  readAt: number;
  /** Events admitted and not yet stored. */
  reserved: number;
}

/** What admit() reserved for a batch: settle() it once the batch is stored (or failed). */
export interface Reservation {
  org: Org;
  period: { start: number; end: number };
  events: number;
}

export interface EventQuotaOptions {
  store: Store;
  plans: PlanTable;
  now: () => number;
  /** Told after usage grew (the usage alert); its failure is the caller's to log. */
  onUsage?: (org: Org, usage: QuotaUsage) => Promise<void>;
}

export class EventQuota {
  private readonly usage = new Map<string, OrgUsage>();

  constructor(private readonly opts: EventQuotaOptions) {}

  /**
   * Admit a batch for `org`: reserves its events, or throws the 429 when they do not fit. Only
   * when the batch looks too large are its already-stored events looked up, so that a retry of an
   * accepted batch, which stores nothing new, passes even when the quota is used up.
   */
  async admit(org: Org, events: readonly ReceivedEvent[]): Promise<Reservation> {
    const now = this.opts.now();
    const period = quotaPeriod(now);
    const limit = this.opts.plans[org.plan].events_per_month;
    let state = await this.state(org.id, period.start, now);
    let count = events.length;
    if (state.used + state.reserved + count > limit) {
      state = await this.state(org.id, period.start, now, true);
      count -= await this.opts.store.events.countStored(
        org.id,
        events.map((r) => r.event),
      );
      if (state.used + state.reserved + count > limit) throw quotaExceeded(org, limit, state, count, period, now);
    }
    state.reserved += count;
    return { org, period, events: count };
  }

  /** After the batch's ingest: release its reservation and count the events it stored. */
  async settle(reservation: Reservation, stored: number): Promise<void> {
    const { org, period } = reservation;
    const state = this.usage.get(org.id);
    if (state?.periodStart === period.start) {
      state.reserved = Math.max(0, state.reserved - reservation.events);
      state.used += stored;
    }
    if (stored === 0) return;
    await this.opts.store.usage.add(org.id, period.start, stored);
    const used =
      state?.periodStart === period.start ? state.used : await this.opts.store.usage.used(org.id, period.start);
    await this.opts.onUsage?.(org, { events: this.opts.plans[org.plan].events_per_month, used, period });
  }

  /** This process's view of the org's usage this period, read again from the store when stale (or `fresh`). */
  private async state(orgId: string, periodStart: number, now: number, fresh = false): Promise<OrgUsage> {
    let state = this.usage.get(orgId);
    if (state?.periodStart !== periodStart) {
      state = { periodStart, used: 0, readAt: -Infinity, reserved: 0 };
      this.usage.set(orgId, state);
    }
    if (fresh || now - state.readAt >= USAGE_FRESH_MS) {
      state.used = await this.opts.store.usage.used(orgId, periodStart);
      state.readAt = now;
    }
    return state;
  }
}

function quotaExceeded(
  org: Org,
  limit: number,
  state: OrgUsage,
  count: number,
  period: { start: number; end: number },
  now: number,
): ProblemError {
  const retryAfter = Math.max(1, Math.ceil((period.end - now) / 1000));
  const left = Math.max(0, limit - state.used - state.reserved);
  const until = new Date(period.end).toISOString();
  return new ProblemError(
    429,
    `the ${org.plan} plan's quota of ${limit} events this month is ` +
      (left === 0 ? 'used up' : `nearly used up (${left} left, the batch has ${count} new)`) +
      `; nothing was stored. New events are accepted again from ${until}, or on a larger plan`,
    undefined,
    { 'retry-after': String(retryAfter) },
    QUOTA_EXCEEDED,
  );
}
