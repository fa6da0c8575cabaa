// The comparison of one metric's after window with its before window on plain arrays (optionally
// against the same windows a week or a day earlier): the exact test for sparse counts, the robust
// t for counts, ratios and gauges; latency goes to compare-quantile.ts.
import type { MetricKind } from '../domain/metric.js';
import { compareQuantile } from './compare-quantile.js';
import { poissonRateTest } from './exact.js';
import { serialShape, type SerialStretch } from './hac.js';
import { historyStretch } from './history-stretch.js';
import { finishParts, residuals, tDf, tResult, windowStat, type WindowStat } from './robust-t.js';
import { mark, release } from './scratch.js';
import { sum, type WindowData } from './window-data.js';

/** The statistical comparison of after against before. */
export interface Comparison {
  method: string;
  statistic: number | null;
  p_value: number;
  /** Degrees of freedom of the t reference, when one is used. */
  df: number | null;
  absolute: number | null;
  relative: number | null;
  /** Interval of the relative change (fractions). */
  ci: [number, number] | null;
  ci_absolute: [number, number] | null;
  /** Standard error of the relative change under the null (for the minimum detectable effect). */
  se_relative: number | null;
  /** Pooled lag-1 autocorrelation of the within-window residuals. */
  autocorrelation: number;
  n_eff: { before: number; after: number };
  exact: boolean;
}

export interface CompareOptions {
  /** Confidence level of intervals (1 − α). */
  confLevel?: number;
  /** Reference windows (e.g. one week earlier) for a difference-in-differences. */
  reference?: { before: WindowData; after: WindowData };
  /**
   * Earlier stretches of the same series (the hours before the before window), used only to
   * estimate its autocorrelation: 120 buckets cannot tell weak but persistent autocorrelation
   * from none, and that is where a two-window test loses its calibration.
   */
  history?: WindowData[];
  /** The history already reduced by historyStretch() (analyzeEvent keeps these per series); wins over `history`. */
  historyStretches?: readonly SerialStretch[];
}

/** Counts at or above which the large-sample count / ratio test replaces the exact one. */
export const SPARSE_TOTAL = 100;

const logScale = (k: MetricKind) => k === 'count' || k === 'ratio';

function stretchesOf(kind: MetricKind, opts: CompareOptions): readonly SerialStretch[] {
  if (opts.historyStretches) return opts.historyStretches;
  const out: SerialStretch[] = [];
  for (const h of opts.history ?? []) {
    const s = historyStretch(kind, h);
    if (s) out.push(s);
  }
  return out;
}

/**
 * Compares the after window with the before window for one metric kind. Windows must be
 * non-empty (the caller checks sufficiency first); a constant or all-zero window is fine.
 */
export function compareWindows(
  kind: MetricKind,
  before: WindowData,
  after: WindowData,
  opts: CompareOptions = {},
): Comparison {
  // Residual and rank series live in scratch memory; the comparison keeps none of them.
  const at = mark();
  try {
    return compareIn(kind, before, after, opts);
  } finally {
    release(at);
  }
}

