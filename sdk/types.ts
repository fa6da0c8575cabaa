// What the SDK sends and gets back. Events and reports share the service's own
// definitions (domain/); the rest mirrors the API's answers.
import type { CloudEvent } from '../domain/event.js';
import type { Metric as StoredMetric } from '../domain/metric.js';
import type { EventVerdict, ImpactReport, MetricReport, ReportStatus } from '../domain/report.js';

export type { CloudEvent, EventVerdict, ImpactReport, MetricReport, ReportStatus };

/** A metric as the API shows it (GET /v1/metrics): a saved provider query on a connection. */
export type Metric = Omit<StoredMetric, 'org_id'>;

/** POST /v1/events: the ids stored now, and those already stored (a retry, nothing changed). */
export interface IngestResult {
  accepted: string[];
  duplicates: string[];
}

/** One line of the impact timeline (GET /v1/impact). */
export interface ImpactSummary {
  id: string;
  source: string;
  type: string;
  subject: string | null;
  version: string | null;
  /** RFC 3339. */
  time: string;
  status: ReportStatus;
  verdict: EventVerdict | null;
  /** The metric that decided the verdict, when there is one. */
  worst_metric: Record<string, unknown> | null;
}

/** One page of results; pass `next_cursor` back as `cursor` for the next. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Filters of the impact timeline. */
export interface ImpactFilters {
  subject?: string;
  /** `deployment` also matches `dev.opstrails.deployment`. */
  type?: string;
  since?: string | Date;
  until?: string | Date;
  verdict?: EventVerdict;
  /** 1 to 500 (default 50). */
  limit?: number;
  cursor?: string;
}

/** Options of getImpact. */
export interface ImpactOptions {
  /** The event's source, when several sources share the id. */
  source?: string;
  /**
   * Ad-hoc windows (ISO 8601 like PT90M, or 90m, 2h): the report is computed on stored data for
   * these windows instead of read as stored; it is pending while their data is fetched.
   */
  before?: string;
  after?: string;
  gap?: string;
}

/** Filters of the event list (GET /v1/events), newest first. */
export interface EventFilters {
  subject?: string;
  /** `deployment` also matches `dev.opstrails.deployment`. */
  type?: string;
  source?: string;
  since?: string | Date;
  until?: string | Date;
  /** 1 to 1,000 (default 100). */
  limit?: number;
  cursor?: string;
}

/** One stored point of a metric series: the bucket start (epoch ms), its value and, for ratios, its weight. */
export interface SeriesPoint {
  ts: number;
  value: number;
  weight?: number;
}

/** The points stored for one series of a metric in a window (GET /v1/metrics/{id}/series). */
export interface MetricSeries {
  /** The series key: the metric's query with the template values filled in. */
  series: string;
  /** RFC 3339. */
  from: string;
  to: string;
  points: SeriesPoint[];
}

/** Which stored series and window getMetricSeries reads. */
export interface SeriesWindow {
  /** Default: an hour before `to`. */
  from?: string | Date;
  /** Default: now (the service's clock). */
  to?: string | Date;
  /** Template values of the series (`{{subject}}`, `{{version}}`, `{{service}}` in the query). */
  subject?: string;
  version?: string;
  service?: string;
}

/** How a connection's fetching goes, from the scheduler. */
export interface ConnectionHealth {
  /** RFC 3339, or null when no fetch succeeded yet. */
  last_success: string | null;
  last_error: { at: string; code: string; message: string } | null;
  rate_limit: {
    limit: number | null;
    remaining: number | null;
    reset_at: string | null;
    paused_until: string | null;
  } | null;
  queued_jobs: number;
}

/** A connection to a provider as the API shows it: its config, never its secrets. */
export interface Connection {
  id: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  status: 'unchecked' | 'ok' | 'failing';
  status_message: string | null;
  checked_at: string | null;
  created_at: string;
  updated_at: string;
  /** Absent when the service runs no scheduler. */
  health?: ConnectionHealth;
}

/** Options of waitForReport. */
export interface WaitOptions {
  /** Give up (an OpsTrailsError with code `timeout`) after this long. */
  timeoutMs: number;
  /** The event's source, when several sources share the id. */
  source?: string;
  /** The wait between polls when the service gives no Retry-After, and after a failed poll (default 10 s). */
  pollIntervalMs?: number;
  /** Told after each poll that is not final, with the wait before the next. */
  onPoll?: (report: ImpactReport, nextPollMs: number) => void;
}

/** Options of sendBatch. */
export interface BatchOptions {
  /** Events per request, at most 1,000 (the API's limit; default 1,000). */
  batchSize?: number;
}
