// Exact conditional tests for sparse counts (R binom.test / poisson.test semantics) and the
// Benjamini–Hochberg adjustment (R p.adjust(method = "BH")).
import { betaQuantile, binomCdf, binomPmf, binomSf } from './distributions.js';

/** Two-sided exact binomial test of x successes in n trials against p, with Clopper–Pearson interval. */
export function binomTest(x: number, n: number, p: number, confLevel = 0.95): { pValue: number; ci: [number, number] } {
  let pValue: number;
  if (n === 0) pValue = 1;
  else if (p === 0) pValue = x === 0 ? 1 : 0;
  else if (p === 1) pValue = x === n ? 1 : 0;
  else {
    // R: sum the probabilities of outcomes no more likely than the observed one (relative slack 1e-7).
    const relErr = 1 + 1e-7;
    const d = binomPmf(x, n, p);
    const mode = n * p;
    if (x === mode) pValue = 1;
    else if (x < mode) {
      let y = 0;
      for (let i = Math.ceil(mode); i <= n; i++) if (binomPmf(i, n, p) <= d * relErr) y++;
      pValue = binomCdf(x, n, p) + binomSf(n - y, n, p);
    } else {
      let y = 0;
      for (let i = 0; i <= Math.floor(mode); i++) if (binomPmf(i, n, p) <= d * relErr) y++;
      pValue = binomCdf(y - 1, n, p) + binomSf(x - 1, n, p);
    }
    pValue = Math.min(1, pValue);
  }
  const a = 1 - confLevel;
  const lo = x === 0 ? 0 : betaQuantile(a / 2, x, n - x + 1);
  const hi = x === n ? 1 : betaQuantile(1 - a / 2, x + 1, n - x);
  return { pValue, ci: [lo, hi] };
}

/**
 * Exact conditional comparison of two Poisson rates (R poisson.test(c(x1, x0), c(t1, t0))):
 * given the total, x1 ~ Bin(x1 + x0, t1 / (t1 + t0)) under equal rates.
 * Returns the rate ratio (x1/t1)/(x0/t0) and its interval.
 */
export function poissonRateTest(
  x1: number,
  t1: number,
  x0: number,
  t0: number,
  confLevel = 0.95,
): { pValue: number; ratio: number; ci: [number, number] } {
  const total = x1 + x0;
  const p = t1 / (t1 + t0);
  const { pValue, ci } = binomTest(x1, total, p, confLevel);
  const toRatio = (q: number) => (q / (1 - q)) * (t0 / t1);
  const ratio = x0 === 0 ? (x1 === 0 ? NaN : Infinity) : x1 / t1 / (x0 / t0);
  return { pValue, ratio, ci: [toRatio(ci[0]), ci[1] >= 1 ? Infinity : toRatio(ci[1])] };
}

/** Benjamini–Hochberg q-values, in input order (NaN p-values stay NaN and do not count). */
export function benjaminiHochberg(p: readonly number[]): number[] {
  const idx = p.map((v, i) => i).filter((i) => Number.isFinite(p[i]));
  const m = idx.length;
  const q = p.map(() => NaN);
  idx.sort((a, b) => p[b] - p[a]); // descending
  let running = 1;
  for (let r = 0; r < m; r++) {
    const i = idx[r];
    const rankAsc = m - r;
    running = Math.min(running, (p[i] * m) / rankAsc);
    q[i] = Math.min(1, running);
  }
  return q;
}
