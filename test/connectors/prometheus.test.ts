// Prometheus connector: the shared contract over replayed documented answers,
// request/mapping details, and the same connector against a real Prometheus.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusConnector } from '../../connectors/prometheus/index.js';
import { ConnectorError, type ConnectorDeps } from '../../connectors/types.js';
import { startReplay, type Replay, type ReplayResponse } from '../support/replay.js';
import {
  prometheusAvailability,
  startPrometheus,
  TEST_BASIC_USER,
  type LoadedSample,
  type RunningPrometheus,
} from '../support/prometheus.js';
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
  JSON.parse(readFileSync(new URL(`../fixtures/prometheus/${name}.json`, import.meta.url), 'utf8'));
const reply = (name: string): ReplayResponse => {
  const f = fixture(name);
  return { status: f.status, headers: f.headers, body: f.body };
};

const SECRET = 'prom-bearer-5e1f0c9a';
const RANGE_PATH = '/api/v1/query_range';
const STEP_MS = CONTRACT_STEP_SECONDS * 1000;

const SCENARIO_FIXTURE: Record<Scenario, string> = {
  ok: 'query_range_ok',
  empty: 'query_range_empty',
  auth_failed: 'unauthorized',
  rate_limited: 'rate_limited',
  bad_query: 'query_range_bad_data',
  unavailable: 'query_range_timeout',
  bad_response: 'not_prometheus',
};

connectorContract({
  module: prometheusConnector,
  secret: SECRET,
  config: (baseUrl) => ({ base_url: baseUrl }),
  secrets: { bearer_token: SECRET },
  query: { promql: 'sum(http_requests_errors_per_minute{job="checkout"})' },
  respond(scenario, req) {
    if (scenario === 'auth_failed') return reply('unauthorized');
    if (req.path === '/api/v1/query') return reply('query_scalar');
    return reply(SCENARIO_FIXTURE[scenario]);
  },
  isDataRequest: (req) => req.path === RANGE_PATH,
  foreignConfig: { base_url: 'https://prometheus.example.com' },
});

function deps(overrides: Partial<ConnectorDeps> = {}): ConnectorDeps {
  return {
    fetch: globalThis.fetch,
    now: () => CONTRACT_TO + 3_600_000,
    logger: capturingLogger(),
    hostPolicy: { allowedHosts: ['127.0.0.1'] },
    ...overrides,
  };
}

