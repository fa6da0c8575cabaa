// Events: CloudEvents 1.0 as sent, identified by (org, source, id). Writes from
// concurrent requests are coalesced into one INSERT and acknowledged only
// after it is stored; a retry of a stored event is reported as a duplicate.
// If a coalesced INSERT fails, each request is retried alone (a bulkhead), so
// one request's bad rows fail that request only.
import { normalizeEventType, type CloudEvent, type ReceivedEvent } from '../domain/event.js';
import type { Backend, Params } from './backend.js';
import { chTime } from './migrations.js';
import { keptSince, type Horizon } from './org-tables.js';

/** The query-relevant view of a stored event. */
export interface StoredEvent {
  org_id: string;
  source: string;
  id: string;
  type: string;
  subject: string;
  /** Event time (or receipt time when the event had none), epoch ms. */
  time: number;
  event: CloudEvent;
}

export interface IngestResult {
  accepted: string[];
  duplicates: string[];
}

export interface EventFilter {
  subject?: string;
  type?: string;
  source?: string;
  /** Inclusive lower bound, epoch ms. */
  since?: number;
  /** Exclusive upper bound, epoch ms. */
  until?: number;
}

/** Position after the last item of a page (newest-first order). */
export interface EventCursor {
  time: number;
  source: string;
  id: string;
}

interface Job {
  orgId: string;
  events: ReceivedEvent[];
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

/** An events row as the listing queries select it (EVENT_COLUMNS). */
export interface EventRow {
  org_id: string;
  source: string;
  id: string;
  type: string;
  subject: string;
  t: string;
  raw: string;
}

/** The columns every listing of events selects (EventRow). */
export const EVENT_COLUMNS = 'org_id, source, id, type, subject, toUnixTimestamp64Milli(time) AS t, raw';

/** Most events one coalesced INSERT carries. */
const MAX_FLUSH_EVENTS = 20_000;

export class EventRepository {
  private pending: Job[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    /** Reads keep to events within the org's retention; ingest's duplicate check sees every stored row. */
    private readonly horizon: Horizon,
  ) {}

