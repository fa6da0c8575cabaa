// The SDK over real HTTP: against the whole service in-process (chDB store, scheduler
// on a clock the test drives) and against a replay server for the failures the service
// does not produce on demand (503, 429 with Retry-After, slow answers, an echoed key).
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, OpsTrailsError, type CloudEvent, type ClientOptions } from '../../sdk/index.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';
import { startReplay, type Replay, type ReplayResponse } from '../support/replay.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
// The deployment whose report the tests wait for: checkout errors jump 50% at T.
const T = Date.UTC(2026, 10, 14, 16, 0);
const iso = (ms: number) => new Date(ms).toISOString();

let p: Pipeline;
let base: string;
let replay: Replay;
let connectionId: string;
let metricId: string;

/** fetch as the SDK calls it, with each request and its answer's status and headers kept. */
function recordingFetch() {
  const calls: {
    method: string;
    url: URL;
    headers: Headers;
    body: string | undefined;
    status: number;
    answer: Headers;
  }[] = [];
  const recorded: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    calls.push({
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : undefined,
      status: res.status,
      answer: res.headers,
    });
    return res;
  };
  return { fetch: recorded, calls };
}

/** A sleep that returns at once and remembers what it was asked to wait. */
function fakeSleep(onSleep: (ms: number) => Promise<void> | void = () => {}) {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      await onSleep(ms);
    },
  };
}

const client = (more: Partial<ClientOptions> = {}) =>
  createClient({ url: base, apiKey: p.key, now: () => p.clock.now, sleep: fakeSleep().sleep, ...more });

const event = (id: string, more: Partial<CloudEvent> = {}): CloudEvent => ({
  specversion: '1.0',
  id,
  source: 'github.com/acme/shop',
  type: 'deployment',
  subject: 'production',
  version: 'v1.4.2',
  time: iso(T),
  ...more,
});

