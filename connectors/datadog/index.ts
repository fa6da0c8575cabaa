// Datadog connector: metrics queries through @datadog/datadog-api-client —
// v2 timeseries formulas by default, v1 /api/v1/query on request — in chunks
// of at most 1,500 points, with a rollup equal to the step.
import { METRIC_KINDS } from '../../domain/metric.js';
import { v1, v2 } from '@datadog/datadog-api-client';
import { apiRoot, chunkWindow, resolveBaseUrl } from '../http.js';
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
import { datadogConfiguration, toConnectorError, type CallState } from './client.js';
import { mapQueryResponse, mapTimeseriesResponse, queryWithRollup, type MappedSeries } from './mapping.js';
import {
  DATADOG_SITES,
  datadogConfigSchema,
  datadogQuerySchema,
  datadogSecretsSchema,
  type DatadogConfig,
  type DatadogQuery,
  type DatadogSecrets,
} from './schema.js';

/** Datadog returns at most 1,500 points per series and raises the interval beyond that. */
export const DATADOG_MAX_POINTS = 1_500;

/** A metric every org has, for the check's application-key probe. */
const CHECK_QUERY = 'avg:datadog.estimated_usage.hosts{*}';

/** What the scheduler plans with (also read by bench/fetch). */
export const DATADOG_LIMITS: ConnectorLimits = {
  maxPointsPerCall: DATADOG_MAX_POINTS,
  // Datadog stores metrics at 1 s at best, but queries roll up to ≥ 1 s buckets; 10 s is the agent's flush.
  minStepSeconds: 10,
  // Agent flush (10–15 s) plus intake; a minute is normally enough.
  dataDelaySeconds: 120,
  // Late points (e.g. cloud integrations crawled every few minutes) can still land.
  settleSeconds: 600,
  // Documented default for metric queries: 1,600 per hour per organization (raised on request).
  rateLimit: { requests: 1_600, perSeconds: 3_600 },
  concurrency: 4,
  timeoutMs: 30_000,
};

const REDACTED = '[redacted]';