  /**
   * Store new events of one org, all or nothing. Resolves once they are
   * written; events already stored (same source and id) come back as duplicates.
   */
  ingest(orgId: string, events: ReceivedEvent[]): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ orgId, events, resolve, reject });
      this.flushing ??= this.flushLoop();
    });
  }

  /** Wait until every accepted write is stored (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const jobs: Job[] = [];
        let size = 0;
        while (
          this.pending.length > 0 &&
          (jobs.length === 0 || size + this.pending[0].events.length <= MAX_FLUSH_EVENTS)
        ) {
          const job = this.pending.shift()!;
          size += job.events.length;
          jobs.push(job);
        }
        try {
          const results = await this.flush(jobs);
          jobs.forEach((job, i) => job.resolve(results[i]));
        } catch (err) {
          if (jobs.length === 1) jobs[0].reject(err);
          else await this.flushEachAlone(jobs);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * After a coalesced INSERT failed (one block: nothing of it was stored), store
   * each request's rows in an INSERT of their own, so only the request that the
   * store refuses fails. Events a retry finds stored come back as duplicates.
   * When the store itself is down, every request fails in turn, one query each.
   */
  private async flushEachAlone(jobs: Job[]): Promise<void> {
    for (const job of jobs) {
      try {
        const [result] = await this.flush([job]);
        job.resolve(result);
      } catch (err) {
        job.reject(err);
      }
    }
  }

  private async flush(jobs: Job[]): Promise<IngestResult[]> {
    const key = (org: string, source: string, id: string) => JSON.stringify([org, source, id]);
    const stored = new Set<string>();
    const byOrg = new Map<string, Set<string>>();
    for (const job of jobs) {
      const ids = byOrg.get(job.orgId) ?? new Set<string>();
      for (const { event } of job.events) ids.add(event.id);
      byOrg.set(job.orgId, ids);
    }
    for (const [org, ids] of byOrg) {
      const rows = await this.backend.query<{ source: string; id: string }>(
        `SELECT DISTINCT source, id FROM ${this.db}.events WHERE org_id = {org:String} AND id IN {ids:Array(String)}`,
        { org, ids: [...ids] },
      );
      for (const r of rows) stored.add(key(org, r.source, r.id));
    }
    const rows: object[] = [];
    const results = jobs.map((job) => {
      const result: IngestResult = { accepted: [], duplicates: [] };
      for (const { event: e, time, receivedAt } of job.events) {
        const k = key(job.orgId, e.source, e.id);
        if (stored.has(k)) {
          result.duplicates.push(e.id);
          continue;
        }
        stored.add(k);
        result.accepted.push(e.id);
        rows.push({
          org_id: job.orgId,
          source: e.source,
          id: e.id,
          type: e.type,
          subject: e.subject ?? '',
          time: chTime(time),
          version: typeof e.version === 'string' ? e.version : '',
          severity: typeof e.severity === 'string' ? e.severity : '',
          raw: JSON.stringify(e),
          received_at: chTime(receivedAt),
        });
      }
      return result;
    });
    // One INSERT: a single block, so the batch is stored whole or not at all.
    await this.backend.insert(`${this.db}.events`, rows);
    return results;
  }

  /** How many of these (source, id) pairs the org has stored already (an ingest would report them as duplicates). */
  async countStored(orgId: string, events: readonly { source: string; id: string }[]): Promise<number> {
    if (events.length === 0) return 0;
    const [row] = await this.backend.query<{ n: string }>(
      `SELECT count() AS n FROM (SELECT DISTINCT source, id FROM ${this.db}.events
       WHERE org_id = {org:String} AND id IN {ids:Array(String)}
         AND has(arrayZip({sources:Array(String)}, {ids:Array(String)}), (source, id)))`,
      { org: orgId, sources: events.map((e) => e.source), ids: events.map((e) => e.id) },
    );
    return Number(row?.n ?? 0);
  }

  /** One page of an org's events, newest first. */
  async list(orgId: string, filter: EventFilter, limit: number, after?: EventCursor): Promise<StoredEvent[]> {
    const { where, params } = await this.where(orgId, filter);
    if (after) {
      where.push(`(toUnixTimestamp64Milli(time), source, id) < ({c_time:Int64}, {c_source:String}, {c_id:String})`);
      Object.assign(params, { c_time: after.time, c_source: after.source, c_id: after.id });
    }
    const rows = await this.backend.query<EventRow>(
      `SELECT ${EVENT_COLUMNS}
       FROM ${this.db}.events FINAL WHERE ${where.join(' AND ')}
       ORDER BY time DESC, source DESC, id DESC LIMIT {limit:UInt32}`,
      { ...params, limit },
    );
    return rows.map(toStored);
  }

  /** Events of a time range, oldest first (export). */
  async range(orgId: string, filter: EventFilter, limit: number): Promise<StoredEvent[]> {
    const { where, params } = await this.where(orgId, filter);
    const rows = await this.backend.query<EventRow>(
      `SELECT ${EVENT_COLUMNS}
       FROM ${this.db}.events FINAL WHERE ${where.join(' AND ')}
       ORDER BY time, source, id LIMIT {limit:UInt32}`,
      { ...params, limit },
    );
    return rows.map(toStored);
  }

  /** Events of this org with this id (several only if sources share an id), newest first. */
  async byId(orgId: string, id: string, source?: string): Promise<StoredEvent[]> {
    const { where, params } = await this.where(orgId, { source });
    const rows = await this.backend.query<EventRow>(
      `SELECT ${EVENT_COLUMNS}
       FROM ${this.db}.events FINAL WHERE ${where.join(' AND ')} AND id = {id:String}
       ORDER BY received_at DESC`,
      { ...params, id },
    );
    return rows.map(toStored);
  }

  /** Number of stored events of an org, expired or not (tests, diagnostics: what a sweep has yet to remove counts). */
  async count(orgId: string): Promise<number> {
    const [row] = await this.backend.query<{ n: string }>(
      `SELECT count() AS n FROM ${this.db}.events FINAL WHERE org_id = {org:String}`,
      { org: orgId },
    );
    return Number(row?.n ?? 0);
  }

  private async where(orgId: string, f: EventFilter): Promise<{ where: string[]; params: Params }> {
    const where = ['org_id = {org:String}', keptSince('events')];
    const params: Params = { org: orgId, horizon: await this.horizon(orgId) };
    if (f.subject !== undefined) {
      where.push('subject = {subject:String}');
      params.subject = f.subject;
    }
    if (f.type !== undefined) {
      // domain/event.ts eventTypeIs in SQL: "deployment" also matches "dev.opstrails.deployment".
      where.push(`(type = {type:String} OR endsWith(type, concat('.', {type:String})))`);
      // Read as ingest reads a type: "Data_Load" finds the events stored as "data-load".
      params.type = normalizeEventType(f.type);
    }
    if (f.source !== undefined) {
      where.push('source = {source:String}');
      params.source = f.source;
    }
    if (f.since !== undefined) {
      where.push('time >= fromUnixTimestamp64Milli({since:Int64})');
      params.since = f.since;
    }
    if (f.until !== undefined) {
      where.push('time < fromUnixTimestamp64Milli({until:Int64})');
      params.until = f.until;
    }
    return { where, params };
  }
}

/** An events row as a StoredEvent. */
export function toStored(r: EventRow): StoredEvent {
  return {
    org_id: r.org_id,
    source: r.source,
    id: r.id,
    type: r.type,
    subject: r.subject,
    time: Number(r.t),
    event: JSON.parse(r.raw) as CloudEvent,
  };
}
