// Scheduler state in ClickHouse: fetch jobs (what to pull, when, how it went) and
// impact pairs (which event × metric has its windows' data in, at which revision).
// Rows are versions in a ReplacingMergeTree(updated_at): a change inserts a newer copy.
import { randomUUID } from 'node:crypto';
import type { Backend, Params } from './backend.js';
import type { CloudEvent } from '../domain/event.js';
import { chTime } from './migrations.js';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'blocked';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'failed', 'blocked'];

/** `window`: a first fetch planned for events; `settle`: a late-data pass; `backfill`: made by the backfill command (run by it only). */
export type JobKind = 'window' | 'settle' | 'backfill';

/** One fetch of one metric series over [from, to). Times are epoch ms. */
export interface FetchJob {
  id: string;
  org_id: string;
  connection_id: string;
  metric_id: string;
  series: string;
  /** Template values the series was rendered with ({{subject}}, ...). */
  vars: Record<string, string>;
  kind: JobKind;
  backfill_id: string;
  from: number;
  to: number;
  state: JobState;
  attempts: number;
  /** Earliest time any part of this job was wanted (coalescing never delays it by more than the slack). */
  due_at: number;
  /** Next time it may run. */
  run_at: number;
  last_error: string | null;
  last_error_code: string | null;
  /** When the provider was last asked successfully. */
  fetched_at: number | null;
  points: number;
  requests: number;
  created_at: number;
  updated_at: number;
}

export interface TimeRange {
  from: number;
  to: number;
}

/** The ranges of an event × metric that the engine reads: the pre-event stretch (noise-model history and before window), the after window, and each reference day's same clock range. */
export interface PairWindows {
  before: TimeRange;
  after: TimeRange;
  references: TimeRange[];
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

export interface JobFilter {
  states?: readonly JobState[];
  connectionId?: string;
  metricId?: string;
  series?: string;
  kind?: JobKind;
  backfillId?: string;
  /** Jobs whose window overlaps any of these (metric, series, range) triples. */
  overlapsAny?: { metricId: string; series: string; from: number; to: number }[];
  /** Jobs whose window overlaps [from, to). */
  overlaps?: TimeRange;
}

/** Position after the last job of a page (newest first). */
export interface JobCursor {
  created_at: number;
  id: string;
}

const JOB_COLUMNS = `org_id, job_id, connection_id, metric_id, series, vars, kind, backfill_id,
  toUnixTimestamp64Milli(window_from) AS w_from, toUnixTimestamp64Milli(window_to) AS w_to, state, attempts,
  toUnixTimestamp64Milli(due_at) AS due, toUnixTimestamp64Milli(run_at) AS run, last_error, last_error_code,
  toUnixTimestamp64Milli(fetched_at) AS fetched, points, requests,
  toUnixTimestamp64Milli(created_at) AS created, toUnixTimestamp64Milli(updated_at) AS updated`;

interface JobRow {
  org_id: string;
  job_id: string;
  connection_id: string;
  metric_id: string;
  series: string;
  vars: string;
  kind: JobKind;
  backfill_id: string;
  w_from: string;
  w_to: string;
  state: JobState;
  attempts: number;
  due: string;
  run: string;
  last_error: string;
  last_error_code: string;
  fetched: string | null;
  points: number;
  requests: number;
  created: string;
  updated: string;
}

/** A strictly increasing version clock, so two writes of one row in one millisecond keep their order. */
class Versions {
  private last = 0;
  constructor(private readonly now: () => number) {}
  next(previous = 0): number {
    this.last = Math.max(this.now(), this.last + 1, previous + 1);
    return this.last;
  }
}

export class JobRepository {
  private readonly versions: Versions;
  private readonly table: string;

  constructor(
    private readonly backend: Backend,
    db: string,
    now: () => number = Date.now,
  ) {
    this.versions = new Versions(now);
    this.table = `${db}.fetch_jobs`;
  }

  /** A new job (not yet stored). */
  draft(
    input: Pick<
      FetchJob,
      'org_id' | 'connection_id' | 'metric_id' | 'series' | 'vars' | 'kind' | 'from' | 'to' | 'due_at' | 'run_at'
    > & { backfill_id?: string },
  ): FetchJob {
    const at = this.versions.next();
    return {
      id: `job_${randomUUID().replaceAll('-', '')}`,
      backfill_id: '',
      ...input,
      state: 'queued',
      attempts: 0,
      last_error: null,
      last_error_code: null,
      fetched_at: null,
      points: 0,
      requests: 0,
      created_at: at,
      updated_at: at,
    };
  }

