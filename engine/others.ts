// The other events of an analysis: sorted once, asked "any event in this window?" by binary
// search, and listed as confounders of today's windows.
import type { Confounder } from '../domain/report.js';
import { lowerBound } from './order.js';
import type { EngineEvent } from './types.js';
import type { EventWindows, TimeWindow } from './windows.js';

/**
 * The other events that can touch this event's windows (the same subject, or none on either
 * side), sorted by time once per analysis: windows on up to 28 reference days ask "any event in
 * here?" by binary search instead of a scan.
 */
export interface Others {
  events: EngineEvent[];
  times: Float64Array;
}

/** The other events that may touch `event`'s windows, sorted by time. */
export function othersOf(event: EngineEvent, list: readonly EngineEvent[]): Others {
  const kept: { e: EngineEvent; t: number }[] = [];
  for (const o of list) {
    if (o.id === event.id) continue;
    if (event.subject && o.subject && event.subject !== o.subject) continue;
    // A non-finite time cannot be placed on the sorted time line: such an event is left out.
    if (!Number.isFinite(o.time)) continue;
    kept.push({ e: o, t: o.time });
  }
  kept.sort((a, b) => a.t - b.t);
  return { events: kept.map((k) => k.e), times: Float64Array.from(kept, (k) => k.t) };
}

/** Whether another event falls in [from, to). */
export function anyIn(o: Others, w: TimeWindow): boolean {
  const i = lowerBound(o.times, w.from);
  return i < o.times.length && o.times[i] < w.to;
}

/** The latest other event inside [from, to), or null. */
export function lastIn(o: Others, w: TimeWindow): number | null {
  const i = lowerBound(o.times, w.to) - 1;
  return i >= 0 && o.times[i] >= w.from ? o.times[i] : null;
}

/** The other events inside today's windows (or the gap) as confounders, the most covering first. */
export function confoundersFor(t: number, w: EventWindows, others: Others): Confounder[] {
  const out: Confounder[] = [];
  for (let i = lowerBound(others.times, w.before.from); i < others.times.length && others.times[i] < w.after.to; i++) {
    const o = others.events[i];
    const to = others.times[i];
    if (to === t) continue;
    let window: Confounder['window'];
    let coverage: number;
    if (to < w.before.to) {
      window = 'before';
      coverage = (w.before.to - to) / (w.before.to - w.before.from);
    } else if (to >= w.after.from) {
      window = 'after';
      coverage = (w.after.to - to) / (w.after.to - w.after.from);
    } else {
      // Between the windows (in the gap): it touches the whole after window.
      window = 'gap';
      coverage = 1;
    }
    out.push({
      id: o.id,
      type: o.type,
      time: new Date(to).toISOString(),
      subject: o.subject ?? null,
      window,
      coverage,
    });
  }
  return out.sort((a, b) => b.coverage - a.coverage);
}
