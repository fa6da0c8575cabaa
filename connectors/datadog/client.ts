// Datadog HTTP through the official client: a per-connection configuration
// whose HttpLibrary sends through deps.fetch (timeouts, abort, replay servers,
// rate-limit headers) and never retries — the scheduler owns retries.
import { client } from '@datadog/datadog-api-client';
import { errorMessage, parseRetryAfter } from '../http.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../types.js';

/** What the last answer of one call said, for error mapping after the client has parsed it. */
export interface CallState {
  status?: number;
  headers?: Record<string, string>;
}

function toNumber(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Datadog's X-RateLimit-* headers (limit, period, remaining, reset in seconds, name). */
export function readRateLimit(
  headers: Record<string, string>,
  status: number,
  nowMs: number,
): RateLimitInfo | undefined {
  const limit = toNumber(headers['x-ratelimit-limit']);
  const remaining = toNumber(headers['x-ratelimit-remaining']);
  const resetSeconds = toNumber(headers['x-ratelimit-reset']);
  const retryAfter =
    status === 429 ? (resetSeconds ?? parseRetryAfter(headers['retry-after'] ?? null, nowMs)) : undefined;
  if (limit === undefined && remaining === undefined && resetSeconds === undefined && retryAfter === undefined)
    return undefined;
  return { limit, remaining, resetSeconds, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) };
}

/**
 * The client's transport: one fetch per request with our timeout and the caller's
 * signal, the whole body read inside the timeout, headers reported to onRateLimit.
 */
class FetchHttpLibrary implements client.HttpLibrary {
  // The client copies its retry settings onto the library; this one ignores them on purpose.
  enableRetry = false;
  maxRetries = 0;

  constructor(
    private readonly deps: ConnectorDeps,
    private readonly timeoutMs: number,
    private readonly state: CallState,
    private readonly signal?: AbortSignal,
  ) {}

  async send(request: client.RequestContext): Promise<client.ResponseContext> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    const body = request.getBody();
    if (body !== undefined && typeof body !== 'string') {
      // Only the JSON endpoints are used; form-data bodies would need another path.
      throw new ConnectorError('invalid_config', 'Datadog request body of an unsupported type');
    }
    let text: string;
    let res: Response;
    try {
      res = await this.deps.fetch(request.getUrl(), {
        method: request.getHttpMethod(),
        headers: request.getHeaders(),
        body,
        signal,
      });
      text = await res.text();
    } catch (err) {
      // The egress policy's refusals (connectors/egress.ts) are ConnectorErrors already.
      if (err instanceof ConnectorError) throw err;
      if (timeout.aborted)
        throw new ConnectorError('timeout', `Datadog did not answer within ${this.timeoutMs} ms`, { cause: err });
      if (this.signal?.aborted) throw err;
      throw new ConnectorError('unavailable', `Datadog could not be reached: ${errorMessage(err)}`, { cause: err });
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
    this.state.status = res.status;
    this.state.headers = headers;
    const info = readRateLimit(headers, res.status, this.deps.now());
    if (info) {
      this.deps.onRateLimit?.(info);
      this.deps.logger.debug(
        {
          provider: 'datadog',
          rate_limit: headers['x-ratelimit-name'],
          period: headers['x-ratelimit-period'],
          ...info,
        },
        'Datadog rate-limit headers',
      );
    }
    return new client.ResponseContext(res.status, headers, {
      text: async () => text,
      binary: async () => Buffer.from(text, 'utf8'),
    });
  }
}

/** A client configuration for one call of one connection: its own server, keys and transport. */
export function datadogConfiguration(opts: {
  baseUrl: string;
  apiKey: string;
  appKey: string;
  deps: ConnectorDeps;
  timeoutMs: number;
  state: CallState;
  signal?: AbortSignal;
}): client.Configuration {
  return client.createConfiguration({
    // baseServer wins over the module-level servers that DD_SITE mutates.
    baseServer: new client.BaseServerConfiguration(opts.baseUrl, {}),
    // Both keys are always given, so DD_API_KEY / DD_APP_KEY from the environment are never read.
    authMethods: { apiKeyAuth: opts.apiKey, appKeyAuth: opts.appKey },
    httpApi: new FetchHttpLibrary(opts.deps, opts.timeoutMs, opts.state, opts.signal),
    enableRetry: false,
    httpConfig: { compress: false },
  });
}

function errorsOf(body: unknown): string | undefined {
  if (body && typeof body === 'object' && Array.isArray((body as { errors?: unknown }).errors)) {
    return (body as { errors: unknown[] }).errors.map(String).join('; ');
  }
  if (typeof body === 'string' && body.length > 0) return body.slice(0, 300);
  return undefined;
}

/** Turn whatever the client threw into a ConnectorError (status from the client, retry hint from X-RateLimit-Reset). */
export function toConnectorError(err: unknown, state: CallState, nowMs: number): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof client.ApiException) {
    const status = err.code;
    const detail = errorsOf(err.body)?.replace(/^Unknown API Status Code!\s*/, '') ?? `HTTP ${status}`;
    const message = `Datadog: ${detail}`;
    if (status === 401 || status === 403) return new ConnectorError('auth_failed', message, { status });
    if (status === 429) {
      const info = readRateLimit(state.headers ?? {}, 429, nowMs);
      return new ConnectorError('rate_limited', message, { status, retryAfterSeconds: info?.retryAfterSeconds });
    }
    if (status === 408 || status === 504) return new ConnectorError('timeout', message, { status });
    if (status >= 500) return new ConnectorError('unavailable', message, { status });
    if (status >= 200 && status < 300) return new ConnectorError('bad_response', message, { status });
    return new ConnectorError('bad_query', message, { status });
  }
  // The client's deserializer throws plain errors on bodies that do not match the documented models.
  const reason = err instanceof Error ? err.message : String(err);
  return new ConnectorError('bad_response', `Datadog answered with a body the client could not read: ${reason}`, {
    cause: err,
    status: state.status,
  });
}
