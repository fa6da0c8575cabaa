// Realistic series for the accuracy benchmark: a daily rhythm of ±40–60% with deploys on its
// morning or evening ramp, a latent log-level that wanders (a fast AR(1) that forgets within
// minutes and a slow one that persists for hours), overdispersed (negative binomial) counts,
// 5% missing buckets, persistent effects, and 7 or 14 earlier days stored. Sequential and
// seeded: the testdata connector's point-by-point generator is too slow for 15 days a rep.
import { computeWindows, type EventWindows } from '../../engine/windows.js';

export type RealisticKind = 'count30' | 'count10' | 'ratio' | 'gauge' | 'quantile';
export const REALISTIC_KINDS: readonly RealisticKind[] = ['count30', 'count10', 'ratio', 'gauge', 'quantile'];
export const engineKind = (k: RealisticKind): 'count' | 'ratio' | 'gauge' | 'quantile' =>
  k === 'count30' || k === 'count10' ? 'count' : k;

const STEP = 60_000;
const DAY = 86_400_000;
const MISSING = 0.05;
/** Negative binomial size: variance μ + μ²/SIZE (at 30/min twice Poisson's, plus the latent level). */
const SIZE = 30;

/** mulberry32: a small, fast, seeded generator. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 + 1 / 8589934592;
  };
}

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Gamma(shape ≥ 1, scale 1), Marsaglia–Tsang. */
function gamma(u: () => number, shape: number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(u);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const w = u();
    if (w < 1 - 0.0331 * x ** 4 || Math.log(w) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function poisson(u: () => number, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda > 60) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(u)));
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  const x = u();
  while (x > cdf && k < 1000) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

const negBinomial = (u: () => number, mean: number) => poisson(u, (mean * gamma(u, SIZE)) / SIZE);

export interface RealisticRep {
  time: number;
  windows: EventWindows;
  /** Every generated bucket, ascending (today and the reference days' ranges). */
  ts: number[];
  value: number[];
  weight: number[];
}

/**
 * One event and its data: `days` earlier days plus today, each over the range the service reads
 * (history, before, gap, after), with a persistent change of `effect` from the event on.
 */
export function realisticRep(
  kind: RealisticKind,
  seed: number,
  rep: number,
  days: number,
  effect: number,
): RealisticRep {
  const u = rng(seed);
  const amplitude = 0.4 + 0.2 * u();
  // Morning (06:00) or evening (18:00) ramp of a rhythm peaking at noon, ± 90 minutes.
  const ramp = u() < 0.5 ? 6 : 18;
  const time = Date.UTC(2026, 2, 2) + rep * DAY + ramp * 3_600_000 + Math.round((u() * 180 - 90) * 60_000) + 17_000;
  const windows = computeWindows({ time, type: 'deployment', stepSeconds: 60 });
  const ts: number[] = [];
  const value: number[] = [];
  const weight: number[] = [];
  // Latent log-level noise per kind: counts and error ratios wander by ±10% and forget within
  // minutes (AR 0.8); the gauge and the latency are low-noise but carry a persistent component too
  // (AR 0.995 per minute: a level that drifts over hours).
  const counts = kind === 'count30' || kind === 'count10' || kind === 'ratio';
  const fastSd = counts ? 0.1 : kind === 'gauge' ? 0.02 : 0.02;
  const slowSd = counts ? 0 : 0.01;
  for (let d = days; d >= 0; d--) {
    const from = Math.floor((windows.pre.from - d * DAY) / STEP) * STEP;
    const to = windows.after.to - d * DAY;
    // Stationary starts: each day's range is independent of the others but for the rhythm.
    let fast = normal(u);
    let slow = normal(u);
    const dayLevel = 0.1 * normal(u);
    for (let t = from; t < to; t += STEP) {
      fast = 0.8 * fast + 0.6 * normal(u);
      slow = 0.995 * slow + 0.0999 * normal(u);
      const tod = (((t % DAY) + DAY) % DAY) / DAY;
      const rhythm = 1 + amplitude * Math.sin(2 * Math.PI * (tod - 0.25));
      const change = d === 0 && t >= time ? 1 + effect : 1;
      const latent = Math.exp(dayLevel + fastSd * fast + slowSd * slow);
      if (u() < MISSING) continue;
      let v: number;
      let w = NaN;
      switch (kind) {
        case 'count30':
          v = negBinomial(u, 30 * rhythm * latent * change);
          break;
        case 'count10':
          v = negBinomial(u, 12 * rhythm * latent * change);
          break;
        case 'ratio':
          w = poisson(u, 1000 * rhythm);
          v = Math.min(w, negBinomial(u, w * 0.012 * latent * change));
          break;
        case 'gauge':
          // CPU %: the rhythm and the change, with additive level noise (±2% fast, ±1% persistent, a day level).
          v = 50 * rhythm * change + 50 * (fastSd * fast + slowSd * slow + 0.3 * dayLevel);
          break;
        case 'quantile':
          // p95 latency: a milder rhythm, multiplicative noise (±2% fast, ±1% persistent, ±3% per bucket).
          v =
            300 *
            (1 + 0.3 * amplitude * Math.sin(2 * Math.PI * (tod - 0.25))) *
            change *
            Math.exp(fastSd * fast + slowSd * slow + 0.03 * normal(u) + 0.3 * dayLevel);
          break;
      }
      ts.push(t);
      value.push(v);
      weight.push(w);
    }
  }
  return { time, windows, ts, value, weight };
}