beforeAll(async () => {
  p = await pipeline(T + MIN);
  const connection = (await p.call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic' })).json();
  const metric = await p.call('POST', '/v1/metrics', {
    connection_id: connection.id,
    name: 'Checkout errors',
    kind: 'count',
    direction: 'increase_is_bad',
    critical: true,
    applies_to: { subjects: ['production'] },
    query: { shape: 'count', base: 300, noise: 0.03, changes: [{ at: iso(T), relative: 0.5 }] },
  });
  expect(metric.statusCode, metric.body).toBe(201);
  connectionId = connection.id;
  metricId = metric.json().id;
  base = await p.app.listen({ port: 0, host: '127.0.0.1' });
  replay = await startReplay(() => ({ status: 500 }));
});
afterAll(async () => {
  await replay?.close();
  await p?.close();
});

describe('sending events to the service', () => {
  it('sends one event; sending it again is a duplicate, not a second event', async () => {
    const c = client();
    expect(await c.sendEvent(event('once', { time: iso(T - 30 * DAY) }))).toEqual({
      accepted: ['once'],
      duplicates: [],
    });
    expect(await c.sendEvent(event('once', { time: iso(T - 30 * DAY) }))).toEqual({
      accepted: [],
      duplicates: ['once'],
    });
  });

  it('splits 2,500 events into 3 batch requests of at most 1,000, and a resend is all duplicates', async () => {
    const rec = recordingFetch();
    const c = client({ fetch: rec.fetch });
    // Far from T and on a subject no metric applies to: nothing to fetch, no confounder of T.
    const events = Array.from({ length: 2500 }, (_, i) =>
      event(`load-${i}`, { subject: 'load-test', time: iso(T - 60 * DAY + i * MIN) }),
    );
    const first = await c.sendBatch(events);
    expect(first.accepted).toHaveLength(2500);
    expect(new Set(first.accepted)).toEqual(new Set(events.map((e) => e.id)));
    expect(rec.calls.map((r) => [r.method, r.url.pathname, r.status])).toEqual([
      ['POST', '/v1/events', 202],
      ['POST', '/v1/events', 202],
      ['POST', '/v1/events', 202],
    ]);
    expect(rec.calls.map((r) => JSON.parse(r.body!).length)).toEqual([1000, 1000, 500]);
    expect(rec.calls.every((r) => r.headers.get('content-type') === 'application/cloudevents-batch+json')).toBe(true);
    // In order: the third request carries the last 500.
    expect(JSON.parse(rec.calls[2].body!)[0].id).toBe('load-2000');

    const again = await c.sendBatch(events);
    expect(again).toEqual({ accepted: [], duplicates: expect.any(Array) });
    expect(again.duplicates).toHaveLength(2500);
    const listed = await p.call('GET', '/v1/events?subject=load-test&limit=1000');
    expect(listed.json().items).toHaveLength(1000);
    expect(listed.json().next_cursor).not.toBeNull();
  });

  it('maps a problem+json answer to an OpsTrailsError naming the failing field', async () => {
    const c = client();
    const err = await c.sendEvent(event('bad-time', { time: 'yesterday' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpsTrailsError);
    const e = err as OpsTrailsError;
    expect(e).toMatchObject({ code: 'invalid_request', status: 400, title: 'Invalid request', retryable: false });
    expect(e.errors).toEqual([expect.objectContaining({ field: 'time', pointer: '/time' })]);
    expect(e.errors[0].message).toContain('RFC 3339');
    expect(e.message).toMatch(/^HTTP 400 Invalid request: .*time: must be an RFC 3339 timestamp/);
  });

  it('names the failing event by its index in the whole list when a later batch request is refused', async () => {
    const c = client({ fetch: recordingFetch().fetch });
    const events = Array.from({ length: 1500 }, (_, i) =>
      event(`mixed-${i}`, { subject: 'load-test', time: iso(T - 50 * DAY + i * MIN) }),
    );
    events[1200] = { ...events[1200], time: 'not a time' };
    const err = (await c.sendBatch(events).catch((e: unknown) => e)) as OpsTrailsError;
    expect(err).toBeInstanceOf(OpsTrailsError);
    expect(err.status).toBe(400);
    expect(err.errors).toEqual([expect.objectContaining({ index: 1200, pointer: '/1200/time', field: 'time' })]);
    expect(err.detail).toMatch(/^events 1000–1499: /);
    expect(err.detail).toContain('events 0–999 were sent (1000 stored)');
    // The first request was stored, the refused one not at all (a batch is all or nothing).
    expect((await p.call('GET', '/v1/events/mixed-999')).statusCode).toBe(200);
    expect((await p.call('GET', '/v1/events/mixed-1000')).statusCode).toBe(404);
  });

  it('maps 401 and 404 to their codes', async () => {
    const wrong = 'otk_wrong_key_0123456789abcdef0123456789';
    const unauthorized = (await createClient({ url: base, apiKey: wrong })
      .getImpact('once')
      .catch((e: unknown) => e)) as OpsTrailsError;
    expect(unauthorized).toMatchObject({ code: 'auth_failed', status: 401, retryable: false });
    const missing = (await client()
      .getImpact('no-such-event')
      .catch((e: unknown) => e)) as OpsTrailsError;
    expect(missing).toMatchObject({ code: 'not_found', status: 404 });
    expect(missing.message).toContain('event not found');
  });
});

describe('impact reports from the service', () => {
  it('waitForReport polls while pending (Retry-After, If-None-Match → 304), then returns the ready report', async () => {
    const rec = recordingFetch();
    let looks = 0;
    const { sleeps, sleep } = fakeSleep(async () => {
      // The first wait passes no time: the next poll gets 304. The second lets the windows close and the data in.
      if (++looks === 2) {
        await p.advanceTo(T + 70 * MIN);
        await p.advanceTo(T + 90 * MIN);
      }
    });
    const c = client({ fetch: rec.fetch, sleep });
    expect(await c.sendEvent(event('deploy-1'))).toEqual({ accepted: ['deploy-1'], duplicates: [] });
    const polls: string[] = [];
    const report = await c.waitForReport('deploy-1', {
      timeoutMs: 3 * HOUR,
      source: 'github.com/acme/shop',
      onPoll: (r) => polls.push(r.status),
    });
    expect(report.status).toBe('ready');
    expect(report.verdict).toBe('regression');
    expect(report.metrics[0]).toMatchObject({ name: 'Checkout errors', verdict: 'regression' });
    expect(report.metrics[0].explanation).toMatch(/\S/);

    const gets = rec.calls.filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.status)).toEqual([200, 304, 200]);
    expect(gets.every((r) => r.url.searchParams.get('source') === 'github.com/acme/shop')).toBe(true);
    expect(gets[0].headers.get('if-none-match')).toBeNull();
    expect(gets[1].headers.get('if-none-match')).toBe(gets[0].answer.get('etag'));
    expect(gets[2].headers.get('if-none-match')).toBe(gets[0].answer.get('etag'));
    // Each wait is what the service asked for: the after window closes at T + 65 min, polled at T + 1 min.
    const asked = gets.slice(0, 2).map((r) => Number(r.answer.get('retry-after')) * 1000);
    expect(asked[0]).toBe(64 * MIN);
    expect(sleeps).toEqual(asked);
    expect(polls).toEqual(['pending', 'pending']);
  });

  it('waitForReport gives up at the deadline with a timeout error saying what is awaited', async () => {
    const { sleeps, sleep } = fakeSleep((ms) => void (p.clock.now += ms));
    const c = client({ sleep });
    await c.sendEvent(event('deploy-late', { time: iso(p.clock.now) }));
    const started = p.clock.now;
    const err = (await c
      .waitForReport('deploy-late', { timeoutMs: 10 * MIN })
      .catch((e: unknown) => e)) as OpsTrailsError;
    expect(err).toBeInstanceOf(OpsTrailsError);
    expect(err).toMatchObject({ code: 'timeout', status: null });
    expect(err.message).toContain('still pending after 10m');
    expect(err.message).toContain('Checkout errors: the after window closes');
    // One wait up to the deadline (Retry-After is longer), one last look there.
    expect(sleeps).toEqual([10 * MIN]);
    expect(p.clock.now - started).toBe(10 * MIN);
  });

  it('getImpact reads a report; listImpacts filters the timeline and pages with its cursor', async () => {
    const c = client();
    const report = await c.getImpact('deploy-1');
    expect(report).toMatchObject({ status: 'ready', verdict: 'regression', event: { id: 'deploy-1' } });

    const regressions = await c.listImpacts({
      subject: 'production',
      verdict: 'regression',
      since: new Date(T - HOUR),
    });
    expect(regressions.items.map((i) => i.id)).toEqual(['deploy-1']);
    expect(regressions.items[0]).toMatchObject({
      source: 'github.com/acme/shop',
      version: 'v1.4.2',
      status: 'ready',
      verdict: 'regression',
    });
    const first = await c.listImpacts({ type: 'deployment', subject: 'production', until: iso(T + DAY), limit: 1 });
    expect(first.items).toHaveLength(1);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await c.listImpacts({
      type: 'deployment',
      subject: 'production',
      limit: 1,
      cursor: first.next_cursor!,
    });
    expect(second.items).toHaveLength(1);
    expect(second.items[0].id).not.toBe(first.items[0].id);
  });
});

describe('reading events, metrics, series and connections', () => {
  it('listEvents filters and pages, newest first; getEvent reads one as sent', async () => {
    const c = client();
    const production = await c.listEvents({
      subject: 'production',
      type: 'deployment',
      since: new Date(T - HOUR),
      until: iso(T + DAY),
    });
    expect(production.items.map((e) => e.id)).toEqual(['deploy-late', 'deploy-1']);
    expect(production.next_cursor).toBeNull();
    const first = await c.listEvents({ subject: 'production', limit: 1 });
    expect(first.items).toHaveLength(1);
    const second = await c.listEvents({ subject: 'production', limit: 1, cursor: first.next_cursor! });
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect((await c.listEvents({ source: 'github.com/other/repo' })).items).toEqual([]);

    const one = await c.getEvent('deploy-1', { source: 'github.com/acme/shop' });
    expect(one).toEqual(event('deploy-1'));
    const missing = (await c.getEvent('no-such-event').catch((e: unknown) => e)) as OpsTrailsError;
    expect(missing).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('listMetrics, getMetric and getMetricSeries read what the API stores', async () => {
    const c = client();
    const metrics = await c.listMetrics();
    expect(metrics).toEqual([
      expect.objectContaining({ id: metricId, connection_id: connectionId, name: 'Checkout errors', kind: 'count' }),
    ]);
    expect(metrics[0]).not.toHaveProperty('org_id');
    expect(await c.listMetrics({ connectionId })).toEqual(metrics);
    expect(await c.listMetrics({ connectionId: 'con_other' })).toEqual([]);
    expect(await c.getMetric(metricId)).toEqual(metrics[0]);

    const series = await c.getMetricSeries(metricId, { from: new Date(T - HOUR), to: iso(T + HOUR) });
    expect(series).toMatchObject({ from: iso(T - HOUR), to: iso(T + HOUR), series: expect.any(String) });
    expect(series.points).toHaveLength(120);
    expect(series.points[0]).toEqual({ ts: T - HOUR, value: expect.any(Number) });
    // The jump the deployment brought: +50% (300 a minute before).
    const mean = (from: number, to: number) => {
      const v = series.points.filter((x) => x.ts >= from && x.ts < to).map((x) => x.value);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const jump = mean(T, T + HOUR) / mean(T - HOUR, T);
    expect(jump).toBeGreaterThan(1.35);
    expect(jump).toBeLessThan(1.65);
    expect(series).toEqual(
      (await p.call('GET', `/v1/metrics/${metricId}/series?from=${iso(T - HOUR)}&to=${iso(T + HOUR)}`)).json(),
    );
    const tooWide = (await c
      .getMetricSeries(metricId, { from: iso(T - 30 * DAY), to: iso(T) })
      .catch((e: unknown) => e)) as OpsTrailsError;
    expect(tooWide).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(tooWide.errors).toEqual([expect.objectContaining({ field: 'to' })]);
  });

  it('listConnections shows each connection with its health, and getImpact takes ad-hoc windows', async () => {
    const c = client();
    const connections = await c.listConnections();
    expect(connections).toEqual([
      expect.objectContaining({ id: connectionId, provider: 'testdata', name: 'synthetic' }),
    ]);
    expect(connections[0].health).toMatchObject({ last_error: null, last_success: expect.any(String) });

    const adHoc = await c.getImpact('deploy-1', { before: '30m', after: '30m', gap: '5m' });
    const span = (w: { from: string; to: string }) => Date.parse(w.to) - Date.parse(w.from);
    expect(span(adHoc.windows.after)).toBe(30 * MIN);
    expect(span((await c.getImpact('deploy-1')).windows.after)).toBe(HOUR);
  });
});

describe('retries (replay server)', () => {
  const accepted = { status: 202, body: { accepted: ['r-1'], duplicates: [] } };

  it('retries a 503 with backoff and a 429 after its Retry-After, sending the same event each time', async () => {
    const answers: ReplayResponse[] = [
      { status: 503, headers: { 'content-type': 'application/problem+json' }, body: { status: 503, detail: 'busy' } },
      {
        status: 429,
        headers: { 'retry-after': '7' },
        body: { status: 429, title: 'Too many requests', detail: 'slow down' },
      },
      accepted,
    ];
    replay.requests.length = 0;
    replay.setHandler(() => answers.shift()!);
    const { sleeps, sleep } = fakeSleep();
    const retries: string[] = [];
    const c = createClient({
      url: replay.url,
      apiKey: 'otk_replay_key_0123456789abcdef',
      sleep,
      random: () => 0.5,
      onRetry: ({ error }) => retries.push(error.code),
    });
    expect(await c.sendEvent(event('r-1'))).toEqual({ accepted: ['r-1'], duplicates: [] });
    expect(replay.requests).toHaveLength(3);
    expect(new Set(replay.requests.map((r) => r.body)).size).toBe(1);
    expect(replay.requests.every((r) => r.headers.authorization === 'Bearer otk_replay_key_0123456789abcdef')).toBe(
      true,
    );
    // 503: half the first 500 ms step plus half of it jittered (random 0.5); 429: Retry-After, exactly.
    expect(sleeps).toEqual([375, 7000]);
    expect(retries).toEqual(['server_error', 'rate_limited']);
  });

  it('backs off exponentially with jitter, then throws the last error', async () => {
    replay.requests.length = 0;
    replay.setHandler(() => ({ status: 502, body: 'Bad Gateway' }));
    const { sleeps, sleep } = fakeSleep();
    let r = 0;
    const randoms = [0, 0.99, 0.5];
    const c = createClient({
      url: replay.url,
      apiKey: 'otk_replay_key_0123456789abcdef',
      sleep,
      random: () => randoms[r++ % 3],
      retry: { maxAttempts: 4, baseDelayMs: 1000 },
    });
    const err = (await c.sendEvent(event('r-2')).catch((e: unknown) => e)) as OpsTrailsError;
    expect(err).toMatchObject({ code: 'server_error', status: 502, retryable: true });
    expect(err.detail).toContain('not problem+json');
    expect(replay.requests).toHaveLength(4);
    // Steps 1 s, 2 s, 4 s; each waits between half of it and all of it.
    expect(sleeps).toEqual([500, 1990, 3000]);
  });

  it('does not retry a 400, nor wait for a Retry-After longer than it allows', async () => {
    const c = createClient({ url: replay.url, apiKey: 'otk_replay_key_0123456789abcdef', sleep: fakeSleep().sleep });
    replay.requests.length = 0;
    replay.setHandler(() => ({ status: 400, body: { status: 400, title: 'Invalid request', detail: 'no' } }));
    await expect(c.sendEvent(event('r-3'))).rejects.toMatchObject({ code: 'invalid_request', retryable: false });
    expect(replay.requests).toHaveLength(1);
    replay.requests.length = 0;
    replay.setHandler(() => ({
      status: 429,
      headers: { 'retry-after': '3600' },
      body: { status: 429, detail: 'later' },
    }));
    await expect(c.sendEvent(event('r-3'))).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 3600 });
    expect(replay.requests).toHaveLength(1);
  });

  it('waitForReport polls through a restart of the service (503s past the retries of one poll)', async () => {
    const pending = { status: 'pending', awaiting: ['Checkout errors: fetching its windows'], metrics: [] };
    const answers: ReplayResponse[] = [
      { status: 200, headers: { 'retry-after': '5', etag: '"p1"' }, body: pending },
      ...Array.from({ length: 3 }, () => ({ status: 503, body: { status: 503, detail: 'restarting' } })),
      { status: 200, headers: { etag: '"r1"' }, body: { ...pending, status: 'ready', verdict: 'no_change' } },
    ];
    replay.requests.length = 0;
    replay.setHandler(() => answers.shift()!);
    const clock = { now: 0 };
    const { sleeps, sleep } = fakeSleep((ms) => void (clock.now += ms));
    const c = createClient({
      url: replay.url,
      apiKey: 'otk_replay_key_0123456789abcdef',
      now: () => clock.now,
      sleep,
      random: () => 0,
      retry: { maxAttempts: 2 },
    });
    const report = await c.waitForReport('w-1', { timeoutMs: 10 * MIN, pollIntervalMs: 30_000 });
    expect(report).toMatchObject({ status: 'ready', verdict: 'no_change' });
    expect(replay.requests.map((r) => r.headers['if-none-match'] ?? null)).toEqual([
      null,
      '"p1"',
      '"p1"',
      '"p1"',
      '"p1"',
    ]);
    // Retry-After 5 s; two 503s within one poll (backoff 250 ms), the poll interval, one more 503, then ready.
    expect(sleeps).toEqual([5000, 250, 30_000, 250]);
  });

  it('retries an answer that does not come in time, and a refused connection', async () => {
    let n = 0;
    replay.setHandler(() => (++n === 1 ? { ...accepted, delayMs: 2000 } : accepted));
    const slow = fakeSleep();
    const c = createClient({
      url: replay.url,
      apiKey: 'otk_replay_key_0123456789abcdef',
      sleep: slow.sleep,
      requestTimeoutMs: 200,
    });
    expect(await c.sendEvent(event('r-1'))).toEqual({ accepted: ['r-1'], duplicates: [] });
    expect(slow.sleeps).toHaveLength(1);

    const refused = fakeSleep();
    const closed = createClient({
      url: `http://127.0.0.1:${await closedPort()}`,
      apiKey: 'otk_replay_key_0123456789abcdef',
      sleep: refused.sleep,
      retry: { maxAttempts: 3 },
    });
    const err = (await closed.sendEvent(event('r-4')).catch((e: unknown) => e)) as OpsTrailsError;
    expect(err).toMatchObject({ code: 'network', status: null, retryable: true });
    expect(err.message).toContain('ECONNREFUSED');
    expect(refused.sleeps).toHaveLength(2);
  });
});

describe('the API key', () => {
  const KEY = 'otk_secret_never_shown_5f2b9c0e7d1a4b3c';
  const texts = (e: unknown) => [String(e), (e as Error).stack ?? '', inspect(e, { depth: 10 }), JSON.stringify(e)];

  it('never appears in an error, even when a server echoes it back', async () => {
    replay.setHandler((req) => ({
      status: 401,
      headers: { 'content-type': 'application/problem+json' },
      body: {
        status: 401,
        title: `bad ${req.headers.authorization}`,
        detail: `unknown key ${req.headers.authorization}`,
        errors: [{ field: 'authorization', message: `got ${req.headers.authorization}` }],
      },
    }));
    const echoed = await createClient({ url: replay.url, apiKey: KEY })
      .sendEvent(event('k-1'))
      .catch((e: unknown) => e);
    expect(echoed).toBeInstanceOf(OpsTrailsError);
    expect((echoed as OpsTrailsError).detail).toBe('unknown key Bearer [redacted]');
    for (const text of texts(echoed)) expect(text).not.toContain(KEY);

    const real = await createClient({ url: base, apiKey: KEY })
      .sendBatch([event('k-2')])
      .catch((e: unknown) => e);
    expect(real).toMatchObject({ status: 401 });
    const clock = { now: 0 };
    const unreachable = await createClient({
      url: `http://127.0.0.1:${await closedPort()}`,
      apiKey: KEY,
      now: () => clock.now,
      sleep: fakeSleep((ms) => void (clock.now += ms)).sleep,
    })
      .waitForReport('k-3', { timeoutMs: MIN })
      .catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: 'network' });
    for (const e of [real, unreachable]) for (const text of texts(e)) expect(text).not.toContain(KEY);
  });
});

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
