// NerdGraph over HTTP: one GraphQL POST with variables, and the translation of
// NerdGraph's errors (which mostly arrive with HTTP 200 in `errors[]`) into
// ConnectorError codes.
import { z } from 'zod';
import { requestJson } from '../http.js';
import { secretScrubber } from '../secrets.js';
import { ConnectorError, type ConnectorDeps, type ConnectorErrorCode } from '../types.js';

const PROVIDER = 'New Relic';

/** The GraphQL request body NerdGraph takes. */
export interface GraphqlBody {
  query: string;
  variables: Record<string, unknown>;
}

const graphqlErrorSchema = z.looseObject({
  message: z.string().optional(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
  extensions: z
    .looseObject({
      errorClass: z.string().optional(),
      error_code: z.string().optional(),
      code: z.string().optional(),
    })
    .optional(),
});
type GraphqlError = z.infer<typeof graphqlErrorSchema>;

const envelopeSchema = z.looseObject({
  data: z.unknown().optional(),
  errors: z.array(graphqlErrorSchema).optional(),
});

/** A parsed NerdGraph answer: `data`, plus any errors that came alongside data. */
export interface GraphqlAnswer {
  data: unknown;
  errors: GraphqlError[];
}

// Classes newrelic-client-go treats as retryable (internal/http/graphql.go).
const SERVER_CLASSES = new Set(['INTERNAL_SERVER_ERROR', 'SERVER_ERROR', 'SERVICE_UNAVAILABLE']);
const AUTH_CLASSES = new Set(['UNAUTHORIZED', 'UNAUTHENTICATED', 'FORBIDDEN', 'ACCESS_DENIED']);

/** The code one NerdGraph error maps to. */
export function classifyGraphqlError(error: GraphqlError): ConnectorErrorCode {
  const ext = error.extensions ?? {};
  const tags = [ext.errorClass, ext.error_code, ext.code]
    .filter((t): t is string => Boolean(t))
    .map((t) => t.toUpperCase());
  const message = error.message ?? '';
  if (tags.includes('BAD_API_KEY') || tags.some((t) => AUTH_CLASSES.has(t))) return 'auth_failed';
  if (
    tags.some((t) => t.includes('RATE_LIMIT') || t.includes('TOO_MANY')) ||
    /rate limit|too many (queries|requests)/i.test(message)
  ) {
    return 'rate_limited';
  }
  if (tags.includes('TIMEOUT') || /timed? ?out/i.test(message)) return 'timeout';
  if (tags.some((t) => SERVER_CLASSES.has(t))) return 'unavailable';
  // Syntax errors, unknown attributes, GraphQL validation errors: the query must change.
  return 'bad_query';
}

// Most severe first: a bad key explains everything else in the same answer.
const PRECEDENCE: ConnectorErrorCode[] = ['auth_failed', 'rate_limited', 'timeout', 'unavailable', 'bad_query'];

/** One ConnectorError for a non-empty NerdGraph `errors[]`, with the provider's messages (secret removed). */
export function graphqlErrorsToConnectorError(errors: GraphqlError[], secret: string): ConnectorError {
  const codes = errors.map(classifyGraphqlError);
  const code = PRECEDENCE.find((c) => codes.includes(c)) ?? 'bad_query';
  const messages = errors
    .map((e) => e.message)
    .filter((m): m is string => Boolean(m))
    .join('; ');
  return new ConnectorError(
    code,
    `${PROVIDER}: ${scrub(messages || 'NerdGraph returned an error without a message', secret)}`,
  );
}

/** Cut a provider message to a readable length and make sure the key (in any spelling) never appears in it. */
function scrub(message: string, secret: string): string {
  const clean = secretScrubber({ api_key: secret })(message);
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean;
}

/**
 * POST one GraphQL document to NerdGraph. Throws ConnectorError for HTTP
 * failures, for a body that is not a GraphQL answer, and for `errors[]` that
 * come without data; returns `data` otherwise.
 */
export async function postGraphql(
  deps: Pick<ConnectorDeps, 'fetch' | 'now' | 'onRateLimit'>,
  endpoint: string,
  apiKey: string,
  body: GraphqlBody,
  opts: { timeoutMs: number; signal?: AbortSignal; hasData: (data: unknown) => boolean },
): Promise<GraphqlAnswer> {
  let res;
  try {
    res = await requestJson(
      deps,
      { method: 'POST', url: endpoint, headers: graphqlHeaders(apiKey), body },
      {
        provider: PROVIDER,
        timeoutMs: opts.timeoutMs,
        signal: opts.signal,
        describeError: (errBody) => {
          const parsed = envelopeSchema.safeParse(errBody);
          const messages = parsed.success ? (parsed.data.errors ?? []).map((e) => e.message).filter(Boolean) : [];
          return messages.length > 0 ? scrub(messages.join('; '), apiKey) : undefined;
        },
      },
    );
  } catch (err) {
    // NerdGraph answers 429 when the per-user concurrency limit is hit.
    if (err instanceof ConnectorError && err.code === 'rate_limited') {
      deps.onRateLimit?.({ retryAfterSeconds: err.retryAfterSeconds });
    }
    throw err;
  }
  const parsed = envelopeSchema.safeParse(res.body);
  if (!parsed.success || (parsed.data.data === undefined && parsed.data.errors === undefined)) {
    throw new ConnectorError(
      'bad_response',
      `${PROVIDER} answered HTTP ${res.status} with a body that is not a GraphQL response`,
      {
        status: res.status,
      },
    );
  }
  const errors = parsed.data.errors ?? [];
  // Errors next to usable data are warnings (e.g. deprecations); without data they are the answer.
  if (errors.length > 0 && !opts.hasData(parsed.data.data)) throw graphqlErrorsToConnectorError(errors, apiKey);
  return { data: parsed.data.data, errors };
}

/** The headers of a NerdGraph call; `API-Key` is the secret. */
export function graphqlHeaders(apiKey: string): Record<string, string> {
  return { 'API-Key': apiKey, 'user-agent': 'opstrails-impact' };
}
