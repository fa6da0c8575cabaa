// What a metric's change is measured against: the counterfactual from reference days (the
// grid filled here, the statistics in counterfactual.ts), the single-reference fallback, and the
// noise-model history of the plain comparison.
import type { MetricInput, MetricResult } from './analyze.js';
import { compareWindows, historyStretch, SPARSE_TOTAL, summarize, type Comparison } from './compare.js';
import type { MetricKind } from '../domain/metric.js';
import { compareCounterfactual } from './counterfactual.js';
import { addRow, createGrid, fillFromColumns, fillFromWindow } from './grid.js';
import {
  cut,
  cutColumns,
  insufficiency,
  MINIMUMS,
  strictlyAscending,
  sumOf,
  type Cut,
  type Point,
  type SeriesColumns,
} from './cut.js';
import type { SerialStretch } from './hac.js';
import { lowerBound } from './order.js';
import { anyIn, lastIn, type Others } from './others.js';
import { take } from './scratch.js';
import { MAX_REFERENCE_DAYS, referenceShifts, type EventWindows, type TimeWindow } from './windows.js';

/** A column's log values (NaN where not positive), once per value column: Math.log per bucket and reference day would cost more than the rest of the grid. */
const logColumns = new WeakMap<object, SeriesColumns>();

function logColumn(c: SeriesColumns): SeriesColumns {
  let l = logColumns.get(c.value as unknown as object);
  if (!l) {
    const v = new Float64Array(c.value.length);
    for (let i = 0; i < v.length; i++) v[i] = c.value[i] > 0 ? Math.log(c.value[i]) : NaN;
    logColumns.set(c.value as unknown as object, (l = { ts: c.ts, value: v }));
  }
  return l;
}

/** YYYY-MM-DD of an instant (UTC), remembered per day: reports name up to 28 reference days each. */
const utcDates = new Map<number, string>();

function utcDate(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let s = utcDates.get(day);
  if (s === undefined) {
    if (utcDates.size > 4096) utcDates.clear();
    utcDates.set(day, (s = new Date(day * DAY_MS).toISOString().slice(0, 10)));
  }
  return s;
}

/** Where a metric's earlier days are read from: its columns (sorted if they are not), or its reference points as columns. */
function referenceSource(m: MetricInput): SeriesColumns | null {
  if (m.series && strictlyAscending(m.series.ts)) return m.series;
  const points: Point[] = m.series
    ? Array.from({ length: m.series.ts.length }, (_, i) => ({
        ts: m.series!.ts[i],
        value: m.series!.value[i],
        weight: m.series!.weight?.[i],
      }))
    : (m.references ?? []);
  if (!points.length) return null;
  const byTs = new Map<number, Point>();
  for (const p of points) byTs.set(p.ts, p);
  const sorted = [...byTs.values()].sort((a, b) => a.ts - b.ts);
  return {
    ts: Float64Array.from(sorted, (p) => p.ts),
    value: Float64Array.from(sorted, (p) => p.value),
    weight:
      m.kind === 'ratio' ? Float64Array.from(sorted, (p) => (p.weight === undefined ? NaN : p.weight)) : undefined,
  };
}

/** Whether a column holds any bucket in [from, to). */
function hasData(c: SeriesColumns, w: TimeWindow): boolean {
  if (!strictlyAscending(c.ts)) {
    for (let i = 0; i < c.ts.length; i++) if (c.ts[i] >= w.from && c.ts[i] < w.to) return true;
    return false;
  }
  return lowerBound(c.ts, w.to) > lowerBound(c.ts, w.from);
}

export interface ReferenceOutcome {
  cmp: Comparison;
  baseline: MetricResult['baseline'];
  /** Today's buckets ahead of the before window that set its level (and fed the noise model). */
  historyBuckets: number;
}

const COUNTERFACTUAL_METHOD: Record<MetricKind, string> = {
  count: 'reference_days_log_rate_t',
  ratio: 'reference_days_log_ratio_of_sums_t',
  quantile: 'reference_days_log_latency_t',
  gauge: 'reference_days_mean_t',
};

