// The synthetic testdata connector: the contract's promises without a network —
// check, aligned points, determinism, explicit empty series, chunked dry runs.
import { describe, expect, it } from 'vitest';
import { testdataConnector } from '../../connectors/testdata/index.js';
import { capturingLogger } from './contract.js';

const deps = {
  fetch: globalThis.fetch,
  now: () => Date.UTC(2026, 10, 2),
  logger: capturingLogger(),
  hostPolicy: { allowedHosts: [] },
};
const connector = (seed = 3) => testdataConnector.create(testdataConnector.configSchema.parse({ seed }), {}, deps);
const query = (q: object) => testdataConnector.querySchema.parse(q);
const from = Date.UTC(2026, 10, 1, 10);
const to = from + 120 * 60_000;

describe('testdata connector', () => {
  it('says plainly that it is synthetic', async () => {
    const result = await connector().check();
    expect(result).toMatchObject({ ok: true, details: { synthetic: true } });
    expect(testdataConnector.name).toContain('synthetic');
  });

  it('returns step-aligned points that are a pure function of seed, query and time', async () => {
    const q = query({ shape: 'count', base: 50, noise: 0.2, rho: 0.5 });
    const a = await connector().fetchSeries(q, { from: from + 17_000, to, stepSeconds: 60 });
    const b = await connector().fetchSeries(q, { from: from + 17_000, to, stepSeconds: 60 });
    expect(a.points).toEqual(b.points);
    expect(a.points[0].ts).toBe(from + 60_000); // first whole bucket inside [from, to)
    expect(a.points.every((p) => p.ts % 60_000 === 0 && Number.isInteger(p.value) && p.value >= 0)).toBe(true);
    const other = await connector(4).fetchSeries(q, { from, to, stepSeconds: 60 });
    expect(other.points).not.toEqual(a.points);
    // An overlapping re-fetch returns the same values for the shared buckets.
    const half = await connector().fetchSeries(q, { from: from + 60 * 60_000, to, stepSeconds: 60 });
    expect(half.points).toEqual(a.points.filter((p) => p.ts >= from + 60 * 60_000));
  });

  it('injects step changes at the given time', async () => {
    const at = from + 60 * 60_000;
    const q = query({
      shape: 'gauge',
      base: 100,
      noise: 0.02,
      changes: [{ at: new Date(at).toISOString(), relative: 0.2 }],
    });
    const { points } = await connector().fetchSeries(q, { from, to, stepSeconds: 60 });
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const before = mean(points.filter((p) => p.ts < at).map((p) => p.value));
    const after = mean(points.filter((p) => p.ts >= at).map((p) => p.value));
    expect(after / before).toBeGreaterThan(1.15);
    expect(after / before).toBeLessThan(1.25);
  });

  it('gives ratio points a denominator and an explicit empty series when every bucket is missing', async () => {
    const ratio = await connector().fetchSeries(query({ shape: 'ratio', base: 0.01, requests: 1000 }), {
      from,
      to,
      stepSeconds: 60,
    });
    expect(ratio.points.every((p) => typeof p.weight === 'number' && p.weight > 0 && p.value <= p.weight)).toBe(true);
    const empty = await connector().fetchSeries(query({ shape: 'count', missing_rate: 1 }), {
      from,
      to,
      stepSeconds: 60,
    });
    expect(empty.points).toEqual([]);
  });

  it('describes one request per chunk of its point cap', () => {
    const c = connector();
    const long = { from, to: from + (c.limits.maxPointsPerCall * 2 + 1) * 60_000, stepSeconds: 60 };
    expect(c.describeQuery(query({ shape: 'gauge' }), long)).toHaveLength(3);
    expect(c.describeQuery(query({ shape: 'gauge' }), { from, to, stepSeconds: 60 })).toHaveLength(1);
  });
});
