// Adobe report JSON <-> our series: the request body of one report page, the
// time-item decoding (itemId "1YYMMDD[HHmm]", zero-based month, suite-local time)
// and the mapping of rows to UTC step buckets.
import { z } from 'zod';
import type { SeriesPoint } from '../types.js';
import { instantsAt } from '../../domain/time-zone.js';
import { formatWallClock } from './timezone.js';

/** Time dimensions the connector uses, by step. */
export type TimeDimension = 'variables/daterangeminute' | 'variables/daterangehour';

/** Adobe's documented row limit per report page (settings.limit). */
export const ADOBE_ROW_LIMIT = 50_000;

/** The time dimension serving a step, or undefined when Adobe has none for it. */
export function dimensionForStep(stepSeconds: number): TimeDimension | undefined {
  if (stepSeconds === 60) return 'variables/daterangeminute';
  if (stepSeconds === 3600) return 'variables/daterangehour';
  return undefined;
}

export interface ReportRequestParts {
  rsid: string;
  metric: string;
  segment?: string;
  dimension: TimeDimension;
  /** Suite-local range "start/end" (see `localDateRange`). */
  dateRange: string;
  limit: number;
  page: number;
}

/** Adobe's absolute date range for suite-local wall clocks [start, end). */
export function localDateRange(localStart: number, localEnd: number): string {
  return `${formatWallClock(localStart)}/${formatWallClock(localEnd)}`;
}

/** The documented POST /reports body for one page of a date-trended report. */
export function reportBody(parts: ReportRequestParts): Record<string, unknown> {
  const globalFilters: Record<string, string>[] = [{ type: 'dateRange', dateRange: parts.dateRange }];
  if (parts.segment) globalFilters.push({ type: 'segment', segmentId: parts.segment });
  return {
    rsid: parts.rsid,
    globalFilters,
    metricContainer: { metrics: [{ columnId: '0', id: parts.metric }] },
    dimension: parts.dimension,
    settings: {
      countRepeatInstances: true,
      // Time items with no hits are real zeros for counts; keep them rather than leave gaps.
      nonesBehavior: 'return-nones',
      dimensionSort: 'asc',
      limit: parts.limit,
      page: parts.page,
    },
  };
}

const rowSchema = z.object({
  itemId: z.string(),
  value: z.string().optional(),
  data: z.array(z.union([z.number(), z.null()])),
});

/** The parts of a report response the connector relies on (other members are ignored). */
export const reportResponseSchema = z.object({
  totalPages: z.number().int().nonnegative(),
  number: z.number().int().nonnegative().optional(),
  rows: z.array(rowSchema),
});

export type ReportResponse = z.infer<typeof reportResponseSchema>;
export type ReportRow = z.infer<typeof rowSchema>;

/**
 * Decode a time itemId into a suite-local wall clock. Segments from the right:
 * [minute,] hour, day, zero-based month; the leading digits are year − 1900.
 * Returns undefined for ids that are not valid dates.
 */
export function decodeItemId(itemId: string, dimension: TimeDimension): number | undefined {
  const timeDigits = dimension === 'variables/daterangeminute' ? 4 : 2;
  if (!/^\d+$/.test(itemId) || itemId.length < 6 + timeDigits) return undefined;
  const time = itemId.slice(-timeDigits);
  const date = itemId.slice(0, -timeDigits);
  const year = 1900 + Number(date.slice(0, -4));
  const month = Number(date.slice(-4, -2));
  const day = Number(date.slice(-2));
  const hour = Number(time.slice(0, 2));
  const minute = timeDigits === 4 ? Number(time.slice(2)) : 0;
  if (month > 11 || day < 1 || hour > 23 || minute > 59) return undefined;
  const wall = Date.UTC(year, month, day, hour, minute);
  // Reject impossible days such as Feb 30 (Date.UTC would roll them over).
  if (new Date(wall).getUTCDate() !== day) return undefined;
  return wall;
}

export interface RowMappingContext {
  dimension: TimeDimension;
  timeZone: string;
  stepSeconds: number;
  /** Keep buckets starting in [from, to). */
  from: number;
  to: number;
  /** Buckets not yet closed at `now` are partial and dropped. */
  now: number;
}

export interface RowMappingResult {
  points: SeriesPoint[];
  /** Local times that occur twice (fall back): Adobe merges them, so they fit no UTC bucket. */
  ambiguous: number;
  /** Local times that do not exist (spring forward). */
  nonexistent: number;
  /** Items whose UTC start is not on the step (hour items in a zone with a half-hour offset). */
  misaligned: number;
}

/**
 * Map report rows (metric in column 0) to UTC buckets. Rows with a null or
 * non-finite value are omitted; rows outside the window and the trailing
 * partial bucket are dropped. Throws on an itemId that is not a time item.
 */
export function rowsToPoints(rows: readonly ReportRow[], ctx: RowMappingContext): RowMappingResult {
  const stepMs = ctx.stepSeconds * 1000;
  const result: RowMappingResult = { points: [], ambiguous: 0, nonexistent: 0, misaligned: 0 };
  for (const row of rows) {
    const wall = decodeItemId(row.itemId, ctx.dimension);
    if (wall === undefined) throw new Error(`itemId "${row.itemId}" is not a ${ctx.dimension} item`);
    const value = row.data[0];
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    const instants = instantsAt(wall, ctx.timeZone);
    if (instants.length === 0) {
      result.nonexistent += 1;
      continue;
    }
    if (instants.length > 1) {
      result.ambiguous += 1;
      continue;
    }
    const ts = instants[0];
    // Zones with sub-hour offsets (e.g. +05:30) do not align hour items to UTC hours.
    if (ts % stepMs !== 0) {
      result.misaligned += 1;
      continue;
    }
    if (ts < ctx.from || ts >= ctx.to || ts + stepMs > ctx.now) continue;
    result.points.push({ ts, value });
  }
  return result;
}
