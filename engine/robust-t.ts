// The large-sample machinery shared by the comparisons and the counterfactual: each window's
// estimate and residuals, their autocorrelation-robust variances, and the t reference's df.
import type { MetricKind } from '../domain/metric.js';
import { tQuantile, tTwoSided } from './distributions.js';
import { meanVariance, serialShape, type SerialShape, type SerialStretch } from './hac.js';
import { take } from './scratch.js';
import { sum, type WindowData } from './window-data.js';

/** One window's estimate on the comparison scale with its robust variance and effective size. */
export interface Part {
  /** Estimate on the comparison scale (log rate, mean, …). */
  est: number;
  /** Variance of est. */
  v: number;
  nEff: number;
}

function welchDf(parts: Part[]): number {
  let num = 0;
  let den = 0;
  for (const p of parts) {
    num += p.v;
    // nEff < 2 is reported as insufficient_data upstream; keep df ≥ 1 so the numbers stay defined.
    den += (p.v * p.v) / Math.max(p.nEff - 1, 1);
  }
  if (num === 0) return Infinity;
  return den === 0 ? Infinity : (num * num) / den;
}

/** Residuals of a window around its centre (e − R·r for ratios); all zero for a constant window. */
export function residuals(
  values: ArrayLike<number>,
  center: number,
  weights?: ArrayLike<number>,
  ratio?: number,
): Float64Array {
  const r = take(values.length);
  // A constant window has no spread; rounding in its mean must not invent one.
  if (!weights) {
    let constant = true;
    for (let i = 1; i < values.length && constant; i++) constant = values[i] === values[0];
    if (constant) return r;
  }
  for (let i = 0; i < values.length; i++)
    r[i] = weights ? values[i] - (ratio as number) * weights[i] : values[i] - center;
  return r;
}

/** The per-window pieces of the large-sample methods (estimate, variance, residuals). */
export interface WindowStat {
  est: number;
  resid: Float64Array;
  /** Scale mapping Var(mean of resid) to Var(est). */
  scale: number;
  /** Lower bound of Var(est) (Poisson floor for counts). */
  floor: number;
}

/** A window's estimate on the comparison scale (log rate, log ratio of sums, mean) and its residuals. */
export function windowStat(kind: MetricKind, w: WindowData): WindowStat {
  const n = w.values.length;
  const total = sum(w.values);
  if (kind === 'count') {
    const mean = total / n;
    // log of the mean rate; Var(log mean) ≈ Var(mean) / mean²; never below Poisson.
    return { est: Math.log(mean), resid: residuals(w.values, mean), scale: 1 / (mean * mean), floor: 1 / (mean * n) };
  }
  if (kind === 'ratio') {
    const q = sum(w.weights as ArrayLike<number>);
    const R = total / q;
    // Delta method: R̂ − R ≈ Σ(e − R q)/Σq = n·mean(z)/Q, so Var(log R̂) ≈ n² Var(mean z) / (Q R)².
    return {
      est: Math.log(R),
      resid: residuals(w.values, 0, w.weights, R),
      scale: (n * n) / (q * q * R * R),
      floor: 0,
    };
  }
  const mean = total / n;
  return { est: mean, resid: residuals(w.values, mean), scale: 1, floor: 0 };
}

/** Each window's estimate with its robust variance under the pooled autocorrelation shape. */
export function finishParts(stats: WindowStat[], shape: SerialShape): Part[] {
  return stats.map((s) => {
    const mv = meanVariance(s.resid, shape);
    return { est: s.est, v: Math.max(mv.varMean * s.scale, s.floor), nEff: mv.nEff };
  });
}

/**
 * Degrees of freedom of the t reference: Welch on the effective sizes, but never more than the
 * uncertainty of the long-run variance allows (shapeDf): with 60 buckets it is itself uncertain,
 * and Welch alone ignores that.
 */
export function tDf(parts: Part[], shape: SerialShape | null, totalN: number): number {
  const welch = welchDf(parts);
  if (!shape) return welch;
  return Math.max(1, Math.min(welch, shapeDf(shape, totalN, parts.length)));
}

