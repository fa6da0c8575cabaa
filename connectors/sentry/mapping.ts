// Sentry JSON → normalized series: events-timeseries (ms), events-stats (s) and
// sessions (ISO intervals, grouped by session.status) become step-aligned points.
import { ConnectorError, type SeriesPoint } from '../types.js';
import type { SessionField } from './schema.js';

/** Which buckets a chunk may keep: closed ones inside [from, to). */
export interface BucketFilter {
  from: number;
  to: number;
  stepSeconds: number;
  /** Clock (epoch ms): a bucket that has not ended by now is partial and dropped. */
  now: number;
}

export interface MappedChunk {
  points: SeriesPoint[];
  unit?: string | null;
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

function badResponse(what: string): ConnectorError {
  return new ConnectorError('bad_response', `Sentry answered with an unexpected ${what}`);
}

function keep(ts: number, f: BucketFilter): boolean {
  const step = f.stepSeconds * 1000;
  return ts >= f.from && ts < f.to && ts % step === 0 && ts + step <= f.now;
}

/**
 * Value types where Sentry's zero-fill of empty buckets cannot be a measurement
 * (no request takes 0 ms), so a 0 means "no events". Counts, rates and
 * percentages keep their zeros: 0 errors or a 0 % failure rate is real data.
 */
const ZERO_FILLED_TYPES = new Set(['duration', 'size']);

function checkInterval(intervalMs: unknown, f: BucketFilter): void {
  if (typeof intervalMs !== 'number') return;
  // The endpoint sends milliseconds; its published example shows seconds. Accept both.
  if (intervalMs !== f.stepSeconds * 1000 && intervalMs !== f.stepSeconds) {
    throw new ConnectorError(
      'bad_query',
      `Sentry served buckets of ${intervalMs >= 1000 ? intervalMs / 1000 : intervalMs} s instead of the requested ` +
        `${f.stepSeconds} s; pick a step the dataset supports (e.g. 60, 300, 3600)`,
    );
  }
}

/**
 * Map a `GET /organizations/{org}/events-timeseries/` answer: `{timeSeries: [{yAxis,
 * values: [{timestamp (ms), value, incomplete}], meta: {valueType, valueUnit, interval (ms)}}]}`.
 */
export function mapEventsTimeseries(body: unknown, yAxis: string, f: BucketFilter): MappedChunk {
  if (!isObject(body) || !Array.isArray(body.timeSeries))
    throw badResponse('events-timeseries body (no timeSeries list)');
  const all = body.timeSeries as unknown[];
  if (all.length === 0) return { points: [] };
  // The documented example names the axis `axis`; the server sends `yAxis`.
  const series =
    all.find((s) => isObject(s) && (s.yAxis === yAxis || s.axis === yAxis)) ?? (all.length === 1 ? all[0] : undefined);
  if (!isObject(series) || !Array.isArray(series.values))
    throw badResponse(`events-timeseries body (no series for ${yAxis})`);
  const meta = isObject(series.meta) ? series.meta : {};
  checkInterval(meta.interval, f);
  const zeroFilled = typeof meta.valueType === 'string' && ZERO_FILLED_TYPES.has(meta.valueType);
  const points: SeriesPoint[] = [];
  for (const row of series.values as unknown[]) {
    if (!isObject(row) || typeof row.timestamp !== 'number') throw badResponse('events-timeseries value');
    const value = row.value;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw badResponse('events-timeseries value');
    // Sentry flags buckets still ingesting or not yet elapsed; their values will change.
    if (row.incomplete === true) continue;
    if (row.sampleCount === 0 && value === 0 && meta.valueType !== 'integer') continue;
    if (zeroFilled && value === 0) continue;
    if (!keep(row.timestamp, f)) continue;
    points.push({ ts: row.timestamp, value });
  }
  points.sort((a, b) => a.ts - b.ts);
  return { points, unit: typeof meta.valueUnit === 'string' ? meta.valueUnit : null };
}

/**
 * Map a `GET /organizations/{org}/events-stats/` answer: `{data: [[ts (s), [{count}]], ...],
 * meta: {fields, units}}`, or the same keyed by axis when the server nests it.
 */
export function mapEventsStats(body: unknown, yAxis: string, f: BucketFilter): MappedChunk {
  if (!isObject(body)) throw badResponse('events-stats body');
  const result = Array.isArray(body.data)
    ? body
    : isObject(body[yAxis])
      ? (body[yAxis] as Record<string, unknown>)
      : undefined;
  if (!result || !Array.isArray(result.data)) throw badResponse('events-stats body (no data list)');
  const meta = isObject(result.meta) ? result.meta : {};
  const fields = isObject(meta.fields) ? meta.fields : {};
  const units = isObject(meta.units) ? meta.units : {};
  const type = fields[yAxis];
  const zeroFilled = typeof type === 'string' && ZERO_FILLED_TYPES.has(type);
  const points: SeriesPoint[] = [];
  for (const bucket of result.data as unknown[]) {
    if (!Array.isArray(bucket) || typeof bucket[0] !== 'number' || !Array.isArray(bucket[1]))
      throw badResponse('events-stats bucket');
    const ts = bucket[0] * 1000;
    const cell = bucket[1][0];
    if (cell === undefined) continue;
    if (!isObject(cell)) throw badResponse('events-stats bucket');
    const value = cell.count;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw badResponse('events-stats value');
    if (zeroFilled && value === 0) continue;
    if (!keep(ts, f)) continue;
    points.push({ ts, value });
  }
  points.sort((a, b) => a.ts - b.ts);
  const unit = units[yAxis];
  return { points, unit: typeof unit === 'string' ? unit : null };
}

/**
 * Map a `GET /organizations/{org}/sessions/?field=sum(session)&groupBy=session.status`
 * answer. Convention: value / weight is the rate the field names —
 * crash_free_rate: value = sessions that did not crash, weight = all sessions;
 * crash_rate: value = crashed sessions, weight = all sessions; sum: value = all sessions.
 * A bucket without sessions has no rate and is omitted.
 */
export function mapSessions(body: unknown, field: SessionField, f: BucketFilter): MappedChunk {
  if (!isObject(body) || !Array.isArray(body.intervals) || !Array.isArray(body.groups)) {
    throw badResponse('sessions body (no intervals/groups)');
  }
  const intervals = body.intervals as unknown[];
  const total = new Array<number>(intervals.length).fill(0);
  const crashed = new Array<number>(intervals.length).fill(0);
  const seen = new Array<boolean>(intervals.length).fill(false);
  for (const group of body.groups as unknown[]) {
    if (!isObject(group) || !isObject(group.by) || !isObject(group.series)) throw badResponse('sessions group');
    const series = group.series['sum(session)'];
    if (!Array.isArray(series) || series.length !== intervals.length) throw badResponse('sessions series');
    const status = group.by['session.status'];
    series.forEach((v: unknown, i) => {
      if (v === null || v === undefined) return;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw badResponse('sessions value');
      seen[i] = true;
      total[i] += v;
      if (status === 'crashed') crashed[i] += v;
    });
  }
  const points: SeriesPoint[] = [];
  intervals.forEach((iso, i) => {
    const ts = typeof iso === 'string' ? Date.parse(iso) : NaN;
    if (Number.isNaN(ts)) throw badResponse('sessions interval');
    if (!seen[i] || !keep(ts, f)) return;
    if (field === 'sum(session)') points.push({ ts, value: total[i] });
    else if (total[i] > 0) {
      points.push({
        ts,
        value: field === 'crash_rate(session)' ? crashed[i] : total[i] - crashed[i],
        weight: total[i],
      });
    }
  });
  points.sort((a, b) => a.ts - b.ts);
  return { points, unit: null };
}