/**
 * The counterfactual from reference days (engine/counterfactual.ts), or null when fewer than
 * MIN_REFERENCE_DAYS usable days exist (or counts are sparse: the exact test of the plain
 * comparison is the right one there). Today's pre-event stretch is the history and the before
 * window, starting after the latest other event in it (a level it changed is not today's level);
 * a reference day is used when its windows are 80% complete and no other event falls between the
 * start of its before window and the end of its after window.
 */
export function referenceDays(
  m: MetricInput,
  windows: EventWindows,
  t: number,
  others: Others,
  afterBuckets: number,
  before: Cut,
  after: Cut,
  conf: number,
): ReferenceOutcome | null {
  const source = referenceSource(m);
  if (!source) return null;
  if ((m.kind === 'count' || m.kind === 'ratio') && sumOf(before.data.values) + sumOf(after.data.values) < SPARSE_TOTAL)
    return null;
  const step = m.step_seconds * 1000;
  let preFrom = windows.pre.from;
  const earlier = lastIn(others, { from: preFrom, to: windows.before.from });
  if (earlier !== null) preFrom = Math.ceil((earlier + 1) / step) * step;
  const pre = { from: preFrom, to: windows.before.to };
  const preBuckets = Math.round((pre.to - pre.from) / step);
  // Today (row 0) and each usable reference day on one grid of buckets from the pre-event stretch's start.
  const grid = createGrid(m.kind, preBuckets, Math.round((windows.after.from - pre.from) / step), afterBuckets);
  addRow(grid);
  // Latency goes on the grid as logs, taken once per column.
  const logged = m.kind === 'quantile';
  const columns = logged ? logColumn(source) : source;
  const todayPresent =
    m.series && strictlyAscending(m.series.ts)
      ? fillFromColumns(grid, 0, columns, pre.from, pre.to, pre.from, step, logged)
      : fillFromWindow(grid, 0, cut(m.before, pre, m.kind === 'quantile' ? 'gauge' : m.kind), pre.from, step);
  if (todayPresent < MINIMUMS.bucketsPerSide) return null;
  fillFromWindow(grid, 0, after, pre.from, step);
  const days = Math.min(MAX_REFERENCE_DAYS, Math.max(0, Math.floor(m.reference_days ?? MAX_REFERENCE_DAYS)));
  const shifts = referenceShifts(t, days, m.step_seconds, m.time_zone);
  const used: number[] = [];
  const ranges: TimeWindow[] = [];
  const skipped: { day: number; reason: string }[] = [];
  shifts.forEach((shift, i) => {
    const day = i + 1;
    const origin = pre.from - shift;
    const rAfter = { from: windows.after.from - shift, to: windows.after.to - shift };
    if (!hasData(source, { from: origin, to: rAfter.to })) return;
    if (anyIn(others, { from: windows.before.from - shift, to: rAfter.to })) {
      skipped.push({ day, reason: 'another event in its windows' });
      return;
    }
    const row = addRow(grid);
    const inPre = fillFromColumns(grid, row, columns, origin, pre.to - shift, origin, step, logged);
    const inAfter = fillFromColumns(grid, row, columns, rAfter.from, rAfter.to, origin, step, logged);
    if (inAfter < MINIMUMS.coverage * afterBuckets || inPre < MINIMUMS.coverage * preBuckets) {
      grid.rows.pop();
      grid.weights?.pop();
      skipped.push({ day, reason: `under ${MINIMUMS.coverage * 100}% of buckets present` });
      return;
    }
    used.push(day);
    ranges.push({ from: origin, to: rAfter.to });
  });
  const noise = referenceStretches(m, source, ranges, windows.before_ms, others);
  const c = compareCounterfactual(m.kind, grid, used, { confLevel: conf }, noise);
  if (!c) return null;
  for (const day of c.outliers)
    skipped.push({ day, reason: "its own change lay far from the other days' (an outage or an unlisted event?)" });
  skipped.sort((x, y) => x.day - y.day);
  const cmp: Comparison = {
    method: COUNTERFACTUAL_METHOD[m.kind],
    statistic: c.se > 0 ? c.diff / c.se : null,
    p_value: c.p,
    df: Number.isFinite(c.df) ? c.df : null,
    absolute: c.absolute,
    relative: c.relative,
    ci: c.ci,
    ci_absolute: c.ci_absolute,
    se_relative: c.se_relative,
    autocorrelation: c.autocorrelation,
    n_eff: c.n_eff,
    exact: false,
  };
  const date = (shift: number) => utcDate(t - shift);
  let historyBuckets = 0;
  for (let j = 0; j < Math.round((windows.before.from - pre.from) / step); j++)
    if (grid.rows[0][j] === grid.rows[0][j]) historyBuckets++;
  return {
    cmp,
    historyBuckets,
    baseline: {
      kind: 'reference_days',
      reference_days: c.days.length,
      days: c.days.map((d) => ({ day: d.day, date: date(shifts[d.day - 1]), weight: d.weight, change: d.change })),
      ...(skipped.length ? { skipped_days: skipped } : {}),
      calibration: c.calibration,
      placebo: c.placebo,
      weekday_adjusted: c.weekday_adjusted,
    },
  };
}

