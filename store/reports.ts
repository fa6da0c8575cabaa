// Impact reports as computed: one row per event, newest computation wins. The
// API serves these rows as they are (polling never recomputes).
import { normalizeEventType } from '../domain/event.js';
import type { Backend, Params } from './backend.js';
import { chTime } from './migrations.js';
import { keptSince, type Horizon } from './org-tables.js';
import type { PlaceboHistory } from '../domain/report.js';

/** Earlier events whose placebos a report pools per metric (a month of daily deploys), and the latest reports it looks through for them. */
export const PLACEBO_HISTORY_EVENTS = 30;
const PLACEBO_HISTORY_SCAN = 200;

/** A stored report; `report` and `charts` are the JSON the API serves and the page draws. */
export interface StoredReport<R = unknown, C = unknown> {
  org_id: string;
  event_source: string;
  event_id: string;
  event_time: number;
  status: string;
  verdict: string | null;
  worst_metric: unknown;
  report: R;
  charts: C;
  /** While pending: seconds until it is worth asking again. */
  retry_after_s: number;
  computed_at: number;
  /** Each metric's own placebo estimate in this report (PlaceboHistory of one event), which later reports of the metric pool. */
  placebos?: Record<string, { inflation: number; df: number }>;
}

interface Row {
  org_id: string;
  event_source: string;
  event_id: string;
  t: string;
  status: string;
  verdict: string;
  worst_metric: string;
  report: string;
  charts: string;
  retry_after_s: number;
  c: string;
}

/** One line of the impact timeline: an event and, when computed, its report summary. */
export interface ImpactSummaryRow {
  source: string;
  id: string;
  type: string;
  subject: string;
  version: string;
  time: number;
  status: string | null;
  verdict: string | null;
  worst_metric: unknown;
}

/** A report computed (kind report) or an event received (kind event), at that time (epoch ms). */
export interface TimelineChange {
  kind: 'report' | 'event';
  org_id: string;
  source: string;
  id: string;
  at: number;
}

export interface ImpactFilter {
  subject?: string;
  type?: string;
  since?: number;
  until?: number;
  verdict?: string;
}

