// Autocorrelation-robust variances for minute-level series: Newey–West (Bartlett) building
// blocks, and the parametric long-run variance the engine uses for the variance of a window mean.
import { take } from './scratch.js';

/**
 * Newey–West (Bartlett weights 1 − j/(L+1)) sum of autocovariances of a mean-zero series,
 * S = Σr² + 2 Σ_{j=1..L} w_j Σ_t r_t r_{t+j}. S/n² equals sandwich::NeweyWest(lm(r ~ 1),
 * lag = L, prewhite = FALSE, adjust = FALSE) when r are the residuals.
 */
export function neweyWestSum(r: ArrayLike<number>, lag: number, start = 0, end = r.length): number {
  let s = 0;
  for (let t = start; t < end; t++) s += r[t] * r[t];
  const L = Math.min(lag, end - start - 1);
  for (let j = 1; j <= L; j++) {
    let c = 0;
    for (let t = start; t + j < end; t++) c += r[t] * r[t + j];
    s += 2 * (1 - j / (L + 1)) * c;
  }
  return s;
}

/** Least-squares AR(1) coefficient without intercept, Σ r_t r_{t−1} / Σ r_{t−1}², pooled over segments. */
export function ar1Pooled(segments: ArrayLike<number>[]): { coef: number; pairs: number } {
  let num = 0;
  let den = 0;
  let pairs = 0;
  for (const r of segments) {
    for (let t = 1; t < r.length; t++) {
      num += r[t] * r[t - 1];
      den += r[t - 1] * r[t - 1];
      pairs++;
    }
  }
  return { coef: den > 0 ? num / den : 0, pairs };
}

/**
 * AR(1)-prewhitened Newey–West sum: residuals e_t = r_t − a r_{t−1} (t ≥ 1), their Bartlett sum
 * with lag L, recoloured by 1/(1 − a)². Divided by n² it equals sandwich::NeweyWest(lm(r ~ 1),
 * lag = L, prewhite = TRUE, adjust = FALSE) when a is ar.ols's coefficient.
 */
export function prewhitenedNeweyWestSum(r: ArrayLike<number>, a: number, lag: number, scratch?: Float64Array): number {
  const n = r.length;
  if (n < 2) return n === 1 ? r[0] * r[0] : 0;
  const e = scratch && scratch.length >= n - 1 ? scratch : new Float64Array(n - 1);
  for (let t = 1; t < n; t++) e[t - 1] = r[t] - a * r[t - 1];
  const s = neweyWestSum(e, lag, 0, n - 1);
  return s / ((1 - a) * (1 - a));
}

/** Lags used to fit the decay of the autocorrelations, and the largest decay allowed (φ = 0.9 is a 10-bucket memory). */
const MAX_LAG = 6;
/** Longest Bartlett lag of the Newey–West envelope (a quarter of the window, at most this). */
const MAX_NW_LAG = 30;
const MAX_PHI = 0.9;

/**
 * n·Var(window mean) = γ_0 + 2 Σ_{k=1}^{n−1} (1 − k/n) γ_k; with γ_k = γ_1 φ^(k−1) the γ_1 term
 * weighs W(φ, n) = Σ_{k=1}^{n−1} (1 − k/n) φ^(k−1) = 1/(1 − φ) − (1 − φⁿ)/(n(1 − φ)²), which
 * tends to 1/(1 − φ) for long windows but is smaller for 60 buckets (4.58 instead of 5 at
 * φ = 0.8): the asymptotic long-run variance overstates the variance of a 60-bucket mean by up
 * to a tenth.
 */
export function arWeight(phi: number, n: number): number {
  if (n <= 1) return 0;
  const q = 1 - phi;
  return 1 / q - (1 - power(phi, n)) / (n * q * q);
}

/** xⁿ; by squaring for whole n (window lengths), a tenth of the time of Math.pow in the engine's hot loop. */
function power(x: number, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 4096) return x ** n;
  let result = 1;
  let base = x;
  for (let e = n; e > 0; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return result;
}

/**
 * One history stretch reduced to what serialShape pools from it: its length, its weight (the
 * length, or 0 when it has no spread) and Σ_t e_t e_{t−lag} / Σ e_t² × length for lags 1..MAX_LAG
 * (index = lag) of its residuals. Small and independent of the event, so callers can keep it.
 */
export interface SerialStretch {
  length: number;
  weight: number;
  r: Float64Array;
}

/** serialStretch() of a stretch's residuals (mean zero within the stretch); null below 3 values. */
export function serialStretch(resid: ArrayLike<number>): SerialStretch | null {
  const n = resid.length;
  if (n < 3) return null;
  const r = new Float64Array(MAX_LAG + 1);
  let g0 = 0;
  for (let t = 0; t < n; t++) g0 += resid[t] * resid[t];
  if (g0 === 0) return { length: n, weight: 0, r };
  for (let lag = 1; lag <= MAX_LAG && lag < n; lag++) {
    let g = 0;
    for (let t = lag; t < n; t++) g += resid[t] * resid[t - lag];
    r[lag] = (g / g0) * n;
  }
  return { length: n, weight: n, r };
}