/**
 * The reference days' share of the noise model: their ranges cut into before-window-long stretches
 * on the fixed clock grid (as the history ahead of the before window is), each demeaned and reduced
 * to its autocorrelations once per series column (log values for latency, which the
 * counterfactual compares on the log scale); a stretch holding another event is left out.
 */
function referenceStretches(
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

const DAY_MS = 86_400_000;

/**
 * The single-reference fallback (fewer than MIN_REFERENCE_DAYS reference days): a
 * difference-in-differences against the same windows a week earlier, else a day earlier, when
 * complete and free of other events; else the plain before/after comparison.
 */
export function singleReference(
  m: MetricInput,
  windows: EventWindows,
  others: Others,
  expected: { before: number; after: number },
  before: Cut,
  after: Cut,
  conf: number,
  noise: SerialStretch[],
  result: MetricResult,
): { cmp: Comparison; plain: Comparison } {
  let reference: {
    kind: 'seasonal_week' | 'seasonal_day';
    b: Cut;
    a: Cut;
    w: { before: TimeWindow; after: TimeWindow };
  } | null = null;
  const skipped: string[] = [];
  const source = m.seasonal ? null : referenceSource(m);
  for (const [kind, key] of [
    ['seasonal_week', 'week'],
    ['seasonal_day', 'day'],
  ] as const) {
    const pts = m.seasonal?.[key];
    const w = windows.seasonal[key];
    if (!pts && !(source && hasData(source, { from: w.before.from, to: w.after.to }))) continue;
    const rb = pts ? cut(pts, w.before, m.kind) : cutColumns(source!, w.before, m.kind);
    const ra = pts ? cut(pts, w.after, m.kind) : cutColumns(source!, w.after, m.kind);
    const refWhy = insufficiency(m.kind, rb, ra, expected);
    if (refWhy) {
      skipped.push(`${key}: ${refWhy}`);
      continue;
    }
    if (anyIn(others, { from: w.before.from, to: w.after.to })) {
      skipped.push(`${key}: another event in the reference windows`);
      continue;
    }
    reference = { kind, b: rb, a: ra, w };
    break;
  }
  const plain = compareWindows(m.kind, before.data, after.data, { confLevel: conf, historyStretches: noise });
  let cmp = plain;
  if (reference) {
    const did = compareWindows(m.kind, before.data, after.data, {
      confLevel: conf,
      reference: { before: reference.b.data, after: reference.a.data },
      historyStretches: noise,
    });
    if (did.method.endsWith('_did')) {
      cmp = did;
      const refOnly = compareWindows(m.kind, reference.b.data, reference.a.data, { confLevel: conf });
      result.baseline = {
        kind: reference.kind,
        reference: {
          before: { ...reference.w.before },
          after: { ...reference.w.after },
          before_summary: summarize(m.kind, reference.b.data),
          after_summary: summarize(m.kind, reference.a.data),
        },
        reference_change: refOnly.relative,
        explains_change: false,
      };
    } else skipped.push(`${reference.kind}: reference windows unusable for this kind`);
  }
  if (skipped.length && result.baseline.kind === 'before_window') result.baseline.skipped = skipped.join('; ');
  return { cmp, plain };
}

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
