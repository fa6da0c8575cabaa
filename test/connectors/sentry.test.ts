// Sentry connector: the shared contract suite plus Sentry's own cases (request
// parameters, ms/s timestamps, zero-fill, partial buckets, fallback, sessions ratio,
// rate-limit headers, hosts, schema errors), all replayed over real HTTP.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sentryConnector } from '../../connectors/sentry/index.js';
import type { SentryQuery } from '../../connectors/sentry/schema.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../../connectors/types.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';
import { capturingLogger, connectorContract, CONTRACT_FROM, CONTRACT_TO, type Scenario } from './contract.js';

interface Fixture {
  _source: string;
  status: number;
  headers: Record<string, string>;
  body: any;
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/sentry/${name}.json`, import.meta.url), 'utf8')) as Fixture;
}

function reply(name: string): ReplayResponse {
  const f = fixture(name);
  return { status: f.status, headers: f.headers, body: f.body ?? undefined };
}

const ORG = 'the-interstellar-jurisdiction';
const SECRET = 'sntrys_CONTRACT_SECRET_0123456789abcdef';
const MINUTE = 60_000;
const isOrgCheck = (req: RecordedRequest) => req.path === `/api/0/organizations/${ORG}/`;
const isData = (req: RecordedRequest) => /\/(events-timeseries|events-stats|sessions)\/$/.test(req.path);

const DATA_BY_SCENARIO: Record<Scenario, string> = {
  ok: 'events-timeseries-count',
  empty: 'events-timeseries-empty',
  auth_failed: 'error-401',
  rate_limited: 'error-429',
  bad_query: 'error-400',
  unavailable: 'error-500',
  bad_response: 'bad-response-html',
};

connectorContract({
  module: sentryConnector,
  secret: SECRET,
  config: (baseUrl) => ({ organization: ORG, base_url: baseUrl }),
  secrets: { auth_token: SECRET },
  query: { dataset: 'errors', y_axis: 'count()', environment: 'production', project: 42 },
  respond(scenario, req) {
    if (isOrgCheck(req)) return reply(scenario === 'auth_failed' ? 'error-401' : 'organization');
    if (isData(req)) return reply(DATA_BY_SCENARIO[scenario]);
    return { status: 404 };
  },
  isDataRequest: isData,
  foreignConfig: { organization: ORG, base_url: 'https://sentry.attacker.example' },
});

describe('sentry connector', () => {
  let replay: Replay;
  let handler: (req: RecordedRequest) => ReplayResponse;
  const rateLimits: RateLimitInfo[] = [];
  const logger = capturingLogger();

  beforeAll(async () => {
    replay = await startReplay((req) => handler(req));
  });
  afterAll(async () => {
    await replay?.close();
  });
  beforeEach(() => {
    replay.requests.length = 0;
    rateLimits.length = 0;
  });

  const deps = (overrides: Partial<ConnectorDeps> = {}): ConnectorDeps => ({
    fetch: globalThis.fetch,
    now: () => CONTRACT_TO + 3_600_000,
    logger,
    hostPolicy: { allowedHosts: [], allowAnyHost: true },
    onRateLimit: (info) => rateLimits.push(info),
    ...overrides,
  });
  const connector = (overrides: Partial<ConnectorDeps> = {}, config: Record<string, unknown> = {}) =>
    sentryConnector.create(
      sentryConnector.configSchema.parse({ organization: ORG, base_url: replay.url, ...config }),
      sentryConnector.secretsSchema.parse({ auth_token: SECRET }),
      deps(overrides),
    );
  const q = (query: Record<string, unknown>): SentryQuery => sentryConnector.querySchema.parse(query);
  const hour = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };

  /** The fixture's events-timeseries values as [ts, value] pairs. */
  const timeseriesValues = (name: string) =>
    fixture(name).body.timeSeries[0].values as Array<{ timestamp: number; value: number; incomplete: boolean }>;

  describe('events-timeseries', () => {
    it('sends the documented parameters with the bearer token', async () => {
      handler = () => reply('events-timeseries-count');
      await connector().fetchSeries(
        q({
          dataset: 'errors',
          y_axis: 'count()',
          project: ['42', 7],
          environment: ['production', 'canary'],
          query: 'level:error',
        }),
        hour,
      );
      expect(replay.requests).toHaveLength(1);
      const [req] = replay.requests;
      expect(req.method).toBe('GET');
      expect(req.path).toBe(`/api/0/organizations/${ORG}/events-timeseries/`);
      expect(req.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(req.query.get('dataset')).toBe('errors');
      expect(req.query.get('yAxis')).toBe('count()');
      expect(req.query.get('interval')).toBe('1m');
      expect(req.query.get('start')).toBe('2026-11-01T12:00:00');
      expect(req.query.get('end')).toBe('2026-11-01T13:00:00');
      expect(req.query.getAll('project')).toEqual(['42', '7']);
      expect(req.query.getAll('environment')).toEqual(['production', 'canary']);
      expect(req.query.get('query')).toBe('level:error');
      // statsPeriod would override start/end.
      expect(req.query.has('statsPeriod')).toBe(false);
    });

    it('keeps counts (zeros included) at their ms timestamps and drops the end bucket Sentry adds', async () => {
      handler = () => reply('events-timeseries-count');
      const series = await connector().fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour);
      const expected = timeseriesValues('events-timeseries-count')
        .filter((v) => v.timestamp >= CONTRACT_FROM && v.timestamp < CONTRACT_TO)
        .map((v) => ({ ts: v.timestamp, value: v.value }));
      expect(expected).toHaveLength(60);
      expect(series.points).toEqual(expected);
      expect(series.points.some((p) => p.value === 0)).toBe(true);
      expect(series.points.at(-1)!.ts).toBe(CONTRACT_TO - MINUTE);
      expect(series.unit).toBeNull();
    });

    it('drops zero-filled latency buckets and buckets Sentry marks incomplete; reports the unit', async () => {
      handler = () => reply('events-timeseries-p95');
      const window = { from: CONTRACT_FROM, to: CONTRACT_FROM + 11 * MINUTE, stepSeconds: 60 };
      const series = await connector().fetchSeries(
        q({ dataset: 'transactions', y_axis: 'p95(transaction.duration)' }),
        window,
      );
      const values = timeseriesValues('events-timeseries-p95');
      const expected = values
        .filter((v) => !v.incomplete && v.value !== 0)
        .map((v) => ({ ts: v.timestamp, value: v.value }));
      expect(values.some((v) => v.value === 0)).toBe(true);
      expect(values.some((v) => v.incomplete && v.value !== 0)).toBe(true);
      expect(series.points).toEqual(expected);
      expect(series.unit).toBe('millisecond');
    });

    it('drops the trailing bucket that has not closed yet', async () => {
      handler = () => reply('events-timeseries-count');
      const now = CONTRACT_FROM + 30 * MINUTE + 30_000;
      const series = await connector({ now: () => now }).fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour);
      expect(series.points).toHaveLength(30);
      for (const p of series.points) expect(p.ts + MINUTE).toBeLessThanOrEqual(now);
    });

    it('treats an empty timeSeries as no data', async () => {
      handler = () => reply('events-timeseries-empty');
      const series = await connector().fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour);
      expect(series.points).toEqual([]);
    });

    it('maps a 200 with the wrong JSON shape to bad_response', async () => {
      handler = () => ({ status: 200, body: { data: [] } });
      const err = await connector()
        .fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe('bad_response');
    });

    it('refuses buckets of another size than the step asked for', async () => {
      const served = fixture('events-timeseries-count').body;
      handler = () => ({
        status: 200,
        body: {
          ...served,
          timeSeries: [{ ...served.timeSeries[0], meta: { ...served.timeSeries[0].meta, interval: 300_000 } }],
        },
      });
      const err = (await connector()
        .fetchSeries(q({ dataset: 'spans', y_axis: 'count()' }), hour)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe('bad_query');
      expect(err.message).toContain('300 s');
    });

    it("passes Sentry's 400 detail through as bad_query", async () => {
      handler = () => reply('error-400-too-many-points');
      const err = (await connector()
        .fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe('bad_query');
      expect(err.message).toContain(fixture('error-400-too-many-points').body.detail);
    });

    it('chunks long windows under the point cap without duplicating the boundary buckets', async () => {
      // Answer every chunk like Sentry does: one bucket per step from start to end inclusive.
      handler = (req) => {
        const start = Date.parse(`${req.query.get('start')}Z`);
        const end = Date.parse(`${req.query.get('end')}Z`);
        const template = fixture('events-timeseries-count').body;
        const values = [];
        for (let ts = start; ts <= end; ts += MINUTE) values.push({ incomplete: false, timestamp: ts, value: 1 });
        return { status: 200, body: { ...template, timeSeries: [{ ...template.timeSeries[0], values }] } };
      };
      const c = connector({ now: () => CONTRACT_FROM + 10 * 86_400_000 });
      const minutes = 2 * c.limits.maxPointsPerCall + 1;
      const window = { from: CONTRACT_FROM, to: CONTRACT_FROM + minutes * MINUTE, stepSeconds: 60 };
      const series = await c.fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), window);
      expect(replay.requests).toHaveLength(3);
      for (const req of replay.requests) {
        const span = Date.parse(`${req.query.get('end')}Z`) - Date.parse(`${req.query.get('start')}Z`);
        expect(span / MINUTE).toBeLessThanOrEqual(c.limits.maxPointsPerCall);
      }
      expect(series.points).toHaveLength(minutes);
      expect(new Set(series.points.map((p) => p.ts)).size).toBe(minutes);
    });
  });

  describe('events-stats fallback', () => {
    it('falls back to events-stats on a 404, reads second timestamps, and stays there', async () => {
      handler = (req) =>
        req.path.endsWith('/events-timeseries/') ? reply('error-404-missing-endpoint') : reply('events-stats-count');
      const c = connector();
      const query = q({ dataset: 'errors', y_axis: 'count()', environment: 'production' });
      const series = await c.fetchSeries(query, hour);
      expect(replay.requests.map((r) => r.path)).toEqual([
        `/api/0/organizations/${ORG}/events-timeseries/`,
        `/api/0/organizations/${ORG}/events-stats/`,
      ]);
      const stats = replay.requests[1];
      expect(stats.query.get('yAxis')).toBe('count()');
      expect(stats.query.get('environment')).toBe('production');
      expect(stats.query.get('interval')).toBe('1m');
      const expected = (fixture('events-stats-count').body.data as Array<[number, Array<{ count: number }>]>)
        .map(([s, [cell]]) => ({ ts: s * 1000, value: cell.count }))
        .filter((p) => p.ts >= CONTRACT_FROM && p.ts < CONTRACT_TO);
      expect(series.points).toEqual(expected);
      // Same data as the events-timeseries fixture: the two endpoints agree after mapping.
      handler = () => reply('events-timeseries-count');
      const direct = await connector().fetchSeries(query, hour);
      expect(series.points).toEqual(direct.points);

      replay.requests.length = 0;
      handler = (req) => (req.path.endsWith('/events-stats/') ? reply('events-stats-count') : reply('error-500'));
      await c.fetchSeries(query, hour);
      expect(replay.requests.map((r) => r.path)).toEqual([`/api/0/organizations/${ORG}/events-stats/`]);
      expect(c.describeQuery(query, hour)[0].url).toContain('/events-stats/');
    });

    it('does not fall back on other errors', async () => {
      handler = () => reply('error-500');
      const err = (await connector()
        .fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe('unavailable');
      expect(replay.requests).toHaveLength(1);
    });
  });

  describe('sessions (crash-free rate)', () => {
    const threeHours = { from: CONTRACT_FROM - 3 * 3_600_000, to: CONTRACT_FROM, stepSeconds: 3600 };
    const groups = () =>
      fixture('sessions-status').body.groups as Array<{ by: Record<string, string>; series: Record<string, number[]> }>;
    const sumAt = (i: number, status?: string) =>
      groups()
        .filter((g) => status === undefined || g.by['session.status'] === status)
        .reduce((acc, g) => acc + g.series['sum(session)'][i], 0);

    it('asks for sum(session) grouped by session.status at an hourly interval', async () => {
      handler = () => reply('sessions-status');
      await connector().fetchSeries(
        q({ dataset: 'sessions', field: 'crash_free_rate(session)', project: 42, environment: 'production' }),
        threeHours,
      );
      const [req] = replay.requests;
      expect(req.path).toBe(`/api/0/organizations/${ORG}/sessions/`);
      expect(req.query.get('field')).toBe('sum(session)');
      expect(req.query.get('groupBy')).toBe('session.status');
      expect(req.query.get('interval')).toBe('1h');
      expect(req.query.get('start')).toBe('2026-11-01T09:00:00');
      expect(req.query.get('project')).toBe('42');
      expect(req.query.get('environment')).toBe('production');
    });

    it('crash_free_rate: value = sessions without a crash, weight = all sessions; empty hours omitted', async () => {
      handler = () => reply('sessions-status');
      const series = await connector().fetchSeries(
        q({ dataset: 'sessions', field: 'crash_free_rate(session)' }),
        threeHours,
      );
      const intervals = fixture('sessions-status').body.intervals as string[];
      const expected = intervals
        .map((iso, i) => ({ ts: Date.parse(iso), value: sumAt(i) - sumAt(i, 'crashed'), weight: sumAt(i) }))
        .filter((p) => p.weight > 0);
      expect(expected.length).toBeLessThan(intervals.length); // the fixture has an hour without sessions
      expect(series.points).toEqual(expected);
      const rate = series.points[0].value / series.points[0].weight!;
      expect(rate).toBeCloseTo(1 - sumAt(0, 'crashed') / sumAt(0), 12);
    });

    it('crash_rate: value = crashed sessions; sum(session): plain counts with zeros kept', async () => {
      handler = () => reply('sessions-status');
      const crash = await connector().fetchSeries(q({ dataset: 'sessions', field: 'crash_rate(session)' }), threeHours);
      expect(crash.points.map((p) => [p.value, p.weight])).toEqual([
        [sumAt(0, 'crashed'), sumAt(0)],
        [sumAt(1, 'crashed'), sumAt(1)],
      ]);
      const total = await connector().fetchSeries(q({ dataset: 'sessions', field: 'sum(session)' }), threeHours);
      expect(total.points.map((p) => p.value)).toEqual([sumAt(0), sumAt(1), sumAt(2)]);
      expect(total.points.every((p) => p.weight === undefined)).toBe(true);
    });

    it('no sessions is an empty series', async () => {
      handler = () => reply('sessions-empty');
      const series = await connector().fetchSeries(q({ dataset: 'sessions', field: 'crash_free_rate(session)' }), hour);
      expect(series.points).toEqual([]);
    });

    it('chunks at the sessions cap of 1,000 intervals and refuses steps that do not divide a day', async () => {
      const c = connector();
      const long = { from: CONTRACT_FROM, to: CONTRACT_FROM + 1_001 * 3_600_000, stepSeconds: 3600 };
      expect(c.describeQuery(q({ dataset: 'sessions', field: 'sum(session)' }), long)).toHaveLength(2);
      expect(() =>
        c.describeQuery(q({ dataset: 'sessions', field: 'sum(session)' }), { ...hour, stepSeconds: 420 }),
      ).toThrow(/divides one day/);
    });
  });

  describe('rate limits', () => {
    it('reports X-Sentry-Rate-Limit-* on every answer', async () => {
      handler = () => reply('events-timeseries-count');
      await connector().fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour);
      const headers = fixture('events-timeseries-count').headers;
      const nowSeconds = (CONTRACT_TO + 3_600_000) / 1000;
      expect(rateLimits).toEqual([
        {
          limit: Number(headers['X-Sentry-Rate-Limit-Limit']),
          remaining: Number(headers['X-Sentry-Rate-Limit-Remaining']),
          resetSeconds: Number(headers['X-Sentry-Rate-Limit-Reset']) - nowSeconds,
        },
      ]);
    });

    it('reports them on a 429 too, and prefers Retry-After over the reset instant', async () => {
      const limited = reply('error-429');
      handler = () => ({ ...limited, headers: { ...limited.headers, 'Retry-After': '3' } });
      const err = (await connector()
        .fetchSeries(q({ dataset: 'errors', y_axis: 'count()' }), hour)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe('rate_limited');
      expect(err.retryAfterSeconds).toBe(3);
      expect(err.message).toContain(fixture('error-429').body.detail);
      expect(rateLimits).toHaveLength(1);
      expect(rateLimits[0]).toMatchObject({ remaining: 0, retryAfterSeconds: 3 });
    });
  });

  describe('check', () => {
    it('returns the organization it reached', async () => {
      handler = (req) => (isOrgCheck(req) ? reply('organization') : { status: 404 });
      const result = await connector().check();
      expect(result).toEqual({
        ok: true,
        details: {
          organization: ORG,
          name: fixture('organization').body.name,
          id: fixture('organization').body.id,
          host: new URL(replay.url).host,
        },
      });
      expect(replay.requests[0].headers.authorization).toBe(`Bearer ${SECRET}`);
    });

    it('reports an unknown organization as invalid_config', async () => {
      handler = () => ({ status: 404, body: { detail: 'The requested resource does not exist' } });
      const result = await connector().check();
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('invalid_config');
        expect(result.error.message).toContain(ORG);
      }
    });
  });

  describe('hosts', () => {
    const strict = (allowedHosts: string[] = []) => ({ hostPolicy: { allowedHosts } });
    const describeUrl = (config: Record<string, unknown>, allowedHosts: string[] = []) =>
      sentryConnector
        .create(
          sentryConnector.configSchema.parse({ organization: ORG, ...config }),
          { auth_token: SECRET },
          deps(strict(allowedHosts)),
        )
        .describeQuery(q({ dataset: 'errors', y_axis: 'count()' }), hour)[0].url;

    it('uses sentry.io by default and the region hosts for us/de', () => {
      expect(describeUrl({})).toMatch(/^https:\/\/sentry\.io\/api\/0\/organizations\//);
      expect(describeUrl({ region: 'us' })).toMatch(/^https:\/\/us\.sentry\.io\/api\/0\//);
      expect(describeUrl({ region: 'de' })).toMatch(/^https:\/\/de\.sentry\.io\/api\/0\//);
    });

    it('accepts a self-hosted server only when the operator allows its host, with or without /api/0', () => {
      expect(() => describeUrl({ base_url: 'https://sentry.internal.example' })).toThrow(ConnectorError);
      expect(describeUrl({ base_url: 'https://sentry.internal.example/api/0/' }, ['sentry.internal.example'])).toMatch(
        /^https:\/\/sentry\.internal\.example\/api\/0\/organizations\/the-interstellar-jurisdiction\/events-timeseries\/\?/,
      );
    });

    it('describeQuery redacts the token', () => {
      const [req] = connector().describeQuery(q({ dataset: 'errors', y_axis: 'count()' }), hour);
      expect(req.headers.authorization).toBe('[redacted]');
      expect(JSON.stringify(req)).not.toContain(SECRET);
    });
  });

  it('never logged the token in any of the cases above', () => {
    expect(logger.lines.length).toBeGreaterThan(0); // the fallback case logs
    for (const line of logger.lines) expect(line).not.toContain(SECRET);
  });

  describe('schemas name the failing field', () => {
    const pathsOf = (
      schema: { safeParse(x: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } } },
      x: unknown,
    ) => {
      const r = schema.safeParse(x);
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => i.path.join('.'));
    };

    it('query', () => {
      const bad = sentryConnector.querySchema.safeParse({
        dataset: 'errors',
        y_axis: 'count()',
        project: 'web-frontend',
      });
      expect(bad.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        ['project', expect.stringMatching(/numeric Sentry project id/)],
      ]);
      expect(
        pathsOf(sentryConnector.querySchema, { dataset: 'errors', y_axis: 'count()', project: [1, 'x'] })[0],
      ).toMatch(/^project/);
      expect(pathsOf(sentryConnector.querySchema, { dataset: 'errors' })).toEqual(['y_axis']);
      expect(pathsOf(sentryConnector.querySchema, { dataset: 'sessions' })).toEqual(['field']);
      expect(pathsOf(sentryConnector.querySchema, { dataset: 'sessions', field: 'crash_free_rate(user)' })).toEqual([
        'field',
      ]);
      expect(pathsOf(sentryConnector.querySchema, { y_axis: 'count()' })).toEqual(['dataset']);
      expect(
        sentryConnector.querySchema.safeParse({ dataset: 'errors', y_axis: 'count()', project: '-1' }).success,
      ).toBe(true);
    });

    it('config and secrets', () => {
      expect(pathsOf(sentryConnector.configSchema, { organization: ORG, region: 'eu' })).toEqual(['region']);
      expect(pathsOf(sentryConnector.configSchema, {})).toEqual(['organization']);
      expect(pathsOf(sentryConnector.configSchema, { organization: ORG, base_url: 'sentry.example.com' })).toEqual([
        'base_url',
      ]);
      expect(pathsOf(sentryConnector.secretsSchema, { auth_token: '' })).toEqual(['auth_token']);
    });
  });
});
