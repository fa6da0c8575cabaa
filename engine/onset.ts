// When did the change begin? A CUSUM change-point over the before and after buckets, so a
// shift that started before the event ("it was already rising") is said out loud.
import type { MetricKind, WindowData } from './compare.js';

export interface Onset {
  /** Start of the first bucket of the new level (ISO 8601). */
  ts: string;
  /** Minutes from the event time (negative = before the event). */
  minutes_from_event: number;
  /** True when the change point lies inside the before window, i.e. before the event's gap. */
  before_event: boolean;
  method: 'cusum';
}

/** Largest |cumulative deviation from the overall mean| marks the change point. */
export function cusumOnset(kind: MetricKind, before: { data: WindowData; ts: number[] }, after: { data: WindowData; ts: number[] }, eventTime: number, stepSeconds: number): Onset | null {
  const values: number[] = [];
  const ts: number[] = [];
  for (const w of [before, after]) {
    for (let i = 0; i < w.ts.length; i++) {
      let v = w.data.values[i];
      if (kind === 'ratio') {
        const q = (w.data.weights as ArrayLike<number>)[i];
        if (!(q > 0)) continue;
        v = v / q;
      }
      values.push(v);
      ts.push(w.ts[i]);
    }
  }
  const n = values.length;
  if (n < 4) return null;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let s = 0;
  let best = -1;
  let bestK = -1;
  for (let k = 0; k < n - 1; k++) {
    s += values[k] - mean;
    if (Math.abs(s) > best) { best = Math.abs(s); bestK = k + 1; }
  }
  if (bestK < 1 || best === 0) return null;
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
