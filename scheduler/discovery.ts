// How the replica that holds the scheduler lease learns of events other replicas accepted:
// each tick it reads the events received in the last moments (with an overlap for inserts
// that became visible late and for clocks that disagree) and passes on those it has not
// seen. A slower sweep plans anything older that still has no pair at all.
import type { Store } from '../store/index.js';
import type { UnplannedEvent } from '../store/pairs.js';

export interface DiscoveryOptions {
  /** How far back each scan reaches before the previous one (default 15 s). */
  overlapMs?: number;
  /** How often the sweep for events with no pair runs (default 10 min). */
  sweepMs?: number;
  /** How far back the sweep reaches (default 48 h). */
  sweepHours?: number;
}

/** Events to plan, by org. */
export type FoundEvents = { orgId: string; events: UnplannedEvent[] }[];

export class EventDiscovery {
  private readonly overlapMs: number;
  private readonly sweepMs: number;
  private readonly sweepHours: number;
  /** Events already passed on (key → when), forgotten once no scan reaches their receive time. */
  private readonly seen = new Map<string, number>();
  private lastScan = 0;
  private lastSweep = 0;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    opts: DiscoveryOptions = {},
  ) {
    this.overlapMs = opts.overlapMs ?? 15_000;
    this.sweepMs = opts.sweepMs ?? 600_000;
    this.sweepHours = opts.sweepHours ?? 48;
  }

  /** Start from now (on taking the lease: the catch-up planned what came before). */
  reset(): void {
    this.lastScan = this.now();
    this.lastSweep = this.lastScan;
    this.seen.clear();
  }

  /** Events this replica accepted itself and hands to the planner directly. */
  note(orgId: string, events: readonly { source: string; id: string }[]): void {
    const at = this.now();
    for (const e of events) this.seen.set(keyOf(orgId, e), at);
  }

  /** Events received since the last scan (and, when due, older ones with no pair) not passed on yet. */
  async scan(): Promise<FoundEvents> {
    const now = this.now();
    if (this.lastScan === 0) this.reset();
    const found = await this.store.pairs.receivedSince(this.lastScan - this.overlapMs);
    if (now - this.lastSweep >= this.sweepMs) {
      found.push(...(await this.store.pairs.unplannedEvents(now - this.sweepHours * 3600_000)));
      this.lastSweep = now;
    }
    this.lastScan = now;
    for (const [key, at] of this.seen) if (at < now - 3 * this.overlapMs) this.seen.delete(key);
    const fresh: FoundEvents = [];
    for (const { orgId, events } of found) {
      const unseen = events.filter((e) => !this.seen.has(keyOf(orgId, e)));
      if (unseen.length === 0) continue;
      this.note(orgId, unseen);
      fresh.push({ orgId, events: unseen });
    }
    return fresh;
  }
}

function keyOf(orgId: string, e: { source: string; id: string }): string {
  return JSON.stringify([orgId, e.source, e.id]);
}
