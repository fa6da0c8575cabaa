// OpsTrails Impact SDK: a typed client for the public API (send events, read
// impact reports, wait for one), importable as `opstrails-impact/sdk`.
export { createClient, MAX_BATCH, type OpsTrailsClient } from './client.js';
export { OpsTrailsError, type OpsTrailsErrorCode, type Problem, type ProblemFieldError } from './errors.js';
export { DEFAULT_RETRY, type ClientOptions, type RetryPolicy } from './transport.js';
export type {
  BatchOptions,
  CloudEvent,
  EventVerdict,
  ImpactFilters,
  ImpactReport,
  ImpactSummary,
  IngestResult,
  MetricReport,
  Page,
  ReportStatus,
  WaitOptions,
} from './types.js';
