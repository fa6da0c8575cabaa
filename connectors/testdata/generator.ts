// Deterministic synthetic series for demos, tests and the accuracy benchmark: every point is a
// pure function of (seed, query, bucket start, step), so re-fetching a window returns the same data.
import { METRIC_KINDS, type MetricKind } from '../../domain/metric.js';
import { z } from 'zod';
import type { SeriesPoint } from '../types.js';

/** One synthetic series (snake_case, with defaults). */
export type TestdataQuery = {
  shape: MetricKind;
  /** Level: count per bucket, error rate (ratio), gauge value, or latency (quantile). */
  base: number;
  /** Relative noise (standard deviation of the multiplicative / additive disturbance). */
  noise: number;
  /** AR(1) coefficient of the noise, in [0, 0.99). */
  rho: number;
  daily_amplitude: number;
  weekly_amplitude: number;
  /** Share of buckets dropped. */
  missing_rate: number;
  /** Step changes of the level from each `at` onward (relative, e.g. 0.1 = +10%). */
  changes: { at: string; relative: number }[];
  /** ratio: mean requests (denominator) per bucket. */
  requests?: number;
};

export const testdataQuerySchema: z.ZodType<TestdataQuery> = z.object({
  shape: z.enum(METRIC_KINDS).default('gauge'),
  base: z.number().finite().nonnegative().default(100),
  noise: z.number().finite().nonnegative().max(10).default(0.1),
  rho: z.number().min(0).max(0.99).default(0),
  daily_amplitude: z.number().min(0).max(1).default(0),
  weekly_amplitude: z.number().min(0).max(1).default(0),
  missing_rate: z.number().min(0).max(1).default(0),
  changes: z
    .array(z.object({ at: z.iso.datetime({ offset: true }), relative: z.number().gt(-1) }))
    .max(100)
    .default([]),
  requests: z.number().finite().positive().optional(),
});

// Independent streams of the hash so noise, counts and missingness do not correlate.
const STREAM = { innovation: 1, innovation2: 2, count: 3, count2: 4, missing: 5, requests: 6, requests2: 7 } as const;

/** 32-bit avalanche hash of (seed, stream, bucket index) — murmur3's finaliser over a mix. */
function hash32(seed: number, stream: number, index: number): number {
  let h = (seed ^ Math.imul(stream, 0x9e3779b1)) >>> 0;
  // Bucket indices can exceed 2^32 (ms timestamps / small steps): fold high and low halves.
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  for (const k0 of [lo, hi]) {
    let k = Math.imul(k0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in (0, 1) from the hash. */
function uniform(seed: number, stream: number, index: number): number {
  return (hash32(seed, stream, index) + 0.5) / 4294967296;
}

/** Standard normal from two hashed uniforms (Box–Muller). */
function normal(seed: number, s1: number, s2: number, index: number): number {
  const u1 = uniform(seed, s1, index);
  const u2 = uniform(seed, s2, index);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Stationary AR(1) noise with unit variance at bucket `index`: a truncated sum of past hashed
 * innovations Σ ρ^k ε_{t−k}, normalised by the truncated series' own variance.
 */
function ar1(seed: number, rho: number, index: number): number {
  if (rho <= 0) return normal(seed, STREAM.innovation, STREAM.innovation2, index);
  const K = Math.min(400, Math.ceil(Math.log(1e-3) / Math.log(rho)));
  let s = 0;
  let w = 1;
  let v = 0;
  for (let k = 0; k <= K; k++) {
    s += w * normal(seed, STREAM.innovation, STREAM.innovation2, index - k);
    v += w * w;
    w *= rho;
  }
  return s / Math.sqrt(v);
}

/** Poisson-like draw: inverse CDF of a hashed uniform below 50, a rounded normal above. */
function poisson(lambda: number, u: number, zIfLarge: () => number): number {
  if (!(lambda > 0)) return 0;
  if (lambda >= 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * zIfLarge()));
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  while (u > cdf && k < 1000) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const changeCache = new WeakMap<TestdataQuery['changes'], { at: number; factor: number }[]>();

function changeFactor(changes: TestdataQuery['changes'], ts: number): number {
  let parsed = changeCache.get(changes);
  if (!parsed) {
    parsed = changes.map((c) => ({ at: Date.parse(c.at), factor: 1 + c.relative }));
    changeCache.set(changes, parsed);
  }
  let f = 1;
  for (const c of parsed) if (ts >= c.at) f *= c.factor;
  return f;
}

/** One bucket's point (ts = bucket start, epoch ms, aligned to step); null = a missing bucket. Pure function of (seed, query, ts, step). */
export function testdataPoint(seed: number, query: TestdataQuery, ts: number, stepSeconds: number): SeriesPoint | null {
  const step = stepSeconds * 1000;
  const index = Math.floor(ts / step);
  const s = seed >>> 0;
  if (query.missing_rate > 0 && uniform(s, STREAM.missing, index) < query.missing_rate) return null;
  // Multiplicative daily and weekly rhythm (UTC), and step changes from each `at` on.
  const season =
    (1 + query.daily_amplitude * Math.sin((2 * Math.PI * (ts % DAY_MS)) / DAY_MS)) *
    (1 + query.weekly_amplitude * Math.sin((2 * Math.PI * (ts % WEEK_MS)) / WEEK_MS));
  const level = query.base * changeFactor(query.changes, ts);
  const z = ar1(s, query.rho, index);
  switch (query.shape) {
    case 'gauge':
      return { ts, value: level * season + query.base * query.noise * z };
    case 'quantile':
      // Log-normal around the level: positive and right-skewed like a p95 latency.
      return { ts, value: level * season * Math.exp(query.noise * z - (query.noise * query.noise) / 2) };
    case 'count': {
      const lambda = level * season * Math.exp(query.noise * z - (query.noise * query.noise) / 2);
      const value = poisson(lambda, uniform(s, STREAM.count, index), () =>
        normal(s, STREAM.count, STREAM.count2, index),
      );
      return { ts, value };
    }
    case 'ratio': {
      const meanRequests = (query.requests ?? 1000) * season;
      const requests = poisson(meanRequests, uniform(s, STREAM.requests, index), () =>
        normal(s, STREAM.requests, STREAM.requests2, index),
      );
      const rate = Math.min(1, level * season * Math.exp(query.noise * z - (query.noise * query.noise) / 2));
      const errors = Math.min(
        requests,
        poisson(requests * rate, uniform(s, STREAM.count, index), () => normal(s, STREAM.count, STREAM.count2, index)),
      );
      return { ts, value: errors, weight: requests };
    }
  }
}
