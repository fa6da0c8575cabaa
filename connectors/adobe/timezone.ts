// Report-suite local time <-> UTC with Intl only (no tz library): Adobe takes date
// ranges and returns time items in the report suite's own time zone.
//
// A "wall clock" here is the local date-time fields encoded as epoch ms read as UTC,
// so 2026-11-01 04:00 local is Date.UTC(2026, 10, 1, 4, 0).

const HOUR_MS = 3_600_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
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
    return false;
  }
}

/** The local wall clock of an instant in a zone. */
export function wallClockOf(instant: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(new Date(instant));
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'), field('second'));
  // Intl drops milliseconds; keep them so the mapping is exact.
  return wall + (((instant % 1000) + 1000) % 1000);
}

/**
 * The instants whose local wall clock in the zone equals `wall`: one normally,
 * none inside a spring-forward gap, two inside a fall-back overlap.
 */
export function instantsAt(wall: number, timeZone: string): number[] {
  // Offsets a little before and after cover any single transition near `wall`.
  const candidates = new Set<number>();
  for (const probe of [wall - 14 * HOUR_MS, wall + 14 * HOUR_MS]) {
    const offset = wallClockOf(probe, timeZone) - probe;
    candidates.add(wall - offset);
  }
  return [...candidates].filter((t) => wallClockOf(t, timeZone) === wall).sort((a, b) => a - b);
}

/** A wall clock as Adobe's absolute date-range format: "YYYY-MM-DDTHH:mm:ss.SSS" (no zone). */
export function formatWallClock(wall: number): string {
  return new Date(wall).toISOString().slice(0, 23);
}
