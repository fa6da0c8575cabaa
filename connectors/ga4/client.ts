// GA4 Data API client: @google-analytics/data in REST (fallback) mode for request
// encoding and response decoding, with its transport routed through deps.fetch
// so auth, timeouts, cancellation and status-to-error mapping are ours.
import { AsyncLocalStorage } from 'node:async_hooks';
import { BetaAnalyticsDataClient } from '@google-analytics/data';
import { parseRetryAfter } from '../http.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../types.js';
import type { TokenSource } from './auth.js';
import type { FilterExpression } from './schema.js';

/** A runReport request in the documented REST JSON shape. */
export interface RunReportRequest {
  dateRanges: { startDate: string; endDate: string }[];
  dimensions: { name: string }[];
  metrics: { name: string }[];
  dimensionFilter?: FilterExpression;
  orderBys: { dimension: { dimensionName: string } }[];
  keepEmptyRows: boolean;
  limit: number;
  offset: number;
  returnPropertyQuota: boolean;
}

interface QuotaStatus {
  consumed?: number | null;
  remaining?: number | null;
}

/** The part of a decoded RunReportResponse the connector reads. */
export interface RunReportResponse {
  dimensionHeaders?: { name?: string | null }[] | null;
  metricHeaders?: { name?: string | null; type?: string | null }[] | null;
  rows?:
    | { dimensionValues?: { value?: string | null }[] | null; metricValues?: { value?: string | null }[] | null }[]
    | null;
  rowCount?: number | null;
  metadata?: {
    currencyCode?: string | null;
    timeZone?: string | null;
    subjectToThresholding?: boolean | null;
    samplingMetadatas?: unknown[] | null;
  } | null;
  propertyQuota?: {
    tokensPerDay?: QuotaStatus | null;
    tokensPerHour?: QuotaStatus | null;
    tokensPerProjectPerHour?: QuotaStatus | null;
    concurrentRequests?: QuotaStatus | null;
  } | null;
}

/** The part of the property metadata the connector reads. */
export interface PropertyMetadata {
  dimensions?: { apiName?: string | null }[] | null;
  metrics?: { apiName?: string | null; type?: string | null }[] | null;
}

/** Rate-limit info with GA4's token buckets and concurrency spelled out. */
export interface Ga4RateLimitInfo extends RateLimitInfo {
  tokensPerHourRemaining?: number;
  tokensPerDayRemaining?: number;
  tokensPerProjectPerHourRemaining?: number;
  concurrentRequestsRemaining?: number;
}

/** Per-call state the transport needs (the caller's abort signal). */
const callContext = new AsyncLocalStorage<{ signal?: AbortSignal }>();

/** The wire request the client library sends for a report (used by dry runs). */
export const ENUM_ENCODING_QUERY = '$alt=json%3Benum-encoding=int';

export interface Ga4ClientOptions {
  endpoint: URL;
  propertyId: string;
  tokens: TokenSource;
  deps: ConnectorDeps;
  timeoutMs: number;
}

/** One property's Data API access. */
export class Ga4Client {
  private readonly api: BetaAnalyticsDataClient;
  private readonly port: number;

  constructor(private readonly opts: Ga4ClientOptions) {
    const { endpoint } = opts;
    this.port = endpoint.port ? Number(endpoint.port) : endpoint.protocol === 'http:' ? 80 : 443;
    this.api = new BetaAnalyticsDataClient({
      fallback: true,
      apiEndpoint: endpoint.hostname,
      port: this.port,
      protocol: endpoint.protocol.replace(':', ''),
      // gax calls `auth.fetch(url, init)` for every request in REST mode; this
      // bridge is the whole transport (it is not a google-auth-library client).
      auth: transport(opts) as never,
    } as ConstructorParameters<typeof BetaAnalyticsDataClient>[0]);
  }

  /** The URL the client library calls for `method` (runReport or metadata). */
  url(method: 'runReport' | 'metadata'): string {
    const { endpoint, propertyId } = this.opts;
    const path = method === 'runReport' ? `properties/${propertyId}:runReport` : `properties/${propertyId}/metadata`;
    return `${endpoint.protocol}//${endpoint.hostname}:${this.port}/v1beta/${path}?${ENUM_ENCODING_QUERY}`;
  }

  /** POST /v1beta/properties/{id}:runReport. */
  async runReport(request: RunReportRequest, signal?: AbortSignal): Promise<RunReportResponse> {
    const [res] = await this.call(signal, () =>
      this.api.runReport({ property: `properties/${this.opts.propertyId}`, ...request } as never),
    );
    return res as RunReportResponse;
  }

  /** GET /v1beta/properties/{id}/metadata: the dimensions and metrics that exist. */
  async getMetadata(signal?: AbortSignal): Promise<PropertyMetadata> {
    const [res] = await this.call(signal, () =>
      this.api.getMetadata({ name: `properties/${this.opts.propertyId}/metadata` }),
    );
    return res as PropertyMetadata;
  }

  private async call<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await callContext.run({ signal }, run);
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      if (signal?.aborted) throw err;
      // Transport and status errors are ConnectorErrors already; what is left is
      // the library failing to decode the body as the documented message.
      throw new ConnectorError('bad_response', 'GA4 answered with a body that is not a documented Data API response', {
        cause: err,
      });
    }
  }
}

