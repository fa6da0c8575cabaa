// The days of a counterfactual on one grid of buckets: today (row 0) and each reference day,
// written straight from the stored columns; the reference profile per bucket; prefix sums that
// give any window's level in O(1).
import type { MetricKind } from '../domain/metric.js';
import type { WindowData } from './window-data.js';
import { lowerBound } from './order.js';
import { take } from './scratch.js';

/** One window's kept buckets and their start times (epoch ms, ascending). */
export interface TimedWindow {
  data: WindowData;
  ts: ArrayLike<number>;
}

/**
 * The days on one grid of buckets from the start of the pre-event stretch (position 0) to the end
 * of the after window: row 0 today, then a row per reference day (values, NaN where missing; log
 * latency), written in one pass over the stored columns. Every later step reads rows, prefix sums
 * and the profile, not timestamps.
 */
export interface Grid {
  n: number;
  /** End of the pre-event stretch and start of the after window, as positions. */
  preEnd: number;
  afterStart: number;
  rows: Float64Array[];
  /** Ratio denominators per row. */
  weights: Float64Array[] | null;
  /** Rows hold log values (latency). */
  log: boolean;
}

/**
 * An empty grid: `afterStart` = positions from the pre-event stretch's start to the after
 * window's, `preEnd` = the pre-event stretch's length, `afterBuckets` = the after window's.
 */
export function createGrid(kind: MetricKind, preEnd: number, afterStart: number, afterBuckets: number): Grid {
  return {
    n: afterStart + afterBuckets,
    preEnd,
    afterStart,
    rows: [],
    weights: kind === 'ratio' ? [] : null,
    log: kind === 'quantile',
  };
}

/** Adds a day's row (all missing) and returns its index. */
export function addRow(g: Grid): number {
  g.rows.push(take(g.n).fill(NaN));
  g.weights?.push(take(g.n));
  return g.rows.length - 1;
}

/** Writes a cut window's buckets into row `i` (positions from `origin`); returns how many it wrote. */
export function fillFromWindow(g: Grid, i: number, w: TimedWindow, origin: number, stepMs: number): number {
  const v = w.data.values;
  const q = w.data.weights;
  let present = 0;
  for (let k = 0; k < v.length; k++)
    present += put(g, i, Math.round((w.ts[k] - origin) / stepMs), v[k], q ? q[k] : NaN);
  return present;
}

/**
 * Writes the buckets of ascending columns inside [from, to) into row `i`, with the filter of the
 * window cut (finite values; for ratios a finite, non-negative weight; positive latency): one
 * binary search and one pass, no cut. `logged`: the column already holds log values (latency,
 * NaN where not positive), as logColumn() keeps them. Returns how many it wrote.
 */
export function fillFromColumns(
  g: Grid,
  i: number,
  c: { ts: ArrayLike<number>; value: ArrayLike<number>; weight?: ArrayLike<number> },
  from: number,
  to: number,
  origin: number,
  stepMs: number,
  logged = false,
): number {
  const lo = lowerBound(c.ts, from);
  const hi = lowerBound(c.ts, to);
  if (hi <= lo) return 0;
  const first = Math.round((c.ts[lo] - origin) / stepMs);
  const contiguous =
    Math.round((c.ts[hi - 1] - origin) / stepMs) - first === hi - 1 - lo && first >= 0 && first + (hi - lo) <= g.n;
  if (!contiguous || (g.log && !logged) || (g.weights && !c.weight)) {
    let present = 0;
    for (let k = lo; k < hi; k++)
      present += put(
        g,
        i,
        contiguous ? first + k - lo : Math.round((c.ts[k] - origin) / stepMs),
        c.value[k],
        c.weight ? c.weight[k] : NaN,
        logged,
      );
    return present;
  }
  // The common case (no gaps in the stored buckets): a straight copy of the finite ones.
  const row = g.rows[i];
  const value = c.value;
  let present = 0;
  if (g.weights) {
    const wrow = g.weights[i];
    const weight = c.weight as ArrayLike<number>;
    for (let k = lo, j = first; k < hi; k++, j++) {
      const v = value[k];
      const q = weight[k];
      if (v - v === 0 && q - q === 0 && q >= 0) {
        row[j] = v;
        wrow[j] = q;
        present++;
      }
    }
    return present;
  }
  for (let k = lo, j = first; k < hi; k++, j++) {
    const v = value[k];
    if (v - v === 0) {
      row[j] = v;
      present++;
    }
  }
  return present;
}

