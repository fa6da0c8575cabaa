// Datadog connector: the shared contract (v2 and v1 paths) over replayed
// documented answers, through the official client's real request/response code,
// plus rollups, intervals, rate-limit headers, retries and per-connection isolation.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { datadogConnector } from '../../connectors/datadog/index.js';
import { queryWithRollup } from '../../connectors/datadog/mapping.js';
import { DATADOG_SITES } from '../../connectors/datadog/schema.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../../connectors/types.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';
import {
  capturingLogger,
  connectorContract,
  CONTRACT_FROM,
  CONTRACT_STEP_SECONDS,
  CONTRACT_TO,
  type Scenario,
} from './contract.js';

interface Fixture {
  status: number;
  headers?: Record<string, string>;
  body: any;
}
const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`../fixtures/datadog/${name}.json`, import.meta.url), 'utf8'));
const reply = (name: string): ReplayResponse => {
  const f = fixture(name);
  return { status: f.status, headers: f.headers, body: f.body };
};

const API_KEY = 'dd-api-key-7c1e9f0b2a';
const APP_KEY = 'dd-app-key-4d2a8e6c1b';
const V2_PATH = '/api/v2/query/timeseries';
const V1_PATH = '/api/v1/query';
const STEP_MS = CONTRACT_STEP_SECONDS * 1000;
const isCheckProbe = (req: RecordedRequest) =>
  req.path === V1_PATH && (req.query.get('query') ?? '').startsWith('avg:datadog.estimated_usage');
const isData = (req: RecordedRequest) => req.path === V2_PATH || (req.path === V1_PATH && !isCheckProbe(req));

const ERROR_FIXTURE: Partial<Record<Scenario, string>> = {
  rate_limited: 'error_429',
  bad_query: 'error_400',
  unavailable: 'error_503',
  bad_response: 'not_datadog',
};

/** The replayed Datadog: every scenario of the contract, on both query APIs. */
function respond(scenario: Scenario, req: RecordedRequest): ReplayResponse {
  if (scenario === 'auth_failed') return reply('error_403');
  if (req.path === '/api/v1/validate') return reply('validate_ok');
  if (isCheckProbe(req)) return reply('v1_query_empty');
  const api = req.path === V2_PATH ? 'v2_timeseries' : 'v1_query';
  if (scenario === 'ok') return reply(`${api}_ok`);
  if (scenario === 'empty') return reply(`${api}_empty`);
  return reply(ERROR_FIXTURE[scenario]!);
}

for (const api of ['v2', 'v1'] as const) {
  connectorContract({
    module: datadogConnector,
    secret: API_KEY,
    config: (baseUrl) => ({ site: 'datadoghq.com' as const, base_url: baseUrl }),
    secrets: { api_key: API_KEY, app_key: APP_KEY },
    query: { query: 'sum:trace.http.request.errors{env:production}.as_count()', api },
    respond,
    isDataRequest: isData,
    foreignConfig: { site: 'datadoghq.com', base_url: 'https://datadog-proxy.example.com' },
  });
}

function deps(overrides: Partial<ConnectorDeps> = {}): ConnectorDeps {
  return {
    fetch: globalThis.fetch,
    now: () => CONTRACT_TO + 3_600_000,
    logger: capturingLogger(),
    hostPolicy: { allowedHosts: [], allowAnyHost: true },
    ...overrides,
  };
}
const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: CONTRACT_STEP_SECONDS };

