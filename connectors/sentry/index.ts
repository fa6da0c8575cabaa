// The Sentry connector: error counts/rates, transaction latency and failure rate
// (events-timeseries, falling back to events-stats) and crash-free rate (sessions).
import { METRIC_KINDS } from '../../domain/metric.js';
import { chunkWindow, resolveBaseUrl } from '../http.js';
import {
  ConnectorError,
  type CheckResult,
  type Connector,
  type ConnectorDeps,
  type ConnectorLimits,
  type ConnectorModule,
  type FetchOptions,
  type FetchWindow,
  type ProviderRequest,
  type Series,
  type SeriesPoint,
} from '../types.js';
import { apiUrl, requestHeaders, sentryGet, type Params, type SentryClientOptions } from './client.js';
import { mapEventsStats, mapEventsTimeseries, mapSessions, type BucketFilter, type MappedChunk } from './mapping.js';
import {
  configSchema,
  environments,
  projectIds,
  querySchema,
  secretsSchema,
  type SentryConfig,
  type SentryQuery,
  type SentrySecrets,
  type SessionField,
} from './schema.js';

/** sentry.io and its two data-storage regions; anything else is self-hosted (operator-allowed). */
export const SENTRY_HOSTS = ['sentry.io', 'us.sentry.io', 'de.sentry.io'] as const;

/**
 * Points per call. Discover datasets allow 10,000 (MAX_ROLLUP_POINTS), the RPC
 * datasets (spans, logs) 2,016 on older servers and 10,100 on newer ones; 2,000
 * stays under all of them, with room for the extra end bucket Sentry adds.
 */
const EVENTS_MAX_POINTS = 2_000;
/** The sessions endpoint refuses more than 1,000 intervals (sessions_v2 MAX_POINTS). */
const SESSIONS_MAX_POINTS = 1_000;
const ONE_DAY_SECONDS = 86_400;

const LIMITS: ConnectorLimits = {
  maxPointsPerCall: EVENTS_MAX_POINTS,
  minStepSeconds: 60,
  // Events are queryable within about a minute; late events (SDK retries, offline
  // clients) and session updates keep arriving for a few minutes more.
  dataDelaySeconds: 60,
  settleSeconds: 600,
  // events-timeseries: 30 requests per second per caller and per organization.
  rateLimit: { requests: 30, perSeconds: 1 },
  // Sentry allows 15 concurrent queries per caller; the org's dashboards share them.
  concurrency: 5,
  timeoutMs: 30_000,
};

/** Sentry's interval syntax: the largest whole unit (`1m`, `5m`, `1h`, `1d`), else seconds. */
export function intervalParam(stepSeconds: number): string {
  if (stepSeconds % ONE_DAY_SECONDS === 0) return `${stepSeconds / ONE_DAY_SECONDS}d`;
  if (stepSeconds % 3600 === 0) return `${stepSeconds / 3600}h`;
  if (stepSeconds % 60 === 0) return `${stepSeconds / 60}m`;
  return `${stepSeconds}s`;
}

/** UTC instant without zone, as Sentry's own UI sends start/end (the API reads it as UTC). */
function isoParam(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

type Endpoint = 'events-timeseries' | 'events-stats' | 'sessions';

interface PlannedRequest {
  endpoint: Endpoint;
  path: string;
  params: Params;
  chunk: FetchWindow;
}

function filterParams(q: SentryQuery): [string, string][] {
  const params: [string, string][] = [];
  for (const p of projectIds(q)) params.push(['project', p]);
  for (const e of environments(q)) params.push(['environment', e]);
  if (q.query) params.push(['query', q.query]);
  return params;
}

function planRequest(org: string, endpoint: Endpoint, q: SentryQuery, chunk: FetchWindow): PlannedRequest {
  const window: [string, string][] = [
    ['start', isoParam(chunk.from)],
    ['end', isoParam(chunk.to)],
    ['interval', intervalParam(chunk.stepSeconds)],
  ];
  const orgPath = `organizations/${encodeURIComponent(org)}`;
  if (endpoint === 'sessions') {
    const params: [string, string][] = [
      ['field', 'sum(session)'],
      ['groupBy', 'session.status'],
      ...window,
      ...filterParams(q),
    ];
    return { endpoint, path: `${orgPath}/sessions/`, params, chunk };
  }
  const params: [string, string][] = [['dataset', q.dataset], ['yAxis', q.y_axis ?? ''], ...window, ...filterParams(q)];
  return { endpoint, path: `${orgPath}/${endpoint}/`, params, chunk };
}

function validateStep(q: SentryQuery, stepSeconds: number): void {
  if (!Number.isInteger(stepSeconds) || stepSeconds < LIMITS.minStepSeconds) {
    throw new ConnectorError(
      'bad_query',
      `Sentry needs a step of at least ${LIMITS.minStepSeconds} s in whole seconds`,
    );
  }
  if (q.dataset === 'sessions' && (stepSeconds > ONE_DAY_SECONDS || ONE_DAY_SECONDS % stepSeconds !== 0)) {
    throw new ConnectorError('bad_query', 'the sessions endpoint needs a step that divides one day (e.g. 3600)');
  }
}

/** Strip a pasted "/api/0" so both https://host and https://host/api/0 work as base_url. */
function siteRoot(url: URL): URL {
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/api\/0$/, '');
  return url;
}

