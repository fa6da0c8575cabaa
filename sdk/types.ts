// What the SDK sends and gets back. Events and reports share the service's own
// definitions (domain/); the rest mirrors the API's answers.
import type { CloudEvent } from '../domain/event.js';
import type { EventVerdict, ImpactReport, MetricReport, ReportStatus } from '../domain/report.js';

export type { CloudEvent, EventVerdict, ImpactReport, MetricReport, ReportStatus };

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
