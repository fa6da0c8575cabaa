// Prometheus connector: one PromQL range query per chunk of at most 11,000
// points against /api/v1/query_range, with optional bearer or basic auth.
import { METRIC_KINDS } from '../../domain/metric.js';
import { apiRoot, chunkWindow, redactHeaders, requestJson, resolveBaseUrl } from '../http.js';
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
  type SeriesPoint,
} from '../types.js';
import { describePrometheusError, mapRangeResponse } from './mapping.js';
import {
  prometheusConfigSchema,
  prometheusQuerySchema,
  prometheusSecretsSchema,
  type PrometheusConfig,
  type PrometheusQuery,
  type PrometheusSecrets,
} from './schema.js';

/** Prometheus refuses range queries above 11,000 points per series. */
export const PROMETHEUS_MAX_POINTS = 11_000;

const LIMITS: ConnectorLimits = {
  maxPointsPerCall: PROMETHEUS_MAX_POINTS,
  minStepSeconds: 1,
  // One scrape interval (commonly 15–60 s) before a bucket's closing sample exists.
  dataDelaySeconds: 60,
  // Remote-write / federation can lag a little more; after that values are final.
  settleSeconds: 180,
  // Prometheus has no request budget of its own; stay gentle with a shared server.
  rateLimit: { requests: 300, perSeconds: 60 },
  // Well below the server's default --query.max-concurrency (20).
  concurrency: 4,
  timeoutMs: 30_000,
};

function authHeaders(secrets: PrometheusSecrets): Record<string, string> {
  if (secrets.bearer_token) return { authorization: `Bearer ${secrets.bearer_token}` };
  if (secrets.username && secrets.password) {
    return { authorization: `Basic ${Buffer.from(`${secrets.username}:${secrets.password}`).toString('base64')}` };
  }
  return {};
}

function createPrometheusConnector(
  config: PrometheusConfig,
  secrets: PrometheusSecrets,
  deps: ConnectorDeps,
): Connector<PrometheusQuery> {
  // No official host: every server must be listed by the operator (or be the test policy's any-host).
  const base = resolveBaseUrl(config.base_url, config.base_url, [], deps.hostPolicy);
  const limits: ConnectorLimits = { ...LIMITS, timeoutMs: deps.timeoutMs ?? LIMITS.timeoutMs };
  const headers = authHeaders(secrets);
  const root = apiRoot(base);
  const endpoint = (path: string) => `${root}${path}`;

  /** The form of one chunk: Prometheus evaluates at start, start+step, …, end. */
  function chunkForm(query: PrometheusQuery, chunk: FetchWindow): Record<string, string> {
    const stepMs = chunk.stepSeconds * 1000;
    return {
      query: query.promql,
      // The sample at t closes the bucket [t − step, t): evaluate at every bucket's end.
      start: String((chunk.from + stepMs) / 1000),
      end: String(chunk.to / 1000),
      step: `${chunk.stepSeconds}s`,
      // Let the server give up when we do, instead of finishing an abandoned query.
      timeout: `${Math.max(1, Math.ceil(limits.timeoutMs / 1000))}s`,
    };
  }

  const chunks = (window: FetchWindow) => chunkWindow(window, PROMETHEUS_MAX_POINTS);

  return {
    limits,

    async check(): Promise<CheckResult> {
      try {
        const url = `${endpoint('/api/v1/query')}?${new URLSearchParams({ query: '1' })}`;
        const res = await requestJson<{ status?: string; data?: { resultType?: string } }>(
          deps,
          { method: 'GET', url, headers },
          { provider: 'Prometheus', timeoutMs: limits.timeoutMs, describeError: describePrometheusError },
        );
        if (res.body?.status !== 'success') {
          throw new ConnectorError('bad_response', 'Prometheus answered the test query without status "success"');
        }
        return { ok: true, details: { base_url: root, result_type: res.body.data?.resultType ?? null } };
      } catch (err) {
        const error =
          err instanceof ConnectorError
            ? err
            : new ConnectorError('unavailable', 'Prometheus check failed', { cause: err });
        deps.logger.warn({ provider: 'prometheus', code: error.code }, 'connection check failed');
        return { ok: false, error: { code: error.code, message: error.message } };
      }
    },

    async fetchSeries(query: PrometheusQuery, opts: FetchOptions) {
      const points: SeriesPoint[] = [];
      for (const chunk of chunks(opts)) {
        const res = await requestJson(
          deps,
          { method: 'POST', url: endpoint('/api/v1/query_range'), headers, form: chunkForm(query, chunk) },
          {
            provider: 'Prometheus',
            timeoutMs: limits.timeoutMs,
            signal: opts.signal,
            describeError: describePrometheusError,
          },
        ).catch((err: unknown) => {
          // Prometheus sends no rate-limit headers; a proxy's 429 is the only budget signal there is.
          if (err instanceof ConnectorError && err.code === 'rate_limited' && err.retryAfterSeconds !== undefined) {
            deps.onRateLimit?.({ retryAfterSeconds: err.retryAfterSeconds });
          }
          throw err;
        });
        const mapped = mapRangeResponse(res.body, chunk, deps.now());
        if (mapped.warnings.length > 0) {
          deps.logger.warn({ provider: 'prometheus', warnings: mapped.warnings }, 'Prometheus returned warnings');
        }
        points.push(...mapped.points);
      }
      deps.logger.debug({ provider: 'prometheus', points: points.length }, 'fetched series');
      return { stepSeconds: opts.stepSeconds, points };
    },

    describeQuery(query: PrometheusQuery, window: FetchWindow): ProviderRequest[] {
      return chunks(window).map((chunk) => ({
        method: 'POST' as const,
        url: endpoint('/api/v1/query_range'),
        headers: redactHeaders({ ...headers, 'content-type': 'application/x-www-form-urlencoded' }, ['authorization']),
        body: chunkForm(query, chunk),
      }));
    },
  };
}

/** The Prometheus provider module (registered as `prometheus`). */
export const prometheusConnector: ConnectorModule<PrometheusConfig, PrometheusSecrets, PrometheusQuery> = {
  id: 'prometheus',
  name: 'Prometheus',
  // No official host: every server is the operator's to list.
  officialHosts: [],
  kinds: METRIC_KINDS,
  configSchema: prometheusConfigSchema,
  secretsSchema: prometheusSecretsSchema,
  querySchema: prometheusQuerySchema,
  create: createPrometheusConnector,
};