export class ReportRepository {
  private last = 0;

  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    /** Reads keep to reports (and timeline events) within the org's retention. */
    private readonly horizon: Horizon,
  ) {}

  /** Store a computation of a report; resolves to the version it was stored under (computed_at, epoch ms). */
  async save(r: Omit<StoredReport, 'computed_at'> & { computed_at?: number }): Promise<number> {
    // Strictly increasing versions: two computations in one millisecond keep their order.
    this.last = Math.max(r.computed_at ?? Date.now(), this.last + 1);
    const version = this.last;
    await this.backend.insert(`${this.db}.impact_reports`, [
      {
        org_id: r.org_id,
        event_source: r.event_source,
        event_id: r.event_id,
        event_time: chTime(r.event_time),
        status: r.status,
        verdict: r.verdict ?? '',
        worst_metric: JSON.stringify(r.worst_metric ?? null),
        report: JSON.stringify(r.report),
        charts: JSON.stringify(r.charts),
        // The API derives ETags from the report (api/etag.ts); the old column stays, empty.
        etag: '',
        retry_after_s: r.retry_after_s,
        computed_at: chTime(version),
        placebos: r.placebos && Object.keys(r.placebos).length ? JSON.stringify(r.placebos) : '',
      },
    ]);
    return version;
  }

  /**
   * What may have changed a report answer or the impact timeline after `since` (epoch ms):
   * reports computed and events received, oldest first, at most `limit` rows. Every version
   * counts (no FINAL); the compute and receive time indexes (migration 6) keep it to new parts.
   * Across orgs and unfiltered by retention: it hands out keys of what just changed (fresh
   * rows), and whoever serves them reads through get() or timeline(), which filter.
   */
  async changesSince(since: number, limit: number): Promise<TimelineChange[]> {
    const rows = await this.backend.query<{
      kind: TimelineChange['kind'];
      org_id: string;
      source: string;
      id: string;
      at: string;
    }>(
      `SELECT kind, org_id, source, id, at FROM (
         SELECT 'report' AS kind, org_id, event_source AS source, event_id AS id, toUnixTimestamp64Milli(computed_at) AS at
         FROM ${this.db}.impact_reports WHERE computed_at > fromUnixTimestamp64Milli({since:Int64})
         UNION ALL
         SELECT 'event' AS kind, org_id, source, id, toUnixTimestamp64Milli(received_at) AS at
         FROM ${this.db}.events WHERE received_at > fromUnixTimestamp64Milli({since:Int64})
       ) ORDER BY at LIMIT {limit:UInt32}`,
      { since: Math.floor(since), limit },
    );
    return rows.map((r) => ({ kind: r.kind, org_id: r.org_id, source: r.source, id: r.id, at: Number(r.at) }));
  }

  /** The stored report of an event. */
  async get(orgId: string, source: string, id: string): Promise<StoredReport | undefined> {
    const rows = await this.backend.query<Row>(
      `SELECT org_id, event_source, event_id, toUnixTimestamp64Milli(event_time) AS t, status, verdict, worst_metric, report, charts,
              retry_after_s, toUnixTimestamp64Milli(computed_at) AS c
       FROM ${this.db}.impact_reports FINAL
       WHERE org_id = {org:String} AND event_source = {source:String} AND event_id = {id:String}
         AND ${keptSince('impact_reports')}`,
      { org: orgId, source, id, horizon: await this.horizon(orgId) },
    );
    const r = rows[0];
    return (
      r && {
        org_id: r.org_id,
        event_source: r.event_source,
        event_id: r.event_id,
        event_time: Number(r.t),
        status: r.status,
        verdict: r.verdict || null,
        worst_metric: JSON.parse(r.worst_metric),
        report: JSON.parse(r.report),
        charts: JSON.parse(r.charts),
        retry_after_s: Number(r.retry_after_s),
        computed_at: Number(r.c),
      }
    );
  }

  /**
   * Each metric's placebo history: the placebo estimates saved with the org's latest reports of
   * events before `before` (not the event itself), at most `events` per metric among the latest
   * `scan` reports that carry any, pooled by df. Metrics without such estimates are absent.
   */
  async placeboHistory(
    orgId: string,
    metricIds: readonly string[],
    before: { time: number; source: string; id: string },
    events = PLACEBO_HISTORY_EVENTS,
    scan = PLACEBO_HISTORY_SCAN,
  ): Promise<Map<string, PlaceboHistory>> {
    const out = new Map<string, PlaceboHistory>();
    if (metricIds.length === 0) return out;
    const rows = await this.backend.query<{ metric_id: string; inflation: number; df: number; events: string }>(
      `SELECT metric_id, sum(d * i) / sum(d) AS inflation, sum(d) AS df, count() AS events
       FROM (
         SELECT t, kv.1 AS metric_id, JSONExtractFloat(kv.2, 'inflation') AS i, JSONExtractFloat(kv.2, 'df') AS d
         FROM (
           SELECT event_time AS t, placebos FROM ${this.db}.impact_reports FINAL
           WHERE org_id = {org:String} AND ${keptSince('impact_reports')} AND placebos != ''
             AND event_time < fromUnixTimestamp64Milli({before:Int64})
             AND NOT (event_source = {source:String} AND event_id = {id:String})
           ORDER BY event_time DESC
           LIMIT {scan:UInt32}
         )
         ARRAY JOIN JSONExtractKeysAndValuesRaw(placebos) AS kv
         WHERE metric_id IN {ids:Array(String)} AND d > 0 AND i > 0 AND isFinite(i)
         ORDER BY t DESC
         LIMIT {events:UInt32} BY metric_id
       )
       GROUP BY metric_id`,
      {
        org: orgId,
        horizon: await this.horizon(orgId),
        before: Math.floor(before.time),
        source: before.source,
        id: before.id,
        ids: [...metricIds],
        events,
        scan,
      },
    );
    for (const r of rows)
      out.set(r.metric_id, { inflation: Number(r.inflation), df: Number(r.df), events: Number(r.events) });
    return out;
  }

  /** The timeline: the org's events newest first, each with its report summary when there is one. */
  async timeline(
    orgId: string,
    filter: ImpactFilter,
    limit: number,
    after?: { time: number; source: string; id: string },
  ): Promise<ImpactSummaryRow[]> {
    const where = ['e.org_id = {org:String}'];
    const params: Params = { org: orgId, limit, horizon: await this.horizon(orgId) };
    if (filter.subject !== undefined) {
      where.push('e.subject = {subject:String}');
      params.subject = filter.subject;
    }
    if (filter.type !== undefined) {
      where.push(`(e.type = {type:String} OR endsWith(e.type, concat('.', {type:String})))`);
      // Read as ingest reads a type: "Data_Load" finds the events stored as "data-load".
      params.type = normalizeEventType(filter.type);
    }
    if (filter.since !== undefined) {
      where.push('e.time >= fromUnixTimestamp64Milli({since:Int64})');
      params.since = filter.since;
    }
    if (filter.until !== undefined) {
      where.push('e.time < fromUnixTimestamp64Milli({until:Int64})');
      params.until = filter.until;
    }
    if (filter.verdict !== undefined) {
      where.push('r.verdict = {verdict:String}');
      params.verdict = filter.verdict;
    }
    if (after) {
      where.push(
        '(toUnixTimestamp64Milli(e.time), e.source, e.id) < ({c_time:Int64}, {c_source:String}, {c_id:String})',
      );
      Object.assign(params, { c_time: after.time, c_source: after.source, c_id: after.id });
    }
    const rows = await this.backend.query<{
      source: string;
      id: string;
      type: string;
      subject: string;
      version: string;
      t: string;
      status: string;
      verdict: string;
      worst_metric: string;
    }>(
      `SELECT e.source AS source, e.id AS id, e.type AS type, e.subject AS subject, e.version AS version,
              toUnixTimestamp64Milli(e.time) AS t, r.status AS status, r.verdict AS verdict, r.worst_metric AS worst_metric
       FROM (SELECT * FROM ${this.db}.events FINAL WHERE org_id = {org:String} AND ${keptSince('events')}) AS e
       LEFT JOIN (SELECT event_source, event_id, status, verdict, worst_metric
                  FROM ${this.db}.impact_reports FINAL
                  WHERE org_id = {org:String} AND ${keptSince('impact_reports')}) AS r
         ON e.source = r.event_source AND e.id = r.event_id
       WHERE ${where.join(' AND ')}
       ORDER BY e.time DESC, e.source DESC, e.id DESC
       LIMIT {limit:UInt32}
       SETTINGS join_use_nulls = 1`,
      params,
    );
    return rows.map((r) => ({
      source: r.source,
      id: r.id,
      type: r.type,
      subject: r.subject,
      version: r.version,
      time: Number(r.t),
      status: r.status || null,
      verdict: r.verdict || null,
      worst_metric: r.worst_metric ? JSON.parse(r.worst_metric) : null,
    }));
  }
}
