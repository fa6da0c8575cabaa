// GA4 report rows (local wall-time labels, string values) → UTC step buckets, and
// the local dates GA4 date ranges are written in.
import { ConnectorError, type FetchWindow, type SeriesPoint } from '../types.js';
import { wallClockFields } from '../../domain/time-zone.js';
import type { RunReportResponse } from './client.js';

/** The time dimension for a step; GA4 has minute and hour granularity. */
export type TimeDimension = 'dateHourMinute' | 'dateHour';

/** The GA4 time dimension that serves `stepSeconds`, or a bad_query error. */
export function timeDimensionFor(stepSeconds: number): TimeDimension {
  if (stepSeconds === 60) return 'dateHourMinute';
  if (stepSeconds === 3600) return 'dateHour';
  throw new ConnectorError(
    'bad_query',
    `GA4 serves steps of 60 s (dateHourMinute) or 3600 s (dateHour), not ${stepSeconds} s`,
  );
}

/** Two-digit, zero-padded, as GA4 writes months, days, hours and minutes. */
const twoDigits = (n: number): string => String(n).padStart(2, '0');

/** The property-local calendar date (YYYY-MM-DD, GA4's date-range format) of `ts`. */
export function localDate(ts: number, timeZone: string): string {
  const w = wallClockFields(ts, timeZone);
  return `${w.year}-${twoDigits(w.month)}-${twoDigits(w.day)}`;
}

/** The UTC calendar date (YYYY-MM-DD) of `ts`. */
export function utcDate(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** The label GA4 gives the local bucket holding `ts` (YYYYMMDDHHmm or YYYYMMDDHH). */
export function labelOf(ts: number, timeZone: string, dimension: TimeDimension): string {
  const w = wallClockFields(ts, timeZone);
  const hourLabel = `${w.year}${twoDigits(w.month)}${twoDigits(w.day)}${twoDigits(w.hour)}`;
  if (dimension === 'dateHour') {
    // An hour bucket must start on a local hour, or GA4's hours straddle ours.
    if (w.minute !== 0) {
      throw new ConnectorError(
        'bad_query',
        `the property's time zone ${timeZone} is not a whole-hour offset from UTC here; use a 60 s step`,
      );
    }
    return hourLabel;
  }
  return `${hourLabel}${twoDigits(w.minute)}`;
}

/**
 * Whether a missing row means zero. GA4 drops rows whose metrics are all zero, so
 * for counts and sums (integer and currency totals) a gap is a true zero; for
 * averages, rates and durations it is no data.
 */
export function missingRowIsZero(metric: string, type: string | null | undefined): boolean {
  // Key events (formerly conversions) are counts even where GA4 types them as floats.
  if (/^(keyEvents|conversions)(:|$)/.test(metric)) return true;
  if (type === 'TYPE_INTEGER') return true;
  if (type === 'TYPE_CURRENCY') return !/^average|Per[A-Z]/.test(metric);
  return false;
}

/** Unit name for a GA4 metric type; currency metrics carry the property's currency code. */
export function unitOf(type: string | null | undefined, currencyCode: string | null | undefined): string | null {
  switch (type) {
    case 'TYPE_CURRENCY':
      return currencyCode || null;
    case 'TYPE_MILLISECONDS':
      return 'millisecond';
    case 'TYPE_SECONDS':
      return 'second';
    case 'TYPE_MINUTES':
      return 'minute';
    case 'TYPE_HOURS':
      return 'hour';
    default:
      return null;
  }
}

export interface MapInput {
  rows: NonNullable<RunReportResponse['rows']>;
  dimension: TimeDimension;
  timeZone: string;
  /** The chunk the rows were requested for (step-aligned). */
  window: FetchWindow;
  zeroFill: boolean;
  /**
   * Labels already given a bucket (shared across the chunks of one fetch): at a
   * fall-back DST change a wall hour happens twice and GA4 merges both into one
   * label, which we place on its first occurrence only.
   */
  placed: Set<string>;
}

/**
 * Points for one chunk, in order: each UTC bucket takes the row of its local
 * label. With `zeroFill`, buckets up to the last bucket that has a row become 0
 * (a later gap may be data GA4 has not processed yet); an empty report stays empty.
 */
export function mapRows(input: MapInput): SeriesPoint[] {
  const { rows, dimension, timeZone, window, zeroFill, placed } = input;
  const values = new Map<string, number>();
  const labelPattern = dimension === 'dateHour' ? /^\d{10}$/ : /^\d{12}$/;
  for (const row of rows) {
    const label = row.dimensionValues?.[0]?.value;
    const raw = row.metricValues?.[0]?.value;
    if (label === '(other)') continue; // cardinality roll-up: not a time bucket
    if (typeof label !== 'string' || !labelPattern.test(label)) {
      throw new ConnectorError('bad_response', `GA4 returned a ${dimension} value that is not a time label`);
    }
    if (raw === null || raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (Number.isFinite(value)) values.set(label, value);
  }
  if (values.size === 0) return [];

  const step = window.stepSeconds * 1000;
  const buckets: { ts: number; label: string }[] = [];
  let lastWithRow = -1;
  for (let ts = window.from; ts < window.to; ts += step) {
    const label = labelOf(ts, timeZone, dimension);
    buckets.push({ ts, label });
    if (values.has(label)) lastWithRow = buckets.length - 1;
  }
  const points: SeriesPoint[] = [];
  buckets.forEach(({ ts, label }, i) => {
    if (placed.has(label)) return; // second pass through a repeated wall hour
    const value = values.get(label);
    if (value !== undefined) {
      placed.add(label);
      points.push({ ts, value });
    } else if (zeroFill && i <= lastWithRow) {
      placed.add(label);
      points.push({ ts, value: 0 });
    }
  });
  return points;
}
