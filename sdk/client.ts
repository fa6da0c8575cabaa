// The public API as functions: send events (one, or any number in batches the
// API accepts), read an event's impact report or the timeline, and wait for a
// report to be final. Ingest is idempotent by (source, id), so every call retries.
import { OpsTrailsError, type ProblemFieldError } from './errors.js';
import { createTransport, retryAfterSeconds, type ApiRequest, type ClientOptions } from './transport.js';
import type {
  BatchOptions,
  CloudEvent,
  ImpactFilters,
  ImpactReport,
  ImpactSummary,
  IngestResult,
  Page,
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
  /** An event's impact report as it stands (it may be pending). */
  getImpact(eventId: string, options?: { source?: string }): Promise<ImpactReport>;
  /** One page of the impact timeline, newest first. */
  listImpacts(filters?: ImpactFilters): Promise<Page<ImpactSummary>>;
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

  const impactRequest = (eventId: string, source?: string, etag?: string): ApiRequest => ({
    method: 'GET',
    path: `/v1/events/${encodeURIComponent(eventId)}/impact`,
    query: { source },
    headers: etag ? { 'if-none-match': etag } : {},
  });

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

    async getImpact(eventId, { source } = {}) {
      const req = impactRequest(eventId, source);
      return http.json<ImpactReport>(await http.request(req), req);
    },

    async listImpacts(filters = {}) {
      const instant = (v: string | Date | undefined) => (v instanceof Date ? v.toISOString() : v);
      const req: ApiRequest = {
        method: 'GET',
        path: '/v1/impact',
        query: {
          subject: filters.subject,
          type: filters.type,
          since: instant(filters.since),
          until: instant(filters.until),
          verdict: filters.verdict,
          limit: filters.limit,
          cursor: filters.cursor,
        },
      };
      return http.json<Page<ImpactSummary>>(await http.request(req), req);
    },

    async waitForReport(eventId, wait) {
      const deadline = http.now() + wait.timeoutMs;
      const pollIntervalMs = wait.pollIntervalMs ?? 10_000;
      let report: ImpactReport | undefined;
      let etag: string | undefined;
      for (;;) {
        const req = impactRequest(eventId, wait.source, etag);
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
