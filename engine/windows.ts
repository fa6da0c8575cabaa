// Before/after windows around an event: per-type defaults, per-metric and per-request
// overrides (ISO 8601 durations or "60m"/"2h"), alignment to the metric's step, seasonal copies.
import { knownEventType, type KnownEventType } from '../domain/event.js';
import { zoneOffsetMs } from '../domain/time-zone.js';

/** A half-open window [from, to) in epoch ms. */
export interface TimeWindow {
  from: number;
  to: number;
}

/** Window lengths as strings ("PT1H", "60m") or milliseconds. */
export interface WindowOverrides {
  before?: string | number;
  after?: string | number;
  gap?: string | number;
}

/** Resolved windows for one event × metric. */
export interface EventWindows {
  before: TimeWindow;
  after: TimeWindow;
  /** Lengths actually used, in ms (after rounding up to whole steps). */
  before_ms: number;
  after_ms: number;
  gap_ms: number;
  step_seconds: number;
  /** The same clock windows one week and one day earlier (seasonal baselines). */
  seasonal: { week: { before: TimeWindow; after: TimeWindow }; day: { before: TimeWindow; after: TimeWindow } };
  /**
   * The stretch ahead of the before window (historyWindowCount() of its lengths, ending at the last
   * multiple of that length since the epoch at or before the window's start, so events close in
   * time share it). The plain comparison only reads it for the series' autocorrelation; with
   * reference days it is part of `pre`, which sets today's level.
   */
  history: TimeWindow;
  /** The history and the before window together (and what lies between them): the stretch that sets today's level for the reference-day counterfactual. */
  pre: TimeWindow;
}

/** At most this many before-window lengths of earlier data feed the noise model (see engine/README.md)... */
export const HISTORY_WINDOWS = 4;
/** ...and no more of them than it takes to reach this many buckets: long windows need less help. */
export const HISTORY_BUCKETS = 240;

/** How many before-window lengths of history a window of `buckets` buckets reads: 4 for 60 buckets, 2 for 120, 1 from 240. */
export function historyWindowCount(buckets: number): number {
  return Math.min(HISTORY_WINDOWS, Math.max(1, Math.ceil(HISTORY_BUCKETS / Math.max(1, buckets))));
}

function historyBefore(from: number, len: number, step: number): TimeWindow {
  if (!(len > 0)) return { from, to: from };
  const to = Math.floor(from / len) * len;
  return { from: to - historyWindowCount(len / step) * len, to };
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Default windows per known event type (ms). Unknown types use the deployment defaults. */
export const WINDOW_DEFAULTS: Record<KnownEventType, { before: number; after: number; gap: number }> = {
  deployment: { before: 60 * MIN, after: 60 * MIN, gap: 5 * MIN },
  rollback: { before: 60 * MIN, after: 60 * MIN, gap: 5 * MIN },
  'data-load': { before: 60 * MIN, after: 60 * MIN, gap: 5 * MIN },
  incident: { before: 30 * MIN, after: 120 * MIN, gap: 5 * MIN },
};

const ISO =
  /^P(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;
const SHORT = /^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/i;

/** Parses an ISO 8601 duration (`PT1H30M`, `P1D`; no years or months) or a short form (`60m`, `2h`, `1h30m`, `90s`) to ms. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new RangeError(`invalid duration: ${input}`);
    return input;
  }
  const s = input.trim();
  const num = (v: string | undefined) => (v === undefined ? 0 : Number(v.replace(',', '.')));
  let ms: number;
  let m = ISO.exec(s);
  if (m && s.toUpperCase() !== 'P' && !s.toUpperCase().endsWith('T')) {
    ms = num(m[1]) * WEEK + num(m[2]) * DAY + num(m[3]) * HOUR + num(m[4]) * MIN + num(m[5]) * 1000;
  } else if ((m = SHORT.exec(s)) && s.length > 0) {
    ms = num(m[1]) * DAY + num(m[2]) * HOUR + num(m[3]) * MIN + num(m[4]) * 1000;
  } else {
    throw new RangeError(`invalid duration: "${input}" (use ISO 8601 like PT1H or a short form like 60m)`);
  }
  if (!Number.isFinite(ms)) throw new RangeError(`invalid duration: "${input}"`);
  return Math.round(ms);
}

/**
 * Windows for an event at `time` (epoch ms) of `type`, for a metric at `stepSeconds`. Later overrides win:
 * type defaults < metric windows < request windows. Lengths round up to whole steps; only buckets
 * entirely before t − gap (entirely after t + gap) belong to the before (after) window.
 */
export function computeWindows(input: {
  time: number;
  type: string;
  stepSeconds: number;
  metric?: WindowOverrides;
  request?: WindowOverrides;
}): EventWindows {
  const t = input.time;
  if (!Number.isFinite(t)) throw new RangeError(`invalid time: ${t}`);
  const step = input.stepSeconds * 1000;
  if (!(step > 0)) throw new RangeError(`invalid step: ${input.stepSeconds}`);
  const d = WINDOW_DEFAULTS[knownEventType(input.type) ?? 'deployment'];
  const pick = (k: keyof WindowOverrides, def: number) => {
    const v = input.request?.[k] ?? input.metric?.[k];
    return v === undefined ? def : parseDuration(v);
  };
  const steps = (ms: number) => Math.ceil(ms / step) * step;
  const beforeMs = steps(pick('before', d.before));
  const afterMs = steps(pick('after', d.after));
  const gapMs = pick('gap', d.gap);
  const beforeEnd = Math.floor((t - gapMs) / step) * step;
  const afterStart = Math.ceil((t + gapMs) / step) * step;
  const before = { from: beforeEnd - beforeMs, to: beforeEnd };
  const after = { from: afterStart, to: afterStart + afterMs };
  const shift = (w: TimeWindow, by: number) => ({ from: w.from - by, to: w.to - by });
  const history = historyBefore(before.from, beforeMs, step);
  return {
    before,
    after,
    before_ms: beforeMs,
    after_ms: afterMs,
    gap_ms: gapMs,
    step_seconds: input.stepSeconds,
    seasonal: {
      week: { before: shift(before, WEEK), after: shift(after, WEEK) },
      day: { before: shift(before, DAY), after: shift(after, DAY) },
    },
    history,
    pre: { from: history.from, to: before.to },
  };
}

/** Reference days the scheduler fetches for an event (the same clock windows on each earlier day). */
export const REFERENCE_DAYS = 7;
/** Most reference days the engine reads when they are stored (within retention). */
export const MAX_REFERENCE_DAYS = 28;

/**
 * How far back (ms) the same clock time lies on each of the `days` previous days: d × 24 h in
 * UTC, or, in a time zone, the same local wall-clock time (an hour more or less across a DST
 * change), rounded to whole steps. Index 0 is one day earlier.
 */
export function referenceShifts(time: number, days: number, stepSeconds: number, timeZone?: string | null): number[] {
  const step = stepSeconds * 1000;
  const out: number[] = [];
  const offsetNow = timeZone ? zoneOffsetMs(time, timeZone) : 0;
  for (let d = 1; d <= days; d++) {
    let shift = d * DAY;
    if (timeZone) {
      // The instant whose local time is ours minus d days: local − offset at that instant.
      const target = time + offsetNow - d * DAY;
      const guess = target - offsetNow;
      const at = target - zoneOffsetMs(guess, timeZone);
      shift = Math.round((time - at) / step) * step;
    }
    out.push(shift);
  }
  return out;
}
