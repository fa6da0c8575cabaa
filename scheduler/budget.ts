// Per-connection budgets: one p-queue per provider connection (concurrency and a
// request rate from the connector's declared limits, overridable per connection),
// plus the provider's own rate-limit signals: pause before the budget runs dry,
// and after a 429 wait exactly what the provider said.
import PQueue from 'p-queue';
import type { ConnectorLimits, RateLimitInfo } from '../connectors/types.js';

/** Budget settings of one connection. */
export interface BudgetLimits {
  concurrency: number;
  /** Requests allowed per `perSeconds`. */
  requests: number;
  perSeconds: number;
}

/** Rate-limit state as reported by scheduler.health(). */
export interface RateLimitState {
  limit: number | null;
  remaining: number | null;
  reset_at: string | null;
  /** Calls to this connection wait until then (a 429, or a budget about to run dry). */
  paused_until: string | null;
}

/** Below this share of its budget left, calls are spread over the time to the reset. */
const RESERVE_SHARE = 0.05;

/** Declared limits with a connection's overrides applied. */
export function budgetLimits(limits: ConnectorLimits, override?: Partial<BudgetLimits>): BudgetLimits {
  return {
    concurrency: Math.max(1, Math.floor(override?.concurrency ?? limits.concurrency)),
    requests: Math.max(1, override?.requests ?? limits.rateLimit.requests),
    perSeconds: Math.max(1, override?.perSeconds ?? limits.rateLimit.perSeconds),
  };
}

export class ConnectionBudget {
  readonly queue: PQueue;
  private pausedUntil = 0;
  private last: { limit?: number; remaining?: number; resetAt?: number } = {};

  constructor(
    readonly limits: BudgetLimits,
    private readonly now: () => number,
  ) {
    // A long budget (1,600 per hour) becomes the same rate over at most a minute,
    // so calls are spread instead of spent in one burst; never below one per interval.
    const intervalSeconds = Math.min(limits.perSeconds, 60);
    this.queue = new PQueue({
      concurrency: limits.concurrency,
      interval: intervalSeconds * 1000,
      intervalCap: Math.max(1, Math.floor((limits.requests * intervalSeconds) / limits.perSeconds)),
    });
  }

  /** Epoch ms before which no call may start (0 when none). */
  blockedUntil(): number {
    return this.pausedUntil > this.now() ? this.pausedUntil : 0;
  }

  /** Wait at least until `at` (epoch ms). */
  pause(at: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, at);
  }

  /** Take in the provider's rate-limit headers of its last answer. */
  observe(info: RateLimitInfo): void {
    const now = this.now();
    if (info.limit !== undefined) this.last.limit = info.limit;
    if (info.remaining !== undefined) this.last.remaining = info.remaining;
    if (info.resetSeconds !== undefined) this.last.resetAt = now + info.resetSeconds * 1000;
    if (info.retryAfterSeconds !== undefined) {
      this.pause(now + info.retryAfterSeconds * 1000);
      return;
    }
    // Slow down before a 429: with little left, space the remaining calls out until the reset.
    if (info.remaining !== undefined && info.resetSeconds !== undefined) {
      const reserve = Math.max(1, Math.ceil((info.limit ?? this.limits.requests) * RESERVE_SHARE));
      if (info.remaining <= reserve) this.pause(now + (info.resetSeconds * 1000) / (info.remaining + 1));
    }
  }

  state(): RateLimitState | null {
    const paused = this.blockedUntil();
    if (this.last.limit === undefined && this.last.remaining === undefined && paused === 0) return null;
    return {
      limit: this.last.limit ?? null,
      remaining: this.last.remaining ?? null,
      reset_at: this.last.resetAt === undefined ? null : new Date(this.last.resetAt).toISOString(),
      paused_until: paused === 0 ? null : new Date(paused).toISOString(),
    };
  }
}

/** Exponential backoff with jitter: attempt 1 waits about base, each next twice as long, capped; jitter in [50%, 100%]. */
export function backoffMs(
  attempt: number,
  opts: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}