  /** Store new versions of these jobs (each gets a fresh updated_at, also set on the objects). */
  async save(jobs: FetchJob[]): Promise<void> {
    if (jobs.length === 0) return;
    for (const j of jobs) j.updated_at = this.versions.next(j.updated_at);
    await this.backend.insert(this.table, jobs.map(toJobRow));
  }

  async get(orgId: string, id: string): Promise<FetchJob | undefined> {
    const rows = await this.backend.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${this.table} FINAL WHERE org_id = {org:String} AND job_id = {id:String}`,
      { org: orgId, id },
    );
    return rows.map(fromJobRow)[0];
  }

  /** Jobs of one org matching the filter, newest first. */
  async list(orgId: string, filter: JobFilter = {}, limit = 10_000, after?: JobCursor): Promise<FetchJob[]> {
    const where = ['org_id = {org:String}'];
    const params: Params = { org: orgId, limit };
    addFilter(filter, where, params);
    if (after) {
      where.push('(toUnixTimestamp64Milli(created_at), job_id) < ({c_created:Int64}, {c_id:String})');
      Object.assign(params, { c_created: after.created_at, c_id: after.id });
    }
    const rows = await this.backend.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${this.table} FINAL WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, job_id DESC LIMIT {limit:UInt32}`,
      params,
    );
    return rows.map(fromJobRow);
  }

  /** Queued jobs of every org whose run time has come, oldest first (the run loop's one cross-org read). */
  async due(now: number, kinds: readonly JobKind[], limit: number, backfillId?: string): Promise<FetchJob[]> {
    const where = [
      `state = 'queued'`,
      'run_at <= fromUnixTimestamp64Milli({now:Int64})',
      'kind IN {kinds:Array(String)}',
    ];
    const params: Params = { now, kinds: [...kinds], limit };
    if (backfillId !== undefined) {
      where.push('backfill_id = {backfill:String}');
      params.backfill = backfillId;
    }
    const rows = await this.backend.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${this.table} FINAL WHERE ${where.join(' AND ')} ORDER BY run_at, job_id LIMIT {limit:UInt32}`,
      params,
    );
    return rows.map(fromJobRow);
  }

  /** Jobs of every org in one of these states (restart recovery). */
  async inStates(states: readonly JobState[], kinds: readonly JobKind[]): Promise<FetchJob[]> {
    const rows = await this.backend.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${this.table} FINAL WHERE state IN {states:Array(String)} AND kind IN {kinds:Array(String)}`,
      { states: [...states], kinds: [...kinds] },
    );
    return rows.map(fromJobRow);
  }

  /** Number of jobs per state across orgs (telemetry). */
  async countByState(): Promise<Record<JobState, number>> {
    const rows = await this.backend.query<{ state: JobState; n: string }>(
      `SELECT state, count() AS n FROM ${this.table} FINAL GROUP BY state`,
    );
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }

  /** Last success, last error and open jobs of one connection. */
  async connectionStats(
    orgId: string,
    connectionId: string,
  ): Promise<{
    lastSuccess: number | null;
    lastError: { at: number; code: string; message: string } | null;
    open: number;
  }> {
    const [row] = await this.backend.query<{
      ok: string | null;
      err_at: string | null;
      err_code: string;
      err: string;
      open: string;
    }>(
      `SELECT
         maxIf(toUnixTimestamp64Milli(fetched_at), state = 'succeeded') AS ok,
         maxIf(toUnixTimestamp64Milli(updated_at), last_error != '') AS err_at,
         argMaxIf(last_error_code, updated_at, last_error != '') AS err_code,
         argMaxIf(last_error, updated_at, last_error != '') AS err,
         countIf(state IN ('queued', 'running', 'blocked')) AS open
       FROM ${this.table} FINAL WHERE org_id = {org:String} AND connection_id = {connection:String}`,
      { org: orgId, connection: connectionId },
    );
    const num = (v: string | null | undefined) => (v === null || v === undefined || Number(v) <= 0 ? null : Number(v));
    const errAt = num(row?.err_at);
    return {
      lastSuccess: num(row?.ok),
      lastError: errAt === null ? null : { at: errAt, code: row.err_code, message: row.err },
      open: Number(row?.open ?? 0),
    };
  }
}

