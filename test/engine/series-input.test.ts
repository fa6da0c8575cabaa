// The columnar input path (`series`) must give exactly the results of the point path: same
// windows cut, same gaps, same de-duplication, for every kind, ordered or not.
import { describe, expect, it } from 'vitest';
import { analyzeEvent, computeWindows, type MetricInput, type Point, type SeriesColumns } from '../../engine/index.js';
import { testdataPoint, testdataQuerySchema } from '../../connectors/testdata/generator.js';

const T = Date.UTC(2026, 2, 3, 14, 0);
const event = { id: 'ev-1', type: 'deployment', time: T, subject: 'production' };
const W = computeWindows({ time: T, type: 'deployment', stepSeconds: 60 });
const KINDS = ['count', 'ratio', 'gauge', 'quantile'] as const;

/** Points a little wider than both windows (so the cut matters), with 5% missing and a step change. */
function points(seed: number, kind: (typeof KINDS)[number]): Point[] {
  const q = testdataQuerySchema.parse({
    shape: kind,
    base: kind === 'ratio' ? 0.02 : 100,
    rho: 0.5,
    missing_rate: 0.05,
    changes: [{ at: new Date(T).toISOString(), relative: 0.3 }],
  });
  const out: Point[] = [];
  for (let ts = W.before.from - 30 * 60_000; ts < W.after.to + 30 * 60_000; ts += 60_000) {
    const p = testdataPoint(seed, q, ts, 60);
    if (p) out.push(p);
  }
  return out;
}
const columns = (pts: Point[]): SeriesColumns => ({
  ts: Float64Array.from(pts, (p) => p.ts),
  value: Float64Array.from(pts, (p) => p.value),
  weight: Float64Array.from(pts, (p) => p.weight ?? NaN),
});
const run = (m: Omit<MetricInput, 'before' | 'after'>, pts: Point[], asColumns: boolean) =>
  analyzeEvent({
    event,
    metrics: [
      {
        ...m,
        before: asColumns ? [] : pts,
        after: asColumns ? [] : pts,
        ...(asColumns ? { series: columns(pts) } : {}),
      },
    ],
  });

describe('series columns give the same report as points', () => {
  it.each(KINDS)('%s, ascending columns', (kind) => {
    const pts = points(7, kind);
    const m = { id: 'm', kind, direction: 'increase_is_bad' as const, step_seconds: 60, windows: W };
    const viaPoints = run(m, pts, false);
    expect(viaPoints.metrics[0].verdict).not.toBe('insufficient_data');
    expect(run(m, pts, true)).toEqual(viaPoints);
  });
  it('unordered columns with duplicate buckets and non-finite values are cut like points', () => {
    const pts = points(9, 'ratio');
    // Shuffle deterministically, repeat a bucket with a later value (the last wins) and spoil two points.
    const messy = pts
      .map((p, i) => ({ p, k: (i * 7919) % pts.length }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.p);
    messy.push({ ...pts[80], value: pts[80].value + 1 });
    messy[3] = { ...messy[3], value: NaN };
    messy[5] = { ts: messy[5].ts, value: messy[5].value };
    const m = { id: 'm', kind: 'ratio' as const, direction: 'increase_is_bad' as const, step_seconds: 60, windows: W };
    const viaPoints = run(m, messy, false);
    expect(
      viaPoints.metrics[0].data_quality.present.before + viaPoints.metrics[0].data_quality.present.after,
    ).toBeGreaterThan(100);
    expect(run(m, messy, true)).toEqual(viaPoints);
  });
});
