// The summary numbers of one window for the report (n, mean, median, p95, rate and sums), with
// the median and p95 found by selection rather than a full sort.
import type { MetricKind } from '../domain/metric.js';
import { before, selectInPlace } from './order.js';
import type { WindowSummary as ReportWindowSummary } from '../domain/report.js';
import { mark, release, take } from './scratch.js';
import { SORTED, sum, type WindowData } from './window-data.js';

/** Summary of one window, in the metric's units: the report's, plus the sums the tests use. */
export interface WindowSummary extends ReportWindowSummary {
  /** count / ratio: total of the numerator (and of the denominator for ratios). */
  sum?: number;
  weight_sum?: number;
}

/** R-7 quantile (type 7, as R's default and ClickHouse quantileExactInclusive) of a sorted array. */
export function quantileSorted(s: ArrayLike<number>, p: number): number {
  const n = s.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/** Smallest of a[l..r] in sort order. */
function minOf(a: Float64Array, l: number, r: number): number {
  let m = a[l];
  for (let i = l + 1; i <= r; i++) if (before(a[i], m)) m = a[i];
  return m;
}

/** quantileSorted(sort(a), p) by selection within a[from..], everything before `from` being already in place. */
function selectQuantile(a: Float64Array, p: number, from: number): number {
  const n = a.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  selectInPlace(a, from, n - 1, lo);
  const vLo = a[lo];
  const vHi = hi === lo ? vLo : minOf(a, lo + 1, n - 1);
  return vLo + (h - lo) * (vHi - vLo);
}

/**
 * quantileSorted() at p = 0.5 and, when asked, 0.95 without a full sort: a selection gives the
 * same order statistics (one pass to place the lower one, a minimum for the next).
 */
function medianP95(w: WindowData, wantP95: boolean): [number, number | null] {
  const attached = (w as { [SORTED]?: Float64Array })[SORTED];
  if (attached) return [quantileSorted(attached, 0.5), wantP95 ? quantileSorted(attached, 0.95) : null];
  const n = w.values.length;
  const at = mark();
  try {
    const a = take(n);
    a.set(w.values as ArrayLike<number>);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(a[i])) {
        // NaN has no place in the selection's order: let the sort place it.
        a.sort();
        return [quantileSorted(a, 0.5), wantP95 ? quantileSorted(a, 0.95) : null];
      }
    }
    const median = selectQuantile(a, 0.5, 0);
    // Everything above the median's lower index is already at or above it.
    const p95 = wantP95 ? selectQuantile(a, 0.95, Math.min(Math.floor((n - 1) * 0.5) + 1, n - 1)) : null;
    return [median, p95];
  } finally {
    release(at);
  }
}

/** Summary numbers of a window for the report. */
export function summarize(kind: MetricKind, w: WindowData): WindowSummary {
  const n = w.values.length;
  if (n === 0)
    return {
      n: 0,
      mean: null,
      median: null,
      p95: null,
      rate: null,
      ...(kind === 'count' || kind === 'ratio' ? { sum: 0 } : {}),
      ...(kind === 'ratio' ? { weight_sum: 0 } : {}),
    };
  const [median, p95] = medianP95(w, kind === 'gauge' || kind === 'quantile');
  const total = sum(w.values);
  const out: WindowSummary = {
    n,
    mean: total / n,
    median,
    p95,
    rate: null,
  };
  if (kind === 'count') {
    out.rate = total / n;
    out.sum = total;
  } else if (kind === 'ratio') {
    const q = sum(w.weights ?? []);
    out.rate = q > 0 ? total / q : null;
    out.sum = total;
    out.weight_sum = q;
  }
  return out;
}
