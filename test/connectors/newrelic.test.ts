// New Relic connector: the shared contract suite over replayed NerdGraph
// answers, plus NRQL building, bucket alignment, value shapes and error mapping
// asserted on the requests the connector really sent.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newrelicConnector, chunkNrql } from '../../connectors/newrelic/index.js';
import { analyzeNrql } from '../../connectors/newrelic/nrql.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../../connectors/types.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';
import { CONTRACT_FROM, CONTRACT_TO, capturingLogger, connectorContract, type Scenario } from './contract.js';

interface Fixture {
  status: number;
  headers?: Record<string, string>;
  body: any;
}
const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`../fixtures/newrelic/${name}.json`, import.meta.url), 'utf8')) as Fixture;
const reply = (f: Fixture): ReplayResponse => ({ status: f.status, headers: f.headers, body: f.body });

const SECRET = 'NRAK-CONTRACTSECRET0123456789ABCD';
const ACCOUNT_ID = 1234567;
const AVG_QUERY = { nrql: "SELECT average(duration) AS 'avg_duration' FROM Transaction WHERE appName = 'checkout'" };
const isDataRequest = (req: RecordedRequest) => typeof req.json?.query === 'string' && req.json.query.includes('nrql(');

const SCENARIO_FIXTURE: Record<Scenario, string> = {
  ok: 'timeseries-average',
  empty: 'timeseries-average-empty',
  auth_failed: 'error-bad-api-key',
  rate_limited: 'error-rate-limited',
  bad_query: 'error-nrql-syntax',
  unavailable: 'error-server',
  bad_response: 'bad-response-no-timeseries',
};

connectorContract({
  module: newrelicConnector,
  secret: SECRET,
  config: (baseUrl) => ({ account_id: ACCOUNT_ID, region: 'us' as const, base_url: baseUrl }),
  secrets: { api_key: SECRET },
  query: AVG_QUERY,
  respond(scenario, req) {
    if (!isDataRequest(req)) return reply(fixture(scenario === 'auth_failed' ? 'error-bad-api-key' : 'check-account'));
    return reply(fixture(SCENARIO_FIXTURE[scenario]));
  },
  isDataRequest,
  foreignConfig: { account_id: ACCOUNT_ID, region: 'us' as const, base_url: 'https://newrelic.example.net' },
});

