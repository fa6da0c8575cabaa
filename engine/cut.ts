// Cutting windows out of a metric's points or columns (one point per bucket, finite values; by
// binary search in ascending columns, as views where nothing is filtered out), and whether two
// cut windows hold enough to be judged.
import type { MetricKind } from '../domain/metric.js';
import { pct0 } from './explain.js';
import { lowerBound, sortWithRanks } from './order.js';
import { take } from './scratch.js';
import type { Point, SeriesColumns } from './types.js';
import { RANKS, SORTED, type WindowData } from './window-data.js';
import type { TimeWindow } from './windows.js';

/** A window cut out of a series: its buckets' data and their start times. */
export interface Cut {
  data: WindowData;
  ts: ArrayLike<number>;
}

/** Window data from kept values / weights / times; latency windows carry their sorted values (summaries and ranks sort once). */
export function makeCut(
  values: Float64Array,
  weights: Float64Array | undefined,
  ts: ArrayLike<number>,
  kind: MetricKind,
): Cut {
  // Only the rank methods need the whole order; the other kinds' summaries select two values.
  if (kind !== 'quantile') return { data: { values, weights }, ts };
  const { sorted, ranks } = sortWithRanks(values);
  const data: WindowData & { [SORTED]: Float64Array; [RANKS]: Float64Array } = {
    values,
    weights,
    [SORTED]: sorted,
    [RANKS]: ranks,
  };
  return { data, ts };
}

/** Points inside [from, to), one per bucket (the last wins), finite only, sorted by time. */
export function cut(points: Point[] | undefined, w: TimeWindow, kind: MetricKind): Cut {
  const kept: Point[] = [];
  let ordered = true;
  let last = -Infinity;
  for (const p of points ?? []) {
    if (p.ts < w.from || p.ts >= w.to || !Number.isFinite(p.value)) continue;
    if (kind === 'ratio' && !(Number.isFinite(p.weight) && (p.weight as number) >= 0)) continue;
    if (p.ts <= last) ordered = false;
    last = p.ts;
    kept.push(p);
  }
  // Providers return ordered, unique buckets; only otherwise pay for de-duplication and a sort.
  let sorted = kept;
  if (!ordered) {
    const byTs = new Map<number, Point>();
    for (const p of kept) byTs.set(p.ts, p);
    sorted = [...byTs.values()].sort((a, b) => a.ts - b.ts);
  }
  const values = take(sorted.length);
  const weights = kind === 'ratio' ? take(sorted.length) : undefined;
  const ts = take(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    values[i] = sorted[i].value;
    if (weights) weights[i] = sorted[i].weight as number;
    ts[i] = sorted[i].ts;
  }
  return makeCut(values, weights, ts, kind);
}

/** Whether a ts column is strictly ascending (checked once per column, remembered). */
const ascendingColumns = new WeakMap<object, boolean>();

export function strictlyAscending(ts: ArrayLike<number>): boolean {
  const key = ts as unknown as object;
  let ok = ascendingColumns.get(key);
  if (ok === undefined) {
    ok = true;
    for (let i = 1; i < ts.length && ok; i++) ok = ts[i] > ts[i - 1];
    ascendingColumns.set(key, ok);
  }
  return ok;
}

/** cut() on columns: same points kept, found by binary search when the column is ascending. */
export function cutColumns(c: SeriesColumns, w: TimeWindow, kind: MetricKind): Cut {
  const { ts, value, weight } = c;
  if (!strictlyAscending(ts)) {
    const points: Point[] = [];
    for (let i = 0; i < ts.length; i++)
      if (ts[i] >= w.from && ts[i] < w.to) points.push({ ts: ts[i], value: value[i], weight: weight?.[i] });
    return cut(points, w, kind);
  }
  const lo = lowerBound(ts, w.from);
  const hi = lowerBound(ts, w.to);
  const ratio = kind === 'ratio';
  if (ratio && !weight) return makeCut(take(0), take(0), take(0), kind);
  // The same filter as cut(): finite values, and for ratios a finite non-negative weight.
  let n = 0;
  for (let i = lo; i < hi; i++)
    if (Number.isFinite(value[i]) && (!ratio || (Number.isFinite(weight![i]) && weight![i] >= 0))) n++;
  // Nothing filtered out of Float64Array columns: the window is a view of them, no copy.
  if (
    n === hi - lo &&
    value instanceof Float64Array &&
    ts instanceof Float64Array &&
    (!ratio || weight instanceof Float64Array)
  ) {
    return makeCut(
      value.subarray(lo, hi),
      ratio ? (weight as Float64Array).subarray(lo, hi) : undefined,
      ts.subarray(lo, hi),
      kind,
    );
  }
  const values = take(n);
  const weights = ratio ? take(n) : undefined;
  const times = take(n);
  let k = 0;
  for (let i = lo; i < hi; i++) {
    const v = value[i];
    if (!Number.isFinite(v)) continue;
    if (weights) {
      const q = weight![i];
      if (!(Number.isFinite(q) && q >= 0)) continue;
      weights[k] = q;
    }
    values[k] = v;
    times[k++] = ts[i];
  }
  return makeCut(values, weights, times, kind);
}

export const sumOf = (a: ArrayLike<number> | undefined) => {
  let s = 0;
  if (a) for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};

/** Minimums below which a metric is insufficient_data. */
export const MINIMUMS = { bucketsPerSide: 10, coverage: 0.8, effectiveSamples: 2, totalCount: 1 };

/** Why a pair of windows cannot be judged, or null when it can. */
export function insufficiency(
  kind: MetricKind,
  b: Cut,
  a: Cut,
  expected: { before: number; after: number },
): string | null {
  const nb = b.data.values.length;
  const na = a.data.values.length;
  if (nb === 0 || na === 0)
    return `no data in the ${nb === 0 ? (na === 0 ? 'before and after windows' : 'before window') : 'after window'}`;
  if (nb < MINIMUMS.bucketsPerSide || na < MINIMUMS.bucketsPerSide)
    return `fewer than ${MINIMUMS.bucketsPerSide} buckets a side (${nb} before, ${na} after)`;
  const cb = nb / expected.before;
  const ca = na / expected.after;
  if (cb < MINIMUMS.coverage || ca < MINIMUMS.coverage)
    return `under ${MINIMUMS.coverage * 100}% of buckets present (${pct0(cb)} before, ${pct0(ca)} after)`;
  if (kind === 'ratio') {
    if (sumOf(b.data.weights) <= 0 || sumOf(a.data.weights) <= 0) return 'no requests (denominator) in a window';
  }
  if ((kind === 'count' || kind === 'ratio') && sumOf(b.data.values) + sumOf(a.data.values) < MINIMUMS.totalCount)
    return 'no events counted in either window';
  return null;
}
