// The statistics of one metric on plain arrays: compares an after window with a before window
// (optionally against the same windows a week or a day earlier) for each kind of metric.
import type { MetricKind } from '../domain/metric.js';
import { normQuantile, tQuantile, tTwoSided } from './distributions.js';
import { benjaminiHochberg, poissonRateTest } from './exact.js';
import { meanVariance, serialShape, serialStretch, type SerialShape, type SerialStretch } from './hac.js';
import { rankSum, rankSumSorted } from './rank.js';
import { mark, release, take } from './scratch.js';
import { before, selectInPlace, sortWithRanks } from './order.js';

/** One window's buckets: values (numerators for ratios) and, for ratios, weights (denominators). */
export interface WindowData {
  values: ArrayLike<number>;
  weights?: ArrayLike<number>;
}

/** Summary of one window, in the metric's units. */
export interface WindowSummary {
  n: number;
  mean: number | null;
  median: number | null;
  p95: number | null;
  /** count: mean per bucket; ratio: Σ numerator / Σ denominator. */
  rate: number | null;
  /** count / ratio: total of the numerator (and of the denominator for ratios). */
  sum?: number;
  weight_sum?: number;
}

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

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** R-7 quantile (type 7, as R's default and ClickHouse quantileExactInclusive) of a sorted array. */
export function quantileSorted(s: ArrayLike<number>, p: number): number {
  const n = s.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/**
 * Internal keys under which the analysis attaches a window's values sorted ascending and their
 * centred mid-ranks (time order), so the summaries and the rank methods order each window once
 * (callers never see them).
 */
export const SORTED = Symbol('sorted values');
export const RANKS = Symbol('centred ranks');
type Ordered = WindowData & { [SORTED]?: Float64Array; [RANKS]?: Float64Array };

/** The window's values sorted ascending and their centred mid-ranks (attached by the analysis, else computed here). */
function orderOf(w: WindowData): { sorted: Float64Array; ranks: Float64Array } {
  const o = w as Ordered;
  if (o[SORTED] && o[RANKS]) return { sorted: o[SORTED], ranks: o[RANKS] };
  return sortWithRanks(w.values);
}

/** Smallest of a[l..r] in sort order. */
function minOf(a: Float64Array, l: number, r: number): number {
  let m = a[l];
  for (let i = l + 1; i <= r; i++) if (before(a[i], m)) m = a[i];
  return m;
}

/** quantileSorted(sort(a), p) by selection within a[from..], everything before `from` being already in place. */
function selectQuantile(a: Float64Array, p: number, from: number): number {
  const n = a.length;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  selectInPlace(a, from, n - 1, lo);
  const vLo = a[lo];
  const vHi = hi === lo ? vLo : minOf(a, lo + 1, n - 1);
  return vLo + (h - lo) * (vHi - vLo);
}

/**
 * quantileSorted() at p = 0.5 and, when asked, 0.95 without a full sort: a selection gives the
 * same order statistics (one pass to place the lower one, a minimum for the next).
 */
function medianP95(w: WindowData, wantP95: boolean): [number, number | null] {
  const attached = (w as { [SORTED]?: Float64Array })[SORTED];
  if (attached) return [quantileSorted(attached, 0.5), wantP95 ? quantileSorted(attached, 0.95) : null];
  const n = w.values.length;
  const at = mark();
  try {
    const a = take(n);
    a.set(w.values as ArrayLike<number>);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(a[i])) {
        // NaN has no place in the selection's order: let the sort place it.
        a.sort();
        return [quantileSorted(a, 0.5), wantP95 ? quantileSorted(a, 0.95) : null];
      }
    }
    const median = selectQuantile(a, 0.5, 0);
    // Everything above the median's lower index is already at or above it.
    const p95 = wantP95 ? selectQuantile(a, 0.95, Math.min(Math.floor((n - 1) * 0.5) + 1, n - 1)) : null;
    return [median, p95];
  } finally {
    release(at);
  }
}

/** Summary numbers of a window for the report. */
export function summarize(kind: MetricKind, w: WindowData): WindowSummary {
  const n = w.values.length;
  if (n === 0)
    return {
      n: 0,
      mean: null,
      median: null,
      p95: null,
      rate: null,
      ...(kind === 'count' || kind === 'ratio' ? { sum: 0 } : {}),
      ...(kind === 'ratio' ? { weight_sum: 0 } : {}),
    };
  const [median, p95] = medianP95(w, kind === 'gauge' || kind === 'quantile');
  const total = sum(w.values);
  const out: WindowSummary = {
    n,
    mean: total / n,
    median,
    p95,
    rate: null,
  };
  if (kind === 'count') {
    out.rate = total / n;
    out.sum = total;
  } else if (kind === 'ratio') {
    const q = sum(w.weights ?? []);
    out.rate = q > 0 ? total / q : null;
    out.sum = total;
    out.weight_sum = q;
  }
  return out;
}

