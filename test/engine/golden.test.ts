// Golden tests: the engine's distributions and tests against reference values from R and SciPy
// (test/fixtures/engine/make-fixtures.R / .py). Tolerances are stated per check.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  betaInc,
  binomCdf,
  binomPmf,
  binomSf,
  erf,
  erfc,
  logGamma,
  normCdf,
  normQuantile,
  normSf,
  tQuantile,
  tTwoSided,
} from '../../engine/distributions.js';
import { benjaminiHochberg, binomTest, poissonRateTest } from '../../engine/exact.js';
import { ar1Pooled, neweyWestSum, prewhitenedNeweyWestSum } from '../../engine/hac.js';
import { rankSum } from '../../engine/rank.js';

const load = (f: string) => JSON.parse(readFileSync(new URL(`../fixtures/engine/${f}`, import.meta.url), 'utf8'));
const R = load('r-reference.json');
const S = load('scipy-reference.json');
const num = (v: number | string) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : (v as number));

/** |a − b| ≤ rel·|b| + abs. */
function close(a: number, b: number, rel: number, abs = 0) {
  if (!Number.isFinite(b)) return expect(a).toBe(b);
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(rel * Math.abs(b) + abs);
}

describe('distributions vs SciPy (relative 1e-12 unless noted)', () => {
  it('normal CDF and upper tail, including the far tails', () => {
    for (const c of S.norm) {
      close(normCdf(c.z), c.cdf, 1e-12, 1e-300);
      close(normSf(c.z), c.sf, 1e-12, 1e-300);
    }
  });
  it('normal quantile', () => {
    for (const c of S.norm_ppf) close(normQuantile(c.p), c.q, 1e-12, 1e-14);
  });
  it('erf and erfc', () => {
    for (const c of S.erf) {
      close(erf(c.x), c.erf, 1e-12, 1e-22);
      close(erfc(c.x), c.erfc, 1e-12);
    }
  });
  it('log-gamma (relative 1e-13)', () => {
    for (const c of S.gammaln) close(logGamma(c.x), c.v, 1e-13, 1e-14);
  });
  it('regularized incomplete beta (relative 1e-11)', () => {
    for (const c of S.betainc) close(betaInc(c.x, c.a, c.b), c.v, 1e-11, 1e-300);
  });
  it('Student t two-sided tail with fractional df (relative 1e-10)', () => {
    for (const c of S.t) close(tTwoSided(c.t, c.df), c.sf2, 1e-10);
  });
  it('Student t quantile: R qt to 1e-12; SciPy 1.10 t.ppf to 1e-8 (its stdtrit is off by ~2e-9 at df = 30)', () => {
    for (const c of R.qt) close(tQuantile(c.p, c.df), c.q, 1e-12);
    for (const c of S.t_ppf) close(tQuantile(c.p, c.df), c.q, 1e-8);
  });
  it('binomial pmf / cdf / sf (relative 1e-10)', () => {
    for (const c of S.binom) {
      close(binomPmf(c.k, c.n, c.p), c.pmf, 1e-10, 1e-300);
      close(binomCdf(c.k, c.n, c.p), c.cdf, 1e-10, 1e-300);
      close(binomSf(c.k, c.n, c.p), c.sf, 1e-10, 1e-300);
    }
  });
});

