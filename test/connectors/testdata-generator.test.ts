// The synthetic generator: deterministic per (seed, query, ts, step), shaped as documented.
import { describe, expect, it } from 'vitest';
import { testdataPoint, testdataQuerySchema, type TestdataQuery } from '../../connectors/testdata/generator.js';

const STEP = 60;
const T0 = Date.UTC(2026, 0, 5, 0, 0); // a Monday, 00:00 UTC
const series = (seed: number, q: TestdataQuery, n: number, from = T0) =>
  Array.from({ length: n }, (_, i) => testdataPoint(seed, q, from + i * STEP * 1000, STEP));
const q = (over: Partial<TestdataQuery> = {}) => testdataQuerySchema.parse(over);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const values = (pts: ReturnType<typeof series>) => pts.filter((p) => p !== null).map((p) => p!.value);

describe('testdata generator', () => {
  it('schema fills defaults and rejects nonsense', () => {
    const d = q();
    expect(d).toMatchObject({ shape: 'gauge', base: 100, noise: 0.1, rho: 0, missing_rate: 0, changes: [] });
    expect(() => testdataQuerySchema.parse({ rho: 1.5 })).toThrow();
    expect(() => testdataQuerySchema.parse({ changes: [{ at: 'yesterday', relative: 0.1 }] })).toThrow();
  });

  it('is a pure function of (seed, query, ts): a re-fetched window, in any order, is identical', () => {
    const query = q({ shape: 'count', base: 30, rho: 0.8, missing_rate: 0.1 });
    const a = series(7, query, 120);
    const b = series(7, query, 60, T0 + 60 * STEP * 1000);
    expect(b).toEqual(a.slice(60));
    const reversed = Array.from({ length: 120 }, (_, i) =>
      testdataPoint(7, query, T0 + (119 - i) * STEP * 1000, STEP),
    ).reverse();
    expect(reversed).toEqual(a);
    expect(series(8, query, 120)).not.toEqual(a);
  });

  it('count gives non-negative integers around the level; gauge is continuous around base', () => {
    const c = values(series(1, q({ shape: 'count', base: 20, noise: 0 }), 2000));
    expect(c.every((v) => Number.isInteger(v) && v >= 0)).toBe(true);
    expect(mean(c)).toBeGreaterThan(19);
    expect(mean(c)).toBeLessThan(21);
    // Poisson: variance ≈ mean when there is no extra noise.
    const v = mean(c.map((x) => (x - mean(c)) ** 2));
    expect(v / mean(c)).toBeGreaterThan(0.85);
    expect(v / mean(c)).toBeLessThan(1.15);
    const g = values(series(1, q({ shape: 'gauge', base: 50, noise: 0.1 }), 2000));
    expect(Math.abs(mean(g) - 50)).toBeLessThan(1);
    expect(new Set(g).size).toBe(g.length);
  });

  it('ratio carries errors as value and requests as weight', () => {
    const pts = series(3, q({ shape: 'ratio', base: 0.02, requests: 500, noise: 0 }), 1000).filter((p) => p !== null);
    expect(pts.every((p) => p!.weight !== undefined && p!.value <= p!.weight!)).toBe(true);
    const rate = pts.reduce((s, p) => s + p!.value, 0) / pts.reduce((s, p) => s + p!.weight!, 0);
    expect(rate).toBeGreaterThan(0.018);
    expect(rate).toBeLessThan(0.022);
  });

  it('quantile values are positive', () => {
    expect(values(series(4, q({ shape: 'quantile', base: 250, noise: 0.3, rho: 0.5 }), 500)).every((v) => v > 0)).toBe(
      true,
    );
  });

  it('AR(1) noise has the requested lag-1 autocorrelation and unit-scaled variance', () => {
    const g = values(series(5, q({ shape: 'gauge', base: 100, noise: 0.1, rho: 0.8 }), 20000));
    const m = mean(g);
    let c0 = 0;
    let c1 = 0;
    for (let i = 0; i < g.length; i++) {
      c0 += (g[i] - m) ** 2;
      if (i > 0) c1 += (g[i] - m) * (g[i - 1] - m);
    }
    expect(c1 / c0).toBeGreaterThan(0.75);
    expect(c1 / c0).toBeLessThan(0.85);
    expect(Math.sqrt(c0 / g.length)).toBeGreaterThan(9);
    expect(Math.sqrt(c0 / g.length)).toBeLessThan(11);
  });

  it('applies step changes from `at` onward, the daily rhythm, and drops missing buckets', () => {
    const at = new Date(T0 + 60 * STEP * 1000).toISOString();
    const g = values(series(6, q({ shape: 'gauge', base: 100, noise: 0, changes: [{ at, relative: 0.2 }] }), 120));
    expect(g.slice(0, 60).every((v) => v === 100)).toBe(true);
    expect(g.slice(60).every((v) => Math.abs(v - 120) < 1e-9)).toBe(true);
    const daily = q({ shape: 'gauge', base: 100, noise: 0, daily_amplitude: 0.3 });
    expect(testdataPoint(1, daily, T0 + 6 * 3_600_000, STEP)!.value).toBeCloseTo(130, 6); // peak at 06:00 UTC
    const pts = series(9, q({ missing_rate: 0.25 }), 4000);
    const missing = pts.filter((p) => p === null).length / pts.length;
    expect(missing).toBeGreaterThan(0.22);
    expect(missing).toBeLessThan(0.28);
  });
});
