// Impact pairs: one row per (event, metric) with the windows the engine reads and
// whether their data is in (ready), at which revision. Versioned rows (versioned.ts).
import type { Backend, Params } from './backend.js';
import { EVENT_COLUMNS, toStored, type EventRow, type StoredEvent } from './events.js';
import { chTime, fromChTime } from './migrations.js';
import { keptSince, type Horizon } from './org-tables.js';
import { msOrNull, VersionedTable, type VersionedRow } from './versioned.js';

/** A span of time [from, to), epoch ms. */
export interface TimeRange {
  from: number;
  to: number;
}

/**
 * The ranges of an event × metric that the engine reads: the pre-event stretch (noise-model
 * history and before window), the after window, and each reference day's same clock range.
 */
export interface PairWindows {
  before: TimeRange;
  after: TimeRange;
  references: TimeRange[];
}

export type PairState = 'pending' | 'ready' | 'failed';

/** An (event, metric) pair and whether its data is in. */
export interface ImpactPair {
  org_id: string;
  event_source: string;
  event_id: string;
  metric_id: string;
  connection_id: string;
  series: string;
  event_type: string;
  event_time: number;
  windows: PairWindows;
  state: PairState;
  /** 0 until first ready; +1 each time late data changed one of its windows after that. */
  revision: number;
  ready_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** A stored event as planning needs it (what unplannedEvents() and receivedSince() return per org). */
export type UnplannedEvent = StoredEvent;

/** A row of impact_pairs (migration 4). */
interface Row extends VersionedRow {
  event_source: string;
  event_id: string;
  metric_id: string;
  connection_id: string;
  series: string;
  event_type: string;
  event_time: string;
  windows: string;
  state: PairState;
  revision: number;
  ready_at: string | null;
  last_error: string;
}

const BY_EVENT_TIME = 'ORDER BY event_time, event_source, event_id, metric_id';

/** The scheduler's (event, metric) pairs and their readiness (store.pairs). */
export class PairRepository {
  private readonly rows: VersionedTable<Row>;

  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    /** Reads of an org's pairs keep to those whose event is within the org's retention. */
    private readonly horizon: Horizon,
    now: () => number = Date.now,
  ) {
    this.rows = new VersionedTable<Row>(backend, `${db}.impact_pairs`, ['metric_id', 'event_source', 'event_id'], now);
  }

  /** A new pending pair (not yet stored). */
  draft(
    input: Omit<ImpactPair, 'state' | 'revision' | 'ready_at' | 'last_error' | 'created_at' | 'updated_at'>,
  ): ImpactPair {
    const at = this.rows.versionMs();
    return {
      ...input,
      state: 'pending',
      revision: 0,
      ready_at: null,
      last_error: null,
      created_at: at,
      updated_at: at,
    };
  }

  /** Store new versions of these pairs (each gets a fresh updated_at, also set on the objects). */
  async save(pairs: ImpactPair[]): Promise<void> {
    for (const p of pairs) p.updated_at = this.rows.versionMs(p.updated_at);
    await this.rows.insert(pairs.map(toRow));
  }

  /** Pairs of one metric (optionally one series and states) whose event time is in [from, to). */
  async forMetric(
    orgId: string,
    metricId: string,
    opts: { series?: string; states?: readonly PairState[]; eventFrom?: number; eventTo?: number } = {},
  ): Promise<ImpactPair[]> {
    const where = ['org_id = {org:String}', 'metric_id = {metric:String}'];
    const params: Params = { org: orgId, metric: metricId };
    if (opts.series !== undefined) {
      where.push('series = {series:String}');
      params.series = opts.series;
    }
    if (opts.states) {
      where.push('state IN {states:Array(String)}');
      params.states = [...opts.states];
    }
    if (opts.eventFrom !== undefined) {
      where.push('event_time >= fromUnixTimestamp64Milli({from:Int64})');
      params.from = opts.eventFrom;
    }
    if (opts.eventTo !== undefined) {
      where.push('event_time < fromUnixTimestamp64Milli({to:Int64})');
      params.to = opts.eventTo;
    }
    return this.select(orgId, where.join(' AND '), params);
  }

  /** Pairs of these events in one org. */
  async forEvents(orgId: string, events: { source: string; id: string }[]): Promise<ImpactPair[]> {
    if (events.length === 0) return [];
    return this.select(
      orgId,
      'org_id = {org:String} AND has(arrayZip({sources:Array(String)}, {ids:Array(String)}), (event_source, event_id))',
      { org: orgId, sources: events.map((e) => e.source), ids: events.map((e) => e.id) },
    );
  }