export class PairRepository {
  private readonly versions: Versions;
  private readonly table: string;

  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    now: () => number = Date.now,
  ) {
    this.versions = new Versions(now);
    this.table = `${db}.impact_pairs`;
  }

  /** A new pending pair (not yet stored). */
  draft(
    input: Omit<ImpactPair, 'state' | 'revision' | 'ready_at' | 'last_error' | 'created_at' | 'updated_at'>,
  ): ImpactPair {
    const at = this.versions.next();
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

  async save(pairs: ImpactPair[]): Promise<void> {
    if (pairs.length === 0) return;
    for (const p of pairs) p.updated_at = this.versions.next(p.updated_at);
    await this.backend.insert(this.table, pairs.map(toPairRow));
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
    return this.select(where.join(' AND '), params);
  }

  /** Pairs of these events (keys "source\u0000id") in one org. */
  async forEvents(orgId: string, events: { source: string; id: string }[]): Promise<ImpactPair[]> {
    if (events.length === 0) return [];
    return this.select(
      'org_id = {org:String} AND has(arrayZip({sources:Array(String)}, {ids:Array(String)}), (event_source, event_id))',
      {
        org: orgId,
        sources: events.map((e) => e.source),
        ids: events.map((e) => e.id),
      },
    );
  }

  /** Pairs of an event id (any source unless given). */
  async forEventId(orgId: string, eventId: string, source?: string): Promise<ImpactPair[]> {
    const params: Params = { org: orgId, id: eventId };
    let where = 'org_id = {org:String} AND event_id = {id:String}';
    if (source !== undefined) {
      where += ' AND event_source = {source:String}';
      params.source = source;
    }
    return this.select(where, params);
  }

  /** Ready pairs of one org, oldest ready_at first; `since` (exclusive) lets a consumer page through new readiness. */
  async ready(orgId: string, opts: { since?: number; limit?: number } = {}): Promise<ImpactPair[]> {
    return this.select(
      `org_id = {org:String} AND state = 'ready' AND ready_at > fromUnixTimestamp64Milli({since:Int64})`,
      { org: orgId, since: opts.since ?? 0 },
      `ORDER BY ready_at, event_source, event_id, metric_id LIMIT ${Math.max(1, Math.floor(opts.limit ?? 1000))}`,
    );
  }

  /** Events received since `since` (epoch ms) that have no pair yet, by org (planning a crash interrupted). */
  async unplannedEvents(
    since: number,
    limit = 100_000,
  ): Promise<
    {
      orgId: string;
      events: { source: string; id: string; type: string; subject: string; time: number; event: CloudEvent }[];
    }[]
  > {
    const rows = await this.backend.query<{
      org_id: string;
      source: string;
      id: string;
      type: string;
      subject: string;
      t: string;
      raw: string;
    }>(
      `SELECT org_id, source, id, type, subject, toUnixTimestamp64Milli(time) AS t, raw FROM ${this.db}.events FINAL
       WHERE received_at >= fromUnixTimestamp64Milli({since:Int64})
         AND (org_id, source, id) NOT IN (SELECT org_id, event_source, event_id FROM ${this.table})
       ORDER BY org_id, time LIMIT {limit:UInt32}`,
      { since, limit },
    );
    const byOrg = new Map<
      string,
      { source: string; id: string; type: string; subject: string; time: number; event: CloudEvent }[]
    >();
    for (const r of rows) {
      const list = byOrg.get(r.org_id) ?? [];
      list.push({
        source: r.source,
        id: r.id,
        type: r.type,
        subject: r.subject,
        time: Number(r.t),
        event: JSON.parse(r.raw) as CloudEvent,
      });
      byOrg.set(r.org_id, list);
    }
    return [...byOrg].map(([orgId, events]) => ({ orgId, events }));
  }

  private async select(
    where: string,
    params: Params,
    tail = 'ORDER BY event_time, event_source, event_id, metric_id',
  ): Promise<ImpactPair[]> {
    const rows = await this.backend.query<PairRow>(
      `SELECT org_id, event_source, event_id, metric_id, connection_id, series, event_type,
         toUnixTimestamp64Milli(event_time) AS t, windows, state, revision,
         toUnixTimestamp64Milli(ready_at) AS ready, last_error,
         toUnixTimestamp64Milli(created_at) AS created, toUnixTimestamp64Milli(updated_at) AS updated
       FROM ${this.table} FINAL WHERE ${where} ${tail}`,
      params,
    );
    return rows.map(fromPairRow);
  }
}

