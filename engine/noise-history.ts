// The noise model's history: stretches of the same series (today's hours ahead of the before
// window, and the reference days' ranges) cut on a fixed clock grid, each reduced to its
// autocorrelations once per series column; stretches holding another event are left out.
import type { MetricKind } from '../domain/metric.js';
import { cut, cutColumns, MINIMUMS, type Cut } from './cut.js';
import type { SerialStretch } from './hac.js';
import { historyStretch } from './history-stretch.js';
import { anyIn, type Others } from './others.js';
import { take } from './scratch.js';
import type { MetricInput, SeriesColumns } from './types.js';
import type { EventWindows, TimeWindow } from './windows.js';

const DAY_MS = 86_400_000;

/** Reduced history stretches per series (keyed by its value column, which must not change once passed), kind and length, and stretch start. */
const stretchCache = new WeakMap<object, Map<string, Map<number, SerialStretch | null>>>();

/** The reduced stretches of one series column for one shape (kind and length), by stretch start. */
function stretchCacheFor(series: SeriesColumns, shape: string): Map<number, SerialStretch | null> {
  const column = series.value as unknown as object;
  let byShape = stretchCache.get(column);
  if (!byShape) stretchCache.set(column, (byShape = new Map()));
  let cache = byShape.get(shape);
  if (!cache) byShape.set(shape, (cache = new Map()));
  return cache;
}

/**
 * The noise-model history: the points given in windows.history, cut into stretches of the before
 * window's length on a fixed clock grid, each reduced to its autocorrelations (historyStretch).
 * A stretch needs the before window's minimum of buckets, and one that holds another event is
 * left out: a level shift inside it would read as autocorrelation. On the grid, events close in
 * time share stretches, and with columnar input each is reduced once.
 */
export function historyStretches(m: MetricInput, windows: EventWindows, others: Others): SerialStretch[] {
  const len = windows.before_ms;
  const out: SerialStretch[] = [];
  if (!(len > 0)) return out;
  const cache = m.series ? stretchCacheFor(m.series, `${m.kind}:${len}`) : undefined;
  for (let to = windows.history.to; to - len >= windows.history.from; to -= len) {
    const w = { from: to - len, to };
    if (anyIn(others, w)) continue;
    let s = cache?.get(w.from);
    if (s === undefined) {
      const c = m.series ? cutColumns(m.series, w, m.kind) : cut(m.before, w, m.kind);
      s = c.data.values.length >= MINIMUMS.bucketsPerSide ? historyStretch(m.kind, c.data) : null;
      cache?.set(w.from, s);
    }
    if (s) out.push(s);
  }
  return out;
}

/**
 * The reference days' share of the noise model: their ranges cut into before-window-long stretches
 * on the fixed clock grid (as the history ahead of the before window is), each demeaned and reduced
 * to its autocorrelations once per series column (log values for latency, which the
 * counterfactual compares on the log scale); a stretch holding another event is left out.
 */
export function referenceStretches(
  m: MetricInput,
  source: SeriesColumns,
  ranges: readonly TimeWindow[],
  len: number,
  others: Others,
): SerialStretch[] {
  const out: SerialStretch[] = [];
  if (!(len > 0)) return out;
  const cache = stretchCacheFor(source, `ref:${m.kind}:${len}`);
  for (const r of ranges) {
    for (let from = Math.ceil(r.from / len) * len; from + len <= r.to; from += len) {
      const w = { from, to: from + len };
      if (anyIn(others, w)) continue;
      let s = cache.get(from);
      if (s === undefined) {
        s = null;
        const c = cutColumns(source, w, m.kind === 'quantile' ? 'gauge' : m.kind);
        if (c.data.values.length >= MINIMUMS.bucketsPerSide)
          s =
            m.kind === 'ratio'
              ? historyStretch(m.kind, c.data)
              : deseasonalizedStretch(source, m.kind, c, m.step_seconds * 1000);
        cache.set(from, s);
      }
      if (s) out.push(s);
    }
  }
  return out;
}

/**
 * The series' mean at each clock bucket of the day over everything the column holds (log values
 * for latency): the daily rhythm, once per series column (kept while the column lives).
 */
const clockProfiles = new WeakMap<object, Map<string, Float64Array>>();

function clockProfile(source: SeriesColumns, kind: MetricKind, stepMs: number): Float64Array {
  const key = `${kind}:${stepMs}`;
  let byKey = clockProfiles.get(source.value as unknown as object);
  if (!byKey) clockProfiles.set(source.value as unknown as object, (byKey = new Map()));
  let profile = byKey.get(key);
  if (profile) return profile;
  const slots = Math.max(1, Math.round(DAY_MS / stepMs));
  const sum = new Float64Array(slots);
  const n = new Float64Array(slots);
  for (let i = 0; i < source.ts.length; i++) {
    const v = source.value[i];
    if (!Number.isFinite(v) || (kind === 'quantile' && !(v > 0))) continue;
    const j = Math.floor((((source.ts[i] % DAY_MS) + DAY_MS) % DAY_MS) / stepMs) % slots;
    sum[j] += kind === 'quantile' ? Math.log(v) : v;
    n[j]++;
  }
  profile = new Float64Array(slots);
  for (let j = 0; j < slots; j++) profile[j] = n[j] > 0 ? sum[j] / n[j] : NaN;
  byKey.set(key, profile);
  return profile;
}

/**
 * A count, gauge or latency stretch (log values) reduced to its autocorrelations net of the
 * series' clock profile: a daily ramp moves a series within an hour, and left in, that would read
 * as persistence (a low-noise gauge moves by more than its noise). Ratios keep their e − R·r
 * residuals: the ramp moves numerator and denominator together.
 */
function deseasonalizedStretch(source: SeriesColumns, kind: MetricKind, c: Cut, stepMs: number): SerialStretch | null {
  const profile = clockProfile(source, kind, stepMs);
  const v = c.data.values;
  const x = take(v.length);
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (kind === 'quantile' && !(v[i] > 0)) continue;
    const p = profile[Math.floor((((c.ts[i] % DAY_MS) + DAY_MS) % DAY_MS) / stepMs) % profile.length];
    if (!Number.isFinite(p)) continue;
    x[n++] = (kind === 'quantile' ? Math.log(v[i]) : v[i]) - p;
  }
  return historyStretch('gauge', { values: x.subarray(0, n) });
}
