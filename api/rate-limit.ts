// In-process rate limits as token buckets: failed authentications per client address,
// requests per API key, events per org (by plan), previews per provider connection.
// Every limit is per process: N replicas behind a balancer allow up to N× each.
import { INGEST_RATES, type Plan, type Rate } from '../domain/plan.js';
import { ProblemError } from './errors.js';
import { Lru } from './lru.js';

export type { Rate } from '../domain/plan.js';

/** The limits an app enforces; a member left out is not limited. */
export interface RateLimits {
  /** Failed authentications per client address (successful ones never count). */
  authFailures?: Rate;
  /** Requests per API key (and for the operator key). */
  key?: Rate;
  /** Events ingested per org, by the org's plan (a batch of 1,000 costs 1,000). */
  ingest?: Readonly<Record<Plan, Rate>>;
  /** POST /v1/metrics/{id}/preview per provider connection (each spends the provider's quota). */
  preview?: Rate;
  /** How long a 429 to an address blocked by `authFailures` is held (api/auth.ts BLOCKED_HOLD_MS; 0: none). */
  blockedHoldMs?: number;
  /** The limiters' clock, epoch ms (tests); default: the app's clock. */
  now?: () => number;
}

/** What `opstrails-impact serve` enforces unless configured otherwise (cli/config.ts). */
export const DEFAULT_RATE_LIMITS: Readonly<Omit<RateLimits, 'now'>> = {
  authFailures: { perSecond: 20 / 60, burst: 40 },
  key: { perSecond: 50, burst: 100 },
  ingest: INGEST_RATES,
  preview: { perSecond: 10 / 60, burst: 10 },
};

/** Most buckets one limiter keeps; the least recently used leave first (a full bucket is the same as none). */
const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets by key: `perSecond` tokens flow in continuously up to `burst`; a request takes `cost`. */
export class TokenBuckets<K> {
  private readonly buckets = new Lru<K, Bucket>({ maxEntries: MAX_BUCKETS });

  constructor(private readonly now: () => number) {}

  /** The bucket's tokens now (refilled since it was last seen). */
  private level(key: K, rate: Rate): Bucket {
    const t = this.now();
    const b = this.buckets.get(key);
    if (!b) return { tokens: rate.burst, at: t };
    return { tokens: Math.min(rate.burst, b.tokens + (Math.max(0, t - b.at) / 1000) * rate.perSecond), at: t };
  }

  /** Seconds until `cost` tokens are there (0: now); Infinity when `cost` exceeds the burst. Takes nothing. */
  wait(key: K, rate: Rate, cost = 1): number {
    if (cost > rate.burst) return Infinity;
    const { tokens } = this.level(key, rate);
    return tokens >= cost ? 0 : (cost - tokens) / rate.perSecond;
  }

  /** Take `cost` tokens if they are there (returns 0); otherwise take nothing and return the seconds to wait. */
  take(key: K, rate: Rate, cost = 1): number {
    const wait = this.wait(key, rate, cost);
    if (wait > 0) return wait;
    const b = this.level(key, rate);
    this.buckets.set(key, { tokens: b.tokens - cost, at: b.at });
    return 0;
  }

  /** Give back `cost` tokens taken for something that turned out not to count. */
  refund(key: K, rate: Rate, cost = 1): void {
    const b = this.level(key, rate);
    this.buckets.set(key, { tokens: Math.min(rate.burst, b.tokens + cost), at: b.at });
  }
}

/** Tokens per unit, read back as "20/min". */
export function describeRate(rate: Rate): string {
  const perMinute = rate.perSecond * 60;
  return Number.isInteger(rate.perSecond)
    ? `${rate.perSecond}/s`
    : Number.isInteger(perMinute)
      ? `${perMinute}/min`
      : `${rate.perSecond * 3600}/h`;
}

/** A 429 problem+json with Retry-After (whole seconds, at least 1) and RateLimit headers. */
export function tooMany(detail: string, rate: Rate, waitSeconds: number): ProblemError {
  const retry = Number.isFinite(waitSeconds) ? Math.max(1, Math.ceil(waitSeconds)) : undefined;
  return new ProblemError(429, retry === undefined ? detail : `${detail}; retry in ${retry} s`, undefined, {
    ...(retry === undefined ? {} : { 'retry-after': String(retry), 'ratelimit-reset': String(retry) }),
    'ratelimit-limit': String(rate.burst),
    'ratelimit-remaining': '0',
  });
}

const UNITS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

/**
 * Parse a rate as configured: "20/min" (20 a minute, bursts of 20), "50/s:100" (50 a second,
 * bursts of 100), units s, min, h. Returns an error message when the text is not one.
 */
export function parseRate(text: string): Rate | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*(?::\s*(\d+))?\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined)
    return `expected "off" or a rate such as 20/min or 50/s:100 (count/unit[:burst]; units s, min, h)`;
  const count = Number(m[1]);
  const burst = m[3] === undefined ? Math.max(1, count) : Number(m[3]);
  if (count <= 0 || burst < 1) return 'the count and the burst must be positive';
  return { perSecond: count / unit, burst };
}

/** Ingest limits per org, by the org's plan. */
export class IngestLimiter {
  private readonly buckets: TokenBuckets<string>;

  constructor(
    private readonly opts: {
      rates: Readonly<Record<Plan, Rate>>;
      now: () => number;
    },
  ) {
    this.buckets = new TokenBuckets(opts.now);
  }

  /** Admit `events` events of the org, all or none; otherwise a 429 ProblemError to throw. */
  admit(orgId: string, plan: Plan, events: number): ProblemError | undefined {
    const rate = this.opts.rates[plan];
    const wait = this.buckets.take(orgId, rate, events);
    if (wait === 0) return undefined;
    const limit = `this org's ingest limit (plan ${plan}: ${describeRate(rate)}, bursts of ${rate.burst} events)`;
    return Number.isFinite(wait)
      ? tooMany(`${events} events would exceed ${limit}; nothing was stored`, rate, wait)
      : tooMany(
          `a batch of ${events} events is larger than ${limit}; nothing was stored; send smaller batches`,
          rate,
          wait,
        );
  }
}
