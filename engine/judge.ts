// Judging: what a comparison means for a metric (significance, interval, practical threshold,
// direction, a baseline that explains the change, a confounding event) and for the event, and
// how small a change the windows could have detected.
import type { Direction, MetricKind } from '../domain/metric.js';
import type { EventVerdict, MetricVerdict } from '../domain/report.js';
import type { Comparison } from './compare.js';
import { normQuantile } from './distributions.js';
import { confoundedReason, rawChange } from './explain.js';
import type { MetricResult } from './types.js';

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

/** Verdict from a comparison and its q-value (the accuracy bench judges other calibrations with it too). */
export function judge(
  cmp: Comparison,
  q: number,
  alpha: number,
  threshold: number,
  direction: Direction,
): MetricVerdict {
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

/**
 * Sets a judgeable metric's verdict from its comparison (`cmp`) and q-value: whether its baseline
 * explains the raw change (against the `plain` before/after comparison, or the raw headline change
 * for reference days), and inconclusive when another event covers most of a window (with the
 * reason).
 */
export function judgeMetric(
  r: MetricResult,
  cmp: Comparison,
  plain: Comparison | null,
  q: number,
  alpha: number,
  direction: Direction,
  typeWord: string,
): void {
  let verdict = judge(cmp, q, alpha, r.threshold, direction);
  if (r.baseline.kind !== 'before_window' && plain) {
    const plainVerdict = judge(plain, plain.p_value, alpha, r.threshold, direction);
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
    r.reason = confoundedReason(heavy, typeWord);
    verdict = 'inconclusive';
  }
  r.verdict = verdict;
}

/** The event's verdict: any regression, else any improvement, else no_change when every metric held. */
export function eventVerdict(results: MetricResult[]): EventVerdict {
  if (results.some((r) => r.verdict === 'regression')) return 'regression';
  if (results.some((r) => r.verdict === 'improvement')) return 'improvement';
  if (results.length > 0 && results.every((r) => r.verdict === 'no_change')) return 'no_change';
  return 'inconclusive';
}

/** Smallest relative change the comparison could detect with 80% power at the level `conf`, when computable. */
export function minimumDetectableEffect(c: Comparison, conf: number): number | null {
  if (c.se_relative === null || !Number.isFinite(c.se_relative)) return null;
  const z = normQuantile(1 - (1 - conf) / 2) + normQuantile(0.8);
  const logScaleMethod =
    c.method.includes('rate') ||
    c.method.includes('ratio') ||
    c.method.includes('binomial') ||
    c.method.includes('log');
  return logScaleMethod ? Math.exp(z * c.se_relative) - 1 : z * c.se_relative;
}