/** Variance of one window's mean under autocorrelation. */
export interface MeanVariance {
  /** Estimated variance of the window mean. */
  varMean: number;
  /** Long-run variance over the marginal variance (1 = independent). */
  inflation: number;
  /** Effective number of independent buckets, n / inflation. */
  nEff: number;
}

/** The serial-correlation shape shared by the windows of one metric (pooled across them). */
export interface SerialShape {
  /** Pooled lag-1 and lag-2 sample autocorrelations of within-window residuals. */
  r1: number;
  r2: number;
  /** Decay rate φ of the autocovariances beyond lag 1 (bias-corrected). */
  phi: number;
  /** Marginal variance over the sample variance (undoes the demeaning bias). */
  c0: number;
  /** n × the variance of a window mean (n = the mean window length), over the sample variance: the long-run variance of a window as long as these. */
  lrv: number;
  /** lrv / c0: how much autocorrelation inflates the variance of a mean (≥ 1). */
  inflation: number;
  /** Satterthwaite degrees of freedom of the long-run variance estimate itself (Infinity when no autocorrelation was found). */
  lrvDf: number;
  /** lrvDf evaluated at φ⁺ (phiHi) when that is fewer: the cautious df (Mann–Whitney, difference-in-differences). */
  lrvDfHi: number;
  /** Upper end of the plausible decay, φ + its standard error (capped); 0 when no autocorrelation was found. */
  phiHi: number;
  /** Share s of the marginal variance in the AR component (γ_1 = s·φ·γ_0; 1 for a pure AR(1), small for Poisson counts on a wandering rate). */
  share: number;
}

/**
 * Long-run variance shape of "AR(1) plus white noise" residuals (an ARMA(1,1) autocovariance:
 * γ_k = γ_1 φ^(k−1)), which covers pure AR(1) gauges and counts whose Poisson noise sits on an
 * autocorrelated rate. Autocorrelations are pooled over the windows; the bias from estimating
 * each window's mean (every γ̂_k is low by about LRV/n) is undone by a fixed-point iteration;
 * φ gets the rest of Kendall's small-sample correction and a cap of 0.9; the variance of a mean
 * of n buckets sums the autocovariances with their finite-window weights (arWeight), not the
 * asymptotic 1/(1 − φ); and the result is floored by a long-lag (n/4) Bartlett estimate. Why not Newey–West alone: with 60 buckets the textbook lag is far
 * too short for ρ ≈ 0.8 (see engine/README.md for the measured rates).
 */
