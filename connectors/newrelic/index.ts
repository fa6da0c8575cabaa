// The New Relic connector: NRQL through NerdGraph, one TIMESERIES query per
// chunk of at most 366 buckets, with SINCE/UNTIL on the step grid so New
// Relic's buckets (which it aligns to the end of the range) land on ours.
import { METRIC_KINDS } from '../../domain/metric.js';
import { apiRoot, chunkWindow, redactHeaders, resolveBaseUrl } from '../http.js';
import {
  ConnectorError,
  type CheckResult,
  type Connector,
  type ConnectorDeps,
  type ConnectorLimits,
  type ConnectorModule,
  type FetchWindow,
  type ProviderRequest,
  type SeriesPoint,
} from '../types.js';
import { graphqlHeaders, postGraphql, type GraphqlBody } from './client.js';
import { nrqlResultSchema, rowsToPoints } from './mapping.js';
import { analyzeNrql } from './nrql.js';
import {
  REGION_URLS,
  newRelicConfigSchema,
  newRelicQuerySchema,
  newRelicSecretsSchema,
  type NewRelicConfig,
  type NewRelicQuery,
  type NewRelicSecrets,
} from './schema.js';

const OFFICIAL_HOSTS = ['api.newrelic.com', 'api.eu.newrelic.com', 'api.jp.newrelic.com'] as const;

/** NerdGraph and NRQL limits (docs.newrelic.com: NerdGraph usage limits, NRQL rate limits, chart errors). */
export const NEWRELIC_LIMITS: ConnectorLimits = {
  maxPointsPerCall: 366, // "TIMESERIES supports a maximum of 366 buckets"
  minStepSeconds: 60,
  dataDelaySeconds: 60,
  settleSeconds: 180,
  rateLimit: { requests: 3000, perSeconds: 60 }, // NRQL queries per account per minute (API queries only)
  concurrency: 25, // concurrent NerdGraph requests per user
  timeoutMs: 30_000,
};

const NRQL_DOCUMENT = `query ImpactSeries($accountId: Int!, $nrql: Nrql!, $timeout: Seconds) {
  actor {
    account(id: $accountId) {
      nrql(query: $nrql, timeout: $timeout) {
        results
        metadata { timeWindow { begin end } }
      }
    }
  }
}`;

const CHECK_DOCUMENT = `query ImpactCheck($accountId: Int!) {
  actor {
    account(id: $accountId) { id name }
  }
}`;