/**
 * The df of the variance of the difference, n·Var(mean) = γ_0 × inflation, with the variance
 * level γ_0 and the inflation estimated separately: 1/df = 1/df(γ_0) + 1/df(inflation), each
 * counted where the decay is plausibly higher (φ⁺). γ_0 over N buckets of "AR(1) plus white
 * noise" has N / (1 + 2 s²φ²/(1 − φ²)) − (windows) df (s = the AR share: a pure AR(1) gauge at
 * φ = 0.8 gets N/4.6, an error ratio whose Poisson noise hides the wandering nearly N).
 *
 * A difference-in-differences keeps the older, blunter bound Σn·(1 − φ⁺)/(1 + φ⁺) − windows
 * (independent stretches of the persistent component): its four windows lean on the one
 * inflation estimate, and with the split above counts at ρ = 0.8 read 5.5% false positives with
 * the week baseline (6,000 null events).
 */
function shapeDf(shape: SerialShape, totalN: number, windows: number): number {
  const ph = shape.phiHi;
  if (windows > 2) {
    const persistent = ph > 0 ? (totalN * (1 - ph)) / (1 + ph) - windows : Infinity;
    return Math.max(1, Math.min(persistent, shape.lrvDfHi));
  }
  const s = shape.share;
  const level = totalN / (1 + (2 * s * s * ph * ph) / (1 - ph * ph)) - windows;
  return Math.max(1, 1 / (1 / Math.max(level, 1) + 1 / Math.max(shape.lrvDfHi, 1)));
}

/** The t statistic, p-value and interval of a difference whose variance is the sum of the parts'. */
export function tResult(
  diff: number,
  parts: Part[],
  conf: number,
  df: number,
): { se: number; df: number; t: number; p: number; lo: number; hi: number } {
  let v = 0;
  for (const p of parts) v += p.v;
  const se = Math.sqrt(v);
  if (se === 0) {
    const p = diff === 0 ? 1 : 0;
    return { se, df, t: diff === 0 ? 0 : Math.sign(diff) * Infinity, p, lo: diff, hi: diff };
  }
  const t = diff / se;
  const q = tQuantile(1 - (1 - conf) / 2, df);
  return { se, df, t, p: tTwoSided(t, df), lo: diff - q * se, hi: diff + q * se };
}

/** A large-sample difference of two windows' estimates with its autocorrelation-robust standard error. */
export interface WindowDifference {
  /** After minus before: log rate, log ratio of sums, or difference of means. */
  diff: number;
  se: number;
  /** Degrees of freedom of the t reference. */
  df: number;
  autocorrelation: number;
  n_eff: { before: number; after: number };
  /** The variance of each window's estimate (se² is their sum). */
  variance: { before: number; after: number };
}

/**
 * The large-sample core of compareWindows() on window statistics the caller built (its own
 * estimates and residuals, windows of any length: the counterfactual compares a long, seasonally
 * adjusted pre-event stretch with the after window): the difference, the robust variance of each
 * window's estimate, Welch df bounded by the uncertainty of the long-run variance. `history`:
 * residual stretches of the same series elsewhere (other days), pooled into the autocorrelation
 * shape only. Call within a scratch mark (residuals live there).
 */
export function statDifference(
  before: WindowStat,
  after: WindowStat,
  history: readonly SerialStretch[] = [],
): WindowDifference {
  const stats = [before, after];
  const shape = serialShape(
    stats.map((st) => st.resid),
    history,
  );
  const parts = finishParts(stats, shape);
  const df = tDf(parts, shape, before.resid.length + after.resid.length);
  return {
    diff: parts[1].est - parts[0].est,
    se: Math.sqrt(parts[0].v + parts[1].v),
    df,
    autocorrelation: shape.r1,
    n_eff: { before: parts[0].nEff, after: parts[1].nEff },
    variance: { before: parts[0].v, after: parts[1].v },
  };
}
