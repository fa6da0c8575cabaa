// RFC 9457 problem+json: one error type for the API and one place that maps
// every failure (ours, Fastify's, the store's) to a status and a body.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ConnectorError, type ConnectorErrorCode } from '../connectors/types.js';

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
  409: 'Conflict',
  422: 'Unprocessable content',
  502: 'Bad gateway',
  504: 'Gateway timeout',
  413: 'Payload too large',
  415: 'Unsupported media type',
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

/** Send a problem+json answer (`extra` adds members such as a provider error `code`). */
export function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  errors?: FieldError[],
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `https://opstrails.dev/problems/${status}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      ...extra,
      ...(errors && errors.length > 0 ? { errors } : {}),
    });
}

/** The one error handler: known errors keep their status; anything else is a 500 without details. */
export function errorHandler(err: FastifyError | ProblemError | Error, req: FastifyRequest, reply: FastifyReply) {
  if (err instanceof ProblemError) {
    if (err.headers) reply.headers(err.headers);
    return sendProblem(reply, err.status, err.detail, err.errors);
  }
  if (err instanceof ConnectorError) {
    // Connector messages never carry secrets (the contract suite proves it per provider).
    if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.ceil(err.retryAfterSeconds)));
    return sendProblem(reply, PROVIDER_STATUS[err.code], `provider error (${err.code}): ${err.message}`, undefined, {
      code: err.code,
    });
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
  }
  if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return sendProblem(reply, fe.statusCode, fe.message);
  }
  req.log.error({ err }, 'request failed');
  return sendProblem(reply, 500, 'an internal error occurred; it has been logged');
}
