// Local wall clock <-> UTC in an IANA time zone, with Intl only (no tz library): for
// providers that speak in an account's local time (GA4 properties, Adobe report suites)
// and for the engine's reference days ("the same clock time" in the provider's zone).
//
// A "wall clock" is the local date-time fields encoded as epoch ms read as UTC,
// so 2026-11-01 04:00 local is Date.UTC(2026, 10, 1, 4, 0).

const HOUR_MS = 3_600_000;

/** UTC offsets on Earth run from −12 h to +14 h. */
export const MAX_WEST_OFFSET_MS = 12 * HOUR_MS;
export const MAX_EAST_OFFSET_MS = 14 * HOUR_MS;

// Building a DateTimeFormat is costly and zones are few, so one per zone is kept.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12: false, which some engines render as "24" at midnight.
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime's Intl knows the zone name (e.g. "US/Pacific", "Europe/Berlin"). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    // Intl throws a RangeError for a zone it does not know.
    return false;
  }
}

/** Local calendar and clock fields (month 1–12, hour 0–23) of an instant in a zone. */
export interface WallClockFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The local wall-clock fields of the instant `instant` (epoch ms) in `timeZone`. */
export function wallClockFields(instant: number, timeZone: string): WallClockFields {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: field('year'),
    month: field('month'),
    day: field('day'),
    hour: field('hour'),
    minute: field('minute'),
    second: field('second'),
  };
}

/** The local wall clock of an instant in a zone (see the module note), to the millisecond. */
export function wallClockOf(instant: number, timeZone: string): number {
  const w = wallClockFields(instant, timeZone);
  const wall = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  // Intl drops milliseconds; keep them so the mapping is exact.
  return wall + (((instant % 1000) + 1000) % 1000);
}

/**
 * The instants whose local wall clock in the zone equals `wall`, ascending: one
 * normally, none inside a spring-forward gap, two inside a fall-back overlap.
 */
export function instantsAt(wall: number, timeZone: string): number[] {
  // The offsets 14 h before and after `wall` are those on either side of any
  // single transition near it; each gives one candidate, kept if it reads back.
  const candidates = new Set<number>();
  for (const probe of [wall - 14 * HOUR_MS, wall + 14 * HOUR_MS]) {
    const offset = wallClockOf(probe, timeZone) - probe;
    candidates.add(wall - offset);
  }
  return [...candidates].filter((t) => wallClockOf(t, timeZone) === wall).sort((a, b) => a - b);
}

/** Offsets by zone and quarter hour: zones change offset on a whole or half hour, and a report asks 28 days × every metric. */
const offsets = new Map<string, number>();
const QUARTER_HOUR_MS = 15 * 60_000;

/** UTC offset (ms, local − UTC) of a zone at an instant, to the second. */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const key = `${timeZone}@${Math.floor(instant / QUARTER_HOUR_MS)}`;
  let known = offsets.get(key);
  if (known === undefined) {
    if (offsets.size > 10_000) offsets.clear();
    const second = Math.floor(instant / 1000) * 1000;
    offsets.set(key, (known = wallClockOf(second, timeZone) - second));
  }
  return known;
}
