// Impact of one event on its metrics: the public types, data sufficiency, the choice of baseline
// (reference days, one reference, or none), Benjamini–Hochberg across the metrics and the
// verdicts. Cutting windows (cut.ts), other events (others.ts), baselines (baselines.ts) and the
// sentences (explain.ts) have files of their own.
import { historyStretches, referenceDays, singleReference } from './baselines.js';
import { knownEventType } from '../domain/event.js';
import type { Direction, MetricKind } from '../domain/metric.js';
import type { Baseline, Confounder, CounterfactualLevels, EventVerdict, MetricVerdict } from '../domain/report.js';
import { compareWindows, summarize, type Comparison, type WindowSummary } from './compare.js';
import { cut, cutColumns, insufficiency, MINIMUMS, sumOf, type Cut, type Point, type SeriesColumns } from './cut.js';
import { normQuantile } from './distributions.js';
import { benjaminiHochberg } from './exact.js';
import { eventExplanation, explain, fmtPct, headline, onsetSentence, pct0, rawChange } from './explain.js';
import { cusumOnset, type Onset } from './onset.js';
import { confoundersFor, othersOf, type Others } from './others.js';
import { mark, release } from './scratch.js';
import { computeWindows, toEpochMs, type EventWindows, type TimeWindow, type WindowOverrides } from './windows.js';

export type { Point, SeriesColumns } from './cut.js';
export { MINIMUMS } from './cut.js';

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
  change: {
    absolute: number | null;
    relative: number | null;
    ci: [number, number] | null;
    ci_absolute: [number, number] | null;
    confidence: number;
  };
  test: { method: string; statistic: number | null; p_value: number | null; q_value: number | null; df: number | null };
  baseline: Baseline & {
    reference?: { before: TimeWindow; after: TimeWindow; before_summary: WindowSummary; after_summary: WindowSummary };
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
  counterfactual: CounterfactualLevels | null;
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
export const DEFAULT_THRESHOLDS: Readonly<Record<MetricKind, number>> = {
  count: 0.1,
  ratio: 0.2,
  gauge: 0.05,
  quantile: 0.05,
};

/** Share of a window another event may cover before a verdict drops to inconclusive. */
export const HEAVY_COVERAGE = 0.5;

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
    if (!w)
      byStep.set(
        stepSeconds,
        (w = computeWindows({ time: t, type: input.event.type, stepSeconds, request: input.windows })),
      );
    return w;
  };
  const pending: Pending[] = input.metrics.map((m) =>
    analyzeMetricRaw(input.event, t, m, others, conf, input.windows, windowsFor),
  );

  // Benjamini–Hochberg across the metrics of this event that have a p-value.
  const ps = pending.map((p) => (p.cmp ? p.cmp.p_value : NaN));
  const qs = benjaminiHochberg(ps);
  const typeWord = knownEventType(input.event.type) ?? 'event';
  pending.forEach((p, i) => finish(p, qs[i], alpha, t, typeWord));

  const results = pending.map((p) => p.result);
  const verdict = eventVerdict(results);
  return {
    event_id: input.event.id,
    verdict,
    alpha,
    explanation: eventExplanation(verdict, results),
    metrics: results,
  };
}

function eventVerdict(results: MetricResult[]): EventVerdict {
  if (results.some((r) => r.verdict === 'regression')) return 'regression';
  if (results.some((r) => r.verdict === 'improvement')) return 'improvement';
  if (results.length > 0 && results.every((r) => r.verdict === 'no_change')) return 'no_change';
  return 'inconclusive';
}

