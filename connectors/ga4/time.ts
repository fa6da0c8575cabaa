// Wall-clock arithmetic in the GA4 property's time zone, with Intl only: GA4
// labels rows with local dates/times, we key buckets by UTC instants.

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
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local wall-clock fields of an instant in a zone. */
export interface WallTime {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
}

/** The wall-clock time of the instant `ts` (epoch ms) in `timeZone`. */
export function wallTime(ts: number, timeZone: string): WallTime {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(ts)) out[p.type] = p.value;
  return { year: out.year!, month: out.month!, day: out.day!, hour: out.hour!, minute: out.minute! };
}

/** True when Intl knows the IANA zone name. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The local calendar date (YYYY-MM-DD) of `ts` in `timeZone`. */
export function localDate(ts: number, timeZone: string): string {
  const w = wallTime(ts, timeZone);
  return `${w.year}-${w.month}-${w.day}`;
}

/** The UTC calendar date (YYYY-MM-DD) of `ts`. */
export function utcDate(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** UTC offsets on Earth run from −12 h to +14 h. */
export const MAX_WEST_OFFSET_MS = 12 * 3_600_000;
export const MAX_EAST_OFFSET_MS = 14 * 3_600_000;