interface Part {
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

function residuals(
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

function windowStat(kind: MetricKind, w: WindowData): WindowStat {
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

function finishParts(stats: WindowStat[], shape: SerialShape): Part[] {
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
function tDf(parts: Part[], shape: SerialShape | null, totalN: number): number {
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

function tResult(
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

const logScale = (k: MetricKind) => k === 'count' || k === 'ratio';

/**
 * A history stretch reduced to its share of the noise model: the autocorrelations of its
 * residuals (value − stretch mean; e − R·r for ratios; centred mid-ranks for latency), or null
 * when it has none for this kind (under 3 buckets, no events or no requests).
 */
export function historyStretch(kind: MetricKind, w: WindowData): SerialStretch | null {
  if (w.values.length < 3) return null;
  if ((kind === 'count' || kind === 'ratio') && !(sum(w.values) > 0)) return null;
  if (kind === 'ratio' && !(sum(w.weights ?? []) > 0)) return null;
  const at = mark();
  try {
    return serialStretch(kind === 'quantile' ? orderOf(w).ranks : windowStat(kind, w).resid);
  } finally {
    release(at);
  }
}

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

/** Long-run variance factor of each rank series (≥ 1) for the Mann–Whitney variance. */
function rankInflation(segs: Float64Array[], shape: SerialShape): number[] {
  return segs.map((r) => meanVariance(r, shape).inflation);
}

function allPositive(w: WindowData): boolean {
  for (let i = 0; i < w.values.length; i++) if (!(w.values[i] > 0)) return false;
  return true;
}

const logOf = (w: WindowData) => Float64Array.from(w.values as ArrayLike<number>, Math.log);

function compareQuantile(
  before: WindowData,
  after: WindowData,
  conf: number,
  reference: { before: WindowData; after: WindowData } | undefined,
  history: readonly SerialStretch[],
): Comparison {
  const nb = before.values.length;
  const na = after.values.length;
  // Within-window centred mid-ranks in time order carry the autocorrelation of latency series.
  const { sorted: sortedB, ranks: rb } = orderOf(before);
  const { sorted: sortedA, ranks: ra } = orderOf(after);
  const segs = [rb, ra];
  const useRef =
    !!reference &&
    reference.before.values.length > 1 &&
    reference.after.values.length > 1 &&
    allPositive(before) &&
    allPositive(after) &&
    allPositive(reference.before) &&
    allPositive(reference.after);
  if (useRef) segs.push(orderOf(reference!.before).ranks, orderOf(reference!.after).ranks);
  const shape = serialShape(segs, history);
  const a = shape.r1;
  const infl = rankInflation(segs, shape);
  // Var(U) ≈ (mn/12)(n·f_after + m·f_before)/(m + n) under within-window dependence (Hoeffding projection).
  const inflation = (nb * infl[1] + na * infl[0]) / (na + nb);
  const nEff = { before: nb / infl[0], after: na / infl[1] };
  const med0 = quantileSorted(sortedB, 0.5);
  // An estimated inflation is itself uncertain: a t reference on the long-run variance's own df,
  // counted at φ⁺ (lrvDfHi). Not the persistent-stretch bound of the other kinds: U is bounded,
  // and with that bound a +50% shift at ρ = 0.8 went undetected one time in six (bench/accuracy).
  const df = inflation > 1 ? Math.max(1, shape.lrvDfHi) : Infinity;

  if (!useRef) {
    const rs = rankSumSorted(sortedA, sortedB, { confLevel: conf, varianceInflation: inflation, df });
    const scale = Math.abs(med0);
    const zq = df === Infinity ? normQuantile(1 - (1 - conf) / 2) : tQuantile(1 - (1 - conf) / 2, df);
    return {
      method: rs.exact
        ? 'mann_whitney_exact'
        : inflation > 1
          ? 'mann_whitney_autocorrelation_adjusted'
          : 'mann_whitney',
      statistic: rs.statistic,
      p_value: rs.pValue,
      df: Number.isFinite(df) ? df : null,
      absolute: rs.estimate,
      relative: scale > 0 ? rs.estimate / scale : null,
      ci: scale > 0 ? [rs.ci[0] / scale, rs.ci[1] / scale] : null,
      ci_absolute: rs.ci,
      se_relative: scale > 0 ? (rs.ci[1] - rs.ci[0]) / (2 * zq) / scale : null,
      autocorrelation: a,
      n_eff: nEff,
      exact: rs.exact,
    };
  }
  // Seasonal: Hodges–Lehmann shifts on log latency now and in the reference; the difference is
  // tested with the standard errors read off each rank interval.
  const zq = df === Infinity ? normQuantile(1 - (1 - conf) / 2) : tQuantile(1 - (1 - conf) / 2, df);
  const refInfl =
    (reference!.before.values.length * infl[3] + reference!.after.values.length * infl[2]) /
    (reference!.before.values.length + reference!.after.values.length);
  const now = rankSum(logOf(after), logOf(before), { confLevel: conf, varianceInflation: inflation, exact: false, df });
  const ref = rankSum(logOf(reference!.after), logOf(reference!.before), {
    confLevel: conf,
    varianceInflation: refInfl,
    exact: false,
    df,
  });
  const seNow = (now.ci[1] - now.ci[0]) / (2 * zq);
  const seRef = (ref.ci[1] - ref.ci[0]) / (2 * zq);
  const diff = now.estimate - ref.estimate;
  const se = Math.sqrt(seNow * seNow + seRef * seRef);
  const z = se > 0 ? diff / se : diff === 0 ? 0 : Math.sign(diff) * Infinity;
  const p = se > 0 ? tTwoSided(z, df) : diff === 0 ? 1 : 0;
  const rel = Math.exp(diff) - 1;
  const ci: [number, number] = [Math.exp(diff - zq * se) - 1, Math.exp(diff + zq * se) - 1];
  return {
    method: 'hodges_lehmann_log_did',
    statistic: z,
    p_value: p,
    df: Number.isFinite(df) ? df : null,
    absolute: rel * med0,
    relative: rel,
    ci,
    ci_absolute: [ci[0] * med0, ci[1] * med0],
    se_relative: se,
    autocorrelation: a,
    n_eff: nEff,
    exact: false,
  };
}

export { benjaminiHochberg };
