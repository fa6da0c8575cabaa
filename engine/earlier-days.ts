// Where a metric's earlier days are read from (its columns, or its reference points as sorted
// columns), and whether they hold anything in a range.
import { lowerBound } from './order.js';
import { strictlyAscending } from './cut.js';
import type { MetricInput, Point, SeriesColumns } from './types.js';
import type { TimeWindow } from './windows.js';

/** Where a metric's earlier days are read from: its columns (sorted if they are not), or its reference points as columns. */
export function referenceSource(m: MetricInput): SeriesColumns | null {
  if (m.series && strictlyAscending(m.series.ts)) return m.series;
  const points: Point[] = m.series
    ? Array.from({ length: m.series.ts.length }, (_, i) => ({
        ts: m.series!.ts[i],
        value: m.series!.value[i],
        weight: m.series!.weight?.[i],
      }))
    : (m.references ?? []);
  if (!points.length) return null;
  const byTs = new Map<number, Point>();
  for (const p of points) byTs.set(p.ts, p);
  const sorted = [...byTs.values()].sort((a, b) => a.ts - b.ts);
  return {
    ts: Float64Array.from(sorted, (p) => p.ts),
    value: Float64Array.from(sorted, (p) => p.value),
    weight:
      m.kind === 'ratio' ? Float64Array.from(sorted, (p) => (p.weight === undefined ? NaN : p.weight)) : undefined,
  };
}

/** Whether a column holds any bucket in [from, to). */
export function hasData(c: SeriesColumns, w: TimeWindow): boolean {
  if (!strictlyAscending(c.ts)) {
    for (let i = 0; i < c.ts.length; i++) if (c.ts[i] >= w.from && c.ts[i] < w.to) return true;
    return false;
  }
  return lowerBound(c.ts, w.to) > lowerBound(c.ts, w.from);
}
