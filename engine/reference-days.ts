// The counterfactual's inputs from reference days: today's pre-event stretch and after window and
// each usable earlier day's same clock windows filled onto one grid (the statistics are in
// counterfactual.ts), with the days skipped and why.
import type { MetricKind } from '../domain/metric.js';
import { SPARSE_TOTAL, type Comparison } from './compare.js';
import { compareCounterfactual } from './counterfactual.js';
import { cut, MINIMUMS, strictlyAscending, sumOf, type Cut } from './cut.js';
import { hasData, referenceSource } from './earlier-days.js';
import { addRow, createGrid, fillFromColumns, fillFromWindow } from './grid.js';
import { referenceStretches } from './noise-history.js';
import { anyIn, lastIn, type Others } from './others.js';
import type { MetricInput, MetricResult, SeriesColumns } from './types.js';
import { MAX_REFERENCE_DAYS, referenceShifts, type EventWindows, type TimeWindow } from './windows.js';

const DAY_MS = 86_400_000;

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

/** The counterfactual's comparison, the baseline the report shows, and how many of today's history buckets it read. */
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
  const c = compareCounterfactual(m.kind, grid, used, { confLevel: conf }, noise, m.placebo_history);
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
