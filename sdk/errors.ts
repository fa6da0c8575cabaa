// The SDK's one error type: an API answer that is not a success (its RFC 9457
// problem+json fields), or a request that got no answer. Never carries the API key.

/** One failing field of a request, as the API names it (`index`: the event's position in the batch sent). */
export interface ProblemFieldError {
  pointer?: string;
  index?: number;
  field: string;
  message: string;
}

/** RFC 9457 problem details as the API sends them. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  /** A provider error code, on provider failures. */
  code?: string;
  errors?: ProblemFieldError[];
}

/** Stable codes: what went wrong, for scripts to branch on. */
export type OpsTrailsErrorCode =
  | 'invalid_request' // 400, 422
  | 'auth_failed' // 401: no key, or a wrong one
  | 'forbidden' // 403: the key lacks the scope
  | 'not_found' // 404
  | 'conflict' // 409
  | 'payload_too_large' // 413
  | 'unsupported_media_type' // 415
  | 'rate_limited' // 429
  | 'server_error' // 5xx
  | 'http' // any other non-success status
  | 'network' // no answer: refused, reset, DNS
  | 'timeout' // no answer in time, or no final report in time (waitForReport)
  | 'bad_response' // an answer that is not what the API sends
  | 'invalid_config'; // the client's own options (URL, key)

const CODES: Record<number, OpsTrailsErrorCode> = {
  400: 'invalid_request',
  401: 'auth_failed',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_request',
  429: 'rate_limited',
};

/** The code of an HTTP status. */
export function codeOfStatus(status: number): OpsTrailsErrorCode {
  return CODES[status] ?? (status >= 500 ? 'server_error' : 'http');
}

/** Whether a status is worth retrying: the service was busy or failing, not the request wrong. */
export function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

export interface OpsTrailsErrorInit {
  code: OpsTrailsErrorCode;
  /** HTTP status; null when no answer came. */
  status?: number | null;
  title?: string;
  detail: string;
  type?: string;
  errors?: ProblemFieldError[];
  retryable?: boolean;
  retryAfterSeconds?: number;
  /** The problem body as received (secrets removed). */
  problem?: Problem;
  cause?: unknown;
}

/** A failed API call: the problem+json fields, a stable `code` and whether a retry may help. */
export class OpsTrailsError extends Error {
  readonly code: OpsTrailsErrorCode;
  readonly status: number | null;
  readonly title: string;
  readonly detail: string;
  readonly type: string | undefined;
  readonly errors: ProblemFieldError[];
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly problem: Problem | undefined;

  constructor(init: OpsTrailsErrorInit) {
    const title = init.title ?? (init.status ? `HTTP ${init.status}` : init.code);
    const fields = (init.errors ?? []).map(describeField);
    // The detail usually names the fields already; list them only when it does not.
    const missing = fields.filter((f) => !init.detail.includes(f));
    super(
      `${init.status ? `HTTP ${init.status} ${title}: ` : ''}${init.detail}${missing.length > 0 ? ` (${missing.join('; ')})` : ''}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = 'OpsTrailsError';
    this.code = init.code;
    this.status = init.status ?? null;
    this.title = title;
    this.detail = init.detail;
    this.type = init.type;
    this.errors = init.errors ?? [];
    this.retryable = init.retryable ?? false;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.problem = init.problem;
  }
}

function describeField(e: ProblemFieldError): string {
  return `${e.index === undefined ? '' : `[${e.index}] `}${e.field}: ${e.message}`;
}

/** A function that removes a secret from any text it is given ("" secrets change nothing). */
export function scrubber(secret: string): (text: string) => string {
  return (text) => (secret.length > 0 ? text.split(secret).join('[redacted]') : text);
}

/** Parse a problem+json (or any JSON error) body, secrets removed; undefined when it is not JSON. */
export function parseProblem(text: string, scrub: (text: string) => string): Problem | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(scrub(text));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const p = parsed as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const errors = Array.isArray(p.errors)
    ? p.errors
        .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
        .map((e) => ({
          ...(typeof e.pointer === 'string' ? { pointer: e.pointer } : {}),
          ...(typeof e.index === 'number' ? { index: e.index } : {}),
          field: str(e.field) ?? '(unknown)',
          message: str(e.message) ?? '',
        }))
    : undefined;
  return {
    type: str(p.type),
    title: str(p.title),
    status: typeof p.status === 'number' ? p.status : undefined,
    detail: str(p.detail) ?? str(p.message),
    code: str(p.code),
    errors,
  };
}
