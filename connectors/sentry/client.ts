// Sentry HTTP client: one authenticated GET against /api/0/, rate-limit headers
// reported to the scheduler, and Sentry's 429 retry hints turned into seconds.
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../types.js';
import { parseRetryAfter, redactHeaders, requestJson, type JsonResponse } from '../http.js';

/** Query parameters in order; repeated keys (project, environment) are allowed. */
export type Params = ReadonlyArray<readonly [string, string]>;

export interface SentryClientOptions {
  baseUrl: URL;
  token: string;
  timeoutMs: number;
  deps: ConnectorDeps;
}

/** Build the URL of an /api/0/ path with its query string. */
export function apiUrl(baseUrl: URL, path: string, params: Params = []): string {
  const url = new URL(baseUrl.href);
  // A bare host keeps pathname "/", so trim before appending.
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/0/${path}`;
  for (const [k, v] of params) url.searchParams.append(k, v);
  return url.href;
}

/** The headers of every request; `redacted` for dry runs. */
export function requestHeaders(token: string, redacted = false): Record<string, string> {
  const headers = { accept: 'application/json', authorization: `Bearer ${token}` };
  return redacted ? redactHeaders(headers, ['authorization']) : headers;
}

/** Rate-limit state from Sentry's X-Sentry-Rate-Limit-* headers (Reset is epoch seconds). */
export function rateLimitFromHeaders(headers: Headers, nowMs: number): RateLimitInfo | undefined {
  const num = (name: string) => {
    const raw = headers.get(name);
    const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(n) ? n : undefined;
  };
  const limit = num('x-sentry-rate-limit-limit');
  const remaining = num('x-sentry-rate-limit-remaining');
  const reset = num('x-sentry-rate-limit-reset');
  const retryAfter = parseRetryAfter(headers.get('retry-after'), nowMs);
  if (limit === undefined && remaining === undefined && reset === undefined && retryAfter === undefined)
    return undefined;
  const info: RateLimitInfo = {};
  if (limit !== undefined) info.limit = limit;
  if (remaining !== undefined) info.remaining = remaining;
  if (reset !== undefined) info.resetSeconds = Math.max(0, Math.ceil(reset - nowMs / 1000));
  if (retryAfter !== undefined) info.retryAfterSeconds = retryAfter;
  return info;
}

/** Sentry error bodies are `{"detail": "..."}` (sometimes `{"detail": {"message": ...}}`). */
export function describeSentryError(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object')
    return typeof body === 'string' && body ? body.slice(0, 300) : undefined;
  const detail = (body as { detail?: unknown }).detail;
  if (typeof detail === 'string') return detail;
  if (detail && typeof detail === 'object' && typeof (detail as { message?: unknown }).message === 'string') {
    return (detail as { message: string }).message;
  }
  // DRF field errors: {"yAxis": ["..."]}
  const first = Object.entries(body as Record<string, unknown>).find(
    ([, v]) => Array.isArray(v) && typeof v[0] === 'string',
  );
  return first ? `${first[0]}: ${(first[1] as string[])[0]}` : undefined;
}

/** One authenticated GET; throws ConnectorError. */
export async function sentryGet<T>(
  opts: SentryClientOptions,
  path: string,
  params: Params,
  signal?: AbortSignal,
): Promise<JsonResponse<T>> {
  const { deps } = opts;
  let lastHeaders: Headers | undefined;
  // Wrap fetch so the rate-limit headers are seen on every answer, errors included
  // (requestJson throws on 429 before we could read them otherwise).
  const fetchAndObserve: typeof globalThis.fetch = async (input, init) => {
    const res = await deps.fetch(input, init);
    lastHeaders = res.headers;
    const info = rateLimitFromHeaders(res.headers, deps.now());
    if (info) deps.onRateLimit?.(info);
    return res;
  };
  try {
    return await requestJson<T>(
      { fetch: fetchAndObserve, now: deps.now },
      { method: 'GET', url: apiUrl(opts.baseUrl, path, params), headers: requestHeaders(opts.token) },
      { provider: 'Sentry', timeoutMs: opts.timeoutMs, signal, describeError: describeSentryError },
    );
  } catch (err) {
    // Sentry's API rate limiter sends no Retry-After; its reset instant is the hint.
    if (
      err instanceof ConnectorError &&
      err.code === 'rate_limited' &&
      err.retryAfterSeconds === undefined &&
      lastHeaders
    ) {
      const info = rateLimitFromHeaders(lastHeaders, deps.now());
      if (info?.resetSeconds !== undefined) {
        throw new ConnectorError('rate_limited', err.message, {
          status: err.status,
          retryAfterSeconds: info.resetSeconds,
          cause: err,
        });
      }
    }
    throw err;
  }
}
