// The scheduler end to end on the real chDB store and a replayed Datadog over
// real HTTP: planned fetches, coalescing, late data, rate limits, retries, auth
// failures, restarts. The clock is the test's: nothing sleeps through a window.
import { receive } from '../../domain/event.js';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ImpactPair } from '../../store/pairs.js';
import {
  askedWindow,
  baseValue,
  datadogFixture,
  deployment,
  harness,
  runAt,
  timeseriesAnswer,
  type Harness,
} from './support.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T = Date.parse('2026-11-02T12:00:00Z');
/** The reference days the scheduler fetches for an event (engine/windows.ts REFERENCE_DAYS), oldest first. */
const DAYS = [7, 6, 5, 4, 3, 2, 1];
/**
 * The deployment at T (60 m before/after, 5 m gap, 1 m step): before window T-65m..T-5m, with the
 * engine's noise-model history ahead of it (4 hours on the hour grid, T-6h..T-2h) the pre-event
 * stretch T-6h..T-5m; after window T+5m..T+65m; on each reference day d the same clock range from
 * the start of the pre-event stretch to the end of the after window, T-6h-d·24h..T+65m-d·24h.
 * Those ranges lie 16h55m apart, too far for one job to bridge (1 h): one job each.
 */
const reference = (d: number) => ({ from: -360 * MIN - d * DAY, to: 65 * MIN - d * DAY });

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Step the clock from job to job until nothing is queued (or `until`). */
async function drain(hx: Harness, until = Infinity): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const queued = await hx.store.jobs.list(hx.orgId, { states: ['queued'] });
    if (queued.length === 0) return;
    const next = Math.min(...queued.map((j) => j.run_at));
    if (next > until) return;
    await runAt(hx, Math.max(hx.clock.now, next));
  }
  throw new Error('jobs never drained');
}