/** NRQL's spelling of a step, e.g. "5 minutes" or "90 seconds". */
export function timeseriesStep(stepSeconds: number): string {
  if (stepSeconds % 60 === 0) {
    const minutes = stepSeconds / 60;
    return `${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
  }
  return `${stepSeconds} seconds`;
}

/** The full NRQL of one chunk: the user's query plus TIMESERIES, SINCE and UNTIL in epoch ms. */
export function chunkNrql(nrql: string, chunk: FetchWindow): string {
  return `${nrql} TIMESERIES ${timeseriesStep(chunk.stepSeconds)} SINCE ${chunk.from} UNTIL ${chunk.to}`;
}

function endpointOf(config: NewRelicConfig, deps: ConnectorDeps): string {
  const base = resolveBaseUrl(config.base_url, REGION_URLS[config.region], OFFICIAL_HOSTS, deps.hostPolicy);
  const root = apiRoot(base);
  return root.endsWith('/graphql') ? root : `${root}/graphql`;
}

function createNewRelicConnector(
  config: NewRelicConfig,
  secrets: NewRelicSecrets,
  deps: ConnectorDeps,
): Connector<NewRelicQuery> {
  const endpoint = endpointOf(config, deps);
  const accountId = Number(config.account_id);
  const apiKey = secrets.api_key;
  const limits: ConnectorLimits = { ...NEWRELIC_LIMITS, timeoutMs: deps.timeoutMs ?? NEWRELIC_LIMITS.timeoutMs };
  // Ask NRDB to give up a little before we do, so a slow query comes back as its own TIMEOUT error.
  const nrqlTimeoutSeconds = Math.min(120, Math.max(1, Math.floor(limits.timeoutMs / 1000) - 2));

  const seriesBody = (query: NewRelicQuery, chunk: FetchWindow): GraphqlBody => ({
    query: NRQL_DOCUMENT,
    variables: { accountId, nrql: chunkNrql(query.nrql, chunk), timeout: nrqlTimeoutSeconds },
  });

  const chunksOf = (window: FetchWindow): FetchWindow[] => {
    if (!Number.isInteger(window.stepSeconds) || window.stepSeconds < limits.minStepSeconds) {
      throw new ConnectorError(
        'bad_query',
        `New Relic steps must be whole seconds of at least ${limits.minStepSeconds}`,
      );
    }
    return chunkWindow(window, limits.maxPointsPerCall);
  };

  return {
    limits,

    async check(): Promise<CheckResult> {
      try {
        const answer = await postGraphql(
          deps,
          endpoint,
          apiKey,
          { query: CHECK_DOCUMENT, variables: { accountId } },
          { timeoutMs: limits.timeoutMs, hasData: (data) => accountOf(data)?.id != null },
        );
        const account = accountOf(answer.data);
        if (account?.id == null) {
          return {
            ok: false,
            error: {
              code: 'auth_failed',
              message: `the API key cannot read account ${accountId}; check account_id and the key's user`,
            },
          };
        }
        return {
          ok: true,
          details: { account_id: accountId, account_name: account.name ?? null, region: config.region, endpoint },
        };
      } catch (err) {
        const code = err instanceof ConnectorError ? err.code : 'unavailable';
        const message = err instanceof ConnectorError ? err.message : 'New Relic check failed unexpectedly';
        deps.logger.warn({ provider: 'newrelic', account_id: accountId, code }, 'New Relic check failed');
        return { ok: false, error: { code, message } };
      }
    },

    async fetchSeries(query, opts) {
      const shape = analyzeNrql(query.nrql);
      if (!shape.ok) throw new ConnectorError('bad_query', shape.message);
      const byTs = new Map<number, SeriesPoint>();
      for (const chunk of chunksOf(opts)) {
        const answer = await postGraphql(deps, endpoint, apiKey, seriesBody(query, chunk), {
          timeoutMs: limits.timeoutMs,
          signal: opts.signal,
          hasData: (data) => nrqlOf(data) !== undefined,
        });
        const nrql = nrqlOf(answer.data);
        const parsed = nrqlResultSchema.safeParse(nrql);
        if (!parsed.success) {
          throw new ConnectorError(
            'bad_response',
            'New Relic answered without NRQL TIMESERIES results (actor.account.nrql.results)',
          );
        }
        const rows = parsed.data.results;
        const { points, dropped, offGrid } = rowsToPoints(rows, shape.alias, { ...chunk, now: deps.now() });
        // Chunks are aligned outward to the step; keep only buckets that start inside the asked window.
        for (const p of points) if (p.ts >= opts.from && p.ts < opts.to) byTs.set(p.ts, p);
        if (rows.length > 0 && offGrid === rows.length) {
          // Every bucket off our grid: New Relic snapped the range differently; say so rather than return silence.
          deps.logger.warn(
            {
              provider: 'newrelic',
              account_id: accountId,
              from: chunk.from,
              to: chunk.to,
              rows: rows.length,
              time_window: parsed.data.metadata?.timeWindow,
            },
            'New Relic buckets did not match the requested step grid; all were dropped',
          );
        } else {
          deps.logger.debug(
            { provider: 'newrelic', account_id: accountId, from: chunk.from, to: chunk.to, rows: rows.length, dropped },
            'NRQL chunk fetched',
          );
        }
      }
      const points = [...byTs.values()].sort((a, b) => a.ts - b.ts);
      return { stepSeconds: opts.stepSeconds, points, unit: null };
    },

    describeQuery(query, window): ProviderRequest[] {
      return chunksOf(window).map((chunk) => ({
        method: 'POST',
        url: endpoint,
        headers: redactHeaders(
          { ...graphqlHeaders(apiKey), accept: 'application/json', 'content-type': 'application/json' },
          ['API-Key'],
        ),
        body: seriesBody(query, chunk),
      }));
    },
  };
}

/** `data.actor.account` of a NerdGraph answer, when present. */
function accountOf(data: unknown): { id?: unknown; name?: string } | undefined {
  const account = (data as { actor?: { account?: unknown } } | null | undefined)?.actor?.account;
  return account && typeof account === 'object' ? (account as { id?: unknown; name?: string }) : undefined;
}

/** `data.actor.account.nrql` of a NerdGraph answer, when present. */
function nrqlOf(data: unknown): unknown {
  const nrql = (accountOf(data) as { nrql?: unknown } | undefined)?.nrql;
  return nrql === null ? undefined : nrql;
}

/** The New Relic provider module (NerdGraph NRQL). */
export const newrelicConnector: ConnectorModule<NewRelicConfig, NewRelicSecrets, NewRelicQuery> = {
  id: 'newrelic',
  officialHosts: OFFICIAL_HOSTS,
  name: 'New Relic',
  kinds: METRIC_KINDS,
  configSchema: newRelicConfigSchema,
  secretsSchema: newRelicSecretsSchema,
  querySchema: newRelicQuerySchema,
  create: createNewRelicConnector,
};