  /** Pairs of an event id (any source unless given). */
  async forEventId(orgId: string, eventId: string, source?: string): Promise<ImpactPair[]> {
    if (source === undefined)
      return this.select(orgId, 'org_id = {org:String} AND event_id = {id:String}', { org: orgId, id: eventId });
    return this.select(orgId, 'org_id = {org:String} AND event_id = {id:String} AND event_source = {source:String}', {
      org: orgId,
      id: eventId,
      source,
    });
  }

  /** Ready pairs of one org, oldest ready_at first; `since` (exclusive) lets a consumer page through new readiness. */
  async ready(orgId: string, opts: { since?: number; limit?: number } = {}): Promise<ImpactPair[]> {
    return this.select(
      orgId,
      `org_id = {org:String} AND state = 'ready' AND ready_at > fromUnixTimestamp64Milli({since:Int64})`,
      { org: orgId, since: opts.since ?? 0 },
      `ORDER BY ready_at, event_source, event_id, metric_id LIMIT ${Math.max(1, Math.floor(opts.limit ?? 1000))}`,
    );
  }

  /**
   * Events received since `since` (epoch ms) that have no pair yet, by org (planning a crash
   * interrupted). Across orgs by receive time, unfiltered by retention, as is receivedSince():
   * the scan sees the last hours' arrivals, whose times the events route kept within retention.
   */
  async unplannedEvents(since: number, limit = 100_000): Promise<{ orgId: string; events: UnplannedEvent[] }[]> {
    return this.eventsToPlan(
      `received_at >= fromUnixTimestamp64Milli({since:Int64})
       AND (org_id, source, id) NOT IN (SELECT org_id, event_source, event_id FROM ${this.rows.table})`,
      { since, limit },
    );
  }

  /**
   * Events received since `since` (epoch ms), planned or not, by org: how the replica that
   * runs the scheduler learns of events other replicas accepted (planning skips pairs that exist).
   */
  async receivedSince(since: number, limit = 100_000): Promise<{ orgId: string; events: UnplannedEvent[] }[]> {
    return this.eventsToPlan('received_at >= fromUnixTimestamp64Milli({since:Int64})', { since, limit });
  }

  private async eventsToPlan(where: string, params: Params): Promise<{ orgId: string; events: UnplannedEvent[] }[]> {
    const rows = await this.backend.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.db}.events FINAL WHERE ${where} ORDER BY org_id, time LIMIT {limit:UInt32}`,
      params,
    );
    const byOrg = new Map<string, UnplannedEvent[]>();
    for (const r of rows) {
      const list = byOrg.get(r.org_id) ?? [];
      list.push(toStored(r));
      byOrg.set(r.org_id, list);
    }
    return [...byOrg].map(([orgId, events]) => ({ orgId, events }));
  }

  /** Pairs of one org matching `where` whose event is within the org's retention. */
  private async select(orgId: string, where: string, params: Params, tail = BY_EVENT_TIME): Promise<ImpactPair[]> {
    const rows = await this.rows.select(
      `(${where}) AND ${keptSince('impact_pairs')}`,
      {
        ...params,
        horizon: await this.horizon(orgId),
      },
      tail,
    );
    return rows.map(fromRow);
  }
}

// The column map: an ImpactPair as its impact_pairs row, and back.

function toRow(p: ImpactPair): Row {
  return {
    org_id: p.org_id,
    event_source: p.event_source,
    event_id: p.event_id,
    metric_id: p.metric_id,
    connection_id: p.connection_id,
    series: p.series,
    event_type: p.event_type,
    event_time: chTime(p.event_time),
    windows: JSON.stringify(p.windows),
    state: p.state,
    revision: p.revision,
    ready_at: p.ready_at === null ? null : chTime(p.ready_at),
    last_error: p.last_error ?? '',
    created_at: chTime(p.created_at),
    updated_at: chTime(p.updated_at),
  };
}

function fromRow(r: Row): ImpactPair {
  return {
    org_id: r.org_id,
    event_source: r.event_source,
    event_id: r.event_id,
    metric_id: r.metric_id,
    connection_id: r.connection_id,
    series: r.series,
    event_type: r.event_type,
    event_time: fromChTime(r.event_time),
    windows: pairWindowsOf(r.windows),
    state: r.state,
    revision: Number(r.revision),
    ready_at: msOrNull(r.ready_at),
    last_error: r.last_error || null,
    created_at: fromChTime(r.created_at),
    updated_at: fromChTime(r.updated_at),
  };
}

/** Pairs stored before reference days carried one week-earlier before/after pair instead. */
function pairWindowsOf(json: string): PairWindows {
  const w = JSON.parse(json) as PairWindows & { week_before?: TimeRange; week_after?: TimeRange };
  if (w.references) return w;
  return {
    before: w.before,
    after: w.after,
    references: [w.week_before, w.week_after].filter((r): r is TimeRange => r !== undefined),
  };
}