function analyzeMetricRaw(
  event: EngineEvent,
  t: number,
  m: MetricInput,
  others: Others,
  conf: number,
  requestWindows: WindowOverrides | undefined,
  windowsFor: (stepSeconds: number) => EventWindows,
): Pending {
  const windows = m.windows
    ? computeWindows({
        time: t,
        type: event.type,
        stepSeconds: m.step_seconds,
        metric: m.windows,
        request: requestWindows,
      })
    : windowsFor(m.step_seconds);
  const step = m.step_seconds * 1000;
  const expected = { before: Math.round(windows.before_ms / step), after: Math.round(windows.after_ms / step) };
  const before = m.series ? cutColumns(m.series, windows.before, m.kind) : cut(m.before, windows.before, m.kind);
  const after = m.series ? cutColumns(m.series, windows.after, m.kind) : cut(m.after, windows.after, m.kind);
  const nb = before.data.values.length;
  const na = after.data.values.length;
  const threshold = m.threshold ?? DEFAULT_THRESHOLDS[m.kind];
  const lowCounts =
    (m.kind === 'count' || m.kind === 'ratio') && sumOf(before.data.values) + sumOf(after.data.values) < 100;
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
      } catch {
        /* the figure is optional */
      }
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
  result.change = {
    absolute: cmp.absolute,
    relative: cmp.relative,
    ci: cmp.ci,
    ci_absolute: cmp.ci_absolute,
    confidence: conf,
  };
  result.test = { method: cmp.method, statistic: cmp.statistic, p_value: cmp.p_value, q_value: null, df: cmp.df };
  return pending;
}

/** The observed after level against the expected one (observed / (1 + relative)), from a comparison. */
function counterfactualOf(kind: MetricKind, after: WindowSummary, cmp: Comparison): MetricResult['counterfactual'] {
  const observed = headline(kind, after);
  const rel = cmp.relative;
  if (observed === null || rel === null || !Number.isFinite(rel) || !(1 + rel > 0)) return null;
  const expected = observed / (1 + rel);
  const ci =
    cmp.ci && 1 + cmp.ci[0] > 0 && 1 + cmp.ci[1] > 0
      ? ([observed / (1 + cmp.ci[1]), observed / (1 + cmp.ci[0])] as [number, number])
      : null;
  return { observed, expected, expected_ci: ci, relative: rel };
}

function mde(c: Comparison, conf: number): number | null {
  if (c.se_relative === null || !Number.isFinite(c.se_relative)) return null;
  const z = normQuantile(1 - (1 - conf) / 2) + normQuantile(0.8);
  const logScaleMethod =
    c.method.includes('rate') ||
    c.method.includes('ratio') ||
    c.method.includes('binomial') ||
    c.method.includes('log');
  return logScaleMethod ? Math.exp(z * c.se_relative) - 1 : z * c.se_relative;
}

function finish(p: Pending, q: number, alpha: number, t: number, typeWord: string): void {
  const r = p.result;
  const m = p.input;
  if (!p.cmp) {
    r.explanation =
      `Not enough data to judge ${r.name}: ${r.reason}` +
      (r.minimum_detectable_effect !== null
        ? `; these windows could only detect a change of about ±${fmtPct(r.minimum_detectable_effect, false)}.`
        : '.');
    return;
  }
  r.test.q_value = Number.isFinite(q) ? q : null;
  if (r.verdict === 'insufficient_data') {
    r.onset = cusumOnset(m.kind, p.before, p.after, t, m.step_seconds);
    r.explanation =
      `Not enough data to judge ${r.name}: ${r.reason}` +
      (r.minimum_detectable_effect !== null
        ? `; these windows could only detect a change of about ±${fmtPct(r.minimum_detectable_effect, false)}.`
        : '.') +
      onsetSentence(r, typeWord);
    return;
  }
  const cmp = p.cmp;
  let verdict = judge(cmp, q, alpha, r.threshold, m.direction);
  if (r.baseline.kind !== 'before_window' && p.plain) {
    const plainVerdict = judge(p.plain, p.plain.p_value, alpha, r.threshold, m.direction);
    r.baseline.explains_change =
      (plainVerdict === 'regression' || plainVerdict === 'improvement') && verdict !== plainVerdict;
  } else if (r.baseline.kind === 'reference_days') {
    // The raw before → after change past the threshold that the reference days account for.
    const raw = rawChange(r);
    r.baseline.reference_change = raw;
    r.baseline.explains_change =
      raw !== null && Math.abs(raw) >= r.threshold && verdict !== 'regression' && verdict !== 'improvement';
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
