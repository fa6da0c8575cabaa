// Shared HTTP helpers for connectors: base URLs checked by the egress policy
// (no SSRF through a base URL), one JSON request with timeout and
// status-to-error mapping, window chunking.
import { admitUrl } from './egress.js';
import { ConnectorError, type ConnectorDeps, type FetchWindow, type HostPolicy } from './types.js';

/**
 * Resolve a connection's API location. `baseUrl` overrides `defaultUrl`. The
 * egress policy (connectors/egress.ts) decides: an official host (exact, or a
 * subdomain when the entry starts with ".") only over https on the default
 * port; any other host only when the operator lists it, unless the policy
 * allows any host (tests). Errors name `field`.
 */
export function resolveBaseUrl(
  baseUrl: string | undefined,
  defaultUrl: string,
  officialHosts: readonly string[],
  policy: HostPolicy,
  field = 'base_url',
): URL {
  let url: URL;
  try {
    url = new URL(baseUrl ?? defaultUrl);
  } catch (err) {
    throw new ConnectorError('invalid_config', `${field} is not a valid URL`, { cause: err });
  }
  admitUrl(url, { ...policy, officialHosts }, field);
  if (!baseUrl && url.protocol !== 'https:') {
    throw new ConnectorError('invalid_config', 'default provider URL must be https');
  }
  return url;
}

/**
 * A base URL as a prefix for absolute API paths: origin plus path without a
 * trailing slash ("https://host" or "https://host/prefix"). A URL object always
 * keeps at least "/" as its path, so `${url}${'/api/...'}` would double the slash.
 */
export function apiRoot(url: URL): string {
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Seconds from a Retry-After header (delta seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export interface JsonRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  /** Form-encoded body instead of JSON. */
  form?: Record<string, string>;
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Send one request and parse JSON. Maps transport failures and HTTP statuses to
 * ConnectorError (401/403 auth_failed, 429 rate_limited with Retry-After,
 * 400/404/422 bad_query, 5xx unavailable, abort by timeout → timeout).
 * `describeError` turns a provider error body into a message (no secrets).
 */
export async function requestJson<T = unknown>(
  deps: Pick<ConnectorDeps, 'fetch' | 'now'>,
  req: JsonRequest,
  opts: {
    provider: string;
    timeoutMs: number;
    signal?: AbortSignal;
    describeError?: (body: unknown, status: number) => string | undefined;
  },
): Promise<JsonResponse<T>> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let body: string | undefined;
  if (req.form) {
    body = new URLSearchParams(req.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (req.body !== undefined) {
    body = JSON.stringify(req.body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await deps.fetch(req.url, { method: req.method, headers, body, signal });
  } catch (err) {
    // The egress policy's refusals (connectors/egress.ts) are ConnectorErrors already.
    if (err instanceof ConnectorError) throw err;
    if (timeout.aborted) {
      throw new ConnectorError('timeout', `${opts.provider} did not answer within ${opts.timeoutMs} ms`, {
        cause: err,
      });
    }
    if (opts.signal?.aborted) throw err;
    throw new ConnectorError('unavailable', `${opts.provider} could not be reached: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    if (timeout.aborted) throw new ConnectorError('timeout', `${opts.provider} response timed out`, { cause: err });
    throw new ConnectorError('unavailable', `${opts.provider} response was cut off`, { cause: err });
  }
  let parsed: unknown = undefined;
  let parseFailed = false;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: a provider's or a proxy's error page; the status decides below.
      parseFailed = true;
    }
  }
  if (!res.ok) {
    const detail = (parsed !== undefined && opts.describeError?.(parsed, res.status)) || `HTTP ${res.status}`;
    const message = `${opts.provider}: ${detail}`;
    if (res.status === 401 || res.status === 403)
      throw new ConnectorError('auth_failed', message, { status: res.status });
    if (res.status === 429) {
      throw new ConnectorError('rate_limited', message, {
        status: 429,
        retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after'), deps.now()),
      });
    }
    if (res.status === 408 || res.status === 504) throw new ConnectorError('timeout', message, { status: res.status });
    if (res.status >= 500) throw new ConnectorError('unavailable', message, { status: res.status });
    throw new ConnectorError('bad_query', message, { status: res.status });
  }
  if (parseFailed) {
    throw new ConnectorError(
      'bad_response',
      `${opts.provider} answered HTTP ${res.status} with a body that is not JSON`,
      {
        status: res.status,
      },
    );
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/**
 * A transport failure as text for a message. fetch names a bad header's value
 * in its error ("... is an invalid header value"); request headers carry the
 * credentials, so such a message is replaced, never copied.
 */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  for (
    let e = err, depth = 0;
    e !== undefined && e !== null && depth < 2;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    parts.push(e instanceof Error ? e.message : String(e));
  }
  if (parts.some((p) => /invalid header|header (value|name)/i.test(p))) {
    return 'a request header is not valid HTTP (check the secrets for line breaks or other control characters)';
  }
  return parts.length > 1 ? `${parts[0]} (${parts[1]})` : (parts[0] ?? 'unknown error');
}

/** Floor an epoch-ms instant to the step. */
export function alignDown(ts: number, stepSeconds: number): number {
  const step = stepSeconds * 1000;
  return Math.floor(ts / step) * step;
}

/** Ceil an epoch-ms instant to the step. */
export function alignUp(ts: number, stepSeconds: number): number {
  const step = stepSeconds * 1000;
  return Math.ceil(ts / step) * step;
}

/**
 * Split [from, to) (aligned outward to the step) into consecutive windows of at
 * most `maxPoints` buckets each.
 */
export function chunkWindow(window: FetchWindow, maxPoints: number): FetchWindow[] {
  const step = window.stepSeconds * 1000;
  const from = alignDown(window.from, window.stepSeconds);
  const to = alignUp(window.to, window.stepSeconds);
  const chunks: FetchWindow[] = [];
  for (let start = from; start < to; start += maxPoints * step) {
    chunks.push({ from: start, to: Math.min(to, start + maxPoints * step), stepSeconds: window.stepSeconds });
  }
  return chunks;
}

/** Copy of headers with the named ones (case-insensitive) replaced by "[redacted]". */
export function redactHeaders(headers: Record<string, string>, secretNames: readonly string[]): Record<string, string> {
  const lower = secretNames.map((n) => n.toLowerCase());
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, lower.includes(k.toLowerCase()) ? '[redacted]' : v]),
  );
}