export function serialShape(segments: ArrayLike<number>[], history: readonly SerialStretch[] = []): SerialShape {
  // Pooled sample autocorrelations r_1..r_K (each window weighted by its length). Lags past the
  // fitted ones (MAX_LAG) only feed the Bartlett envelope and come from the compared windows;
  // history stretches arrive already reduced to their lags 1..MAX_LAG (serialStretch).
  let total = 0;
  let k = 0;
  for (const seg of segments)
    if (seg.length >= 3) {
      total += seg.length;
      k++;
    }
  for (const h of history) {
    total += h.length;
    k++;
  }
  const nwLag = k ? Math.min(MAX_NW_LAG, Math.floor(total / k / 4)) : 0;
  const lags = Math.max(MAX_LAG, nwLag);
  const r = take(lags + 1);
  let envelopeWeight = 0;
  for (const seg of segments) {
    const n = seg.length;
    if (n < 3) continue;
    let g0 = 0;
    for (let t = 0; t < n; t++) g0 += seg[t] * seg[t];
    if (g0 === 0) continue;
    for (let lag = 1; lag <= lags && lag < n; lag++) {
      let g = 0;
      for (let t = lag; t < n; t++) g += seg[t] * seg[t - lag];
      r[lag] += (g / g0) * n;
    }
    envelopeWeight += n;
  }
  let weight = envelopeWeight;
  for (const h of history) {
    if (h.weight === 0) continue;
    for (let lag = 1; lag <= MAX_LAG; lag++) r[lag] += h.r[lag];
    weight += h.weight;
  }
  if (weight === 0)
    return {
      r1: 0,
      r2: 0,
      phi: 0,
      c0: 1,
      lrv: 1,
      inflation: 1,
      lrvDf: Infinity,
      lrvDfHi: Infinity,
      phiHi: 0,
      share: 0,
    };
  for (let lag = 1; lag <= lags; lag++) r[lag] /= lag <= MAX_LAG ? weight : envelopeWeight || 1;
  const nBar = total / k;
  let lrv = 1;
  let phi = 0;
  let a0 = 1;
  for (let it = 0; it < 8; it++) {
    const b = lrv / nBar;
    a0 = 1 + b;
    const a1 = r[1] + b;
    if (a1 <= 0) {
      phi = 0;
      lrv = a0;
      continue;
    }
    // φ by least squares of c_lag ≈ φ c_(lag−1) over lags 2..K: steadier than c_2 / c_1 alone.
    let num = 0;
    let den = 0;
    for (let lag = 2; lag <= MAX_LAG; lag++) {
      const prev = r[lag - 1] + b;
      num += (r[lag] + b) * prev;
      den += prev * prev;
    }
    phi = den > 0 ? num / den : 0;
    // Small-sample correction: φ̂ from 60 buckets is biased low by about (1 + 3φ)/n (Kendall;
    // Marriott–Pope), of which (1 + φ)/n comes from estimating the window mean, already undone
    // above through b; the remaining 2φ/n is the ratio estimator's own bias.
    phi = Math.min(Math.max(phi + (2 * phi) / nBar, 0), MAX_PHI);
    // γ_k = γ_1 φ^(k−1) with γ_1 = s·φ·γ_0, s ≤ 1 the autocorrelated share of the variance: a
    // decay below the lag-1 autocorrelation would make that share exceed the whole.
    phi = Math.min(Math.max(phi, a1 / a0), MAX_PHI);
    lrv = Math.max(a0, a0 + 2 * a1 * arWeight(phi, nBar));
    // Envelope: never below a long-lag Bartlett (Newey–West) estimate of the same residuals.
    let nw = a0;
    for (let lag = 1; lag <= nwLag; lag++) nw += 2 * (1 - lag / (nwLag + 1)) * (r[lag] + b);
    lrv = Math.max(lrv, nw);
  }
  const unc = lrvUncertainty(r, lrv, a0, phi, nBar, total);
  const a1 = r[1] + lrv / nBar;
  // The same uncertainty where the decay is plausibly higher: a φ̂ that came out low by chance
  // gives both a small variance and an optimistic df; taking the smaller df undoes the second.
  let lrvDfHi = unc.df;
  if (unc.phiHi > phi) {
    const lrvHi = Math.max(a0, a0 + 2 * a1 * arWeight(unc.phiHi, nBar));
    lrvDfHi = Math.min(unc.df, lrvUncertainty(r, lrvHi, a0, unc.phiHi, nBar, total).df);
  }
  const share = phi > 0 && a1 > 0 ? Math.min(1, a1 / (a0 * phi)) : 0;
  return { r1: r[1], r2: r[2], phi, c0: a0, lrv, inflation: lrv / a0, lrvDf: unc.df, lrvDfHi, phiHi: unc.phiHi, share };
}

/**
 * How well the buckets pin the long-run variance, and how high the decay may plausibly be
 * (φ⁺ = φ + its standard error): the variance of lrv = a0 + 2a1·W(φ, n) from the sampling error
 * of the autocorrelations (≈ 1/√N) and of the fitted decay, the latter taken as half the spread
 * of lrv between φ − se and φ + se (within 0 and the 0.9 cap) — W is steep and convex near the
 * cap, where a tangent understates the spread upward and a weak autocorrelation leaves φ vague —
 * turned into Satterthwaite degrees of freedom 2·lrv²/Var. A weak but persistent autocorrelation
 * (overdispersed counts on an AR rate) gets few.
 */
function lrvUncertainty(
  r: Float64Array,
  lrv: number,
  a0: number,
  phi: number,
  nBar: number,
  total: number,
): { df: number; phiHi: number } {
  const b = lrv / nBar;
  const a1 = r[1] + b;
  if (a1 <= 0 || lrv <= a0) return { df: Infinity, phiHi: 0 };
  const seR = 1 / Math.sqrt(total);
  let sxx = 0;
  for (let lag = 2; lag <= MAX_LAG; lag++) sxx += (r[lag - 1] + b) ** 2;
  const sePhi = sxx > 0 ? (seR * Math.sqrt(1 + phi * phi)) / Math.sqrt(sxx) : Infinity;
  const phiHi = Math.min(MAX_PHI, phi + sePhi);
  const fromA1 = (2 * arWeight(phi, nBar) * seR) ** 2;
  const fromPhi = (a1 * (arWeight(phiHi, nBar) - arWeight(Math.max(phi - sePhi, 0), nBar))) ** 2;
  return { df: (2 * lrv * lrv) / (fromA1 + fromPhi), phiHi };
}

/** Variance of a window's mean from its residuals (mean zero) and the metric's serial shape. */
export function meanVariance(resid: ArrayLike<number>, shape: SerialShape): MeanVariance {
  const n = resid.length;
  if (n < 2) return { varMean: NaN, inflation: 1, nEff: n };
  let ss = 0;
  for (let t = 0; t < n; t++) ss += resid[t] * resid[t];
  if (ss === 0) return { varMean: 0, inflation: 1, nEff: n };
  // Capped at n (one effective bucket); the analysis calls fewer than 2 insufficient.
  const inflation = Math.min(shape.inflation, n);
  return { varMean: ((ss / n) * shape.c0 * inflation) / n, inflation, nEff: n / inflation };
}
