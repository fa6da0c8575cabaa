// Impact of one event on its metrics: cuts the windows, checks data sufficiency, picks the
// baseline (plain or seasonal), runs the per-kind comparison, adjusts p-values (BH) and gives
// verdicts with a one-sentence explanation.
import { normQuantile } from './distributions.js';
import { benjaminiHochberg } from './exact.js';
import { compareWindows, historyStretch, RANKS, SORTED, SPARSE_TOTAL, summarize, type Comparison, type MetricKind, type WindowData, type WindowSummary } from './compare.js';
import type { SerialStretch } from './hac.js';
import { cusumOnset, type Onset } from './onset.js';
import { lowerBound, sortWithRanks } from './order.js';
import { mark, release, take } from './scratch.js';
import { addRow, compareCounterfactual, createGrid, fillFromColumns, fillFromWindow } from './counterfactual.js';
import { computeWindows, knownEventType, MAX_REFERENCE_DAYS, referenceShifts, toEpochMs, type EventWindows, type TimeWindow, type WindowOverrides } from './windows.js';

export type Direction = 'increase_is_bad' | 'decrease_is_bad' | 'either';
export type MetricVerdict = 'regression' | 'improvement' | 'no_change' | 'inconclusive' | 'insufficient_data';
export type EventVerdict = 'regression' | 'improvement' | 'no_change' | 'inconclusive';

/** One bucket: `ts` epoch ms at the bucket start; `weight` = denominator for ratios. */
export interface Point {
  ts: number;
  value: number;
  weight?: number;
}

/** An event as the engine needs it. */
export interface EngineEvent {
  id: string;
  type: string;
  time: string | number;
  subject?: string | null;
}

/** One metric to analyse; point arrays may cover more than the windows (they are cut here). */
export interface MetricInput {
  id: string;
  name?: string;
  kind: MetricKind;
  direction: Direction;
  /** Practical threshold, relative (default DEFAULT_THRESHOLDS by kind). */
  threshold?: number;
  critical?: boolean;
  step_seconds: number;
  unit?: string | null;
  before: Point[];
  after: Point[];
  /**
   * The same points as columns (optional, faster: no point objects). When set, the before and
   * after windows are cut from it and `before` / `after` are ignored. `ts` should be ascending
   * with one point per bucket (as `ORDER BY ts` returns); other orders are handled, more slowly.
   */
  series?: SeriesColumns;
  /**
   * Points of earlier days (any range; the engine reads the same clock windows on each of up to
   * `reference_days` previous days). Ignored when `series` is given: it should cover them.
   */
  references?: Point[];
  /** How many previous days to look for reference windows in (default and at most MAX_REFERENCE_DAYS). */
  reference_days?: number;
  /** IANA time zone in which "the same clock time" is meant (the provider's; default UTC). */
  time_zone?: string | null;
  /** Points around the same clock windows one week / one day earlier (single-reference fallback). */
  seasonal?: { week?: Point[]; day?: Point[] };
  /** Per-metric window overrides. */
  windows?: WindowOverrides;
}

/** A series as parallel columns: bucket starts (epoch ms), values and, for ratios, weights. */
export interface SeriesColumns {
  ts: ArrayLike<number>;
  value: ArrayLike<number>;
  weight?: ArrayLike<number>;
}

export interface AnalyzeInput {
  event: EngineEvent;
  metrics: MetricInput[];
  /** Other events of the org; those near the windows are reported as confounders. */
  otherEvents?: EngineEvent[];
  /** Significance level for q-values and the interval level (default 0.05 → 95%). */
  alpha?: number;
  /** Per-request window overrides (win over per-metric ones). */
  windows?: WindowOverrides;
}

export interface Confounder {
  id: string;
  type: string;
  time: string;
  subject: string | null;
  /** Which of our windows it falls in. */
  window: 'before' | 'after' | 'gap';
  /** Share of that window after the other event (how much of it the other event can touch). */
  coverage: number;
}

