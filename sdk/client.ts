// The public API as functions: send events (one, or any number in batches the
// API accepts), read an event's impact report or the timeline, wait for a report
// to be final, and read events, metrics, their stored series and connections.
// Ingest is idempotent by (source, id) and the rest only reads, so every call retries.
import { OpsTrailsError, type ProblemFieldError } from './errors.js';
import { createTransport, retryAfterSeconds, type ApiRequest, type ClientOptions } from './transport.js';
import type {
  BatchOptions,
  CloudEvent,
  Connection,
  EventFilters,
  ImpactFilters,
  ImpactOptions,
  ImpactReport,
  ImpactSummary,
  IngestResult,
  Metric,
  MetricSeries,
  Page,
  SeriesWindow,
  WaitOptions,
} from './types.js';

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
/** Most events one batch request may carry (the API's limit). */
export const MAX_BATCH = 1000;
/** Most bytes one batch request carries: under the API's 1 MiB body limit, with room to spare. */
const MAX_BATCH_BYTES = 1_000_000;
/** Report statuses after which nothing more is awaited. */
const FINAL = new Set(['ready', 'partial', 'failed']);
/** The shortest wait between two polls, whatever Retry-After says. */
const MIN_POLL_MS = 1000;

export interface OpsTrailsClient {
  /** Send one event (structured mode). A retry of a stored event comes back under `duplicates`. */
  sendEvent(event: CloudEvent): Promise<IngestResult>;
  /**
   * Send any number of events, in requests of at most 1,000 events and 1 MB, one after another.
   * If a request fails for good, the requests before it are stored; sending all again is safe.
   */
  sendBatch(events: CloudEvent[], options?: BatchOptions): Promise<IngestResult>;
  /** An event's impact report as it stands (it may be pending); with ad-hoc windows, computed for those. */
  getImpact(eventId: string, options?: ImpactOptions): Promise<ImpactReport>;
  /** One page of the impact timeline, newest first. */
  listImpacts(filters?: ImpactFilters): Promise<Page<ImpactSummary>>;
  /** One page of events, newest first. */
  listEvents(filters?: EventFilters): Promise<Page<CloudEvent>>;
  /** One event as sent (the newest, when several sources share the id and no source is given). */
  getEvent(eventId: string, options?: { source?: string }): Promise<CloudEvent>;
  /** The org's metrics (the API does not page them), optionally those of one connection. */
  listMetrics(options?: { connectionId?: string }): Promise<Metric[]>;
  /** One metric. */
  getMetric(metricId: string): Promise<Metric>;
  /** The points stored for a metric series in a window (the API refuses windows over 10,000 buckets). */
  getMetricSeries(metricId: string, window?: SeriesWindow): Promise<MetricSeries>;
  /** The org's connections with their health; never their secrets. */
  listConnections(): Promise<Connection[]>;
  /**
   * Poll an event's report until it is ready, partial or failed; throws a `timeout` error past
   * `timeoutMs`. Polls that fail for a retryable reason (the service restarting) are retried until then.
   */
  waitForReport(eventId: string, options: WaitOptions): Promise<ImpactReport>;
}

