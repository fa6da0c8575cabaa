// One API request with the key, a per-attempt timeout, and retries of what may
// succeed later (429, 5xx, no answer): exponential backoff with jitter, or the
// server's Retry-After when it gives one. Errors come out as OpsTrailsError.
import { codeOfStatus, OpsTrailsError, parseProblem, retryableStatus, scrubber } from './errors.js';

/** How failed attempts are retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  maxAttempts: number;
  /** The first backoff; each next one doubles (default 500 ms). */
  baseDelayMs: number;
  /** The longest backoff (default 20 s). */
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error is thrown (default 2 min). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 120_000,
};

/** What a client is built from; everything but `url` and `apiKey` has a default. */
export interface ClientOptions {
  /** The service, e.g. https://impact.example.com (a path prefix is kept). */
  url: string;
  /** An API key (otk_...): events:write to send, read for reports. */
  apiKey: string;
  fetch?: typeof fetch;
  /** Wait this long; tests pass one that returns at once and records. */
  sleep?: (ms: number) => Promise<void>;
  /** Epoch ms (Retry-After dates, waitForReport's deadline). */
  now?: () => number;
  /** In [0, 1): the backoff jitter. */
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Longest wait for one answer (default 30 s). */
  requestTimeoutMs?: number;
  /** Told before each retry (a CLI prints it). */
  onRetry?: (info: { attempt: number; delayMs: number; error: OpsTrailsError }) => void;
}

export interface ApiRequest {
  method: 'GET' | 'POST';
  /** Path under the service root, e.g. /v1/events. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface Transport {
  /** Send with retries; resolves with a 2xx or 304 answer, else throws OpsTrailsError. */
  request(req: ApiRequest): Promise<ApiResponse>;
  /** The body as JSON, or a bad_response error naming the request. */
  json<T>(res: ApiResponse, req: ApiRequest): T;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Remove the API key from a text (messages built outside the transport). */
  scrub: (text: string) => string;
}

/** Seconds from a Retry-After header (delta seconds or an HTTP date). */
export function retryAfterSeconds(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (value.trim() !== '' && Number.isFinite(secs)) return Math.max(0, secs);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export function createTransport(options: ClientOptions): Transport {
  const scrub = scrubber(options.apiKey ?? '');
  let root: URL;
  try {
    root = new URL(options.url);
  } catch {
    throw new OpsTrailsError({ code: 'invalid_config', detail: scrub(`not a URL: ${JSON.stringify(options.url)}`) });
  }
  if (root.protocol !== 'http:' && root.protocol !== 'https:') {
    throw new OpsTrailsError({ code: 'invalid_config', detail: 'the service URL must use http or https' });
  }
  if (root.username || root.password) {
    throw new OpsTrailsError({ code: 'invalid_config', detail: 'the service URL must not carry credentials' });
  }
  if (!options.apiKey) throw new OpsTrailsError({ code: 'invalid_config', detail: 'no API key given' });
  const base = `${root.origin}${root.pathname.replace(/\/+$/, '')}`;
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.requestTimeoutMs ?? 30_000;

  const urlOf = (req: ApiRequest) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${base}${req.path}${qs ? `?${qs}` : ''}`;
  };
  const what = (req: ApiRequest) => `${req.method} ${req.path}`;

  /** One attempt: the answer, or an error (retryable or not). */
  async function attempt(req: ApiRequest): Promise<ApiResponse | OpsTrailsError> {
    const signal = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await doFetch(urlOf(req), {
        method: req.method,
        headers: {
          accept: 'application/json, application/problem+json',
          ...req.headers,
          authorization: `Bearer ${options.apiKey}`,
        },
        body: req.body,
        signal,
      });
      text = await res.text();
    } catch (err) {
      const timedOut = signal.aborted;
      const message = scrub(describeCause(err));
      return new OpsTrailsError({
        code: timedOut ? 'timeout' : 'network',
        detail: timedOut
          ? `${what(req)}: no answer from ${base} within ${timeoutMs} ms`
          : `${what(req)}: cannot reach ${base}: ${message}`,
        retryable: true,
        // The cause is kept unless the key leaked into it (a key pasted into the URL).
        cause: message === describeCause(err) ? err : undefined,
      });
    }
    if (res.ok || res.status === 304) return { status: res.status, headers: res.headers, text };
    const problem = parseProblem(text, scrub);
    const retryAfter = retryAfterSeconds(res.headers.get('retry-after'), now());
    return new OpsTrailsError({
      code: codeOfStatus(res.status),
      status: res.status,
      title: problem?.title,
      detail: problem?.detail ?? `${what(req)} answered HTTP ${res.status}${problem ? '' : ' (not problem+json)'}`,
      type: problem?.type,
      errors: problem?.errors,
      retryable: retryableStatus(res.status),
      retryAfterSeconds: retryAfter,
      problem,
    });
  }

  async function request(req: ApiRequest): Promise<ApiResponse> {
    for (let n = 1; ; n++) {
      const result = await attempt(req);
      if (!(result instanceof OpsTrailsError)) return result;
      if (!result.retryable || n >= policy.maxAttempts) throw result;
      let delayMs: number;
      if (result.retryAfterSeconds !== undefined) {
        delayMs = result.retryAfterSeconds * 1000;
        if (delayMs > policy.maxRetryAfterMs) throw result;
      } else {
        // Equal jitter: at least half the exponential step, so clients that failed together spread out.
        const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
        delayMs = Math.round(step / 2 + random() * (step / 2));
      }
      options.onRetry?.({ attempt: n, delayMs, error: result });
      await sleep(delayMs);
    }
  }

  function json<T>(res: ApiResponse, req: ApiRequest): T {
    try {
      return JSON.parse(res.text) as T;
    } catch (err) {
      throw new OpsTrailsError({
        code: 'bad_response',
        status: res.status,
        detail: `${what(req)} answered HTTP ${res.status} with a body that is not JSON`,
        cause: err,
      });
    }
  }

  return { request, json, now, sleep, scrub };
}

function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