describe('Mann–Whitney and Hodges–Lehmann vs R wilcox.test(x, y, conf.int = TRUE)', () => {
  for (const c of R.wilcox) {
    it(`${c.name}: normal approximation with tie and continuity correction (p 1e-10; CI within uniroot tol 1e-3)`, () => {
      const r = rankSum(c.x, c.y, { exact: false, correct: true });
      expect(r.statistic).toBe(c.normal.statistic);
      close(r.pValue, c.normal.p_value, 1e-10);
      close(r.ci[0], num(c.normal.ci[0]), 0, 1e-3);
      close(r.ci[1], num(c.normal.ci[1]), 0, 1e-3);
      // R's estimate is a uniroot inside the flat middle of the step function: check the bracket.
      expect(r.estimate).toBeGreaterThanOrEqual(c.normal.estimate_bracket[0] - 1e-9);
      expect(r.estimate).toBeLessThanOrEqual(c.normal.estimate_bracket[1] + 1e-9);
      close(r.estimate, (c.normal.estimate_bracket[0] + c.normal.estimate_bracket[1]) / 2, 1e-12, 1e-12);
    });
    if (c.exact) {
      it(`${c.name}: exact method (p, CI and estimate to 1e-10)`, () => {
        const r = rankSum(c.x, c.y, { exact: true });
        expect(r.exact).toBe(true);
        expect(r.statistic).toBe(c.exact.statistic);
        close(r.pValue, c.exact.p_value, 1e-10);
        close(r.ci[0], c.exact.ci[0], 1e-10, 1e-12);
        close(r.ci[1], c.exact.ci[1], 1e-10, 1e-12);
        close(r.estimate, c.exact.estimate, 1e-10, 1e-12);
        // Default method choice follows R: exact when both n < 50 and no ties.
        expect(rankSum(c.x, c.y).exact).toBe(true);
      });
    }
  }
  it('SciPy mannwhitneyu (asymptotic with continuity; exact) agrees', () => {
    for (const c of S.mannwhitneyu) {
      const a = rankSum(c.x, c.y, { exact: false, correct: true });
      expect(a.statistic).toBe(c.asymptotic.statistic);
      close(a.pValue, c.asymptotic.p_value, 1e-10);
      if (c.exact) close(rankSum(c.x, c.y, { exact: true }).pValue, c.exact.p_value, 1e-10);
    }
  });
});

describe('exact count tests vs R', () => {
  it('poisson.test two-sample: p-value (1e-9), rate ratio and interval (1e-8)', () => {
    for (const c of R.poisson_test) {
      const r = poissonRateTest(c.x1, c.t1, c.x0, c.t0);
      close(r.pValue, c.p_value, 1e-9);
      close(r.ratio, num(c.ratio), 1e-12);
      close(r.ci[0], num(c.ci[0]), 1e-8, 1e-12);
      close(r.ci[1], num(c.ci[1]), 1e-8);
    }
  });
  it('binom.test: p-value (1e-9) and Clopper–Pearson interval (1e-9)', () => {
    for (const c of R.binom_test) {
      const r = binomTest(c.x, c.n, c.p);
      close(r.pValue, c.p_value, 1e-9);
      close(r.ci[0], c.ci[0], 1e-9, 1e-13);
      close(r.ci[1], c.ci[1], 1e-9, 1e-13);
    }
  });
  it('p.adjust(method = "BH"), NA kept aside (1e-14)', () => {
    const p = R.p_adjust_bh.p.map((v: number | null) => (v === null ? NaN : v));
    const q = benjaminiHochberg(p);
    R.p_adjust_bh.q.forEach((v: number | null, i: number) => {
      if (v === null) expect(q[i]).toBeNaN();
      else close(q[i], v, 1e-14);
    });
  });
});

describe('Newey–West vs sandwich::NeweyWest(lm(y ~ 1), adjust = FALSE) (relative 1e-10)', () => {
  for (const c of R.newey_west) {
    it(c.name, () => {
      const y: number[] = c.y;
      const n = y.length;
      const mean = y.reduce((s, v) => s + v, 0) / n;
      const r = y.map((v) => v - mean);
      close(neweyWestSum(r, 3) / (n * n), c.var_lag3, 1e-10);
      close(neweyWestSum(r, 8) / (n * n), c.var_lag8, 1e-10);
      const a = ar1Pooled([r]).coef;
      close(a, c.ar_ols, 1e-10);
      close(prewhitenedNeweyWestSum(r, a, 3) / (n * n), c.var_prewhite_lag3, 1e-10);
    });
  }
});
