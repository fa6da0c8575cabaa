// NRQL TIMESERIES rows → our series points. One row per bucket with
// `beginTimeSeconds` / `endTimeSeconds` and one value keyed by the `AS` alias,
// `function.attribute` (e.g. `average.duration`) or `count`; percentiles come
// as objects keyed by the percentile ({"percentile.duration": {"95": 0.41}}).
import { z } from 'zod';
import { ConnectorError, type SeriesPoint } from '../types.js';

const TIME_KEYS = new Set(['beginTimeSeconds', 'endTimeSeconds', 'facet']);

/** The part of NerdGraph's `nrql` answer the connector reads. */
export const nrqlResultSchema = z.looseObject({
  results: z.array(z.looseObject({ beginTimeSeconds: z.number(), endTimeSeconds: z.number() })),
  metadata: z
    .looseObject({ timeWindow: z.looseObject({ begin: z.number(), end: z.number() }).nullable().optional() })
    .nullable()
    .optional(),
});
export type NrqlResult = z.infer<typeof nrqlResultSchema>;

/** Which buckets a chunk keeps: on the step grid, whole, inside [from, to), and closed by `now`. */
export interface BucketFilter {
  from: number;
  to: number;
  stepSeconds: number;
  now: number;
}

/** The points of one chunk's rows; `dropped` counts rows left out, `offGrid` those not on the step grid. */
export function rowsToPoints(
  rows: NrqlResult['results'],
  alias: string | undefined,
  filter: BucketFilter,
): { points: SeriesPoint[]; dropped: number; offGrid: number } {
  const step = filter.stepSeconds * 1000;
  const points: SeriesPoint[] = [];
  let dropped = 0;
  let offGrid = 0;
  for (const row of rows) {
    const begin = Math.round(row.beginTimeSeconds * 1000);
    const end = Math.round(row.endTimeSeconds * 1000);
    const whole = end - begin === step && begin % step === 0;
    if (!whole) offGrid++;
    if (!whole || begin < filter.from || begin >= filter.to || end > filter.now) {
      dropped++;
      continue;
    }
    const value = rowValue(row, alias);
    // Null means no events in the bucket (e.g. average of nothing): no point, never a zero.
    if (value !== null) points.push({ ts: begin, value });
  }
  return { points, dropped, offGrid };
}

/** The single number of one row, or null when New Relic has no value for the bucket. */
export function rowValue(row: Record<string, unknown>, alias: string | undefined): number | null {
  let key: string;
  if (alias !== undefined && alias in row) {
    key = alias;
  } else {
    const keys = Object.keys(row).filter((k) => !TIME_KEYS.has(k));
    if (keys.length === 0) return null;
    if (keys.length > 1) {
      throw new ConnectorError(
        'bad_query',
        `New Relic returned several values per bucket (${keys.join(', ')}); select exactly one`,
      );
    }
    key = keys[0];
  }
  return numberOf(row[key], key);
}

function numberOf(value: unknown, key: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new ConnectorError('bad_response', `New Relic returned a non-finite value for ${key}`);
    return value;
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    // Percentiles: {"95": 0.41}. Several percentiles in one function are several series.
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) return numberOf(entries[0][1], `${key}.${entries[0][0]}`);
    throw new ConnectorError(
      'bad_query',
      `${key} returns several values per bucket (${entries.map(([k]) => k).join(', ')}); ask for one, e.g. percentile(duration, 95)`,
    );
  }
  throw new ConnectorError(
    'bad_query',
    `${key} is not a number (got ${Array.isArray(value) ? 'a list' : typeof value}); select a numeric aggregate`,
  );
}