/** The fetch-shaped transport handed to gax. */
function transport(opts: Ga4ClientOptions) {
  const { deps, tokens, timeoutMs } = opts;
  return {
    // gax only checks that this exists before using `fetch` below.
    async getRequestHeaders(): Promise<Headers> {
      return new Headers({ authorization: `Bearer ${await tokens.token()}` });
    },
    async fetch(url: string, init: { method?: string; headers?: HeadersInit; body?: BodyInit; signal?: AbortSignal }) {
      const caller = callContext.getStore()?.signal;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = AbortSignal.any([timeout, ...(init.signal ? [init.signal] : []), ...(caller ? [caller] : [])]);
      const cut = (err: unknown, what: string): unknown => {
        // The egress policy's refusals (connectors/egress.ts) are ConnectorErrors already.
        if (err instanceof ConnectorError) return err;
        if (timeout.aborted)
          return new ConnectorError('timeout', `GA4 did not answer within ${timeoutMs} ms`, { cause: err });
        if (signal.aborted) return err;
        return new ConnectorError('unavailable', `GA4 ${what}`, { cause: err });
      };
      const token = await tokens.token(signal);
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      let res: Response;
      let body: ArrayBuffer;
      try {
        res = await deps.fetch(url, { method: init.method, headers, body: init.body, signal });
      } catch (err) {
        throw cut(err, 'could not be reached');
      }
      try {
        // Read the whole body here so the timeout covers it too.
        body = await res.arrayBuffer();
      } catch (err) {
        throw cut(err, 'response was cut off');
      }
      if (!res.ok) throw googleError(res.status, res.headers, new TextDecoder().decode(body), deps);
      return new Response(body, { status: res.status, headers: res.headers });
    },
  };
}

/** Map a Google API error (`{error: {code, message, status, details}}`) to a ConnectorError. */
function googleError(status: number, headers: Headers, text: string, deps: ConnectorDeps): ConnectorError {
  let error: { message?: unknown; status?: unknown; details?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error }).error;
  } catch {
    // Not Google's JSON error (a proxy's page): the HTTP status alone describes it.
    error = undefined;
  }
  const gStatus = typeof error?.status === 'string' ? error.status : undefined;
  const detail = typeof error?.message === 'string' ? `: ${error.message.slice(0, 300)}` : '';
  const message = `GA4: ${gStatus ?? `HTTP ${status}`}${detail}`;
  if (status === 401 || status === 403 || gStatus === 'UNAUTHENTICATED' || gStatus === 'PERMISSION_DENIED') {
    return new ConnectorError('auth_failed', message, { status });
  }
  if (status === 429 || gStatus === 'RESOURCE_EXHAUSTED') {
    const retryAfterSeconds =
      parseRetryAfter(headers.get('retry-after'), deps.now()) ?? retryInfoSeconds(error?.details);
    deps.onRateLimit?.({ remaining: 0, retryAfterSeconds });
    return new ConnectorError('rate_limited', message, { status, retryAfterSeconds });
  }
  if (status === 408 || status === 504 || gStatus === 'DEADLINE_EXCEEDED') {
    return new ConnectorError('timeout', message, { status });
  }
  if (status >= 500) return new ConnectorError('unavailable', message, { status });
  return new ConnectorError('bad_query', message, { status });
}

/** Seconds of a `google.rpc.RetryInfo` detail (`retryDelay: "7s"`), if present. */
function retryInfoSeconds(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const d of details) {
    if (
      d &&
      typeof d === 'object' &&
      String((d as Record<string, unknown>)['@type']).endsWith('google.rpc.RetryInfo')
    ) {
      const delay = (d as { retryDelay?: unknown }).retryDelay;
      const secs = typeof delay === 'string' ? Number.parseFloat(delay) : NaN;
      if (Number.isFinite(secs)) return Math.max(0, Math.ceil(secs));
    }
  }
  return undefined;
}

/** The remaining token budget and concurrency from a report's `propertyQuota`. */
export function quotaInfo(quota: RunReportResponse['propertyQuota']): Ga4RateLimitInfo | undefined {
  if (!quota) return undefined;
  const left = (q?: QuotaStatus | null) => (typeof q?.remaining === 'number' ? q.remaining : undefined);
  const info: Ga4RateLimitInfo = {
    tokensPerHourRemaining: left(quota.tokensPerHour),
    tokensPerDayRemaining: left(quota.tokensPerDay),
    tokensPerProjectPerHourRemaining: left(quota.tokensPerProjectPerHour),
    concurrentRequestsRemaining: left(quota.concurrentRequests),
  };
  const tokenBuckets = [info.tokensPerHourRemaining, info.tokensPerDayRemaining, info.tokensPerProjectPerHourRemaining];
  const known = tokenBuckets.filter((n): n is number => n !== undefined);
  if (known.length === 0 && info.concurrentRequestsRemaining === undefined) return undefined;
  // The tightest token bucket is the one that will refuse the next request.
  if (known.length > 0) info.remaining = Math.min(...known);
  return info;
}