function compareIn(kind: MetricKind, before: WindowData, after: WindowData, opts: CompareOptions): Comparison {
  const conf = opts.confLevel ?? 0.95;
  if (kind === 'quantile') return compareQuantile(before, after, conf, opts.reference, stretchesOf(kind, opts));
  const x0 = sum(before.values);
  const x1 = sum(after.values);

  // Seasonal reference: usable when log-scale kinds have events in all four windows.
  let ref = opts.reference;
  if (ref && logScale(kind) && !(x0 > 0 && x1 > 0 && sum(ref.before.values) > 0 && sum(ref.after.values) > 0))
    ref = undefined;
  if (ref && (ref.before.values.length < 2 || ref.after.values.length < 2)) ref = undefined;

  if (logScale(kind) && !ref && (x0 + x1 < SPARSE_TOTAL || x0 === 0 || x1 === 0)) {
    // Sparse or zero numerators: exact conditional test (R poisson.test with exposures).
    const t0 = kind === 'ratio' ? sum(before.weights as ArrayLike<number>) : before.values.length;
    const t1 = kind === 'ratio' ? sum(after.weights as ArrayLike<number>) : after.values.length;
    const ex = poissonRateTest(x1, t1, x0, t0, conf);
    const r0 = x0 / t0;
    const r1 = x1 / t1;
    const ciRel: [number, number] = [ex.ci[0] - 1, ex.ci[1] - 1];
    const a =
      kind === 'ratio'
        ? serialShape([residuals(before.values, 0, before.weights, r0), residuals(after.values, 0, after.weights, r1)])
            .r1
        : serialShape([residuals(before.values, r0), residuals(after.values, r1)]).r1;
    // Null standard error of the log rate ratio under Poisson, for the detectable-effect figure.
    const pooled = (x0 + x1) / (t0 + t1);
    const seRel = pooled > 0 ? Math.sqrt(1 / (pooled * t0) + 1 / (pooled * t1)) : null;
    return {
      method: 'exact_conditional_binomial',
      statistic: x1,
      p_value: ex.pValue,
      df: null,
      absolute: r1 - r0,
      relative: Number.isFinite(ex.ratio) ? ex.ratio - 1 : x1 > 0 ? Infinity : null,
      ci: x0 + x1 > 0 ? ciRel : null,
      ci_absolute: x0 > 0 ? [ciRel[0] * r0, ciRel[1] * r0] : null,
      se_relative: seRel,
      autocorrelation: a,
      n_eff: { before: before.values.length, after: after.values.length },
      exact: true,
    };
  }

  const sb = windowStat(kind, before);
  const sa = windowStat(kind, after);
  const stats = [sb, sa];
  const refStats: WindowStat[] = ref ? [windowStat(kind, ref.before), windowStat(kind, ref.after)] : [];
  const shape = serialShape(
    [...stats, ...refStats].map((s) => s.resid),
    stretchesOf(kind, opts),
  );
  const a = shape.r1;
  const parts = finishParts([...stats, ...refStats], shape);
  let diff = parts[1].est - parts[0].est;
  if (refStats.length) diff -= parts[3].est - parts[2].est;
  // The compared windows only: counting the history's buckets too lets the error ratio at ρ = 0.8
  // run at 6% false positives (bench/accuracy), because a weak AR under Poisson noise stays vague.
  let totalN = 0;
  for (const st of [...stats, ...refStats]) totalN += st.resid.length;
  const tr = tResult(diff, parts, conf, tDf(parts, shape, totalN));
  const seasonal = refStats.length > 0;
  const methodBase =
    kind === 'gauge' ? 'diff_means_hac_t' : kind === 'count' ? 'rate_ratio_hac_t' : 'ratio_of_sums_delta_hac_t';
  const nEff = { before: parts[0].nEff, after: parts[1].nEff };

  if (logScale(kind)) {
    const r0 = Math.exp(parts[0].est);
    const r1 = Math.exp(parts[1].est);
    const rel = Math.exp(diff) - 1;
    const ci: [number, number] = [Math.exp(tr.lo) - 1, Math.exp(tr.hi) - 1];
    return {
      method: seasonal ? `${methodBase}_did` : methodBase,
      statistic: tr.t,
      p_value: tr.p,
      df: Number.isFinite(tr.df) ? tr.df : null,
      absolute: seasonal ? r0 * rel : r1 - r0,
      relative: rel,
      ci,
      ci_absolute: [ci[0] * r0, ci[1] * r0],
      se_relative: tr.se,
      autocorrelation: a,
      n_eff: nEff,
      exact: false,
    };
  }
  // Gauge: difference of means; relative to the before mean (null when that is zero).
  const m0 = parts[0].est;
  const scale = Math.abs(m0);
  return {
    method: seasonal ? `${methodBase}_did` : methodBase,
    statistic: tr.t,
    p_value: tr.p,
    df: Number.isFinite(tr.df) ? tr.df : null,
    absolute: diff,
    relative: scale > 0 ? diff / scale : null,
    ci: scale > 0 ? [tr.lo / scale, tr.hi / scale] : null,
    ci_absolute: [tr.lo, tr.hi],
    se_relative: scale > 0 ? tr.se / scale : null,
    autocorrelation: a,
    n_eff: nEff,
    exact: false,
  };
}