/** One bucket into a row, if it passes the cut's filter (`logged`: v is a log value already); 1 when written. */
function put(g: Grid, i: number, j: number, v: number, q: number, logged = false): number {
  if (j < 0 || j >= g.n || !Number.isFinite(v)) return 0;
  if (g.weights) {
    if (!(Number.isFinite(q) && q >= 0)) return 0;
    g.weights[i][j] = q;
  }
  if (g.log && !logged) {
    if (!(v > 0)) return 0;
    g.rows[i][j] = Math.log(v);
  } else g.rows[i][j] = v;
  return 1;
}

/** The reference profile: per position, the weighted mean of the reference rows present there (numerator and, for ratios, denominator). */
export interface Profile {
  num: Float64Array;
  den: Float64Array;
  wsum: Float64Array;
}

/** Rows 1.. of the grid are the reference days; `weights` are theirs. */
export function profileOf(g: Grid, weights: readonly number[]): Profile {
  const n = g.n;
  const num = take(n);
  const den = take(n);
  const wsum = take(n);
  for (let i = 0; i < weights.length; i++) {
    const c = weights[i];
    if (!(c > 0)) continue;
    const row = g.rows[i + 1];
    const wrow = g.weights?.[i + 1];
    if (wrow) {
      for (let j = 0; j < n; j++) {
        const v = row[j];
        if (v !== v) continue;
        num[j] += c * v;
        den[j] += c * wrow[j];
        wsum[j] += c;
      }
    } else {
      for (let j = 0; j < n; j++) {
        const v = row[j];
        if (v !== v) continue;
        num[j] += c * v;
        wsum[j] += c;
      }
    }
  }
  return { num, den, wsum };
}
/**
 * Prefix sums of each day's row for window levels in O(1): for gauges and latency of the value
 * minus the profile (so missing buckets on a ramp do not move a level), for counts of the value,
 * for ratios of numerator and denominator; and of the buckets present.
 */
export interface Sums {
  a: Float64Array[];
  b: Float64Array[];
}

export function sumsOf(kind: MetricKind, g: Grid, p: Profile, days: number): Sums {
  const a: Float64Array[] = [];
  const b: Float64Array[] = [];
  const n = g.n;
  const adjust = kind === 'gauge' || kind === 'quantile';
  // The profile's mean per position (NaN where no reference day has the bucket).
  const mean = take(n);
  for (let j = 0; j < n; j++) mean[j] = adjust ? (p.wsum[j] > 0 ? p.num[j] / p.wsum[j] : NaN) : 0;
  for (let i = 0; i < days; i++) {
    const row = g.rows[i];
    const wrow = g.weights?.[i];
    const sa = take(n + 1);
    const sb = take(n + 1);
    let x = 0;
    let y = 0;
    for (let j = 0; j < n; j++) {
      const v = row[j] - mean[j];
      if (v === v) {
        x += v;
        y += wrow ? wrow[j] : 1;
      }
      sa[j + 1] = x;
      sb[j + 1] = y;
    }
    a.push(sa);
    b.push(sb);
  }
  return { a, b };
}

/** A day's level over positions [from, to) on the comparison scale (NaN without one). */
export function levelIn(kind: MetricKind, s: Sums, day: number, from: number, to: number): number {
  const x = s.a[day][to] - s.a[day][from];
  const y = s.b[day][to] - s.b[day][from];
  if (!(y > 0)) return NaN;
  if (kind === 'gauge' || kind === 'quantile') return x / y;
  return x > 0 ? Math.log(x / y) : NaN;
}
/** Today's observed after level in the metric's units: mean rate, ratio of sums, geometric mean of latency, mean. */
export function afterLevel(kind: MetricKind, g: Grid): number {
  const row = g.rows[0];
  const wrow = g.weights?.[0];
  let s = 0;
  let n = 0;
  for (let j = g.afterStart; j < g.n; j++) {
    const v = row[j];
    if (v !== v) continue;
    s += v;
    n += wrow ? wrow[j] : 1;
  }
  if (kind === 'quantile') return Math.exp(s / n);
  return s / n;
}