/** A client for one service and one API key. */
export function createClient(options: ClientOptions): OpsTrailsClient {
  const http = createTransport(options);

  async function post(body: string, contentType: string): Promise<IngestResult> {
    const req: ApiRequest = { method: 'POST', path: '/v1/events', body, headers: { 'content-type': contentType } };
    return http.json<IngestResult>(await http.request(req), req);
  }

  const impactRequest = (eventId: string, query: ImpactOptions, etag?: string): ApiRequest => ({
    method: 'GET',
    path: `/v1/events/${encodeURIComponent(eventId)}/impact`,
    query: { source: query.source, before: query.before, after: query.after, gap: query.gap },
    headers: etag ? { 'if-none-match': etag } : {},
  });

  async function get<T>(path: string, query?: ApiRequest['query']): Promise<T> {
    const req: ApiRequest = { method: 'GET', path, query };
    return http.json<T>(await http.request(req), req);
  }

  return {
    sendEvent: (event) => post(JSON.stringify(event), STRUCTURED),

    async sendBatch(events, batchOptions = {}) {
      const size = Math.min(MAX_BATCH, Math.max(1, Math.floor(batchOptions.batchSize ?? MAX_BATCH)));
      const result: IngestResult = { accepted: [], duplicates: [] };
      for (const chunk of chunks(events, size)) {
        let answer: IngestResult;
        try {
          answer = await post(`[${chunk.json.join(',')}]`, BATCH);
        } catch (err) {
          const split = chunk.json.length < events.length;
          throw split && err instanceof OpsTrailsError ? inBatch(err, chunk.offset, chunk.json.length, result) : err;
        }
        result.accepted.push(...answer.accepted);
        result.duplicates.push(...answer.duplicates);
      }
      return result;
    },

    async getImpact(eventId, options = {}) {
      const req = impactRequest(eventId, options);
      return http.json<ImpactReport>(await http.request(req), req);
    },

    listImpacts: (filters = {}) =>
      get<Page<ImpactSummary>>('/v1/impact', {
        subject: filters.subject,
        type: filters.type,
        since: instant(filters.since),
        until: instant(filters.until),
        verdict: filters.verdict,
        limit: filters.limit,
        cursor: filters.cursor,
      }),

    listEvents: (filters = {}) =>
      get<Page<CloudEvent>>('/v1/events', {
        subject: filters.subject,
        type: filters.type,
        source: filters.source,
        since: instant(filters.since),
        until: instant(filters.until),
        limit: filters.limit,
        cursor: filters.cursor,
      }),

    getEvent: (eventId, { source } = {}) => get<CloudEvent>(`/v1/events/${encodeURIComponent(eventId)}`, { source }),

    async listMetrics({ connectionId } = {}) {
      return (await get<{ items: Metric[] }>('/v1/metrics', { connection_id: connectionId })).items;
    },

    getMetric: (metricId) => get<Metric>(`/v1/metrics/${encodeURIComponent(metricId)}`),

    getMetricSeries: (metricId, window = {}) =>
      get<MetricSeries>(`/v1/metrics/${encodeURIComponent(metricId)}/series`, {
        from: instant(window.from),
        to: instant(window.to),
        subject: window.subject,
        version: window.version,
        service: window.service,
      }),

    async listConnections() {
      return (await get<{ items: Connection[] }>('/v1/connections')).items;
    },

    async waitForReport(eventId, wait) {
      const deadline = http.now() + wait.timeoutMs;
      const pollIntervalMs = wait.pollIntervalMs ?? 10_000;
      let report: ImpactReport | undefined;
      let etag: string | undefined;
      for (;;) {
        const req = impactRequest(eventId, { source: wait.source }, etag);
        let res;
        try {
          res = await http.request(req);
        } catch (err) {
          // A long wait outlives a restart of the service: keep polling until the deadline.
          if (!(err instanceof OpsTrailsError && err.retryable)) throw err;
          const remaining = deadline - http.now();
          if (remaining <= 0) throw err;
          const afterError = err.retryAfterSeconds === undefined ? pollIntervalMs : err.retryAfterSeconds * 1000;
          await http.sleep(Math.min(Math.max(MIN_POLL_MS, afterError), remaining));
          continue;
        }
        // 304: unchanged since the last poll; the report held is still the answer.
        if (res.status !== 304 || !report) {
          report = http.json<ImpactReport>(res, req);
          etag = res.headers.get('etag') ?? undefined;
        }
        if (FINAL.has(report.status)) return report;
        const remaining = deadline - http.now();
        if (remaining <= 0) {
          const awaiting = report.awaiting?.length ? ` (awaiting ${report.awaiting.join('; ')})` : '';
          throw new OpsTrailsError({
            code: 'timeout',
            detail: `the report of event ${eventId} is still ${report.status} after ${formatMs(wait.timeoutMs)}${awaiting}`,
            retryable: true,
          });
        }
        const retryAfter = retryAfterSeconds(res.headers.get('retry-after'), http.now());
        const interval = retryAfter === undefined ? pollIntervalMs : retryAfter * 1000;
        // Never past the deadline: one last poll there decides between the report and a timeout.
        const nextPollMs = Math.min(Math.max(MIN_POLL_MS, interval), remaining);
        wait.onPoll?.(report, nextPollMs);
        await http.sleep(nextPollMs);
      }
    },
  };
}

/** An instant as the API takes it (RFC 3339). */
const instant = (v: string | Date | undefined) => (v instanceof Date ? v.toISOString() : v);

/** Events as JSON in consecutive runs of at most `size` events and MAX_BATCH_BYTES bytes. */
function* chunks(events: CloudEvent[], size: number): Generator<{ offset: number; json: string[] }> {
  let json: string[] = [];
  let bytes = 2;
  let offset = 0;
  for (let i = 0; i < events.length; i++) {
    const one = JSON.stringify(events[i]);
    const length = Buffer.byteLength(one) + 1;
    if (json.length > 0 && (json.length >= size || bytes + length > MAX_BATCH_BYTES)) {
      yield { offset, json };
      offset = i;
      json = [];
      bytes = 2;
    }
    json.push(one);
    bytes += length;
  }
  if (json.length > 0) yield { offset, json };
}

/** A batch request's error restated for the whole list: field errors point at the caller's indices. */
function inBatch(err: OpsTrailsError, offset: number, count: number, stored: IngestResult): OpsTrailsError {
  const shift = (e: ProblemFieldError): ProblemFieldError => ({
    ...e,
    ...(e.index === undefined ? {} : { index: e.index + offset }),
    ...(e.pointer === undefined ? {} : { pointer: e.pointer.replace(/^\/(\d+)/, (_, i) => `/${Number(i) + offset}`) }),
  });
  const before =
    offset > 0
      ? `; events 0–${offset - 1} were sent (${stored.accepted.length} stored), sending all again is safe`
      : '';
  return new OpsTrailsError({
    code: err.code,
    status: err.status,
    title: err.title,
    type: err.type,
    detail: `events ${offset}–${offset + count - 1}: ${err.detail}${before}`,
    errors: err.errors.map(shift),
    retryable: err.retryable,
    retryAfterSeconds: err.retryAfterSeconds,
    problem: err.problem,
    cause: err,
  });
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
