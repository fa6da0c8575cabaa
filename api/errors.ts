// RFC 9457 problem+json: one error type for the API and one place that maps
// every failure (ours, Fastify's, the store's, Node's HTTP parser's) to a status and a body.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ConnectorError, type ConnectorErrorCode } from '../connectors/types.js';
import { SecretUndecryptableError } from '../store/secrets.js';

/** One failing field: `pointer` is a JSON Pointer into the body; `index` the batch entry. */
export interface FieldError {
  pointer?: string;
  index?: number;
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  408: 'Request timeout',
  409: 'Conflict',
  422: 'Unprocessable content',
  502: 'Bad gateway',
  504: 'Gateway timeout',
  413: 'Payload too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  431: 'Request header fields too large',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

/** An error the API answers as problem+json. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
    /** The problem's kind when the status alone does not say it (the end of its `type`, e.g. "quota-exceeded"). */
    readonly kind?: string,
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new ProblemError(400, detail, errors);
export const notFound = (what: string) => new ProblemError(404, `${what} not found`);

/** Field errors from a failed zod parse, with JSON Pointers (prefixing `base`). */
export function zodFieldErrors(error: z.ZodError, base = '', index?: number): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    const field = path.length > 0 ? path.join('.') : base.split('/').filter(Boolean).join('.') || '(body)';
    const pointer = base + path.map((p) => '/' + p.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
    return { ...(index === undefined ? {} : { index }), pointer: pointer || '/', field, message: issue.message };
  });
}

/** HTTP status for a provider failure seen while serving a request. */
const PROVIDER_STATUS: Record<ConnectorErrorCode, number> = {
  auth_failed: 502,
  bad_query: 422,
  bad_response: 502,
  unavailable: 502,
  timeout: 504,
  rate_limited: 503,
  invalid_config: 422,
};

/** The problem+json body for a status. */
function problem(
  status: number,
  detail: string,
  errors?: FieldError[],
  extra: Record<string, unknown> = {},
  kind?: string,
) {
  return {
    type: `https://opstrails.dev/problems/${kind ?? status}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...extra,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

/** Send a problem+json answer (`extra` adds members such as a provider error `code`). */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  errors?: FieldError[],
  extra: Record<string, unknown> = {},
  kind?: string,
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send(problem(status, detail, errors, extra, kind));
}

/** The one error handler: known errors keep their status; anything else is a 500 without details. */
export function errorHandler(err: FastifyError | ProblemError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ProblemError) {
    if (err.headers) reply.headers(err.headers);
    return sendProblem(reply, err.status, err.detail, err.errors, {}, err.kind);
  }
  if (err instanceof ConnectorError) {
    // Connector messages never carry secrets (the contract suite proves it per provider).
    if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.ceil(err.retryAfterSeconds)));
    return sendProblem(reply, PROVIDER_STATUS[err.code], `provider error (${err.code}): ${err.message}`, undefined, {
      code: err.code,
    });
  }
  if (err instanceof SecretUndecryptableError) {
    // 409: the request is fine, the stored connection cannot serve it until the operator
    // configures the key it was sealed under. The message names ids and the fix, never a secret.
    req.log.error(
      { code: err.code, org_id: err.orgId, connection_id: err.connectionId, key_id: err.keyId },
      'connection secrets cannot be decrypted with the configured keys',
    );
    return sendProblem(reply, 409, err.message, undefined, { code: err.code });
  }
  const fe = err as FastifyError;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 413, 'request body exceeds the 1 MiB limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, 415, `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 400, 'the request body is empty', [
        { pointer: '/', field: '(body)', message: 'expected JSON' },
      ]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendProblem(reply, 400, `the request body is not valid JSON`, [
        { pointer: '/', field: '(body)', message: fe.message },
      ]);
    // The two below reach this handler through the `frameworkErrors` server option.
    case 'FST_ERR_BAD_URL':
      return sendProblem(reply, 400, 'the URL path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return sendProblem(reply, 414, 'a path parameter is longer than the router accepts');
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return sendProblem(reply, fe.statusCode, fe.message);
  }
  req.log.error({ err }, 'request failed');
  return sendProblem(reply, 500, 'an internal error occurred; it has been logged');
}

/**
 * Fastify's `frameworkErrors` option: errors the router raises before any route
 * (bad percent-encoding, a path parameter over maxParamLength) go through the
 * one error handler instead of Fastify's plain JSON.
 */
export function frameworkErrors(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  void errorHandler(error, req, reply);
}

/** Node's HTTP parser errors that have an answer; anything else is a 400. */
const CLIENT_ERRORS: Record<string, { status: number; detail: string }> = {
  // Node counts the request line with the headers: a too-long URL lands here too, never as a 414.
  HPE_HEADER_OVERFLOW: {
    status: 431,
    detail: 'the request line and headers exceed the server’s limit (16 KiB by default); shorten the URL or headers',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'the request was not received in time' },
};

/**
 * Fastify's `clientErrorHandler` option (the server's 'clientError' event): Node's
 * HTTP parser refused the request before Fastify saw it, so there is no reply
 * object; the problem+json answer is written to the socket, which is then closed
 * (the parser cannot continue on it), as Fastify's own handler does.
 */
export function clientErrorHandler(this: FastifyInstance | undefined, err: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, detail } = CLIENT_ERRORS[err.code] ?? { status: 400, detail: 'the request is not valid HTTP' };
  this?.log.debug({ err }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify(problem(status, detail));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy(err);
}