describe('datadog connector (replayed answers)', () => {
  let replay: Replay;
  let scenario: Scenario = 'ok';
  let override: ((req: RecordedRequest) => ReplayResponse | undefined) | undefined;

  beforeAll(async () => {
    replay = await startReplay((req) => override?.(req) ?? respond(scenario, req));
  });
  afterAll(async () => replay?.close());
  afterEach(() => {
    scenario = 'ok';
    override = undefined;
    replay.requests.length = 0;
  });

  const connect = (d: Partial<ConnectorDeps> = {}, keys = { api_key: API_KEY, app_key: APP_KEY }) =>
    datadogConnector.create(datadogConnector.configSchema.parse({ base_url: replay.url }), keys, deps(d));
  const q = (query: object) => datadogConnector.querySchema.parse(query);

  it('v2: maps times/values to points, omits nulls and drops the trailing partial bucket', async () => {
    const series = await connect().fetchSeries(q({ query: 'avg:trace.http.request.duration{env:production}' }), window);
    const { times, values } = fixture('v2_timeseries_ok').body.data.attributes;
    const expected = (times as number[])
      .map((ts, i) => ({ ts, value: values[0][i] as number | null }))
      .filter((p) => p.value !== null && p.ts < CONTRACT_TO);
    expect(series.points).toEqual(expected);
    expect(times).toHaveLength(61);
    expect(series.points).toHaveLength(58); // 60 closed buckets minus the two nulls
    expect(series.points.some((p) => p.ts === CONTRACT_TO)).toBe(false);
    expect(series.unit).toBe('millisecond');
  });

  it('v2: sends the documented snake_case body with the step as interval and rollup, both keys, as describeQuery says', async () => {
    const c = connect();
    const query = q({ query: 'sum:trace.http.request.errors{env:production}.as_count()' });
    await c.fetchSeries(query, window);
    const [req] = replay.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(V2_PATH);
    expect(req.headers['dd-api-key']).toBe(API_KEY);
    expect(req.headers['dd-application-key']).toBe(APP_KEY);
    expect(req.json).toEqual({
      data: {
        type: 'timeseries_request',
        attributes: {
          from: CONTRACT_FROM,
          to: CONTRACT_TO,
          interval: STEP_MS,
          queries: [
            {
              data_source: 'metrics',
              name: 'a',
              query: 'sum:trace.http.request.errors{env:production}.as_count().rollup(sum, 60)',
            },
          ],
          formulas: [{ formula: 'a' }],
        },
      },
    });
    const [described] = c.describeQuery(query, window);
    expect(described.body).toEqual(req.json);
    expect(described.url).toBe(replay.url + V2_PATH);
    expect(described.headers['DD-API-KEY']).toBe('[redacted]');
  });

  it('v1: sends from/to in seconds and the rolled-up query, and maps the pointlist', async () => {
    const c = connect();
    const query = q({ query: 'sum:trace.http.request.errors{env:production}.as_count()', api: 'v1' });
    const series = await c.fetchSeries(query, window);
    const [req] = replay.requests;
    expect(req.method).toBe('GET');
    expect(req.path).toBe(V1_PATH);
    expect(req.query.get('from')).toBe(String(CONTRACT_FROM / 1000));
    expect(req.query.get('to')).toBe(String(CONTRACT_TO / 1000));
    expect(req.query.get('query')).toBe('sum:trace.http.request.errors{env:production}.as_count().rollup(sum, 60)');
    const [described] = c.describeQuery(query, window);
    expect(new URL(described.url).searchParams.toString()).toBe(req.query.toString());
    const pointlist: [number, number | null][] = fixture('v1_query_ok').body.series[0].pointlist;
    const expected = pointlist
      .filter(([ts, v]) => v !== null && ts < CONTRACT_TO)
      .map(([ts, value]) => ({ ts, value }));
    expect(series.points).toEqual(expected);
    expect(series.points).toHaveLength(58);
  });

  it('appends a rollup matching the step only when the query has none', () => {
    expect(queryWithRollup(q({ query: 'avg:system.load.1{*}' }), 60)).toBe('avg:system.load.1{*}.rollup(avg, 60)');
    expect(queryWithRollup(q({ query: 'sum:requests{*}', kind: 'count' }), 300)).toBe(
      'sum:requests{*}.rollup(sum, 300)',
    );
    expect(queryWithRollup(q({ query: 'sum:requests{*}', kind: 'ratio' }), 60)).toBe('sum:requests{*}.rollup(sum, 60)');
    expect(queryWithRollup(q({ query: 'sum:errors{*}.as_count()' }), 60)).toBe(
      'sum:errors{*}.as_count().rollup(sum, 60)',
    );
    expect(queryWithRollup(q({ query: 'p95:latency{*}', kind: 'quantile' }), 60)).toBe(
      'p95:latency{*}.rollup(avg, 60)',
    );
    expect(queryWithRollup(q({ query: 'max:queue{*}.rollup(max, 60)', kind: 'count' }), 60)).toBe(
      'max:queue{*}.rollup(max, 60)',
    );
  });

  it("takes the metric's kind from the fetch window when the query names none (the query's own kind wins)", () => {
    const c = connect();
    const sent = (query: object, kind?: 'count' | 'gauge') =>
      JSON.stringify(c.describeQuery(q({ query: 'sum:requests{*}', ...query }), { ...window, kind }));
    expect(sent({}, 'count')).toContain('.rollup(sum, 60)');
    expect(sent({}, 'gauge')).toContain('.rollup(avg, 60)');
    expect(sent({}, undefined)).toContain('.rollup(avg, 60)');
    expect(sent({ kind: 'gauge' }, 'count')).toContain('.rollup(avg, 60)');
  });

  it('refuses a grouped query returning several series (bad_query)', async () => {
    override = (req) => (req.path === V2_PATH ? reply('v2_timeseries_grouped') : undefined);
    const err = (await connect()
      .fetchSeries(q({ query: 'sum:x{*} by {env}' }), window)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.code).toBe('bad_query');
    expect(err.message).toContain('env:staging');
  });

  it('fails clearly (bad_response) when Datadog raised the interval above the step, on both APIs', async () => {
    override = (req) =>
      req.path === V2_PATH
        ? reply('v2_timeseries_coarse')
        : req.path === V1_PATH
          ? reply('v1_query_coarse')
          : undefined;
    for (const api of ['v2', 'v1']) {
      const err = (await connect()
        .fetchSeries(q({ query: 'avg:x{*}', api }), window)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe('bad_response');
      expect(err.message).toMatch(/300 s buckets where 60 s were asked/);
    }
  });

  it('reports rate-limit headers through onRateLimit and turns 429 into rate_limited with X-RateLimit-Reset', async () => {
    const seen: RateLimitInfo[] = [];
    await connect({ onRateLimit: (i) => seen.push(i) }).fetchSeries(q({ query: 'avg:x{*}' }), window);
    expect(seen).toEqual([{ limit: 1600, remaining: 1583, resetSeconds: 2400 }]);
    scenario = 'rate_limited';
    seen.length = 0;
    const err = (await connect({ onRateLimit: (i) => seen.push(i) })
      .fetchSeries(q({ query: 'avg:x{*}' }), window)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterSeconds).toBe(7);
    expect(seen).toEqual([{ limit: 1600, remaining: 0, resetSeconds: 7, retryAfterSeconds: 7 }]);
  });

  it('never retries by itself: one request per failing chunk (the scheduler owns retries)', async () => {
    for (const s of ['rate_limited', 'unavailable'] as const) {
      scenario = s;
      replay.requests.length = 0;
      await connect()
        .fetchSeries(q({ query: 'avg:x{*}' }), window)
        .catch(() => undefined);
      expect(replay.requests.filter(isData)).toHaveLength(1);
    }
  });

  it('maps the documented 400 {"errors": [...]} to bad_query with Datadog\'s message', async () => {
    scenario = 'bad_query';
    const err = (await connect()
      .fetchSeries(q({ query: 'avg:x{' }), window)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('bad_query');
    expect(err.status).toBe(400);
    expect(err.message).toContain('Error parsing query');
  });

  it('chunks at 1,500 points with contiguous windows', async () => {
    override = (req) => (req.path === V2_PATH ? reply('v2_timeseries_empty') : undefined);
    const long = { ...window, to: CONTRACT_FROM + 4_000 * STEP_MS };
    await connect().fetchSeries(q({ query: 'avg:x{*}' }), long);
    const ranges = replay.requests.filter(isData).map((r) => r.json.data.attributes as { from: number; to: number });
    expect(ranges.map((r) => (r.to - r.from) / STEP_MS)).toEqual([1500, 1500, 1000]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i].from).toBe(ranges[i - 1].to);
  });

  it('check() validates the API key, then probes the application key with a tiny query', async () => {
    const result = await connect().check();
    expect(result).toMatchObject({ ok: true, details: { api_key: 'valid' } });
    expect(replay.requests.map((r) => r.path)).toEqual(['/api/v1/validate', V1_PATH]);
    expect(replay.requests[0].headers['dd-api-key']).toBe(API_KEY);
    expect(replay.requests[1].headers['dd-application-key']).toBe(APP_KEY);
    // An application key without timeseries_query: /validate passes, the query is refused.
    replay.requests.length = 0;
    override = (req) => (req.path === V1_PATH ? reply('error_403') : undefined);
    const refused = await connect().check();
    expect(refused).toEqual({ ok: false, error: { code: 'auth_failed', message: 'Datadog: Forbidden' } });
    override = (req) => (req.path === '/api/v1/validate' ? { body: { valid: false } } : undefined);
    expect(await connect().check()).toMatchObject({ ok: false, error: { code: 'auth_failed' } });
  });

  it('keeps connections apart: each request carries its own keys to its own server, whatever DD_* says', async () => {
    const other = await startReplay((req) => respond('ok', req));
    const saved = { site: process.env.DD_SITE, api: process.env.DD_API_KEY, app: process.env.DD_APP_KEY };
    process.env.DD_SITE = 'datadoghq.eu';
    process.env.DD_API_KEY = 'env-api-key-must-not-be-used';
    process.env.DD_APP_KEY = 'env-app-key-must-not-be-used';
    try {
      const a = datadogConnector.create(
        { site: 'datadoghq.com', base_url: replay.url },
        { api_key: 'key-A', app_key: 'app-A' },
        deps(),
      );
      const b = datadogConnector.create(
        { site: 'us5.datadoghq.com', base_url: other.url },
        { api_key: 'key-B', app_key: 'app-B' },
        deps(),
      );
      const query = q({ query: 'avg:x{*}' });
      await Promise.all(
        [0, 1, 2].flatMap(() => [a.fetchSeries(query, window), b.fetchSeries(query, window), a.check(), b.check()]),
      );
      const keysAt = (r: Replay) =>
        new Set(r.requests.flatMap((x) => [x.headers['dd-api-key'], x.headers['dd-application-key']].filter(Boolean)));
      expect(keysAt(replay)).toEqual(new Set(['key-A', 'app-A']));
      expect(keysAt(other)).toEqual(new Set(['key-B', 'app-B']));
      expect(replay.requests.length).toBe(9);
      expect(other.requests.length).toBe(9);
      // Without base_url, the site alone picks the host, not DD_SITE.
      const bySite = datadogConnector.create(
        { site: 'us5.datadoghq.com' },
        { api_key: 'k', app_key: 'a' },
        deps({ hostPolicy: { allowedHosts: [] } }),
      );
      expect(bySite.describeQuery(query, window)[0].url).toBe('https://api.us5.datadoghq.com/api/v2/query/timeseries');
    } finally {
      for (const [name, value] of [
        ['DD_SITE', saved.site],
        ['DD_API_KEY', saved.api],
        ['DD_APP_KEY', saved.app],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await other.close();
    }
  });

  it('knows every site, refuses others, and accepts official hosts as base_url under a strict policy', () => {
    const strict = deps({ hostPolicy: { allowedHosts: [] } });
    const keys = { api_key: 'k', app_key: 'a' };
    for (const site of DATADOG_SITES) {
      const c = datadogConnector.create(datadogConnector.configSchema.parse({ site }), keys, strict);
      expect(c.describeQuery(q({ query: 'avg:x{*}' }), window)[0].url).toBe(
        `https://api.${site}/api/v2/query/timeseries`,
      );
    }
    expect(DATADOG_SITES).toHaveLength(9);
    expect(datadogConnector.configSchema.parse({}).site).toBe('datadoghq.com');
    expect(datadogConnector.configSchema.safeParse({ site: 'datadoghq.org' }).error?.issues[0].path).toEqual(['site']);
    expect(() =>
      datadogConnector.create(
        datadogConnector.configSchema.parse({ base_url: 'https://api.datadoghq.eu' }),
        keys,
        strict,
      ),
    ).not.toThrow();
    expect(() =>
      datadogConnector.create(
        datadogConnector.configSchema.parse({ base_url: 'http://169.254.169.254' }),
        keys,
        strict,
      ),
    ).toThrow(/not an official host/);
  });

  it('validates secrets and queries with field errors', () => {
    expect(datadogConnector.secretsSchema.safeParse({ api_key: 'x' }).error?.issues[0].path).toEqual(['app_key']);
    expect(datadogConnector.querySchema.safeParse({ query: '' }).error?.issues[0].path).toEqual(['query']);
    expect(datadogConnector.querySchema.safeParse({ query: 'avg:x{*}', api: 'v3' }).error?.issues[0].path).toEqual([
      'api',
    ]);
    expect(datadogConnector.querySchema.parse({ query: 'avg:x{*}' }).api).toBe('v2');
  });

  it('stops at once when the caller aborts (no timeout error, no retry)', async () => {
    override = (req) => (isData(req) ? { ...reply('v2_timeseries_ok'), delayMs: 2_000 } : undefined);
    const controller = new AbortController();
    const started = Date.now();
    const pending = connect().fetchSeries(q({ query: 'avg:x{*}' }), { ...window, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const err = await pending.catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(Error);
    expect((err as ConnectorError).code).not.toBe('timeout');
    expect(replay.requests.filter(isData)).toHaveLength(1);
  });

  it('drops buckets that have not closed yet', async () => {
    const now = CONTRACT_FROM + 20.5 * 60_000;
    const series = await connect({ now: () => now }).fetchSeries(q({ query: 'avg:x{*}' }), window);
    expect(series.points.length).toBeGreaterThan(0);
    for (const p of series.points) expect(p.ts + STEP_MS).toBeLessThanOrEqual(now);
    expect(series.points.at(-1)!.ts).toBe(CONTRACT_FROM + 19 * STEP_MS);
  });
});
