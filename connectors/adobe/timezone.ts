// Adobe's way of writing report-suite local time; the zone arithmetic itself lives
// in the shared connectors/timezone.ts.

// Re-exported so existing importers of this module (the Adobe tests) keep working.
export { instantsAt, isKnownTimeZone, wallClockOf } from '../../domain/time-zone.js';

/** A wall clock as Adobe's absolute date-range format: "YYYY-MM-DDTHH:mm:ss.SSS" (no zone). */
export function formatWallClock(wall: number): string {
  return new Date(wall).toISOString().slice(0, 23);
}
