// Property tests (fast-check) of the per-kind comparison: p and q in [0, 1], swapping windows
// flips the effect, scaling values scales estimates, adding a constant shifts them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareWindows } from '../../engine/compare.js';
import type { WindowData } from '../../engine/window-data.js';
import { benjaminiHochberg } from '../../engine/exact.js';
import { rankSum } from '../../engine/rank.js';

// Values on a 0.01 grid: real metrics, and no denormals whose rounding would create or break ties.
const window = (min: number, max: number) =>
  fc.array(
    fc.integer({ min: min * 100, max: max * 100 }).map((v) => v / 100),
    { minLength: 10, maxLength: 70 },
  );
const counts = fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 10, maxLength: 70 });
const w = (values: number[]): WindowData => ({ values });
const near = (a: number, b: number, rel = 1e-8) =>
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(a), Math.abs(b)));
const RUNS = { numRuns: 150 };

describe('p and q stay in [0, 1]', () => {
  it('for every kind and for BH', () => {
    fc.assert(
      fc.property(window(0, 1e4), window(0, 1e4), counts, counts, (a, b, c, d) => {
        const ps = [
          compareWindows('gauge', w(a), w(b)).p_value,
          compareWindows('quantile', w(a), w(b)).p_value,
          compareWindows('count', w(c), w(d)).p_value,
        ];
        if (c.reduce((s, v) => s + v, 0) > 0) {
          const n = Math.min(c.length, d.length);
          const req = d.slice(0, n).map((v) => v + 1000);
          ps.push(
            compareWindows('ratio', { values: c.slice(0, n), weights: req }, { values: d.slice(0, n), weights: req })
              .p_value,
          );
        }
        for (const p of [...ps, ...benjaminiHochberg(ps)]) {
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(1);
        }
      }),
      RUNS,
    );
  });
});

describe('swapping before and after flips the sign of the effect', () => {
  it('gauge: difference negated, same p', () => {
    fc.assert(
      fc.property(window(-1e3, 1e3), window(-1e3, 1e3), (a, b) => {
        const x = compareWindows('gauge', w(a), w(b));
        const y = compareWindows('gauge', w(b), w(a));
        near(x.absolute!, -y.absolute!);
        near(x.p_value, y.p_value, 1e-6);
      }),
      RUNS,
    );
  });
  it('quantile: Hodges–Lehmann shift negated, same p, mirrored interval', () => {
    fc.assert(
      fc.property(window(0, 1e3), window(0, 1e3), (a, b) => {
        const x = rankSum(a, b);
        const y = rankSum(b, a);
        near(x.estimate, -y.estimate, 1e-12);
        near(x.pValue, y.pValue, 1e-9);
        near(x.ci[0], -y.ci[1], 1e-12);
        near(x.ci[1], -y.ci[0], 1e-12);
      }),
      RUNS,
    );
  });
  it('count: rate ratio inverted (log effect negated)', () => {
    fc.assert(
      fc.property(counts, counts, (a, b) => {
        fc.pre(a.some((v) => v > 0) && b.some((v) => v > 0));
        const x = compareWindows('count', w(a), w(b));
        const y = compareWindows('count', w(b), w(a));
        near(Math.log1p(x.relative!), -Math.log1p(y.relative!), 1e-9);
        near(x.p_value, y.p_value, 1e-6);
      }),
      RUNS,
    );
  });
});

describe('scaling all values scales the estimates', () => {
  const scale = fc.double({ min: 0.01, max: 100, noNaN: true });
  it('gauge and quantile: absolute × c, relative and p unchanged', () => {
    fc.assert(
      fc.property(window(1, 1e3), window(1, 1e3), scale, (a, b, c) => {
        for (const kind of ['gauge', 'quantile'] as const) {
          const x = compareWindows(kind, w(b), w(a));
          const y = compareWindows(kind, w(b.map((v) => v * c)), w(a.map((v) => v * c)));
          near(y.absolute!, x.absolute! * c, 1e-7);
          near(y.relative!, x.relative!, 1e-7);
          near(y.p_value, x.p_value, 1e-6);
        }
      }),
      RUNS,
    );
  });
  it('ratio: scaling numerators and denominators together leaves the rate ratio unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 5, max: 50 }), { minLength: 20, maxLength: 60 }),
        fc.array(fc.integer({ min: 5, max: 50 }), { minLength: 20, maxLength: 60 }),
        fc.integer({ min: 2, max: 10 }),
        (e0, e1, c) => {
          const q0 = e0.map((_, i) => 1000 + 37 * (i % 5));
          const q1 = e1.map((_, i) => 1000 + 41 * (i % 3));
          const x = compareWindows('ratio', { values: e0, weights: q0 }, { values: e1, weights: q1 });
          const y = compareWindows(
            'ratio',
            { values: e0.map((v) => v * c), weights: q0.map((v) => v * c) },
            { values: e1.map((v) => v * c), weights: q1.map((v) => v * c) },
          );
          near(y.relative!, x.relative!, 1e-9);
          near(y.p_value, x.p_value, 1e-6);
        },
      ),
      RUNS,
    );
  });
});

describe('adding a constant shifts the estimates', () => {
  const shift = fc.integer({ min: -1e5, max: 1e5 }).map((v) => v / 100);
  it('gauge: difference and p unchanged; quantile: shift unchanged', () => {
    fc.assert(
      fc.property(window(-1e3, 1e3), window(-1e3, 1e3), shift, (a, b, k) => {
        const x = compareWindows('gauge', w(b), w(a));
        const y = compareWindows('gauge', w(b.map((v) => v + k)), w(a.map((v) => v + k)));
        near(y.absolute!, x.absolute!, 1e-6);
        near(y.p_value, x.p_value, 1e-4);
        const r = rankSum(a, b);
        const s = rankSum(
          a.map((v) => v + k),
          b.map((v) => v + k),
        );
        near(s.estimate, r.estimate, 1e-6);
        expect(s.pValue).toBe(r.pValue);
      }),
      RUNS,
    );
  });
});
