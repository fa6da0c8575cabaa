// OpsTrails Impact SDK: a typed client for the public API (send events, read
// impact reports, wait for one, read events, metrics and connections),
// importable as `opstrails-impact/sdk`.
export { createClient, MAX_BATCH, type OpsTrailsClient } from './client.js';
export { OpsTrailsError, type OpsTrailsErrorCode, type Problem, type ProblemFieldError } from './errors.js';
export { DEFAULT_RETRY, type ClientOptions, type RetryPolicy } from './transport.js';
export type {
  BatchOptions,
  CloudEvent,
  Connection,
  ConnectionHealth,
  EventFilters,
  EventVerdict,
  ImpactFilters,
  ImpactOptions,
  ImpactReport,
  ImpactSummary,
  IngestResult,
  Metric,
  MetricReport,
  MetricSeries,
  Page,
  ReportStatus,
  SeriesPoint,
  SeriesWindow,
  WaitOptions,
} from './types.js';
