// When did the change begin? A CUSUM change-point over the before and after buckets, so a
// shift that started before the event ("it was already rising") is said out loud.
import type { MetricKind } from '../domain/metric.js';
import type { WindowData } from './window-data.js';
import { take } from './scratch.js';

export interface Onset {
  /** Start of the first bucket of the new level (ISO 8601). */
  ts: string;
  /** Minutes from the event time (negative = before the event). */
  minutes_from_event: number;
  /** True when the change point lies inside the before window, i.e. before the event's gap. */
  before_event: boolean;
  method: 'cusum';
}

/** How clear a split must be (difference of segment means in standard errors). */
export const ONSET_Z = 4;

/** Largest |cumulative deviation from the overall mean| marks the change point. */
export function cusumOnset(
  kind: MetricKind,
  before: { data: WindowData; ts: ArrayLike<number> },
  after: { data: WindowData; ts: ArrayLike<number> },
  eventTime: number,
  stepSeconds: number,
): Onset | null {
  // Scratch views: the caller's mark (analyzeEvent) frees them.
  const values = take(before.ts.length + after.ts.length);
  const ts = take(values.length);
  let n = 0;
  for (const w of [before, after]) {
    for (let i = 0; i < w.ts.length; i++) {
      let v = w.data.values[i];
      if (kind === 'ratio') {
        const q = (w.data.weights as ArrayLike<number>)[i];
        if (!(q > 0)) continue;
        v = v / q;
      }
      values[n] = v;
      ts[n++] = w.ts[i];
    }
  }
  if (n < 4) return null;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let s = 0;
  let best = -1;
  let bestK = -1;
  for (let k = 0; k < n - 1; k++) {
    s += values[k] - mean;
    if (Math.abs(s) > best) {
      best = Math.abs(s);
      bestK = k + 1;
    }
  }
  if (bestK < 1 || best === 0) return null;
  // Keep the change point only when the split is clear: the difference of the two segment means
  // against their residual spread, widened for the residuals' own lag-1 autocorrelation.
  let m1 = 0;
  for (let i = 0; i < bestK; i++) m1 += values[i];
  m1 /= bestK;
  let m2 = 0;
  for (let i = bestK; i < n; i++) m2 += values[i];
  m2 /= n - bestK;
  let ss = 0;
  let c1 = 0;
  let prev = NaN;
  for (let i = 0; i < n; i++) {
    const r = values[i] - (i < bestK ? m1 : m2);
    ss += r * r;
    if (i > 0) c1 += r * prev;
    prev = r;
  }
  const rho = ss > 0 ? Math.min(Math.max(c1 / ss, 0), 0.9) : 0;
  const sd = Math.sqrt(ss / Math.max(1, n - 2));
  const se = sd * Math.sqrt(((1 + rho) / (1 - rho)) * (1 / bestK + 1 / (n - bestK)));
  if (se > 0 && Math.abs(m2 - m1) / se < ONSET_Z) return null;
  const at = ts[bestK];
  const beforeEnd = before.ts.length ? before.ts[before.ts.length - 1] + stepSeconds * 1000 : eventTime;
  return {
    ts: new Date(at).toISOString(),
    minutes_from_event: (at - eventTime) / 60_000,
    // Two buckets of slack so a change at the window edge is not called early.
    before_event: at < beforeEnd - 2 * stepSeconds * 1000,
    method: 'cusum',
  };
}