export interface MetricResult {
  metric_id: string;
  name: string;
  kind: MetricKind;
  unit: string | null;
  direction: Direction;
  critical: boolean;
  verdict: MetricVerdict;
  /** Set for insufficient_data (and for confounded verdicts). */
  reason: string | null;
  windows: { before: TimeWindow; after: TimeWindow };
  before: WindowSummary;
  after: WindowSummary;
  change: { absolute: number | null; relative: number | null; ci: [number, number] | null; ci_absolute: [number, number] | null; confidence: number };
  test: { method: string; statistic: number | null; p_value: number | null; q_value: number | null; df: number | null };
  baseline: {
    kind: 'before_window' | 'reference_days' | 'seasonal_week' | 'seasonal_day';
    /** reference_days: how many days predicted the after window, each with its weight and its own pre → after change (comparison scale). */
    reference_days?: number;
    days?: { day: number; date: string; weight: number; change: number }[];
    /** Days with data that were not used, and why (another event, missing buckets, far from the others). */
    skipped_days?: { day: number; reason: string }[];
    /** Which variance decided the interval: the noise model, or the placebo spread of the reference days. */
    calibration?: 'model' | 'placebo';
    placebo?: { se: number; model_se: number; placebos: number; df: number };
    weekday_adjusted?: boolean;
    reference?: { before: TimeWindow; after: TimeWindow; before_summary: WindowSummary; after_summary: WindowSummary };
    /** Change over the same clock windows in the reference (relative), when seasonal. */
    reference_change?: number | null;
    /** True when the plain comparison would have flagged a change that the seasonal reference explains. */
    explains_change?: boolean;
    /** Why a seasonal reference was not used, when one was offered. */
    skipped?: string;
  };
  threshold: number;
  data_quality: {
    expected: { before: number; after: number };
    present: { before: number; after: number };
    missing: { before: number; after: number };
    coverage: { before: number; after: number };
    low_counts: boolean;
    autocorrelation: number | null;
    effective_n: { before: number; after: number } | null;
    /** Buckets ahead of the before window that were read: with reference days they set today's level (and its noise model); otherwise they fed the noise model (autocorrelation) only. */
    history_buckets: number;
  };
  /** Smallest relative change these windows could detect (80% power at α), when computable. */
  minimum_detectable_effect: number | null;
  /**
   * The observed after level (the kind's headline: rate, ratio, median, mean) against the level
   * expected without the event, with that expectation's interval; observed / expected − 1 is
   * change.relative.
   */
  counterfactual: { observed: number; expected: number; expected_ci: [number, number] | null; relative: number } | null;
  confounders: Confounder[];
  onset: Onset | null;
  explanation: string;
}

export interface EventResult {
  event_id: string;
  verdict: EventVerdict;
  alpha: number;
  explanation: string;
  metrics: MetricResult[];
}

/**
 * Practical thresholds (relative) per kind when a metric sets none: a change smaller than this is
 * not a regression, and no_change needs the whole interval inside ±threshold. Error counts and
 * rates wander more than latency and gauges: with 5% they could never be called unchanged.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<MetricKind, number>> = { count: 0.1, ratio: 0.2, gauge: 0.05, quantile: 0.05 };

/** Minimums below which a metric is insufficient_data. */
export const MINIMUMS = { bucketsPerSide: 10, coverage: 0.8, effectiveSamples: 2, totalCount: 1 };
/** Share of a window another event may cover before a verdict drops to inconclusive. */
export const HEAVY_COVERAGE = 0.5;

interface Cut {
  data: WindowData;
  ts: ArrayLike<number>;
}

/** Window data from kept values / weights / times; latency windows carry their sorted values (summaries and ranks sort once). */
function makeCut(values: Float64Array, weights: Float64Array | undefined, ts: ArrayLike<number>, kind: MetricKind): Cut {
  // Only the rank methods need the whole order; the other kinds' summaries select two values.
  if (kind !== 'quantile') return { data: { values, weights }, ts };
  const { sorted, ranks } = sortWithRanks(values);
  const data: WindowData & { [SORTED]: Float64Array; [RANKS]: Float64Array } = { values, weights, [SORTED]: sorted, [RANKS]: ranks };
  return { data, ts };
}