function createDatadogConnector(
  config: DatadogConfig,
  secrets: DatadogSecrets,
  deps: ConnectorDeps,
): Connector<DatadogQuery> {
  const site = config.site ?? 'datadoghq.com';
  const base = resolveBaseUrl(
    config.base_url,
    `https://api.${site}`,
    DATADOG_SITES.map((s) => `api.${s}`),
    deps.hostPolicy,
  );
  const root = apiRoot(base);
  const limits: ConnectorLimits = { ...DATADOG_LIMITS, timeoutMs: deps.timeoutMs ?? DATADOG_LIMITS.timeoutMs };

  /** A fresh client configuration per call: its own transport state and abort signal, never shared. */
  const configure = (state: CallState, signal?: AbortSignal) =>
    datadogConfiguration({
      baseUrl: root,
      apiKey: secrets.api_key,
      appKey: secrets.app_key,
      deps,
      timeoutMs: limits.timeoutMs,
      state,
      signal,
    });

  async function call<T>(run: (conf: ReturnType<typeof configure>) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const state: CallState = {};
    try {
      return await run(configure(state, signal));
    } catch (err) {
      if (signal?.aborted && !(err instanceof ConnectorError)) throw err;
      throw toConnectorError(err, state, deps.now());
    }
  }

  function v2Body(query: DatadogQuery, chunk: FetchWindow) {
    return {
      data: {
        type: 'timeseries_request' as const,
        attributes: {
          from: chunk.from,
          to: chunk.to,
          interval: chunk.stepSeconds * 1000,
          queries: [{ dataSource: 'metrics' as const, name: 'a', query: queryWithRollup(query, chunk.stepSeconds) }],
          formulas: [{ formula: 'a' }],
        },
      },
    };
  }

  const chunks = (window: FetchWindow) => chunkWindow(window, DATADOG_MAX_POINTS);

  async function fetchChunk(query: DatadogQuery, chunk: FetchWindow, signal?: AbortSignal): Promise<MappedSeries> {
    if (query.api === 'v1') {
      const res = await call(
        (conf) =>
          new v1.MetricsApi(conf).queryMetrics(
            { from: chunk.from / 1000, to: chunk.to / 1000, query: queryWithRollup(query, chunk.stepSeconds) },
            conf,
          ),
        signal,
      );
      return mapQueryResponse(res, chunk, deps.now());
    }
    const res = await call(
      (conf) => new v2.MetricsApi(conf).queryTimeseriesData({ body: v2Body(query, chunk) }, conf),
      signal,
    );
    return mapTimeseriesResponse(res, chunk, deps.now());
  }

  return {
    limits,

    async check(): Promise<CheckResult> {
      try {
        const validation = await call((conf) => new v1.AuthenticationApi(conf).validate(conf));
        if (typeof validation?.valid !== 'boolean') {
          throw new ConnectorError(
            'bad_response',
            'Datadog answered /api/v1/validate without the documented {"valid": …}',
          );
        }
        if (!validation.valid) throw new ConnectorError('auth_failed', 'Datadog says the API key is not valid');
        // /validate checks the API key only; a tiny metrics query proves the application key and its timeseries_query permission.
        const now = Math.floor(deps.now() / 1000);
        await call((conf) =>
          new v1.MetricsApi(conf).queryMetrics({ from: now - 300, to: now, query: CHECK_QUERY }, conf),
        );
        return { ok: true, details: { site, base_url: root, api_key: 'valid', app_key: 'can query timeseries' } };
      } catch (err) {
        const error =
          err instanceof ConnectorError
            ? err
            : new ConnectorError('unavailable', 'Datadog check failed', { cause: err });
        deps.logger.warn({ provider: 'datadog', code: error.code, status: error.status }, 'connection check failed');
        return { ok: false, error: { code: error.code, message: error.message } };
      }
    },

    async fetchSeries(given: DatadogQuery, opts: FetchOptions): Promise<Series> {
      const query = withKind(given, opts);
      const points: SeriesPoint[] = [];
      let unit: string | null = null;
      for (const chunk of chunks(opts)) {
        const mapped = await fetchChunk(query, chunk, opts.signal);
        points.push(...mapped.points);
        unit = unit ?? mapped.unit;
      }
      deps.logger.debug({ provider: 'datadog', api: query.api, points: points.length }, 'fetched series');
      return { stepSeconds: opts.stepSeconds, points, unit };
    },

    describeQuery(given: DatadogQuery, window: FetchWindow): ProviderRequest[] {
      const query = withKind(given, window);
      const headers = { Accept: 'application/json', 'DD-API-KEY': REDACTED, 'DD-APPLICATION-KEY': REDACTED };
      return chunks(window).map((chunk): ProviderRequest => {
        if (query.api === 'v1') {
          const params = new URLSearchParams({
            from: String(chunk.from / 1000),
            to: String(chunk.to / 1000),
            query: queryWithRollup(query, chunk.stepSeconds),
          });
          return { method: 'GET', url: `${root}/api/v1/query?${params}`, headers };
        }
        const { attributes } = v2Body(query, chunk).data;
        // The wire format is snake_case; the client's models are camelCase.
        return {
          method: 'POST',
          url: `${root}/api/v2/query/timeseries`,
          headers: { ...headers, 'Content-Type': 'application/json' },
          body: {
            data: {
              type: 'timeseries_request',
              attributes: {
                from: attributes.from,
                to: attributes.to,
                interval: attributes.interval,
                queries: attributes.queries.map((q) => ({ data_source: q.dataSource, name: q.name, query: q.query })),
                formulas: attributes.formulas,
              },
            },
          },
        };
      });
    },
  };
}

/** The Datadog provider module (registered as `datadog`). */
/** The query's own kind wins; otherwise the metric's kind picks the rollup. */
const withKind = (query: DatadogQuery, window: FetchWindow): DatadogQuery =>
  query.kind || !window.kind ? query : { ...query, kind: window.kind };

export const datadogConnector: ConnectorModule<DatadogConfig, DatadogSecrets, DatadogQuery> = {
  id: 'datadog',
  name: 'Datadog',
  officialHosts: DATADOG_SITES.map((site) => `api.${site}`),
  kinds: METRIC_KINDS,
  configSchema: datadogConfigSchema,
  secretsSchema: datadogSecretsSchema,
  querySchema: datadogQuerySchema,
  create: createDatadogConnector,
};