describe('planning one event', () => {
  const title =
    'fetches the pre-event stretch and the reference days at once, ' +
    'the after window at close + data delay, and late-data passes at close + settle';
  it(title, async () => {
    const ready: ImpactPair[] = [];
    // Late data: buckets from T+57m change once the provider has settled (asked after T+70m).
    h = await harness({
      start: T + MIN,
      handler: (req, now) =>
        timeseriesAnswer(req, (ts) => (ts >= T + 57 * MIN && now >= T + 70 * MIN ? baseValue(ts) + 50 : baseValue(ts))),
      scheduler: { onPairReady: (p) => void ready.push({ ...p }) },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();

    // Datadog: data delay 120 s, settle 600 s; deployment windows 60 m before/after, 5 m gap.
    const [pair] = await h.scheduler.pairsOfEvent(h.orgId, 'd1');
    expect(pair.windows).toEqual({
      before: { from: T - 360 * MIN, to: T - 5 * MIN },
      after: { from: T + 5 * MIN, to: T + 65 * MIN },
      references: [1, 2, 3, 4, 5, 6, 7].map((d) => ({ from: T + reference(d).from, to: T + reference(d).to })),
    });
    const planned = (await h.store.jobs.list(h.orgId)).sort((a, b) => a.from - b.from || a.run_at - b.run_at);
    expect(planned.map((j) => ({ kind: j.kind, from: j.from - T, to: j.to - T, run_at: j.run_at - T }))).toEqual([
      // Each reference day, long closed and settled: fetched now, once (no late-data pass).
      ...DAYS.map((d) => ({ kind: 'window', ...reference(d), run_at: MIN })),
      // The before window with the engine's noise-model history ahead of it (4 hours on the hour grid).
      { kind: 'window', from: -360 * MIN, to: -5 * MIN, run_at: MIN },
      { kind: 'settle', from: -9 * MIN, to: -5 * MIN, run_at: 5 * MIN },
      { kind: 'window', from: 5 * MIN, to: 65 * MIN, run_at: 67 * MIN },
      { kind: 'settle', from: 57 * MIN, to: 65 * MIN, run_at: 75 * MIN },
    ]);
    const asked = () =>
      h!
        .dataRequests()
        .map(askedWindow)
        .map((w) => [w.from - T, w.to - T]);
    expect(asked().sort((a, b) => a[0] - b[0])).toEqual([
      ...DAYS.map((d) => [reference(d).from, reference(d).to]),
      [-360 * MIN, -5 * MIN],
    ]);
    expect(ready).toHaveLength(0);

    await runAt(h, T + 5 * MIN);
    expect(asked().slice(8)).toEqual([[-9 * MIN, -5 * MIN]]);
    await runAt(h, T + 66 * MIN);
    expect(h.dataRequests()).toHaveLength(9);
    expect(ready).toHaveLength(0);

    await runAt(h, T + 67 * MIN);
    expect(asked().slice(9)).toEqual([[5 * MIN, 65 * MIN]]);
    expect(ready.map((p) => [p.event_id, p.state, p.revision, p.ready_at])).toEqual([['d1', 'ready', 1, T + 67 * MIN]]);
    expect(ready[0].series).toBe('subject=production');

    await runAt(h, T + 75 * MIN);
    expect(asked().slice(10)).toEqual([[57 * MIN, 65 * MIN]]);
    // The late data changed the after window: the pair is ready again at revision 2.
    expect(ready.map((p) => p.revision)).toEqual([1, 2]);
    expect((await h.scheduler.readyPairs(h.orgId)).map((p) => p.revision)).toEqual([2]);
    const after = await h.store.points.read(h.orgId, h.metric.id, 'subject=production', T + 5 * MIN, T + 65 * MIN);
    expect(after).toHaveLength(60);
    expect(after.at(-1)!.value).toBe(baseValue(T + 64 * MIN) + 50);
    expect(after[0].value).toBe(baseValue(T + 5 * MIN));

    await drain(h);
    expect(h.dataRequests()).toHaveLength(11);
    const states = (await h.store.jobs.list(h.orgId)).map((j) => j.state);
    expect(states.every((s) => s === 'succeeded')).toBe(true);
  });

  it('does not plan a metric for events it does not apply to, nor twice for a retried event', async () => {
    h = await harness({ start: T + MIN });
    h.scheduler.onEventsStored(h.orgId, [{ ...deployment('x1', T), type: 'dev.opstrails.incident' }]);
    await h.scheduler.runDue();
    expect(await h.store.jobs.list(h.orgId)).toHaveLength(0);
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    const jobs = (await h.store.jobs.list(h.orgId)).length;
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    expect(await h.store.jobs.list(h.orgId)).toHaveLength(jobs);
    expect(await h.scheduler.pairsOfEvent(h.orgId, 'd1')).toHaveLength(1);
  });
});

describe('coalescing', () => {
  it('a burst of 1,000 events in one hour on one metric costs a small, bounded number of provider calls', async () => {
    const ready = new Set<string>();
    h = await harness({ start: T + 60 * MIN, scheduler: { onPairReady: (p) => void ready.add(p.event_id) } });
    const events = Array.from({ length: 1000 }, (_, i) =>
      deployment(`burst-${i}`, T + Math.floor((i * 3_600_000) / 1000)),
    );
    h.scheduler.onEventsStored(h.orgId, events);
    await h.scheduler.runDue();
    await drain(h);

    const calls = h.dataRequests().length;
    console.info(`1,000 events in one hour on one Datadog metric: ${calls} provider calls`);
    // Today the windows span T-6h..T+2h05m (4 hours of noise-model history on the hour grid ahead of
    // the first before window, through the last after window), and so does each of the 7 reference
    // days on its own clock, T-6h-d·24h..T+2h05m-d·24h. The reference days, closed long ago, cost one
    // call each; today's stretch up to the last closed minute one more; then a handful of first
    // fetches as the after windows close, plus their late-data passes.
    expect(calls).toBeLessThanOrEqual(40);
    const earlier = h
      .dataRequests()
      .map(askedWindow)
      .filter((w) => w.to <= T - 360 * MIN);
    expect(earlier.map((w) => [w.from - T, w.to - T]).sort((a, b) => a[0] - b[0])).toEqual(
      DAYS.map((d) => [-360 * MIN - d * DAY, 125 * MIN - d * DAY]),
    );
    expect(ready.size).toBe(1000);
    // No bucket is stored twice, on any reference day or today.
    for (const d of DAYS) {
      const day = await h.store.points.read(
        h.orgId,
        h.metric.id,
        'subject=production',
        T - 360 * MIN - d * DAY,
        T + 125 * MIN - d * DAY,
      );
      expect(day).toHaveLength(485);
      expect(new Set(day.map((p) => p.ts)).size).toBe(485);
    }
    const points = await h.store.points.read(h.orgId, h.metric.id, 'subject=production', T - 360 * MIN, T + 125 * MIN);
    expect(points).toHaveLength(485);
    expect(new Set(points.map((p) => p.ts)).size).toBe(485);
  });

  it('does not fetch again a minute already stored and final', async () => {
    h = await harness({ start: T + 3 * 60 * MIN });
    h.scheduler.onEventsStored(h.orgId, [deployment('old-1', T)]);
    await h.scheduler.runDue();
    const first = h.dataRequests().length;
    // Windows closed and settled long ago: one call for today's (the pre-event stretch and the
    // after window, 10 minutes apart, in one job, T-6h..T+65m), and one for each reference day.
    expect(
      h
        .dataRequests()
        .map(askedWindow)
        .map((w) => [w.from - T, w.to - T])
        .sort((a, b) => a[0] - b[0]),
    ).toEqual([...DAYS.map((d) => [reference(d).from, reference(d).to]), [-360 * MIN, 65 * MIN]]);
    expect(first).toBe(8);
    // A second event a minute later (same history, T-6h..T-2h) needs one more bucket at the end
    // of its after window, today and on each reference day, nothing else.
    h.scheduler.onEventsStored(h.orgId, [deployment('old-2', T + MIN)]);
    await h.scheduler.runDue();
    const more = h.dataRequests().slice(first).map(askedWindow);
    expect(more.map((w) => [w.from - T, w.to - T]).sort((a, b) => a[0] - b[0])).toEqual([
      ...DAYS.map((d) => [65 * MIN - d * DAY, 66 * MIN - d * DAY]),
      [65 * MIN, 66 * MIN],
    ]);
    expect((await h.scheduler.pairsOfEvent(h.orgId, 'old-2'))[0].state).toBe('ready');
  });
});

describe('budgets and failures', () => {
  it('honours a 429: waits what the provider said, for every job of the connection', async () => {
    let served = 0;
    h = await harness({
      start: T + MIN,
      handler: (req) => (served++ === 0 ? datadogFixture('error_429') : timeseriesAnswer(req, baseValue)),
      scheduler: { budgets: () => ({ concurrency: 1 }) },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    // Datadog's 429 says X-RateLimit-Reset: 7 (seconds).
    expect(h.dataRequests()).toHaveLength(1);
    const health = await h.scheduler.health(h.orgId, h.connectionId);
    expect(health.rate_limit).toMatchObject({
      limit: 1600,
      remaining: 0,
      paused_until: new Date(T + MIN + 7000).toISOString(),
    });
    expect(health.last_error).toMatchObject({ code: 'rate_limited' });
    // The 8 jobs due now (the pre-event stretch and the 7 reference days) all wait for the reset.
    const queued = await h.store.jobs.list(h.orgId, { states: ['queued'] });
    expect(queued.filter((j) => j.run_at === T + MIN + 7000)).toHaveLength(8);

    await runAt(h, T + MIN + 6999);
    expect(h.dataRequests()).toHaveLength(1);
    await runAt(h, T + MIN + 7000);
    expect(h.dataRequests()).toHaveLength(9);
    const done = await h.store.jobs.list(h.orgId, { states: ['succeeded'] });
    expect(done).toHaveLength(8);
    // Only the job that met the 429 called twice.
    expect(done.map((j) => j.attempts).sort()).toEqual([1, 1, 1, 1, 1, 1, 1, 2]);
  });

  it('slows down before a 429 when the provider says the budget is nearly spent', async () => {
    h = await harness({
      start: T + MIN,
      handler: (req) => ({
        ...timeseriesAnswer(req, baseValue),
        headers: {
          'x-ratelimit-limit': '1600',
          'x-ratelimit-remaining': '1',
          'x-ratelimit-reset': '60',
          'x-ratelimit-period': '3600',
        },
      }),
      scheduler: { budgets: () => ({ concurrency: 1 }) },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    // One call left of the budget and 60 s to the reset: the next call waits half of it.
    expect(h.dataRequests()).toHaveLength(1);
    await runAt(h, T + MIN + 29_000);
    expect(h.dataRequests()).toHaveLength(1);
    await runAt(h, T + MIN + 30_000);
    expect(h.dataRequests()).toHaveLength(2);
  });

  it('retries a 503 with exponential backoff and succeeds on the third attempt', async () => {
    const attemptsByWindow = new Map<number, number>();
    h = await harness({
      start: T + MIN,
      handler: (req) => {
        const { from } = askedWindow(req);
        const n = (attemptsByWindow.get(from) ?? 0) + 1;
        attemptsByWindow.set(from, n);
        return from === T - 360 * MIN && n <= 2 ? datadogFixture('error_503') : timeseriesAnswer(req, baseValue);
      },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    const job = async () =>
      (await h!.store.jobs.list(h!.orgId, { overlaps: { from: T - 360 * MIN, to: T - 359 * MIN } }))[0];
    expect(await job()).toMatchObject({
      state: 'queued',
      attempts: 1,
      last_error_code: 'unavailable',
      run_at: T + MIN + 5_000,
    });
    await runAt(h, T + MIN + 4_999);
    expect(attemptsByWindow.get(T - 360 * MIN)).toBe(1);
    await runAt(h, T + MIN + 5_000);
    // Second failure: twice the base (random pinned to 1 = no jitter reduction).
    expect(await job()).toMatchObject({ state: 'queued', attempts: 2, run_at: T + MIN + 15_000 });
    await runAt(h, T + MIN + 15_000);
    expect(await job()).toMatchObject({ state: 'succeeded', attempts: 3, last_error: null, points: 355 });
    expect(attemptsByWindow.get(T - 360 * MIN)).toBe(3);
  });

  it('fails a job after a bounded number of attempts, with its reason, and fails its pending pairs', async () => {
    h = await harness({
      start: T + MIN,
      handler: () => datadogFixture('error_503'),
      // 9 jobs × 3 attempts = 27 calls in well under a real second. The connection's queue spreads
      // Datadog's 1,600 calls an hour as 26 per minute of wall-clock time (which this test's clock
      // does not drive), so the 27th would wait out the real minute: lift that rate here.
      scheduler: { maxAttempts: 3, budgets: () => ({ requests: 1_000, perSeconds: 60 }) },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    await drain(h, T + 10 * MIN);
    // Everything due by T+10m failed: the pre-event stretch, the 7 reference days, and the
    // stretch's late-data pass (due at T+5m).
    const failed = await h.store.jobs.list(h.orgId, { states: ['failed'] });
    const byStart = [...failed].sort((a, b) => a.from - b.from || a.to - b.to);
    expect(byStart.map((j) => [j.kind, j.from - T, j.to - T])).toEqual([
      ...DAYS.map((d) => ['window', reference(d).from, reference(d).to]),
      ['window', -360 * MIN, -5 * MIN],
      ['settle', -9 * MIN, -5 * MIN],
    ]);
    for (const j of failed)
      expect(j).toMatchObject({
        attempts: 3,
        last_error_code: 'unavailable',
        last_error: expect.stringContaining('Service Unavailable'),
      });
    expect(h.dataRequests()).toHaveLength(27);
    // The after window and its late-data pass are not due yet: untouched.
    const waiting = await h.store.jobs.list(h.orgId, { states: ['queued'] });
    expect([...waiting].sort((a, b) => a.from - b.from).map((j) => [j.kind, j.from - T, j.to - T, j.attempts])).toEqual(
      [
        ['window', 5 * MIN, 65 * MIN, 0],
        ['settle', 57 * MIN, 65 * MIN, 0],
      ],
    );
    expect((await h.scheduler.pairsOfEvent(h.orgId, 'd1'))[0]).toMatchObject({
      state: 'failed',
      last_error: expect.stringContaining('Service Unavailable'),
    });
  });

  it('an auth error marks the connection failing without retries; a successful check resumes its jobs', async () => {
    let broken = true;
    h = await harness({
      start: T + MIN,
      handler: (req) => (broken ? datadogFixture('error_403') : timeseriesAnswer(req, baseValue)),
      scheduler: { budgets: () => ({ concurrency: 1 }) },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    await runAt(h, T + 30 * MIN);
    // One call, then nothing: the other jobs are blocked without calling.
    expect(h.dataRequests()).toHaveLength(1);
    const connection = await h.store.connections.get(h.orgId, h.connectionId);
    expect(connection).toMatchObject({ status: 'failing', status_message: 'Datadog: Forbidden' });
    // Blocked: the pre-event stretch, the 7 reference days and the stretch's late-data pass (due at T+5m).
    const blocked = await h.store.jobs.list(h.orgId, { states: ['blocked'] });
    expect(blocked).toHaveLength(9);
    expect(blocked.every((j) => j.last_error_code === 'auth_failed')).toBe(true);
    expect(blocked.map((j) => j.attempts).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // Blocked (9) plus the after window and its late-data pass, still queued.
    expect((await h.scheduler.health(h.orgId, h.connectionId)).queued_jobs).toBe(11);

    broken = false;
    await h.store.connections.update(h.orgId, h.connectionId, { status: 'ok', status_message: null });
    expect(await h.scheduler.onConnectionChecked(h.orgId, h.connectionId, true)).toBe(blocked.length);
    await h.scheduler.runDue();
    const resumed = await h.store.jobs.list(h.orgId, { states: ['succeeded'] });
    expect(resumed.length).toBe(blocked.length);
    expect(h.dataRequests()).toHaveLength(1 + blocked.length);
    expect(JSON.stringify(await h.store.jobs.list(h.orgId))).not.toContain('dd-api-key');
  });

  it('a Sentry 401 marks that connection failing with its message, without retries, and leaves Datadog alone', async () => {
    const sentry401 = JSON.parse(readFileSync(new URL('../fixtures/sentry/error-401.json', import.meta.url), 'utf8'));
    h = await harness({
      start: T + MIN,
      handler: (req) =>
        req.path.startsWith('/api/0/')
          ? { status: sentry401.status, headers: sentry401.headers, body: sentry401.body }
          : timeseriesAnswer(req, baseValue),
      // One call at a time, so the first 401 is seen before the next job would call.
      scheduler: { budgets: () => ({ concurrency: 1 }) },
    });
    const sentry = await h.store.connections.create(h.orgId, {
      provider: 'sentry',
      name: 'sentry',
      config: { organization: 'acme', base_url: h.replay.url },
      secrets: { auth_token: 'sntrys_token_for_tests_0a1b2c' },
    });
    await h.store.metrics.create(h.orgId, {
      ...h.metric,
      connection_id: sentry.id,
      name: 'sentry errors',
      query: { dataset: 'errors', y_axis: 'count()', environment: '{{subject}}' },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    await runAt(h, T + 10 * MIN);
    const sentryCalls = h.replay.requests.filter((r) => r.path.startsWith('/api/0/'));
    expect(sentryCalls).toHaveLength(1);
    expect(await h.store.connections.get(h.orgId, sentry.id)).toMatchObject({
      status: 'failing',
      status_message: 'Sentry: Invalid token',
    });
    // Each connection has the jobs due by T+10m: the pre-event stretch, the 7 reference days and the
    // stretch's late-data pass (Sentry's blocked after its one call, Datadog's done).
    const sentryJobs = await h.store.jobs.list(h.orgId, { connectionId: sentry.id });
    expect(
      sentryJobs
        .filter((j) => j.state === 'blocked')
        .map((j) => j.attempts)
        .sort(),
    ).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(await h.store.jobs.list(h.orgId, { connectionId: h.connectionId, states: ['succeeded'] })).toHaveLength(9);
    expect((await h.scheduler.health(h.orgId, sentry.id)).last_error).toMatchObject({
      code: 'auth_failed',
      message: 'Sentry: Invalid token',
    });
  });

  it('stop() lets in-flight calls finish for the grace period, then cuts them and keeps their jobs queued', async () => {
    // One call at a time: one of the 8 jobs due now in flight, the other 7 waiting for their queue slot.
    h = await harness({
      start: T + MIN,
      handler: (req) => ({ ...timeseriesAnswer(req, baseValue), delayMs: 2_000 }),
      scheduler: { stopGraceMs: 100, budgets: () => ({ concurrency: 1 }) },
    });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.tick();
    await new Promise((r) => setTimeout(r, 200));
    expect(await h.store.jobs.list(h.orgId, { states: ['running'] })).toHaveLength(1);
    const started = Date.now();
    await h.scheduler.stop();
    expect(Date.now() - started).toBeLessThan(1_500);
    const cut = await h.store.jobs.list(h.orgId, {
      states: ['queued'],
      overlaps: { from: T - 70 * MIN, to: T - 5 * MIN },
    });
    expect(cut.map((j) => j.attempts)).toEqual([0, 0]);
    expect(await h.store.jobs.list(h.orgId, { states: ['running'] })).toHaveLength(0);
    // Nothing finished and nothing is lost: all 11 jobs are queued with no attempt counted.
    const all = await h.store.jobs.list(h.orgId);
    expect(all.map((j) => [j.state, j.attempts])).toEqual(Array.from({ length: 11 }, () => ['queued', 0]));
  });

  it('a hanging provider is cut by the timeout and does not hold up another connection', async () => {
    h = await harness({
      start: T + MIN,
      handler: async (req) =>
        req.headers['dd-api-key'] === 'slow-key'
          ? { ...timeseriesAnswer(req, baseValue), delayMs: 3_000 }
          : timeseriesAnswer(req, baseValue),
    });
    const slow = await h.store.connections.create(h.orgId, {
      provider: 'datadog',
      name: 'slow',
      config: { base_url: h.replay.url },
      secrets: { api_key: 'slow-key', app_key: 'slow-app-key' },
    });
    await h.store.metrics.create(h.orgId, { ...h.metric, connection_id: slow.id, name: 'slow errors' });
    // The slow connection's calls time out after 300 ms.
    await h.scheduler.stop();
    const scheduler = await h.restart({ connectorTimeoutMs: (id) => (id === slow.id ? 300 : undefined) });
    scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    const started = Date.now();
    await scheduler.runDue();
    expect(Date.now() - started).toBeLessThan(2_500);
    const jobs = await h.store.jobs.list(h.orgId);
    const fast = jobs.filter((j) => j.connection_id === h!.connectionId);
    const cut = jobs.filter((j) => j.connection_id === slow.id && j.run_at <= T + MIN + 5_000 && j.kind === 'window');
    // Per connection, 8 jobs were due: the pre-event stretch and the 7 reference days.
    expect(fast.filter((j) => j.state === 'succeeded')).toHaveLength(8);
    expect(cut.length).toBe(8);
    for (const j of cut) expect(j).toMatchObject({ state: 'queued', attempts: 1, last_error_code: 'timeout' });
  });
});

describe('persistence', () => {
  it('a restart resumes queued and running jobs; re-fetching a window replaces its points', async () => {
    h = await harness({ start: T + MIN });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.tick(); // planned, dispatched
    await h.scheduler.idle();
    // Simulate a crash mid-fetch: the after-window job is left "running" in the store.
    const [afterJob] = await h.store.jobs.list(h.orgId, {
      overlaps: { from: T + 5 * MIN, to: T + 6 * MIN },
      states: ['queued'],
    });
    Object.assign(afterJob, { state: 'running', run_at: T + 67 * MIN });
    await h.store.jobs.save([afterJob]);
    // ... and a window already fetched once is fetched again after the restart.
    const [beforeJob] = await h.store.jobs.list(h.orgId, {
      overlaps: { from: T - 65 * MIN, to: T - 64 * MIN },
      states: ['succeeded'],
    });
    const rowsBefore = await h.store.points.read(h.orgId, h.metric.id, 'subject=production', T - 65 * MIN, T - 5 * MIN);
    Object.assign(beforeJob, { state: 'running' });
    await h.store.jobs.save([beforeJob]);

    await h.scheduler.stop();
    const restarted = await h.restart();
    h.clock.now = T + 2 * MIN;
    await restarted.start();
    await restarted.runDue();
    expect((await h.store.jobs.get(h.orgId, beforeJob.id))?.state).toBe('succeeded');
    // A resumed job keeps its run time: the after window is not fetched before it has closed.
    expect((await h.store.jobs.get(h.orgId, afterJob.id))?.state).toBe('queued');
    await runAt(h, T + 67 * MIN);
    expect((await h.store.jobs.get(h.orgId, afterJob.id))?.state).toBe('succeeded');
    const rowsAfter = await h.store.points.read(h.orgId, h.metric.id, 'subject=production', T - 65 * MIN, T - 5 * MIN);
    expect(rowsAfter).toEqual(rowsBefore);
    expect(rowsAfter).toHaveLength(60);
  });

  it('on start, plans stored events that a crash left unplanned', async () => {
    h = await harness({ start: T + MIN });
    await h.store.events.ingest(h.orgId, [receive(deployment('late-1', T).event, Date.now())]);
    expect(await h.scheduler.pairsOfEvent(h.orgId, 'late-1')).toHaveLength(0);
    // Received "now" (the wall clock): the catch-up looks back 48 h from the scheduler's clock.
    const restarted = await h.restart({ scheduler: { catchUpHours: 48 }, now: () => Date.now() });
    await restarted.start();
    await restarted.runDue();
    expect(await restarted.pairsOfEvent(h.orgId, 'late-1')).toHaveLength(1);
  });
});

describe('telemetry', () => {
  it('exports jobs by state, provider calls and latencies by outcome, points written', async () => {
    h = await harness({ start: T + MIN });
    h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
    await h.scheduler.runDue();
    const text = await h.registry.metrics();
    // Done: the pre-event stretch (355 points) and the 7 reference days (425 each); queued: the
    // stretch's late-data pass, the after window and its late-data pass.
    expect(text).toMatch(/opstrails_scheduler_jobs\{state="succeeded"\} 8\n/);
    expect(text).toMatch(/opstrails_scheduler_jobs\{state="queued"\} 3\n/);
    expect(text).toMatch(/opstrails_provider_calls_total\{provider="datadog",outcome="ok"\} 8\n/);
    expect(text).toMatch(/opstrails_provider_call_duration_seconds_count\{provider="datadog",outcome="ok"\} 8\n/);
    expect(text).toMatch(/opstrails_points_written_total\{provider="datadog"\} 3330\n/);
  });
});