/** Points inside [from, to), one per bucket (the last wins), finite only, sorted by time. */
function cut(points: Point[] | undefined, w: TimeWindow, kind: MetricKind): Cut {
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
function strictlyAscending(ts: ArrayLike<number>): boolean {
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
function cutColumns(c: SeriesColumns, w: TimeWindow, kind: MetricKind): Cut {
  const { ts, value, weight } = c;
  if (!strictlyAscending(ts)) {
    const points: Point[] = [];
    for (let i = 0; i < ts.length; i++) if (ts[i] >= w.from && ts[i] < w.to) points.push({ ts: ts[i], value: value[i], weight: weight?.[i] });
    return cut(points, w, kind);
  }
  const lo = lowerBound(ts, w.from);
  const hi = lowerBound(ts, w.to);
  const ratio = kind === 'ratio';
  if (ratio && !weight) return makeCut(take(0), take(0), take(0), kind);
  // The same filter as cut(): finite values, and for ratios a finite non-negative weight.
  let n = 0;
  for (let i = lo; i < hi; i++) if (Number.isFinite(value[i]) && (!ratio || (Number.isFinite(weight![i]) && weight![i] >= 0))) n++;
  // Nothing filtered out of Float64Array columns: the window is a view of them, no copy.
  if (n === hi - lo && value instanceof Float64Array && ts instanceof Float64Array && (!ratio || weight instanceof Float64Array)) {
    return makeCut(value.subarray(lo, hi), ratio ? (weight as Float64Array).subarray(lo, hi) : undefined, ts.subarray(lo, hi), kind);
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

const sumOf = (a: ArrayLike<number> | undefined) => { let s = 0; if (a) for (let i = 0; i < a.length; i++) s += a[i]; return s; };

/** Why a pair of windows cannot be judged, or null when it can. */
function insufficiency(kind: MetricKind, b: Cut, a: Cut, expected: { before: number; after: number }): string | null {
  const nb = b.data.values.length;
  const na = a.data.values.length;
  if (nb === 0 || na === 0) return `no data in the ${nb === 0 ? (na === 0 ? 'before and after windows' : 'before window') : 'after window'}`;
  if (nb < MINIMUMS.bucketsPerSide || na < MINIMUMS.bucketsPerSide) return `fewer than ${MINIMUMS.bucketsPerSide} buckets a side (${nb} before, ${na} after)`;
  const cb = nb / expected.before;
  const ca = na / expected.after;
  if (cb < MINIMUMS.coverage || ca < MINIMUMS.coverage) return `under ${MINIMUMS.coverage * 100}% of buckets present (${pct0(cb)} before, ${pct0(ca)} after)`;
  if (kind === 'ratio') {
    if (sumOf(b.data.weights) <= 0 || sumOf(a.data.weights) <= 0) return 'no requests (denominator) in a window';
  }
  if ((kind === 'count' || kind === 'ratio') && sumOf(b.data.values) + sumOf(a.data.values) < MINIMUMS.totalCount) return 'no events counted in either window';
  return null;
}

const pct0 = (x: number) => `${Math.round(x * 100)}%`;

function fmtPct(x: number, signed = true): string {
  if (!Number.isFinite(x)) return x > 0 ? '+∞%' : '−∞%';
  const v = x * 100;
  const a = Math.abs(v);
  const s = a >= 10 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toFixed(2);
  const sign = v < 0 ? '−' : signed ? '+' : '';
  return `${sign}${s}%`;
}

function fmtNum(x: number | null, kind: MetricKind, unit: string | null): string {
  if (x === null || !Number.isFinite(x)) return 'n/a';
  if (kind === 'ratio') return fmtPct(x, false);
  const a = Math.abs(x);
  const s = a === 0 ? '0' : a >= 1000 ? String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : Number(x.toPrecision(3)).toString();
  return unit ? (unit === '%' ? `${s}%` : `${s} ${unit}`) : s;
}

function fmtQ(q: number | null): string {
  if (q === null || !Number.isFinite(q)) return 'q n/a';
  return q < 0.001 ? 'q < 0.001' : `q = ${Number(q.toPrecision(2))}`;
}

/** The headline value of a window summary for the explanation. */
function headline(kind: MetricKind, s: WindowSummary): number | null {
  if (kind === 'count' || kind === 'ratio') return s.rate;
  if (kind === 'quantile') return s.median;
  return s.mean;
}

/**
 * The other events that can touch this event's windows (the same subject, or none on either
 * side), sorted by time once per analysis: windows on up to 28 reference days ask "any event in
 * here?" by binary search instead of a scan.
 */
interface Others {
  events: EngineEvent[];
  times: Float64Array;
}

function othersOf(event: EngineEvent, list: readonly EngineEvent[]): Others {
  const kept: { e: EngineEvent; t: number }[] = [];
  for (const o of list) {
    if (o.id === event.id) continue;
    if (event.subject && o.subject && event.subject !== o.subject) continue;
    let t: number;
    try { t = toEpochMs(o.time); } catch { continue; }
    kept.push({ e: o, t });
  }
  kept.sort((a, b) => a.t - b.t);
  return { events: kept.map((k) => k.e), times: Float64Array.from(kept, (k) => k.t) };
}

/** Whether another event falls in [from, to). */
function anyIn(o: Others, w: TimeWindow): boolean {
  const i = lowerBound(o.times, w.from);
  return i < o.times.length && o.times[i] < w.to;
}

/** The latest other event inside [from, to), or null. */
function lastIn(o: Others, w: TimeWindow): number | null {
  const i = lowerBound(o.times, w.to) - 1;
  return i >= 0 && o.times[i] >= w.from ? o.times[i] : null;
}

function confoundersFor(t: number, w: EventWindows, others: Others): Confounder[] {
  const out: Confounder[] = [];
  for (let i = lowerBound(others.times, w.before.from); i < others.times.length && others.times[i] < w.after.to; i++) {
    const o = others.events[i];
    const to = others.times[i];
    if (to === t) continue;
    let window: Confounder['window'];
    let coverage: number;
    if (to < w.before.to) {
      window = 'before';
      coverage = (w.before.to - to) / (w.before.to - w.before.from);
    } else if (to >= w.after.from) {
      window = 'after';
      coverage = (w.after.to - to) / (w.after.to - w.after.from);
    } else {
      // Between the windows (in the gap): it touches the whole after window.
      window = 'gap';
      coverage = 1;
    }
    out.push({ id: o.id, type: o.type, time: new Date(to).toISOString(), subject: o.subject ?? null, window, coverage });
  }
  return out.sort((a, b) => b.coverage - a.coverage);
}

/** Verdict from a comparison and its q-value. */
function judge(cmp: Comparison, q: number, alpha: number, threshold: number, direction: Direction): MetricVerdict {
  const rel = cmp.relative;
  const ci = cmp.ci;
  if (rel === null || ci === null) {
    // No relative scale (zero baseline): significance alone decides, the sign gives the direction.
    const abs = cmp.absolute ?? 0;
    const cia = cmp.ci_absolute;
    if (q < alpha && cia && (cia[0] > 0 || cia[1] < 0)) return directionVerdict(abs, direction);
    return 'inconclusive';
  }
  const excludesZero = ci[0] > 0 || ci[1] < 0;
  if (q < alpha && excludesZero && Math.abs(rel) >= threshold) return directionVerdict(rel, direction);
  if (ci[0] > -threshold && ci[1] < threshold) return 'no_change';
  return 'inconclusive';
}

function directionVerdict(change: number, direction: Direction): MetricVerdict {
  if (direction === 'either') return 'regression';
  const bad = direction === 'increase_is_bad' ? change > 0 : change < 0;
  return bad ? 'regression' : 'improvement';
}

interface Pending {
  input: MetricInput;
  windows: EventWindows;
  before: Cut;
  after: Cut;
  result: MetricResult;
  cmp: Comparison | null;
  plain: Comparison | null;
}

/** Analyses one event's metrics: per-metric results with p and BH q-values, and an event verdict. */
export function analyzeEvent(input: AnalyzeInput): EventResult {
  // The windows' arrays live in scratch memory: no result refers to them once this returns.
  const at = mark();
  try {
    return analyzeEventIn(input);
  } finally {
    release(at);
  }
}

function analyzeEventIn(input: AnalyzeInput): EventResult {
  const alpha = input.alpha ?? 0.05;
  const conf = 1 - alpha;
  const t = toEpochMs(input.event.time);
  const others = othersOf(input.event, input.otherEvents ?? []);
  // Metrics without their own window overrides share the windows of their step.
  const byStep = new Map<number, EventWindows>();
  const windowsFor = (stepSeconds: number) => {
    let w = byStep.get(stepSeconds);
    if (!w) byStep.set(stepSeconds, (w = computeWindows({ time: t, type: input.event.type, stepSeconds, request: input.windows })));
    return w;
  };
  const pending: Pending[] = input.metrics.map((m) => analyzeMetricRaw(input.event, t, m, others, conf, input.windows, windowsFor));

  // Benjamini–Hochberg across the metrics of this event that have a p-value.
  const ps = pending.map((p) => (p.cmp ? p.cmp.p_value : NaN));
  const qs = benjaminiHochberg(ps);
  const typeWord = knownEventType(input.event.type) ?? 'event';
  pending.forEach((p, i) => finish(p, qs[i], alpha, t, typeWord));

  const results = pending.map((p) => p.result);
  const verdict = eventVerdict(results);
  return { event_id: input.event.id, verdict, alpha, explanation: eventExplanation(verdict, results), metrics: results };
}

function eventVerdict(results: MetricResult[]): EventVerdict {
  if (results.some((r) => r.verdict === 'regression')) return 'regression';
  if (results.some((r) => r.verdict === 'improvement')) return 'improvement';
  if (results.length > 0 && results.every((r) => r.verdict === 'no_change')) return 'no_change';
  return 'inconclusive';
}

function eventExplanation(verdict: EventVerdict, results: MetricResult[]): string {
  // Critical metrics first, then regressions, so the sentence leads with what matters.
  const order = (r: MetricResult) => (r.critical ? 0 : 1) * 10 + (r.verdict === 'regression' ? 0 : r.verdict === 'improvement' ? 1 : 2);
  const sorted = [...results].sort((a, b) => order(a) - order(b));
  const names = (v: MetricVerdict) => sorted.filter((r) => r.verdict === v).map((r) => (r.critical ? `${r.name} (critical)` : r.name));
  if (results.length === 0) return 'No metrics to analyse.';
  switch (verdict) {
    case 'regression': return `Regression in ${names('regression').join(', ')}.`;
    case 'improvement': return `Improvement in ${names('improvement').join(', ')}; nothing regressed.`;
    case 'no_change': return `All ${results.length} metrics held within their thresholds.`;
    default: {
      const insufficient = names('insufficient_data');
      return `Inconclusive: no metric regressed${insufficient.length ? `; not enough data for ${insufficient.join(', ')}` : ''}.`;
    }
  }
}

function analyzeMetricRaw(event: EngineEvent, t: number, m: MetricInput, others: Others, conf: number, requestWindows: WindowOverrides | undefined, windowsFor: (stepSeconds: number) => EventWindows): Pending {
  const windows = m.windows ? computeWindows({ time: t, type: event.type, stepSeconds: m.step_seconds, metric: m.windows, request: requestWindows }) : windowsFor(m.step_seconds);
  const step = m.step_seconds * 1000;
  const expected = { before: Math.round(windows.before_ms / step), after: Math.round(windows.after_ms / step) };
  const before = m.series ? cutColumns(m.series, windows.before, m.kind) : cut(m.before, windows.before, m.kind);
  const after = m.series ? cutColumns(m.series, windows.after, m.kind) : cut(m.after, windows.after, m.kind);
  const nb = before.data.values.length;
  const na = after.data.values.length;
  const threshold = m.threshold ?? DEFAULT_THRESHOLDS[m.kind];
  const lowCounts = (m.kind === 'count' || m.kind === 'ratio') && sumOf(before.data.values) + sumOf(after.data.values) < 100;
  const result: MetricResult = {
    metric_id: m.id,
    name: m.name ?? m.id,
    kind: m.kind,
    unit: m.unit ?? null,
    direction: m.direction,
    critical: m.critical ?? false,
    verdict: 'inconclusive',
    reason: null,
    windows: { before: { ...windows.before }, after: { ...windows.after } },
    before: summarize(m.kind, before.data),
    after: summarize(m.kind, after.data),
    change: { absolute: null, relative: null, ci: null, ci_absolute: null, confidence: conf },
    test: { method: 'none', statistic: null, p_value: null, q_value: null, df: null },
    baseline: { kind: 'before_window' },
    threshold,
    data_quality: {
      expected,
      present: { before: nb, after: na },
      missing: { before: Math.max(0, expected.before - nb), after: Math.max(0, expected.after - na) },
      coverage: { before: nb / expected.before, after: na / expected.after },
      low_counts: lowCounts,
      autocorrelation: null,
      effective_n: null,
      history_buckets: 0,
    },
    minimum_detectable_effect: null,
    counterfactual: null,
    confounders: confoundersFor(t, windows, others),
    onset: null,
    explanation: '',
  };
  const pending: Pending = { input: m, windows, before, after, result, cmp: null, plain: null };
  const why = insufficiency(m.kind, before, after, expected);
  if (why) {
    result.verdict = 'insufficient_data';
    result.reason = why;
    // A detectable-effect figure still helps when both windows hold something.
    if (nb >= 2 && na >= 2) {
      try {
        const c = compareWindows(m.kind, before.data, after.data, { confLevel: conf });
        result.minimum_detectable_effect = mde(c, conf);
      } catch { /* the figure is optional */ }
    }
    return pending;
  }

  const counterfactual = referenceDays(m, windows, t, others, expected.after, before, after, conf);
  let cmp: Comparison;
  let plain: Comparison | null = null;
  if (counterfactual) {
    cmp = counterfactual.cmp;
    result.baseline = counterfactual.baseline;
    result.data_quality.history_buckets = counterfactual.historyBuckets;
  } else {
    const noise = historyStretches(m, windows, others);
    for (const h of noise) result.data_quality.history_buckets += h.length;
    ({ cmp, plain } = singleReference(m, windows, others, expected, before, after, conf, noise, result));
  }
  pending.cmp = cmp;
  pending.plain = plain;
  result.counterfactual = counterfactualOf(m.kind, result.after, cmp);
  result.data_quality.autocorrelation = cmp.autocorrelation;
  result.data_quality.effective_n = cmp.n_eff;
  result.minimum_detectable_effect = mde(cmp, conf);
  if (!cmp.exact && Math.min(cmp.n_eff.before, cmp.n_eff.after) < MINIMUMS.effectiveSamples) {
    result.verdict = 'insufficient_data';
    result.reason = `too few effective samples after autocorrelation (${cmp.n_eff.before.toFixed(1)} before, ${cmp.n_eff.after.toFixed(1)} after; minimum ${MINIMUMS.effectiveSamples})`;
  }
  result.change = { absolute: cmp.absolute, relative: cmp.relative, ci: cmp.ci, ci_absolute: cmp.ci_absolute, confidence: conf };
  result.test = { method: cmp.method, statistic: cmp.statistic, p_value: cmp.p_value, q_value: null, df: cmp.df };
  return pending;
}

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
    ? Array.from({ length: m.series.ts.length }, (_, i) => ({ ts: m.series!.ts[i], value: m.series!.value[i], weight: m.series!.weight?.[i] }))
    : m.references ?? [];
  if (!points.length) return null;
  const byTs = new Map<number, Point>();
  for (const p of points) byTs.set(p.ts, p);
  const sorted = [...byTs.values()].sort((a, b) => a.ts - b.ts);
  return {
    ts: Float64Array.from(sorted, (p) => p.ts),
    value: Float64Array.from(sorted, (p) => p.value),
    weight: m.kind === 'ratio' ? Float64Array.from(sorted, (p) => (p.weight === undefined ? NaN : p.weight)) : undefined,
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

interface ReferenceOutcome {
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
function referenceDays(m: MetricInput, windows: EventWindows, t: number, others: Others, afterBuckets: number, before: Cut, after: Cut, conf: number): ReferenceOutcome | null {
  const source = referenceSource(m);
  if (!source) return null;
  if ((m.kind === 'count' || m.kind === 'ratio') && sumOf(before.data.values) + sumOf(after.data.values) < SPARSE_TOTAL) return null;
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
  const todayPresent = m.series && strictlyAscending(m.series.ts)
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
    if (anyIn(others, { from: windows.before.from - shift, to: rAfter.to })) { skipped.push({ day, reason: 'another event in its windows' }); return; }
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
  for (const day of c.outliers) skipped.push({ day, reason: 'its own change lay far from the other days\' (an outage or an unlisted event?)' });
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
  for (let j = 0; j < Math.round((windows.before.from - pre.from) / step); j++) if (grid.rows[0][j] === grid.rows[0][j]) historyBuckets++;
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
function referenceStretches(m: MetricInput, source: SeriesColumns, ranges: readonly TimeWindow[], len: number, others: Others): SerialStretch[] {
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
        if (c.data.values.length >= MINIMUMS.bucketsPerSide) s = m.kind === 'ratio' ? historyStretch(m.kind, c.data) : deseasonalizedStretch(source, m.kind, c, m.step_seconds * 1000);
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
function singleReference(m: MetricInput, windows: EventWindows, others: Others, expected: { before: number; after: number }, before: Cut, after: Cut, conf: number, noise: SerialStretch[], result: MetricResult): { cmp: Comparison; plain: Comparison } {
  let reference: { kind: 'seasonal_week' | 'seasonal_day'; b: Cut; a: Cut; w: { before: TimeWindow; after: TimeWindow } } | null = null;
  const skipped: string[] = [];
  const source = m.seasonal ? null : referenceSource(m);
  for (const [kind, key] of [['seasonal_week', 'week'], ['seasonal_day', 'day']] as const) {
    const pts = m.seasonal?.[key];
    const w = windows.seasonal[key];
    if (!pts && !(source && hasData(source, { from: w.before.from, to: w.after.to }))) continue;
    const rb = pts ? cut(pts, w.before, m.kind) : cutColumns(source!, w.before, m.kind);
    const ra = pts ? cut(pts, w.after, m.kind) : cutColumns(source!, w.after, m.kind);
    const refWhy = insufficiency(m.kind, rb, ra, expected);
    if (refWhy) { skipped.push(`${key}: ${refWhy}`); continue; }
    if (anyIn(others, { from: w.before.from, to: w.after.to })) { skipped.push(`${key}: another event in the reference windows`); continue; }
    reference = { kind, b: rb, a: ra, w };
    break;
  }
  const plain = compareWindows(m.kind, before.data, after.data, { confLevel: conf, historyStretches: noise });
  let cmp = plain;
  if (reference) {
    const did = compareWindows(m.kind, before.data, after.data, { confLevel: conf, reference: { before: reference.b.data, after: reference.a.data }, historyStretches: noise });
    if (did.method.endsWith('_did')) {
      cmp = did;
      const refOnly = compareWindows(m.kind, reference.b.data, reference.a.data, { confLevel: conf });
      result.baseline = {
        kind: reference.kind,
        reference: { before: { ...reference.w.before }, after: { ...reference.w.after }, before_summary: summarize(m.kind, reference.b.data), after_summary: summarize(m.kind, reference.a.data) },
        reference_change: refOnly.relative,
        explains_change: false,
      };
    } else skipped.push(`${reference.kind}: reference windows unusable for this kind`);
  }
  if (skipped.length && result.baseline.kind === 'before_window') result.baseline.skipped = skipped.join('; ');
  return { cmp, plain };
}

/** The observed after level against the expected one (observed / (1 + relative)), from a comparison. */
function counterfactualOf(kind: MetricKind, after: WindowSummary, cmp: Comparison): MetricResult['counterfactual'] {
  const observed = headline(kind, after);
  const rel = cmp.relative;
  if (observed === null || rel === null || !Number.isFinite(rel) || !(1 + rel > 0)) return null;
  const expected = observed / (1 + rel);
  const ci = cmp.ci && 1 + cmp.ci[0] > 0 && 1 + cmp.ci[1] > 0 ? ([observed / (1 + cmp.ci[1]), observed / (1 + cmp.ci[0])] as [number, number]) : null;
  return { observed, expected, expected_ci: ci, relative: rel };
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
function historyStretches(m: MetricInput, windows: EventWindows, others: Others): SerialStretch[] {
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

function mde(c: Comparison, conf: number): number | null {
  if (c.se_relative === null || !Number.isFinite(c.se_relative)) return null;
  const z = normQuantile(1 - (1 - conf) / 2) + normQuantile(0.8);
  const logScaleMethod = c.method.includes('rate') || c.method.includes('ratio') || c.method.includes('binomial') || c.method.includes('log');
  return logScaleMethod ? Math.exp(z * c.se_relative) - 1 : z * c.se_relative;
}

function finish(p: Pending, q: number, alpha: number, t: number, typeWord: string): void {
  const r = p.result;
  const m = p.input;
  if (!p.cmp) {
    r.explanation = `Not enough data to judge ${r.name}: ${r.reason}` +
      (r.minimum_detectable_effect !== null ? `; these windows could only detect a change of about ±${fmtPct(r.minimum_detectable_effect, false)}.` : '.');
    return;
  }
  r.test.q_value = Number.isFinite(q) ? q : null;
  if (r.verdict === 'insufficient_data') {
    r.onset = cusumOnset(m.kind, p.before, p.after, t, m.step_seconds);
    r.explanation = `Not enough data to judge ${r.name}: ${r.reason}` +
      (r.minimum_detectable_effect !== null ? `; these windows could only detect a change of about ±${fmtPct(r.minimum_detectable_effect, false)}.` : '.') +
      onsetSentence(r, typeWord);
    return;
  }
  const cmp = p.cmp;
  let verdict = judge(cmp, q, alpha, r.threshold, m.direction);
  if (r.baseline.kind !== 'before_window' && p.plain) {
    const plainVerdict = judge(p.plain, p.plain.p_value, alpha, r.threshold, m.direction);
    r.baseline.explains_change = (plainVerdict === 'regression' || plainVerdict === 'improvement') && verdict !== plainVerdict;
  } else if (r.baseline.kind === 'reference_days') {
    // The raw before → after change past the threshold that the reference days account for.
    const raw = rawChange(r);
    r.baseline.reference_change = raw;
    r.baseline.explains_change = raw !== null && Math.abs(raw) >= r.threshold && verdict !== 'regression' && verdict !== 'improvement';
  }
  const heavy = r.confounders.find((c) => c.coverage >= HEAVY_COVERAGE);
  if (heavy && (verdict === 'regression' || verdict === 'improvement')) {
    r.reason = `another event (${heavy.type} ${heavy.id} at ${heavy.time}) covers ${pct0(heavy.coverage)} of the ${heavy.window === 'before' ? 'before' : 'after'} window, so the change cannot be attributed to this ${typeWord}`;
    verdict = 'inconclusive';
  }
  r.verdict = verdict;
  r.onset = cusumOnset(m.kind, p.before, p.after, t, m.step_seconds);
  r.explanation = explain(r, cmp, typeWord);
}

/** The plain relative change of the headline values, before window to after window. */
function rawChange(r: MetricResult): number | null {
  const b = headline(r.kind, r.before);
  const a = headline(r.kind, r.after);
  return b !== null && a !== null && b !== 0 ? a / b - 1 : null;
}

/** How large a change the interval leaves possible (the farther end), for "could not rule out". */
function couldNotRuleOut(ci: [number, number] | null): number | null {
  return ci ? Math.max(Math.abs(ci[0]), Math.abs(ci[1])) : null;
}

function explain(r: MetricResult, cmp: Comparison, typeWord: string): string {
  const b = fmtNum(headline(r.kind, r.before), r.kind, r.unit);
  const a = fmtNum(headline(r.kind, r.after), r.kind, r.unit);
  const what = r.kind === 'quantile' ? `${r.name} (median of buckets)` : r.name;
  const rel = cmp.relative;
  const ciTxt = cmp.ci ? `${Math.round(r.change.confidence * 100)}% CI ${fmtPct(cmp.ci[0])} to ${fmtPct(cmp.ci[1])}` : 'no interval';
  const relTxt = rel === null ? 'relative change undefined' : fmtPct(rel);
  const base = r.baseline.kind === 'before_window' ? '' : ` compared with the same hours a ${r.baseline.kind === 'seasonal_week' ? 'week' : 'day'} earlier`;
  const q = fmtQ(r.test.q_value);
  const moved = rel === null ? ((cmp.absolute ?? 0) > 0 ? 'rose' : (cmp.absolute ?? 0) < 0 ? 'fell' : 'held') : rel > 0 ? 'rose' : rel < 0 ? 'fell' : 'held';
  let s: string;
  if (r.baseline.kind === 'reference_days' && r.counterfactual) return explainCounterfactual(r, what, typeWord, ciTxt, relTxt, q);
  switch (r.verdict) {
    case 'regression':
    case 'improvement':
      s = `${cap(what)} ${moved} from ${b} to ${a} (${relTxt}, ${ciTxt}) after the ${typeWord}${base}; ${q}.`;
      break;
    case 'no_change':
      s = `${cap(what)} held: ${b} before, ${a} after (${relTxt}, ${ciTxt}, inside the ±${fmtPct(r.threshold, false)} threshold)${base}; ${q}.`;
      break;
    default:
      s = `${cap(what)} went from ${b} to ${a} (${relTxt}, ${ciTxt})${base}; ${q}: ${couldNotRuleOut(cmp.ci) !== null ? `could not rule out a change of up to ±${fmtPct(couldNotRuleOut(cmp.ci) as number, false)}` : 'not enough evidence to call it a change or no change'}${r.reason ? ` — ${r.reason}` : ''}.`;
  }
  if (r.baseline.explains_change) s += ` The same hours a ${r.baseline.kind === 'seasonal_week' ? 'week' : 'day'} earlier moved by ${fmtPct(r.baseline.reference_change ?? 0)}, which explains the raw before/after difference.`;
  if (r.verdict !== 'no_change') s += onsetSentence(r, typeWord);
  return s;
}

/** The explanation against the reference days' prediction: observed after level against the expected one. */
function explainCounterfactual(r: MetricResult, what: string, typeWord: string, ciTxt: string, relTxt: string, q: string): string {
  const cf = r.counterfactual!;
  const obs = fmtNum(cf.observed, r.kind, r.unit);
  const exp = fmtNum(cf.expected, r.kind, r.unit);
  const days = `${r.baseline.reference_days} reference days${r.baseline.calibration === 'placebo' ? ', interval widened to their placebo spread' : ''}`;
  const vs = `${obs} after the ${typeWord} against ${exp} expected from ${days}`;
  let s: string;
  switch (r.verdict) {
    case 'regression':
    case 'improvement':
      s = `${cap(what)} ${cf.relative > 0 ? 'rose' : 'fell'}: ${vs} (${relTxt}, ${ciTxt}); ${q}.`;
      break;
    case 'no_change':
      s = `${cap(what)} held: ${vs} (${relTxt}, ${ciTxt}, inside the ±${fmtPct(r.threshold, false)} threshold); ${q}.`;
      break;
    default: {
      const open = couldNotRuleOut(r.change.ci);
      s = `${cap(what)}: ${vs} (${relTxt}, ${ciTxt}); ${q}: ${open !== null ? `could not rule out a change of up to ±${fmtPct(open, false)}` : 'not enough evidence to call it a change or no change'}${r.reason ? ` — ${r.reason}` : ''}.`;
    }
  }
  if (r.baseline.explains_change) s += ` The raw before/after change (${fmtPct(r.baseline.reference_change ?? 0)}) is the usual pattern of these hours.`;
  if (r.verdict !== 'no_change') s += onsetSentence(r, typeWord);
  return s;
}

/** Says out loud that a level shift began before the event, when the change point is clear. */
function onsetSentence(r: MetricResult, typeWord: string): string {
  if (!r.onset || !r.onset.before_event) return '';
  return ` The level shifted about ${Math.round(-r.onset.minutes_from_event)} minutes before the ${typeWord}.`;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