/** Create a connector for one Sentry organization. */
function createSentryConnector(
  config: SentryConfig,
  secrets: SentrySecrets,
  deps: ConnectorDeps,
): Connector<SentryQuery> {
  const defaultUrl = config.region ? `https://${config.region}.sentry.io` : 'https://sentry.io';
  const baseUrl = siteRoot(resolveBaseUrl(config.base_url, defaultUrl, SENTRY_HOSTS, deps.hostPolicy));
  const limits: ConnectorLimits = { ...LIMITS, timeoutMs: deps.timeoutMs ?? LIMITS.timeoutMs };
  const client: SentryClientOptions = { baseUrl, token: secrets.auth_token, timeoutMs: limits.timeoutMs, deps };
  // Self-hosted servers older than events-timeseries answer it with 404; remember
  // that so later chunks go straight to events-stats.
  let timeseriesMissing = false;

  const eventsEndpoint = (): Endpoint => (timeseriesMissing ? 'events-stats' : 'events-timeseries');

  function plan(q: SentryQuery, window: FetchWindow): PlannedRequest[] {
    validateStep(q, window.stepSeconds);
    const sessions = q.dataset === 'sessions';
    const chunks = chunkWindow(window, sessions ? SESSIONS_MAX_POINTS : EVENTS_MAX_POINTS);
    return chunks.map((chunk) => planRequest(config.organization, sessions ? 'sessions' : eventsEndpoint(), q, chunk));
  }

  async function fetchChunk(q: SentryQuery, req: PlannedRequest, opts: FetchOptions): Promise<MappedChunk> {
    // Each chunk keeps only its own buckets: Sentry also returns the bucket at `end`,
    // which is the next chunk's first.
    const filter: BucketFilter = {
      from: Math.max(opts.from, req.chunk.from),
      to: Math.min(opts.to, req.chunk.to),
      stepSeconds: opts.stepSeconds,
      now: deps.now(),
    };
    if (req.endpoint === 'sessions') {
      const res = await sentryGet(client, req.path, req.params, opts.signal);
      return mapSessions(res.body, q.field as SessionField, filter);
    }
    if (req.endpoint === 'events-timeseries') {
      try {
        const res = await sentryGet(client, req.path, req.params, opts.signal);
        return mapEventsTimeseries(res.body, q.y_axis ?? '', filter);
      } catch (err) {
        if (!(err instanceof ConnectorError && err.status === 404)) throw err;
        timeseriesMissing = true;
        deps.logger.info(
          { provider: 'sentry', organization: config.organization },
          'events-timeseries not found; using events-stats',
        );
        req = planRequest(config.organization, 'events-stats', q, req.chunk);
      }
    }
    const res = await sentryGet(client, req.path, req.params, opts.signal);
    return mapEventsStats(res.body, q.y_axis ?? '', filter);
  }

  return {
    limits,

    async check(): Promise<CheckResult> {
      try {
        const res = await sentryGet<Record<string, unknown>>(
          client,
          `organizations/${encodeURIComponent(config.organization)}/`,
          [],
        );
        const org = res.body;
        if (org === null || typeof org !== 'object' || typeof org.slug !== 'string') {
          return {
            ok: false,
            error: { code: 'bad_response', message: 'Sentry answered the organization check with an unexpected body' },
          };
        }
        return { ok: true, details: { organization: org.slug, name: org.name, id: org.id, host: baseUrl.host } };
      } catch (err) {
        if (err instanceof ConnectorError) {
          const message =
            err.status === 404
              ? `organization "${config.organization}" was not found on ${baseUrl.host}: ${err.message}`
              : err.message;
          return { ok: false, error: { code: err.status === 404 ? 'invalid_config' : err.code, message } };
        }
        return { ok: false, error: { code: 'unavailable', message: 'Sentry check failed unexpectedly' } };
      }
    },

    async fetchSeries(query: SentryQuery, opts: FetchOptions): Promise<Series> {
      const points: SeriesPoint[] = [];
      let unit: string | null | undefined;
      // Chunks run one after another: they share the caller's rate-limit budget.
      for (const req of plan(query, opts)) {
        const chunk = await fetchChunk(query, req, opts);
        points.push(...chunk.points);
        unit ??= chunk.unit;
      }
      return { stepSeconds: opts.stepSeconds, points, unit: unit ?? null };
    },

    describeQuery(query: SentryQuery, window: FetchWindow): ProviderRequest[] {
      return plan(query, window).map((req) => ({
        method: 'GET',
        url: apiUrl(baseUrl, req.path, req.params),
        headers: requestHeaders(secrets.auth_token, true),
      }));
    },
  };
}

/** The Sentry provider module (see docs/providers/sentry.md). */
export const sentryConnector: ConnectorModule<SentryConfig, SentrySecrets, SentryQuery> = {
  id: 'sentry',
  name: 'Sentry',
  officialHosts: SENTRY_HOSTS,
  kinds: METRIC_KINDS,
  configSchema,
  secretsSchema,
  querySchema,
  create: createSentryConnector,
};
