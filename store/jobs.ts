// Fetch jobs: what to pull from a provider (one metric series over a window), when,
// and how it went. Every state change is a new row version (versioned.ts).
import { randomUUID } from 'node:crypto';
import type { Backend, Params } from './backend.js';
import { chTime, fromChTime } from './migrations.js';
import { keptSince, type Horizon } from './org-tables.js';
import type { TimeRange } from './pairs.js';
import { msOrNull, VersionedTable, type VersionedRow } from './versioned.js';

// The pairs' types lived here before the split; scheduler/plan.ts and scheduler/impact.ts still import them from here.
export type { ImpactPair, PairState, PairWindows, TimeRange } from './pairs.js';

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

/** Last success, last error and open jobs of one connection. */
export interface ConnectionJobStats {
  lastSuccess: number | null;
  lastError: { at: number; code: string; message: string } | null;
  open: number;
}

/** A row of fetch_jobs (migration 4). */
interface Row extends VersionedRow {
  job_id: string;
  connection_id: string;
  metric_id: string;
  series: string;
  vars: string;
  kind: JobKind;
  backfill_id: string;
  window_from: string;
  window_to: string;
  state: JobState;
  attempts: number;
  due_at: string;
  run_at: string;
  last_error: string;
  last_error_code: string;
  fetched_at: string | null;
  points: number;
  requests: number;
}

/** The scheduler's fetch jobs (store.jobs). */
export class JobRepository {
  private readonly rows: VersionedTable<Row>;

  constructor(
    private readonly backend: Backend,
    db: string,
    /** Org-scoped reads keep to jobs whose window ends within the org's retention. */
    private readonly horizon: Horizon,
    now: () => number = Date.now,
  ) {
    this.rows = new VersionedTable<Row>(backend, `${db}.fetch_jobs`, ['job_id'], now);
  }

  /** A new job (not yet stored). */
  draft(
    input: Pick<
      FetchJob,
      'org_id' | 'connection_id' | 'metric_id' | 'series' | 'vars' | 'kind' | 'from' | 'to' | 'due_at' | 'run_at'
    > & { backfill_id?: string },
  ): FetchJob {
    const at = this.rows.versionMs();
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
    for (const j of jobs) j.updated_at = this.rows.versionMs(j.updated_at);
    await this.rows.insert(jobs.map(toRow));
  }

  async get(orgId: string, id: string): Promise<FetchJob | undefined> {
    const [row] = await this.rows.select(
      `org_id = {org:String} AND job_id = {id:String} AND ${keptSince('fetch_jobs')}`,
      {
        org: orgId,
        id,
        horizon: await this.horizon(orgId),
      },
    );
    return row && fromRow(row);
  }

  /** Jobs of one org matching the filter, newest first. */
  async list(orgId: string, filter: JobFilter = {}, limit = 10_000, after?: JobCursor): Promise<FetchJob[]> {
    const where = ['org_id = {org:String}', keptSince('fetch_jobs')];
    const params: Params = { org: orgId, limit, horizon: await this.horizon(orgId) };
    addFilter(filter, where, params);
    if (after) {
      where.push('(toUnixTimestamp64Milli(created_at), job_id) < ({c_created:Int64}, {c_id:String})');
      Object.assign(params, { c_created: after.created_at, c_id: after.id });
    }
    const rows = await this.rows.select(
      where.join(' AND '),
      params,
      'ORDER BY created_at DESC, job_id DESC LIMIT {limit:UInt32}',
    );
    return rows.map(fromRow);
  }

  /**
   * Queued jobs of every org whose run time has come, oldest first (the run loop's one cross-org
   * read). Unfiltered by retention, as are inStates() and countByState(): they serve the run loop
   * and telemetry, not an org, and a job past its org's retention is gone at the next sweep.
   */
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
    const rows = await this.rows.select(where.join(' AND '), params, 'ORDER BY run_at, job_id LIMIT {limit:UInt32}');
    return rows.map(fromRow);
  }

  /** Jobs of every org in one of these states (restart recovery). */
  async inStates(states: readonly JobState[], kinds: readonly JobKind[]): Promise<FetchJob[]> {
    const rows = await this.rows.select('state IN {states:Array(String)} AND kind IN {kinds:Array(String)}', {
      states: [...states],
      kinds: [...kinds],
    });
    return rows.map(fromRow);
  }

  /** Number of jobs per state across orgs (telemetry). */
  async countByState(): Promise<Record<JobState, number>> {
    const rows = await this.backend.query<{ state: JobState; n: string }>(
      `SELECT state, count() AS n FROM ${this.rows.table} FINAL GROUP BY state`,
    );
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const r of rows) out[r.state] = Number(r.n);
    return out;
  }

  /** Last success, last error and open jobs of one connection. */
  async connectionStats(orgId: string, connectionId: string): Promise<ConnectionJobStats> {
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
       FROM ${this.rows.table} FINAL
       WHERE org_id = {org:String} AND connection_id = {connection:String} AND ${keptSince('fetch_jobs')}`,
      { org: orgId, connection: connectionId, horizon: await this.horizon(orgId) },
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
      return (
        `(metric_id = {a_m${i}:String} AND series = {a_s${i}:String}` +
        ` AND window_from < fromUnixTimestamp64Milli({a_t${i}:Int64})` +
        ` AND window_to > fromUnixTimestamp64Milli({a_f${i}:Int64}))`
      );
    });
    where.push(`(${ors.join(' OR ')})`);
  }
}

// The column map: a FetchJob as its fetch_jobs row, and back.

function toRow(j: FetchJob): Row {
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

function fromRow(r: Row): FetchJob {
  return {
    id: r.job_id,
    org_id: r.org_id,
    connection_id: r.connection_id,
    metric_id: r.metric_id,
    series: r.series,
    vars: JSON.parse(r.vars),
    kind: r.kind,
    backfill_id: r.backfill_id,
    from: fromChTime(r.window_from),
    to: fromChTime(r.window_to),
    state: r.state,
    attempts: Number(r.attempts),
    due_at: fromChTime(r.due_at),
    run_at: fromChTime(r.run_at),
    last_error: r.last_error || null,
    last_error_code: r.last_error_code || null,
    fetched_at: msOrNull(r.fetched_at),
    points: Number(r.points),
    requests: Number(r.requests),
    created_at: fromChTime(r.created_at),
    updated_at: fromChTime(r.updated_at),
  };
}
