// Datadog answers → our series: one series per query, null values omitted,
// timestamps (bucket starts) checked against the step Datadog actually used.
import type { v1, v2 } from '@datadog/datadog-api-client';
import { ConnectorError, type FetchWindow, type SeriesPoint } from '../types.js';
import type { DatadogQuery } from './schema.js';

/**
 * The query as sent: unless it already has a `.rollup(...)`, append one whose
 * interval is the step, summing counts (kind count/ratio, or `.as_count()`) and
 * averaging everything else, so one bucket is exactly one step.
 */
export function queryWithRollup(query: DatadogQuery, stepSeconds: number): string {
  if (/\.rollup\s*\(/.test(query.query)) return query.query;
  const sums = query.kind === 'count' || query.kind === 'ratio' || /\.as_count\s*\(\s*\)/.test(query.query);
  return `${query.query}.rollup(${sums ? 'sum' : 'avg'}, ${stepSeconds})`;
}

export interface MappedSeries {
  points: SeriesPoint[];
  unit: string | null;
}

/** Datadog's bucket width in this answer: the smallest gap between timestamps (or the declared interval). */
function checkInterval(timestamps: number[], declaredSeconds: number | undefined, window: FetchWindow): void {
  const step = window.stepSeconds * 1000;
  let interval = declaredSeconds ? declaredSeconds * 1000 : Infinity;
  if (!declaredSeconds) {
    for (let i = 1; i < timestamps.length; i++) interval = Math.min(interval, timestamps[i] - timestamps[i - 1]);
  }
  if (Number.isFinite(interval) && interval !== step) {
    throw new ConnectorError(
      'bad_response',
      `Datadog returned ${interval / 1000} s buckets where ${window.stepSeconds} s were asked` +
        (interval > step
          ? ' (it raised the interval); use a larger step_seconds or a shorter window'
          : "; the query's own .rollup() interval must equal step_seconds"),
    );
  }
}

/** Keep the points of closed buckets inside the window, in time order, skipping nulls. */
function toPoints(
  pairs: Array<[number, number | null | undefined]>,
  window: FetchWindow,
  nowMs: number,
): SeriesPoint[] {
  const step = window.stepSeconds * 1000;
  const points: SeriesPoint[] = [];
  for (const [ts, value] of pairs) {
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    if (ts % step !== 0) {
      throw new ConnectorError(
        'bad_response',
        `Datadog returned a point at ${new Date(ts).toISOString()}, not on a ${window.stepSeconds} s boundary`,
      );
    }
    // The bucket that is still filling (it ends after now or after the window) is partial: drop it.
    if (ts < window.from || ts + step > window.to || ts + step > nowMs) continue;
    points.push({ ts, value });
  }
  points.sort((a, b) => a.ts - b.ts);
  return points;
}

function tooManySeries(count: number, names: string[]): ConnectorError {
  return new ConnectorError(
    'bad_query',
    `the Datadog query returned ${count} series (${names.slice(0, 3).join(', ')}${count > 3 ? ', …' : ''}); ` +
      'it must return exactly one: drop the "by {…}" grouping or aggregate with sum:/avg:',
  );
}

/** v2 /api/v2/query/timeseries (one formula "a"). */
export function mapTimeseriesResponse(
  res: v2.TimeseriesFormulaQueryResponse,
  window: FetchWindow,
  nowMs: number,
): MappedSeries {
  const attributes = res?.data?.attributes;
  if (!attributes) {
    if (typeof res?.errors === 'string' && res.errors) throw new ConnectorError('bad_query', `Datadog: ${res.errors}`);
    throw new ConnectorError('bad_response', 'Datadog answered without data.attributes (not a timeseries_response)');
  }
  const series = attributes.series ?? [];
  const times = attributes.times ?? [];
  const values = attributes.values ?? [];
  if (series.length === 0 || times.length === 0) return { points: [], unit: null };
  if (series.length > 1)
    throw tooManySeries(
      series.length,
      series.map((s) => `{${(s.groupTags ?? []).join(',')}}`),
    );
  const column = values[0];
  if (!Array.isArray(column) || column.length !== times.length) {
    throw new ConnectorError('bad_response', 'Datadog returned values that do not match its times');
  }
  checkInterval(times, undefined, window);
  const unit = series[0].unit?.[0]?.name ?? null;
  return {
    points: toPoints(
      times.map((t, i) => [t, column[i]]),
      window,
      nowMs,
    ),
    unit,
  };
}

/** v1 /api/v1/query. */
export function mapQueryResponse(res: v1.MetricsQueryResponse, window: FetchWindow, nowMs: number): MappedSeries {
  if (!res || typeof res !== 'object' || (res.status === undefined && res.series === undefined)) {
    throw new ConnectorError(
      'bad_response',
      'Datadog answered without status or series (not a metrics query response)',
    );
  }
  if (res.status !== undefined && res.status !== 'ok') {
    throw new ConnectorError('bad_query', `Datadog: ${res.error ?? `query status ${res.status}`}`);
  }
  const series = res.series ?? [];
  if (series.length === 0) return { points: [], unit: null };
  if (series.length > 1)
    throw tooManySeries(
      series.length,
      series.map((s) => s.scope ?? s.expression ?? '?'),
    );
  const [one] = series;
  const pairs = (one.pointlist ?? []) as Array<[number, number | null]>;
  checkInterval(
    pairs.map(([t]) => t),
    one.interval,
    window,
  );
  return { points: toPoints(pairs, window, nowMs), unit: one.unit?.[0]?.name ?? null };
}
