// Analysing one event: each metric's windows cut and checked for sufficiency, its baseline chosen
// (reference days, one reference, or none) and compared, Benjamini–Hochberg across the metrics,
// then judged (judge.ts) and explained (explain.ts). The types are in types.ts.
import { knownEventType } from '../domain/event.js';
import type { MetricKind } from '../domain/metric.js';
import { compareWindows, type Comparison } from './compare.js';
import { cut, cutColumns, insufficiency, MINIMUMS, sumOf, type Cut } from './cut.js';
import { benjaminiHochberg } from './exact.js';
import {
  eventExplanation,
  explain,
  fewEffectiveSamples,
  headline,
  insufficientExplanation,
  onsetSentence,
} from './explain.js';
import { DEFAULT_THRESHOLDS, eventVerdict, judgeMetric, minimumDetectableEffect } from './judge.js';
import { historyStretches } from './noise-history.js';
import { cusumOnset } from './onset.js';
import { confoundersFor, othersOf, type Others } from './others.js';
import { referenceDays } from './reference-days.js';
import { mark, release } from './scratch.js';
import { singleReference } from './single-reference.js';
import { summarize, type WindowSummary } from './summary.js';
import type { AnalyzeInput, EventResult, MetricInput, MetricResult } from './types.js';

interface Pending {
  input: MetricInput;
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
  const t = input.event.time;
  const others = othersOf(input.event, input.otherEvents ?? []);
  const pending: Pending[] = input.metrics.map((m) => analyzeMetric(t, m, others, conf));

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

/** One metric up to its comparison: windows cut, sufficiency, baseline and p-value (q and verdict come in finish()). */
function analyzeMetric(t: number, m: MetricInput, others: Others, conf: number): Pending {
  const windows = m.windows;
  if (windows.step_seconds !== m.step_seconds)
    throw new RangeError(
      `metric ${m.id}: windows computed for a ${windows.step_seconds}s step, not ${m.step_seconds}s`,
    );
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
  const pending: Pending = { input: m, before, after, result, cmp: null, plain: null };
  const why = insufficiency(m.kind, before, after, expected);
  if (why) {
    result.verdict = 'insufficient_data';
    result.reason = why;
    // A detectable-effect figure still helps when both windows hold something.
    if (nb >= 2 && na >= 2) {
      try {
        const c = compareWindows(m.kind, before.data, after.data, { confLevel: conf });
        result.minimum_detectable_effect = minimumDetectableEffect(c, conf);
      } catch {
        // Nothing is lost: the verdict is already insufficient_data with its reason, and the
        // figure is optional (it stays null when windows this thin cannot even be compared).
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
  result.minimum_detectable_effect = minimumDetectableEffect(cmp, conf);
  if (!cmp.exact && Math.min(cmp.n_eff.before, cmp.n_eff.after) < MINIMUMS.effectiveSamples) {
    result.verdict = 'insufficient_data';
    result.reason = fewEffectiveSamples(cmp.n_eff, MINIMUMS.effectiveSamples);
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

/** A metric after BH: its q-value, verdict, onset and explanation. */
function finish(p: Pending, q: number, alpha: number, t: number, typeWord: string): void {
  const r = p.result;
  const m = p.input;
  if (!p.cmp) {
    r.explanation = insufficientExplanation(r);
    return;
  }
  r.test.q_value = Number.isFinite(q) ? q : null;
  if (r.verdict === 'insufficient_data') {
    r.onset = cusumOnset(m.kind, p.before, p.after, t, m.step_seconds);
    r.explanation = insufficientExplanation(r) + onsetSentence(r, typeWord);
    return;
  }
  judgeMetric(r, p.cmp, p.plain, q, alpha, m.direction, typeWord);
  r.onset = cusumOnset(m.kind, p.before, p.after, t, m.step_seconds);
  r.explanation = explain(r, p.cmp, typeWord);
}