function addFilter(f: JobFilter, where: string[], params: Params): void {
  if (f.states) {
    where.push('state IN {states:Array(String)}');
    params.states = [...f.states];
  }
  if (f.connectionId !== undefined) {
    where.push('connection_id = {connection:String}');
    params.connection = f.connectionId;
  }
  if (f.metricId !== undefined) {
    where.push('metric_id = {metric:String}');
    params.metric = f.metricId;
  }
  if (f.series !== undefined) {
    where.push('series = {series:String}');
    params.series = f.series;
  }
  if (f.kind !== undefined) {
    where.push('kind = {kind:String}');
    params.kind = f.kind;
  }
  if (f.backfillId !== undefined) {
    where.push('backfill_id = {backfill:String}');
    params.backfill = f.backfillId;
  }
  if (f.overlaps) {
    where.push(
      'window_from < fromUnixTimestamp64Milli({o_to:Int64}) AND window_to > fromUnixTimestamp64Milli({o_from:Int64})',
    );
    params.o_from = f.overlaps.from;
    params.o_to = f.overlaps.to;
  }
  if (f.overlapsAny) {
    if (f.overlapsAny.length === 0) {
      where.push('0');
      return;
    }
    const ors = f.overlapsAny.map((o, i) => {
      Object.assign(params, { [`a_m${i}`]: o.metricId, [`a_s${i}`]: o.series, [`a_f${i}`]: o.from, [`a_t${i}`]: o.to });
      return `(metric_id = {a_m${i}:String} AND series = {a_s${i}:String} AND window_from < fromUnixTimestamp64Milli({a_t${i}:Int64}) AND window_to > fromUnixTimestamp64Milli({a_f${i}:Int64}))`;
    });
    where.push(`(${ors.join(' OR ')})`);
  }
}

function toJobRow(j: FetchJob): object {
  return {
    org_id: j.org_id,
    job_id: j.id,
    connection_id: j.connection_id,
    metric_id: j.metric_id,
    series: j.series,
    vars: JSON.stringify(j.vars),
    kind: j.kind,
    backfill_id: j.backfill_id,
    window_from: chTime(j.from),
    window_to: chTime(j.to),
    state: j.state,
    attempts: j.attempts,
    due_at: chTime(j.due_at),
    run_at: chTime(j.run_at),
    last_error: j.last_error ?? '',
    last_error_code: j.last_error_code ?? '',
    fetched_at: j.fetched_at === null ? null : chTime(j.fetched_at),
    points: j.points,
    requests: j.requests,
    created_at: chTime(j.created_at),
    updated_at: chTime(j.updated_at),
  };
}

function fromJobRow(r: JobRow): FetchJob {
  return {
    id: r.job_id,
    org_id: r.org_id,
    connection_id: r.connection_id,
    metric_id: r.metric_id,
    series: r.series,
    vars: JSON.parse(r.vars),
    kind: r.kind,
    backfill_id: r.backfill_id,
    from: Number(r.w_from),
    to: Number(r.w_to),
    state: r.state,
    attempts: Number(r.attempts),
    due_at: Number(r.due),
    run_at: Number(r.run),
    last_error: r.last_error || null,
    last_error_code: r.last_error_code || null,
    fetched_at: r.fetched === null ? null : Number(r.fetched),
    points: Number(r.points),
    requests: Number(r.requests),
    created_at: Number(r.created),
    updated_at: Number(r.updated),
  };
}

interface PairRow {
  org_id: string;
  event_source: string;
  event_id: string;
  metric_id: string;
  connection_id: string;
  series: string;
  event_type: string;
  t: string;
  windows: string;
  state: PairState;
  revision: number;
  ready: string | null;
  last_error: string;
  created: string;
  updated: string;
}

function toPairRow(p: ImpactPair): object {
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

function fromPairRow(r: PairRow): ImpactPair {
  return {
    org_id: r.org_id,
    event_source: r.event_source,
    event_id: r.event_id,
    metric_id: r.metric_id,
    connection_id: r.connection_id,
    series: r.series,
    event_type: r.event_type,
    event_time: Number(r.t),
    windows: pairWindowsOf(r.windows),
    state: r.state,
    revision: Number(r.revision),
    ready_at: r.ready === null ? null : Number(r.ready),
    last_error: r.last_error || null,
    created_at: Number(r.created),
    updated_at: Number(r.updated),
  };
}
