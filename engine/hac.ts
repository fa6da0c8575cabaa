// Autocorrelation-robust variances for minute-level series: Newey–West (Bartlett)
// long-run variance, AR(1) prewhitening, and the variance of a window mean built on them.

/** Textbook Newey–West lag 4(n/100)^(2/9) (too short alone for ρ ≈ 0.8; see prewhitening). */
export function textbookLag(n: number): number {
  return Math.max(0, Math.floor(4 * Math.pow(n / 100, 2 / 9)));
}

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

/** Andrews (1991) AR(1) plug-in bandwidth for the Bartlett kernel, given the lag-1 autocorrelation. */
export function andrewsLag(n: number, rho: number): number {
  const r = Math.min(Math.max(rho, -0.97), 0.97);
  const alpha = (4 * r * r) / ((1 - r) * (1 - r) * (1 + r) * (1 + r));
  return Math.floor(1.1447 * Math.pow(alpha * n, 1 / 3));
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

let scratchBuf = new Float64Array(256);

/**
 * Variance of the mean of a window from its within-window residuals (mean zero), given the pooled,
 * bias-corrected AR(1) coefficient `a`. Prewhitened Newey–West, inflation floored at 1 (we never
 * claim more information than independent buckets), and the n/(n − f) correction for the mean
 * having been estimated from autocorrelated data (E[SS] = σ²(n − f)).
 */
export function meanVariance(resid: ArrayLike<number>, a: number): MeanVariance {
  const n = resid.length;
  if (n < 2) return { varMean: NaN, inflation: 1, nEff: n };
  let ss = 0;
  for (let t = 0; t < n; t++) ss += resid[t] * resid[t];
  if (ss === 0) return { varMean: 0, inflation: 1, nEff: n };
  if (scratchBuf.length < n) scratchBuf = new Float64Array(n * 2);
  // Residual autocorrelation left after prewhitening picks the Newey–West lag (Andrews plug-in).
  const e = scratchBuf;
  for (let t = 1; t < n; t++) e[t - 1] = resid[t] - a * resid[t - 1];
  let c0 = 0;
  let c1 = 0;
  for (let t = 0; t < n - 1; t++) {
    c0 += e[t] * e[t];
    if (t > 0) c1 += e[t] * e[t - 1];
  }
  const rhoE = c0 > 0 ? c1 / c0 : 0;
  const lag = Math.min(n - 2, Math.max(textbookLag(n), andrewsLag(n, rhoE)));
  const lrvSum = neweyWestSum(e, lag, 0, n - 1) / ((1 - a) * (1 - a));
  // Per-observation long-run variance; the prewhitened sum covers n − 1 residuals.
  const lrv = lrvSum / (n - 1);
  const gamma0 = ss / n;
  const f = Math.min(Math.max(lrv / gamma0, 1), n / 2);
  return { varMean: (gamma0 * f) / (n - f), inflation: f, nEff: n / f };
}

/**
 * Pooled lag-1 autocorrelation of within-window residuals with the Kendall bias correction
 * (E[ρ̂] ≈ ρ − (1 + 3ρ)/n when the mean is estimated), clamped to [0, 0.95].
 */
export function pooledAutocorrelation(segments: ArrayLike<number>[]): number {
  const { coef } = ar1Pooled(segments);
  let total = 0;
  let k = 0;
  for (const s of segments) if (s.length > 1) { total += s.length; k++; }
  if (k === 0) return 0;
  const nBar = total / k;
  const corrected = coef + (1 + 3 * coef) / nBar;
  return Math.min(Math.max(corrected, 0), 0.95);
}