describe('prometheus connector (replayed answers)', () => {
  let replay: Replay;
  let answer: (path: string) => ReplayResponse = () => reply('query_range_ok');
  const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: CONTRACT_STEP_SECONDS };
  const query = { promql: 'sum(http_requests_errors_per_minute{job="checkout"})' };

  beforeAll(async () => {
    replay = await startReplay((req) => answer(req.path));
  });
  afterAll(async () => replay?.close());

  const connect = (secrets: object = { bearer_token: SECRET }, d: Partial<ConnectorDeps> = {}) =>
    prometheusConnector.create({ base_url: replay.url }, prometheusConnector.secretsSchema.parse(secrets), deps(d));

  it('maps each sample at t to the bucket [t − step, t) and omits NaN and gaps', async () => {
    answer = () => reply('query_range_ok');
    const series = await connect().fetchSeries(query, window);
    const samples: [number, string][] = fixture('query_range_ok').body.data.result[0].values;
    const expected = samples
      .filter(([, v]) => Number.isFinite(Number(v)))
      .map(([t, v]) => ({ ts: t * 1000 - STEP_MS, value: Number(v) }));
    expect(series.points).toEqual(expected);
    // The fixture holds 60 evaluations minus the 2 in the lookback gap; NaN at 12:30 is dropped.
    expect(samples).toHaveLength(58);
    expect(series.points).toHaveLength(57);
    expect(series.points[0].ts).toBe(CONTRACT_FROM);
    const tsOf = (minute: number) => CONTRACT_FROM + minute * STEP_MS;
    expect(series.points.some((p) => p.ts === tsOf(29))).toBe(false); // sample at 12:30 was NaN
    expect(series.points.some((p) => p.ts === tsOf(44) || p.ts === tsOf(45))).toBe(false); // lookback gap
    expect(series.points.at(-1)!.ts).toBe(CONTRACT_TO - STEP_MS);
  });

  it('sends a form-encoded POST evaluating at every bucket end, with the bearer token', async () => {
    answer = () => reply('query_range_ok');
    replay.requests.length = 0;
    await connect().fetchSeries(query, window);
    expect(replay.requests).toHaveLength(1);
    const [req] = replay.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(RANGE_PATH);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers.authorization).toBe(`Bearer ${SECRET}`);
    const form = new URLSearchParams(req.body);
    expect(form.get('query')).toBe(query.promql);
    expect(Number(form.get('start'))).toBe((CONTRACT_FROM + STEP_MS) / 1000);
    expect(Number(form.get('end'))).toBe(CONTRACT_TO / 1000);
    expect(form.get('step')).toBe('60s');
    expect(form.get('timeout')).toBe('30s');
  });

  it('keeps a path prefix of base_url (Prometheus behind a proxy path)', async () => {
    answer = () => reply('query_range_ok');
    replay.requests.length = 0;
    const c = prometheusConnector.create({ base_url: `${replay.url}/prometheus/` }, { bearer_token: SECRET }, deps());
    await c.fetchSeries(query, window);
    expect(replay.requests[0].path).toBe(`/prometheus${RANGE_PATH}`);
  });

  it('sends basic auth when a username and password are given, and nothing when no secret is', async () => {
    answer = () => reply('query_range_ok');
    replay.requests.length = 0;
    await connect({ username: 'grafana', password: 'p@ss:word' }).fetchSeries(query, window);
    await connect({}).fetchSeries(query, window);
    expect(replay.requests[0].headers.authorization).toBe(
      `Basic ${Buffer.from('grafana:p@ss:word').toString('base64')}`,
    );
    expect(replay.requests[1].headers.authorization).toBeUndefined();
  });

  it('chunks at 11,000 points per call with contiguous, non-overlapping evaluation ranges', async () => {
    answer = () => reply('query_range_empty');
    replay.requests.length = 0;
    const long = { ...window, to: CONTRACT_FROM + 25_000 * STEP_MS };
    const series = await connect().fetchSeries(query, long);
    expect(series.points).toEqual([]);
    const forms = replay.requests.map((r) => new URLSearchParams(r.body));
    expect(forms).toHaveLength(3);
    let nextStart = (CONTRACT_FROM + STEP_MS) / 1000;
    for (const f of forms) {
      const start = Number(f.get('start'));
      const end = Number(f.get('end'));
      expect(start).toBe(nextStart);
      expect((end - start) / CONTRACT_STEP_SECONDS + 1).toBeLessThanOrEqual(11_000);
      nextStart = end + CONTRACT_STEP_SECONDS;
    }
    expect(nextStart - CONTRACT_STEP_SECONDS).toBe(long.to / 1000);
  });

  it('drops buckets that have not closed yet', async () => {
    answer = () => reply('query_range_ok');
    const now = CONTRACT_FROM + 30.5 * 60_000;
    const series = await connect({ bearer_token: SECRET }, { now: () => now }).fetchSeries(query, window);
    expect(series.points.length).toBeGreaterThan(0);
    for (const p of series.points) expect(p.ts + STEP_MS).toBeLessThanOrEqual(now);
    expect(series.points.at(-1)!.ts).toBe(CONTRACT_FROM + 28 * STEP_MS); // 12:29 is the NaN sample
  });

  it("passes a proxy's 429 Retry-After to onRateLimit", async () => {
    answer = () => reply('rate_limited');
    const seen: object[] = [];
    const err = (await connect({ bearer_token: SECRET }, { onRateLimit: (i) => seen.push(i) })
      .fetchSeries(query, window)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('rate_limited');
    expect(seen).toEqual([{ retryAfterSeconds: 7 }]);
  });

  it('refuses a query that returns several series (bad_query, suggests sum)', async () => {
    answer = () => reply('query_range_two_series');
    const err = await connect()
      .fetchSeries(query, window)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('bad_query');
    expect((err as ConnectorError).message).toMatch(/returned 2 series/);
    expect((err as ConnectorError).message).toMatch(/sum\(/);
  });

  it("reports the documented 422 execution error as bad_query with Prometheus' message", async () => {
    answer = () => reply('query_range_execution');
    const err = (await connect()
      .fetchSeries(query, window)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('bad_query');
    expect(err.status).toBe(422);
    expect(err.message).toContain('execution: found duplicate series');
  });

  it('calls a success with a non-matrix result bad_response', async () => {
    answer = () => reply('query_scalar');
    const err = (await connect()
      .fetchSeries(query, window)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('bad_response');
  });

  it('describeQuery redacts basic auth and matches what is sent', async () => {
    const c = connect({ username: 'grafana', password: 'hunter2-secret' });
    const [described] = c.describeQuery(query, window);
    expect(described.headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(described)).not.toContain('hunter2-secret');
    answer = () => reply('query_range_ok');
    replay.requests.length = 0;
    await c.fetchSeries(query, window);
    expect(Object.fromEntries(new URLSearchParams(replay.requests[0].body))).toEqual(described.body);
    expect(replay.url + replay.requests[0].path).toBe(described.url);
  });

  it('validates config, secrets and query with field errors', () => {
    const secrets = prometheusConnector.secretsSchema;
    expect(secrets.safeParse({ username: 'u' }).error?.issues[0].path).toEqual(['password']);
    expect(secrets.safeParse({ bearer_token: 't', username: 'u', password: 'p' }).success).toBe(false);
    expect(secrets.safeParse({}).success).toBe(true);
    expect(prometheusConnector.querySchema.safeParse({ promql: '  ' }).error?.issues[0].path).toEqual(['promql']);
    expect(prometheusConnector.configSchema.safeParse({}).error?.issues[0].path).toEqual(['base_url']);
  });

  it('allows a host only when the operator lists it (no host is official)', () => {
    const make = (allowedHosts: string[]) => () =>
      prometheusConnector.create({ base_url: 'http://127.0.0.1:9090' }, {}, deps({ hostPolicy: { allowedHosts } }));
    expect(make([])).toThrow(/OPSTRAILS_ALLOWED_PROVIDER_HOSTS/);
    expect(make(['127.0.0.1'])).not.toThrow();
  });
});

// The same connector against a real server: values fetched must equal values loaded.
// Skipped locally without the binaries; under CI=true their absence is a failure.
const availability = prometheusAvailability();
describe.skipIf(!availability.available && process.env.CI !== 'true')(
  'prometheus connector against a real Prometheus server',
  () => {
    if (!availability.available) {
      it('needs the prometheus and promtool binaries under CI', () => {
        throw new Error(`real-server tests cannot run: ${availability.reason}`);
      });
      return;
    }

    // A window of its own, 2026-10-01 09:00–10:00 UTC, one-minute buckets.
    const FROM = Date.UTC(2026, 9, 1, 9, 0, 0);
    const MINUTES = 60;
    const TO = FROM + MINUTES * 60_000;
    const window = { from: FROM, to: TO, stepSeconds: 60 };
    const samples: LoadedSample[] = [];
    // Gauges a and b sampled on minute boundaries from minute 10 on; a is NaN at minute 30.
    for (let k = 10; k <= MINUTES; k++) {
      samples.push({
        metric: 'queue_depth',
        labels: { job: 'worker', instance: 'a' },
        value: k === 30 ? NaN : 100 + 3 * k,
        ts: FROM + k * 60_000,
      });
      samples.push({
        metric: 'queue_depth',
        labels: { job: 'worker', instance: 'b' },
        value: (k * 7) % 11,
        ts: FROM + k * 60_000,
      });
    }
    // Request counts every 15 s, off the minute boundaries so each belongs to one bucket.
    for (let s = 0; s < MINUTES * 4; s++) {
      samples.push({
        metric: 'requests_in_interval',
        labels: { job: 'api' },
        value: (s * 13) % 17,
        ts: FROM + s * 15_000 + 10_000,
      });
    }

    let server: RunningPrometheus;
    const logger = capturingLogger();
    const connect = (secrets: { username?: string; password?: string }) =>
      prometheusConnector.create(
        { base_url: server.url },
        prometheusConnector.secretsSchema.parse(secrets),
        deps({ logger, hostPolicy: { allowedHosts: ['127.0.0.1'] }, now: () => TO + 3_600_000 }),
      );
    const user = { username: TEST_BASIC_USER.username, password: TEST_BASIC_USER.password };

    beforeAll(async () => {
      server = await startPrometheus({ samples, basicAuth: TEST_BASIC_USER });
    });
    afterAll(async () => server?.stop());

    it('check() passes with the right basic-auth user and fails with auth_failed otherwise', async () => {
      expect(await connect(user).check()).toMatchObject({ ok: true });
      const wrong = await connect({ username: user.username, password: 'not-the-password' }).check();
      expect(wrong).toEqual({ ok: false, error: { code: 'auth_failed', message: expect.any(String) } });
      const none = await connect({}).check();
      expect(none.ok).toBe(false);
    });

    it('returns the loaded gauge values, sample at t in bucket [t − 60 s, t), NaN and no-data omitted', async () => {
      const series = await connect(user).fetchSeries({ promql: 'sum(queue_depth{job="worker"})' }, window);
      const at = (instance: string, ts: number) =>
        samples.find((s) => s.metric === 'queue_depth' && s.labels.instance === instance && s.ts === ts)?.value;
      const expected = [];
      for (let k = 1; k <= MINUTES; k++) {
        const a = at('a', FROM + k * 60_000);
        const b = at('b', FROM + k * 60_000);
        if (a === undefined || b === undefined || !Number.isFinite(a + b)) continue;
        expected.push({ ts: FROM + (k - 1) * 60_000, value: a + b });
      }
      expect(expected.length).toBe(MINUTES - 10); // minutes 10..60 minus the NaN at 30
      expect(series.points).toEqual(expected);
    });

    it('sum_over_time(x[1m]) puts exactly the samples of [b, b + 60 s) into bucket b', async () => {
      const series = await connect(user).fetchSeries(
        { promql: 'sum_over_time(requests_in_interval{job="api"}[1m])' },
        window,
      );
      const expected = [];
      for (let b = FROM; b < TO; b += 60_000) {
        const inBucket = samples.filter((s) => s.metric === 'requests_in_interval' && s.ts >= b && s.ts < b + 60_000);
        expected.push({ ts: b, value: inBucket.reduce((sum, s) => sum + s.value, 0) });
      }
      expect(series.points).toEqual(expected);
    });

    it('answers bad_query when the query returns several series, naming them', async () => {
      const err = (await connect(user)
        .fetchSeries({ promql: 'queue_depth{job="worker"}' }, window)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err.code).toBe('bad_query');
      expect(err.message).toContain('instance="a"');
    });

    it('answers bad_query for a PromQL syntax error, with the server message', async () => {
      const err = (await connect(user)
        .fetchSeries({ promql: 'sum(queue_depth' }, window)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(err.code).toBe('bad_query');
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/bad_data: .*parse error/);
    });

    it('never logs the password', () => {
      for (const line of logger.lines) expect(line).not.toContain(TEST_BASIC_USER.password);
    });
  },
);
