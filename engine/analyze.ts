// Impact of one event on its metrics: cuts the windows, checks data sufficiency, picks the
// baseline (plain or seasonal), runs the per-kind comparison, adjusts p-values (BH) and gives
// verdicts with a one-sentence explanation.
import { normQuantile } from './distributions.js';
import { benjaminiHochberg } from './exact.js';
import { compareWindows, historyStretch, RANKS, SORTED, summarize, type Comparison, type MetricKind, type WindowData, type WindowSummary } from './compare.js';
import type { SerialStretch } from './hac.js';
import { cusumOnset, type Onset } from './onset.js';
import { sortWithRanks } from './order.js';
import { mark, release, take } from './scratch.js';
import { computeWindows, knownEventType, toEpochMs, type EventWindows, type TimeWindow, type WindowOverrides } from './windows.js';

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
  /** Practical threshold, relative (default 0.05). */
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
  /** Points around the same clock windows one week / one day earlier. */
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
    kind: 'before_window' | 'seasonal_week' | 'seasonal_day';
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
    /** Buckets before the before window that fed the noise model (autocorrelation) only. */
    history_buckets: number;
  };
  /** Smallest relative change these windows could detect (80% power at α), when computable. */
  minimum_detectable_effect: number | null;
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

/** Index of the first element >= x in an ascending column. */
function lowerBound(ts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

function confoundersFor(event: EngineEvent, t: number, w: EventWindows, others: EngineEvent[]): Confounder[] {
  const out: Confounder[] = [];
  for (const o of others) {
    if (o.id === event.id) continue;
    if (event.subject && o.subject && event.subject !== o.subject) continue;
    let to: number;
    try { to = toEpochMs(o.time); } catch { continue; }
    if (to < w.before.from || to >= w.after.to || to === t) continue;
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

function eventsIn(others: EngineEvent[], self: EngineEvent, ws: TimeWindow[]): boolean {
  for (const o of others) {
    if (o.id === self.id) continue;
    if (self.subject && o.subject && self.subject !== o.subject) continue;
    let to: number;
    try { to = toEpochMs(o.time); } catch { continue; }
    for (const w of ws) if (to >= w.from && to < w.to) return true;
  }
  return false;
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
  const others = input.otherEvents ?? [];
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

function analyzeMetricRaw(event: EngineEvent, t: number, m: MetricInput, others: EngineEvent[], conf: number, requestWindows: WindowOverrides | undefined, windowsFor: (stepSeconds: number) => EventWindows): Pending {
  const windows = m.windows ? computeWindows({ time: t, type: event.type, stepSeconds: m.step_seconds, metric: m.windows, request: requestWindows }) : windowsFor(m.step_seconds);
  const step = m.step_seconds * 1000;
  const expected = { before: Math.round(windows.before_ms / step), after: Math.round(windows.after_ms / step) };
  const before = m.series ? cutColumns(m.series, windows.before, m.kind) : cut(m.before, windows.before, m.kind);
  const after = m.series ? cutColumns(m.series, windows.after, m.kind) : cut(m.after, windows.after, m.kind);
  const nb = before.data.values.length;
  const na = after.data.values.length;
  const threshold = m.threshold ?? 0.05;
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
    confounders: confoundersFor(event, t, windows, others),
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

  // Seasonal baseline: a week earlier, else a day earlier; skipped when thin or touched by events.
  let reference: { kind: 'seasonal_week' | 'seasonal_day'; b: Cut; a: Cut; w: { before: TimeWindow; after: TimeWindow } } | null = null;
  const skipped: string[] = [];
  for (const [kind, key] of [['seasonal_week', 'week'], ['seasonal_day', 'day']] as const) {
    const pts = m.seasonal?.[key];
    if (!pts) continue;
    const w = windows.seasonal[key];
    const rb = cut(pts, w.before, m.kind);
    const ra = cut(pts, w.after, m.kind);
    const refWhy = insufficiency(m.kind, rb, ra, expected);
    if (refWhy) { skipped.push(`${key}: ${refWhy}`); continue; }
    if (eventsIn(others, event, [{ from: w.before.from, to: w.after.to }])) { skipped.push(`${key}: another event in the reference windows`); continue; }
    reference = { kind, b: rb, a: ra, w };
    break;
  }

  const noise = historyStretches(m, windows, event, others);
  for (const h of noise) result.data_quality.history_buckets += h.length;
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
  if (skipped.length && result.baseline.kind === 'before_window' && m.seasonal) result.baseline.skipped = skipped.join('; ');
  pending.cmp = cmp;
  pending.plain = plain;
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

/** Reduced history stretches per series (keyed by its value column, which must not change once passed), kind and length, and stretch start. */
const stretchCache = new WeakMap<object, Map<string, Map<number, SerialStretch | null>>>();

/**
 * The noise-model history: the points given in windows.history, cut into stretches of the before
 * window's length on a fixed clock grid, each reduced to its autocorrelations (historyStretch).
 * A stretch needs the before window's minimum of buckets, and one that holds another event is
 * left out: a level shift inside it would read as autocorrelation. On the grid, events close in
 * time share stretches, and with columnar input each is reduced once.
 */
function historyStretches(m: MetricInput, windows: EventWindows, event: EngineEvent, others: EngineEvent[]): SerialStretch[] {
  const len = windows.before_ms;
  const out: SerialStretch[] = [];
  if (!(len > 0)) return out;
  let cache: Map<number, SerialStretch | null> | undefined;
  if (m.series) {
    const column = m.series.value as unknown as object;
    let byShape = stretchCache.get(column);
    if (!byShape) stretchCache.set(column, (byShape = new Map()));
    const shape = `${m.kind}:${len}`;
    cache = byShape.get(shape);
    if (!cache) byShape.set(shape, (cache = new Map()));
  }
  for (let to = windows.history.to; to - len >= windows.history.from; to -= len) {
    const w = { from: to - len, to };
    if (eventsIn(others, event, [w])) continue;
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
  switch (r.verdict) {
    case 'regression':
    case 'improvement':
      s = `${cap(what)} ${moved} from ${b} to ${a} (${relTxt}, ${ciTxt}) after the ${typeWord}${base}; ${q}.`;
      break;
    case 'no_change':
      s = `${cap(what)} held: ${b} before, ${a} after (${relTxt}, ${ciTxt}, inside the ±${fmtPct(r.threshold, false)} threshold)${base}; ${q}.`;
      break;
    default:
      s = `${cap(what)} went from ${b} to ${a} (${relTxt}, ${ciTxt})${base}; ${q}: not enough evidence to call it a change or no change${r.reason ? ` — ${r.reason}` : ''}.`;
  }
  if (r.baseline.explains_change) s += ` The same hours a ${r.baseline.kind === 'seasonal_week' ? 'week' : 'day'} earlier moved by ${fmtPct(r.baseline.reference_change ?? 0)}, which explains the raw before/after difference.`;
  if (r.verdict !== 'no_change') s += onsetSentence(r, typeWord);
  return s;
}

/** Says out loud that a level shift began before the event, when the change point is clear. */
function onsetSentence(r: MetricResult, typeWord: string): string {
  if (!r.onset || !r.onset.before_event) return '';
  return ` The level shifted about ${Math.round(-r.onset.minutes_from_event)} minutes before the ${typeWord}.`;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