describe('newrelic connector', () => {
  let replay: Replay;
  let answer: (req: RecordedRequest) => ReplayResponse = () => reply(fixture('timeseries-average'));
  const logger = capturingLogger();
  const rateLimits: RateLimitInfo[] = [];
  const deps = (overrides: Partial<ConnectorDeps> = {}): ConnectorDeps => ({
    fetch: globalThis.fetch,
    now: () => CONTRACT_TO + 3_600_000,
    logger,
    hostPolicy: { allowedHosts: [], allowAnyHost: true },
    onRateLimit: (info) => rateLimits.push(info),
    ...overrides,
  });
  const connector = (overrides: Partial<ConnectorDeps> = {}, config: Record<string, unknown> = {}) =>
    newrelicConnector.create(
      newrelicConnector.configSchema.parse({
        account_id: String(ACCOUNT_ID),
        region: 'eu',
        base_url: replay.url,
        ...config,
      }),
      newrelicConnector.secretsSchema.parse({ api_key: SECRET }),
      deps(overrides),
    );
  const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
  const query = (nrql: string) => newrelicConnector.querySchema.parse({ nrql });
  const failure = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  };

  beforeAll(async () => {
    replay = await startReplay((req) => answer(req));
  });
  afterAll(async () => {
    await replay?.close();
  });
  beforeEach(() => {
    replay.requests.length = 0;
    rateLimits.length = 0;
    answer = () => reply(fixture('timeseries-average'));
  });

  describe('request', () => {
    it('posts GraphQL with variables to /graphql with the API-Key header, never string-built GraphQL', async () => {
      await connector().fetchSeries(query(AVG_QUERY.nrql), window);
      expect(replay.requests).toHaveLength(1);
      const [req] = replay.requests;
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/graphql');
      expect(req.headers['api-key']).toBe(SECRET);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.json.variables).toEqual({
        accountId: ACCOUNT_ID,
        nrql: `${AVG_QUERY.nrql} TIMESERIES 1 minute SINCE ${CONTRACT_FROM} UNTIL ${CONTRACT_TO}`,
        timeout: 28,
      });
      // The document itself carries neither the account, nor the NRQL, nor the key.
      expect(req.json.query).toContain('nrql(query: $nrql, timeout: $timeout)');
      expect(req.json.query).toContain('account(id: $accountId)');
      expect(req.json.query).not.toContain(String(ACCOUNT_ID));
      expect(req.json.query).not.toContain('Transaction');
    });

    it('describeQuery is exactly what fetchSeries sends, with the key redacted', async () => {
      const c = connector();
      const described = c.describeQuery(query(AVG_QUERY.nrql), window);
      await c.fetchSeries(query(AVG_QUERY.nrql), window);
      expect(described).toHaveLength(1);
      expect(described[0].url).toBe(`${replay.url}/graphql`);
      expect(described[0].headers['API-Key']).toBe('[redacted]');
      expect(described[0].body).toEqual(replay.requests[0].json);
    });

    it('aligns SINCE/UNTIL outward to the step and spells the step in NRQL units', () => {
      const c = connector();
      const from = CONTRACT_FROM + 90_000; // 12:01:30
      const to = CONTRACT_FROM + 3_000_000; // 12:50:00
      const [five] = c.describeQuery(query(AVG_QUERY.nrql), { from, to, stepSeconds: 300 });
      expect((five.body as any).variables.nrql).toBe(
        `${AVG_QUERY.nrql} TIMESERIES 5 minutes SINCE ${CONTRACT_FROM} UNTIL ${CONTRACT_FROM + 3_000_000}`,
      );
      const [odd] = c.describeQuery(query(AVG_QUERY.nrql), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 90 });
      expect((odd.body as any).variables.nrql).toContain('TIMESERIES 90 seconds');
    });

    it('chunks at 366 buckets per query, back to back with no gap or overlap', async () => {
      const c = connector();
      const to = CONTRACT_FROM + 800 * 60_000;
      await c.fetchSeries(query(AVG_QUERY.nrql), { from: CONTRACT_FROM, to, stepSeconds: 60 });
      const ranges = replay.requests.map((r) => {
        const m = /SINCE (\d+) UNTIL (\d+)$/.exec(r.json.variables.nrql as string);
        return [Number(m![1]), Number(m![2])];
      });
      expect(ranges).toHaveLength(3);
      expect(ranges[0][0]).toBe(CONTRACT_FROM);
      expect(ranges[2][1]).toBe(to);
      for (let i = 0; i < ranges.length; i++) {
        expect((ranges[i][1] - ranges[i][0]) / 60_000).toBeLessThanOrEqual(366);
        if (i > 0) expect(ranges[i][0]).toBe(ranges[i - 1][1]);
      }
    });

    it('for any window and step, chunks are contiguous, on the grid, cover the window and hold at most 366 buckets', () => {
      const c = connector();
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 10 * 86_400_000 }),
          fc.integer({ min: 1, max: 5 * 86_400_000 }),
          fc.constantFrom(60, 120, 300, 900, 3600),
          (offset, length, step) => {
            const from = CONTRACT_FROM + offset;
            const ranges = c
              .describeQuery(query(AVG_QUERY.nrql), { from, to: from + length, stepSeconds: step })
              .map((r) => {
                const m = /SINCE (\d+) UNTIL (\d+)$/.exec((r.body as any).variables.nrql as string);
                return [Number(m![1]), Number(m![2])];
              });
            expect(ranges[0][0]).toBeLessThanOrEqual(from);
            expect(ranges[ranges.length - 1][1]).toBeGreaterThanOrEqual(from + length);
            ranges.forEach(([since, until], i) => {
              expect(since % (step * 1000)).toBe(0);
              expect(until % (step * 1000)).toBe(0);
              expect(until - since).toBeGreaterThan(0);
              expect((until - since) / (step * 1000)).toBeLessThanOrEqual(366);
              if (i > 0) expect(since).toBe(ranges[i - 1][1]);
            });
          },
        ),
        { numRuns: 200 },
      );
    });

    it('uses the region endpoint when no base_url is given', () => {
      for (const [region, host] of [
        ['us', 'api.newrelic.com'],
        ['eu', 'api.eu.newrelic.com'],
        ['jp', 'api.jp.newrelic.com'],
      ]) {
        const c = newrelicConnector.create(
          newrelicConnector.configSchema.parse({ account_id: ACCOUNT_ID, region }),
          { api_key: SECRET },
          deps({ hostPolicy: { allowedHosts: [] } }),
        );
        expect(c.describeQuery(query(AVG_QUERY.nrql), window)[0].url).toBe(`https://${host}/graphql`);
      }
    });

    it('lets deps.timeoutMs override the limit and the NRQL timeout follow it', () => {
      const c = connector({ timeoutMs: 10_000 });
      expect(c.limits.timeoutMs).toBe(10_000);
      expect((c.describeQuery(query(AVG_QUERY.nrql), window)[0].body as any).variables.timeout).toBe(8);
    });
  });

  describe('mapping', () => {
    it('maps aliased rows to bucket starts and omits null buckets', async () => {
      const rows = fixture('timeseries-average').body.data.actor.account.nrql.results as any[];
      const series = await connector().fetchSeries(query(AVG_QUERY.nrql), window);
      const expected = rows
        .filter((r) => r.avg_duration !== null)
        .map((r) => ({ ts: r.beginTimeSeconds * 1000, value: r.avg_duration }));
      expect(rows.some((r) => r.avg_duration === null)).toBe(true);
      expect(series.points).toEqual(expected);
      expect(series.stepSeconds).toBe(60);
    });

    it('reads percentiles returned as {"percentile.duration": {"95": v}} when there is no alias', async () => {
      answer = () => reply(fixture('timeseries-percentile'));
      const rows = fixture('timeseries-percentile').body.data.actor.account.nrql.results as any[];
      const series = await connector().fetchSeries(query('SELECT percentile(duration, 95) FROM Transaction'), {
        ...window,
        stepSeconds: 300,
      });
      expect(series.points).toEqual(
        rows.map((r) => ({ ts: r.beginTimeSeconds * 1000, value: r['percentile.duration']['95'] })),
      );
    });

    it('keeps real zero counts (a minute without errors counted 0)', async () => {
      answer = () => reply(fixture('timeseries-count'));
      const rows = fixture('timeseries-count').body.data.actor.account.nrql.results as any[];
      const series = await connector().fetchSeries(query('SELECT count(*) FROM TransactionError'), window);
      expect(series.points).toHaveLength(rows.length);
      expect(series.points.filter((p) => p.value === 0)).toHaveLength(rows.filter((r) => r.count === 0).length);
    });

    it('drops buckets that are off the step grid, partial, or not yet closed', async () => {
      const full = fixture('timeseries-average');
      const rows = full.body.data.actor.account.nrql.results as any[];
      const shifted = {
        beginTimeSeconds: rows[3].beginTimeSeconds + 12,
        endTimeSeconds: rows[3].endTimeSeconds + 12,
        avg_duration: 1,
      };
      const partial = {
        beginTimeSeconds: rows[4].beginTimeSeconds,
        endTimeSeconds: rows[4].beginTimeSeconds + 30,
        avg_duration: 2,
      };
      answer = () => ({
        status: 200,
        body: { data: { actor: { account: { nrql: { results: [rows[0], shifted, partial, rows[5], rows[59]] } } } } },
      });
      // Now is inside the last bucket: it is still open.
      const now = rows[59].beginTimeSeconds * 1000 + 20_000;
      const series = await connector({ now: () => now }).fetchSeries(query(AVG_QUERY.nrql), window);
      expect(series.points.map((p) => p.ts)).toEqual([
        rows[0].beginTimeSeconds * 1000,
        rows[5].beginTimeSeconds * 1000,
      ]);
    });

    it('warns when every bucket misses the grid instead of returning silence', async () => {
      const rows = fixture('timeseries-average').body.data.actor.account.nrql.results as any[];
      const snapped = rows.map((r) => ({
        ...r,
        beginTimeSeconds: r.beginTimeSeconds + 12,
        endTimeSeconds: r.endTimeSeconds + 12,
      }));
      answer = () => ({ status: 200, body: { data: { actor: { account: { nrql: { results: snapped } } } } } });
      const before = logger.lines.length;
      const series = await connector().fetchSeries(query(AVG_QUERY.nrql), window);
      expect(series.points).toEqual([]);
      expect(logger.lines.slice(before).some((l) => l.includes('"level":"warn"') && l.includes('step grid'))).toBe(
        true,
      );
    });

    it('keeps only buckets inside [from, to) when the window is not on the grid', async () => {
      const series = await connector().fetchSeries(query(AVG_QUERY.nrql), {
        from: CONTRACT_FROM + 30_000,
        to: CONTRACT_FROM + 600_000,
        stepSeconds: 60,
      });
      expect(series.points[0].ts).toBe(CONTRACT_FROM + 60_000);
      expect(series.points.every((p) => p.ts < CONTRACT_FROM + 600_000)).toBe(true);
    });

    it('rejects an answer with several values per bucket as bad_query', async () => {
      answer = () => ({
        status: 200,
        body: {
          data: {
            actor: {
              account: {
                nrql: {
                  results: [
                    {
                      beginTimeSeconds: CONTRACT_FROM / 1000,
                      endTimeSeconds: CONTRACT_FROM / 1000 + 60,
                      'percentile.duration': { 95: 1, 99: 2 },
                    },
                  ],
                },
              },
            },
          },
        },
      });
      const err = await failure(
        connector().fetchSeries(query('SELECT percentile(duration, 95, 99) FROM Transaction'), window),
      );
      expect(err.code).toBe('bad_query');
      expect(err.message).toContain('95, 99');
    });
  });

  describe('errors', () => {
    it('maps BAD_API_KEY inside an HTTP 200 to auth_failed', async () => {
      answer = () => ({ ...reply(fixture('error-bad-api-key')), status: 200 });
      const err = await failure(connector().fetchSeries(query(AVG_QUERY.nrql), window));
      expect(err.code).toBe('auth_failed');
      expect(err.message).toContain('Bad API Key');
    });

    it('maps errorClass TIMEOUT to a retryable timeout', async () => {
      answer = () => reply(fixture('error-timeout'));
      const err = await failure(connector().fetchSeries(query(AVG_QUERY.nrql), window));
      expect(err.code).toBe('timeout');
      expect(err.retryable).toBe(true);
    });

    it('keeps the NRQL syntax message for the user', async () => {
      answer = () => reply(fixture('error-nrql-syntax'));
      const err = await failure(connector().fetchSeries(query(AVG_QUERY.nrql), window));
      expect(err.code).toBe('bad_query');
      expect(err.message).toContain("unexpected 'FROM'");
    });

    it('reports a 429 to onRateLimit with its retry hint', async () => {
      answer = () => reply(fixture('error-rate-limited'));
      const err = await failure(connector().fetchSeries(query(AVG_QUERY.nrql), window));
      expect(err.code).toBe('rate_limited');
      expect(rateLimits).toEqual([
        { retryAfterSeconds: Number(fixture('error-rate-limited').headers!['retry-after']) },
      ]);
    });

    it('maps an HTTP 503 to unavailable', async () => {
      answer = () => ({ status: 503, body: 'Service Unavailable' });
      const err = await failure(connector().fetchSeries(query(AVG_QUERY.nrql), window));
      expect(err.code).toBe('unavailable');
    });

    it('uses results that come with a non-fatal error alongside', async () => {
      const ok = fixture('timeseries-average');
      answer = () => ({
        status: 200,
        body: { ...ok.body, errors: [{ message: 'This field is deprecated! Please use `x` instead.' }] },
      });
      const series = await connector().fetchSeries(query(AVG_QUERY.nrql), window);
      expect(series.points.length).toBeGreaterThan(0);
    });

    it('refuses a step below one minute before calling New Relic', async () => {
      const err = await failure(connector().fetchSeries(query(AVG_QUERY.nrql), { ...window, stepSeconds: 10 }));
      expect(err.code).toBe('bad_query');
      expect(replay.requests).toHaveLength(0);
    });
  });

  describe('check', () => {
    it('reads the account with the key and reports its name', async () => {
      answer = () => reply(fixture('check-account'));
      const result = await connector().check();
      expect(result).toEqual({
        ok: true,
        details: {
          account_id: ACCOUNT_ID,
          account_name: fixture('check-account').body.data.actor.account.name,
          region: 'eu',
          endpoint: `${replay.url}/graphql`,
        },
      });
      expect(replay.requests[0].json.variables).toEqual({ accountId: ACCOUNT_ID });
      expect(replay.requests[0].headers['api-key']).toBe(SECRET);
    });

    it('fails with auth_failed when the key cannot see the account', async () => {
      answer = () => ({ status: 200, body: { data: { actor: { account: null } } } });
      const result = await connector().check();
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('auth_failed');
        expect(result.error.message).toContain(String(ACCOUNT_ID));
      }
    });

    it('returns unavailable instead of throwing when New Relic is down', async () => {
      answer = () => reply(fixture('error-server'));
      const result = await connector().check();
      expect(result).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    });
  });

  describe('schemas', () => {
    const configIssue = (input: unknown) => {
      const r = newrelicConnector.configSchema.safeParse(input);
      return r.success ? undefined : r.error.issues[0];
    };
    const queryIssue = (nrql: string) => {
      const r = newrelicConnector.querySchema.safeParse({ nrql });
      return r.success ? undefined : r.error.issues[0];
    };

    it('names account_id when it is not numeric, and region when unknown', () => {
      expect(configIssue({ account_id: 'abc' })?.path).toEqual(['account_id']);
      expect(configIssue({ account_id: 'abc' })?.message).toContain('numeric');
      expect(configIssue({ account_id: -3 })?.path).toEqual(['account_id']);
      expect(configIssue({ account_id: 1, region: 'au' })?.path).toEqual(['region']);
      expect(newrelicConnector.configSchema.parse({ account_id: '42' })).toEqual({ account_id: '42', region: 'us' });
    });

    it('names api_key when it is empty', () => {
      const r = newrelicConnector.secretsSchema.safeParse({ api_key: '  ' });
      expect(r.success).toBe(false);
      if (!r.success) expect(r.error.issues[0].path).toEqual(['api_key']);
    });

    it('rejects the clauses the connector adds, FACET, and several aggregates, naming nrql', () => {
      for (const nrql of [
        'SELECT count(*) FROM Transaction TIMESERIES 1 minute',
        'SELECT count(*) FROM Transaction SINCE 1 hour ago',
        'SELECT count(*) FROM Transaction UNTIL 1 hour ago',
        'SELECT count(*) FROM Transaction FACET appName',
        'SELECT count(*) FROM Transaction COMPARE WITH 1 week ago',
        'SELECT count(*), average(duration) FROM Transaction',
        'SELECT * FROM Transaction',
        'count(*) FROM Transaction',
        "SELECT count(*) FROM Transaction WHERE name = 'unclosed",
        'SELECT count(*) FROM Transaction -- errors only',
        'SELECT count(*) FROM Transaction // note',
      ]) {
        const issue = queryIssue(nrql);
        expect(issue, nrql).toBeDefined();
        expect(issue!.path).toEqual(['nrql']);
      }
    });

    it('accepts keywords and commas inside strings, functions and back-quoted names', () => {
      for (const nrql of [
        "SELECT count(*) FROM Transaction WHERE name = 'since, until, facet' AND request.uri = 'https://x/--/y'",
        "SELECT filter(count(*), WHERE error IS true) / count(*) AS 'error_rate' FROM Transaction",
        "FROM Metric SELECT average(`http.server.duration`) WHERE `service.name` = 'checkout'",
        "SELECT percentile(duration, 95) FROM Transaction WITH TIMEZONE 'Europe/Paris'",
      ]) {
        expect(queryIssue(nrql), nrql).toBeUndefined();
      }
    });

    it('finds the AS alias New Relic will key the result by', () => {
      expect(analyzeNrql("SELECT count(*) AS 'requests' FROM Transaction")).toEqual({ ok: true, alias: 'requests' });
      expect(analyzeNrql('FROM Transaction SELECT average(duration) AS `avg` WHERE x = 1')).toEqual({
        ok: true,
        alias: 'avg',
      });
      expect(analyzeNrql("SELECT filter(count(*), WHERE a = 'b AS c') FROM T")).toEqual({ ok: true });
    });

    it('exports a chunk NRQL builder that appends in NRQL order', () => {
      expect(chunkNrql('SELECT count(*) FROM T', { from: 0, to: 60_000, stepSeconds: 60 })).toBe(
        'SELECT count(*) FROM T TIMESERIES 1 minute SINCE 0 UNTIL 60000',
      );
    });
  });

  it('never logs the key', () => {
    expect(logger.lines.length).toBeGreaterThan(0);
    for (const line of logger.lines) expect(line).not.toContain(SECRET);
  });
});
