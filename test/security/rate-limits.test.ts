// Rate limits through the real app and store: failed authentications per address (checked
// before any key lookup), requests per key, events per org by plan (whole batches), previews
// per provider connection (admin only), and the /metrics bearer token. The limiters run on a
// clock the test moves; the key cache and the store run on real time.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RateLimits } from '../../api/rate-limit.js';
import { bearer, testApp, type TestApp } from '../support/app.js';

const PROBLEM = 'application/problem+json';
const BATCH = 'application/cloudevents-batch+json';

/** A clock the limiters read; `advance` moves it. */
function testClock() {
  let t = Date.parse('2026-11-20T10:00:00Z');
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const events = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    specversion: '1.0',
    id: `${prefix}-${i}`,
    source: 'github.com/acme/shop/actions',
    type: 'dev.opstrails.deployment',
    subject: 'production',
    time: '2026-11-20T10:00:00Z',
    version: 'v1.0.0',
  }));

function expect429(res: { statusCode: number; headers: Record<string, unknown>; json(): { detail: string } }) {
  expect(res.statusCode).toBe(429);
  expect(res.headers['content-type']).toContain(PROBLEM);
  expect(res.json()).toMatchObject({ status: 429, title: 'Too many requests' });
}

describe('failed authentications per client address', () => {
  const clock = testClock();
  let t: TestApp;
  let adminKey: string;
  beforeAll(async () => {
    t = await testApp({
      rateLimits: { authFailures: { perSecond: 1 / 3, burst: 3 }, blockedHoldMs: 0, now: clock.now },
    });
    adminKey = (await t.createOrg('a')).adminKey;
  });
  afterAll(async () => t?.close());

  const get = (key: string, address: string) =>
    t.app.inject({ url: '/v1/events', headers: bearer(key), remoteAddress: address });

  it('answers 429 with Retry-After past the limit, before any key lookup; other addresses and valid keys still work', async () => {
    // Successful authentications never count.
    for (let i = 0; i < 5; i++) expect((await get(adminKey, '10.0.0.1')).statusCode).toBe(200);
    const lookups = vi.spyOn(t.store.keys, 'authenticate');
    for (let i = 0; i < 3; i++) expect((await get(`fake-key-${i}`, '10.0.0.1')).statusCode).toBe(401);
    expect(lookups).toHaveBeenCalledTimes(3);

    const blocked = await get('fake-key-3', '10.0.0.1');
    expect429(blocked);
    expect(blocked.headers['retry-after']).toBe('3');
    expect(blocked.json().detail).toMatch(/failed authentications from this address/);
    // A malformed header is an attempt too; a flood of fake keys is not looked up.
    expect429(
      await t.app.inject({ url: '/v1/events', headers: { authorization: 'Basic x' }, remoteAddress: '10.0.0.1' }),
    );
    for (let i = 0; i < 20; i++) expect((await get(`flood-${i}`, '10.0.0.1')).statusCode).toBe(429);
    expect(lookups).toHaveBeenCalledTimes(3);
    lookups.mockRestore();

    // Another address is unaffected, and a valid key works from the blocked one.
    expect((await get('fake-key-x', '10.0.0.2')).statusCode).toBe(401);
    expect((await get(adminKey, '10.0.0.1')).statusCode).toBe(200);

    // One failure's worth of time later, one more attempt is let through.
    clock.advance(3_000);
    expect((await get('fake-key-4', '10.0.0.1')).statusCode).toBe(401);
    expect((await get('fake-key-5', '10.0.0.1')).statusCode).toBe(429);
  });
});

describe('a blocked address', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ rateLimits: { authFailures: { perSecond: 1 / 60, burst: 1 }, blockedHoldMs: 200 } });
  });
  afterAll(async () => t?.close());

  it('gets its 429 after a hold, so a client that waits for answers slows down', async () => {
    const get = () => t.app.inject({ url: '/v1/events', headers: bearer('fake'), remoteAddress: '10.0.0.9' });
    expect((await get()).statusCode).toBe(401);
    const started = performance.now();
    const blocked = await get();
    expect(blocked.statusCode).toBe(429);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(59);
  });
});

describe('requests per key', () => {
  const clock = testClock();
  let t: TestApp;
  let adminKey: string;
  let otherKey: string;
  beforeAll(async () => {
    t = await testApp({ rateLimits: { key: { perSecond: 2, burst: 3 }, now: clock.now } });
    adminKey = (await t.createOrg('a')).adminKey;
    otherKey = (await t.createOrg('b')).adminKey;
  });
  afterAll(async () => t?.close());

  it('answers 429 past the key’s rate; another key is unaffected; tokens come back with time', async () => {
    const get = (key: string) => t.app.inject({ url: '/v1/events', headers: bearer(key) });
    for (let i = 0; i < 3; i++) expect((await get(adminKey)).statusCode).toBe(200);
    const over = await get(adminKey);
    expect429(over);
    expect(over.headers['retry-after']).toBe('1');
    expect(over.headers['ratelimit-limit']).toBe('3');
    expect(over.json().detail).toMatch(/API key is over its request limit \(2\/s/);
    expect((await get(otherKey)).statusCode).toBe(200);
    clock.advance(500);
    expect((await get(adminKey)).statusCode).toBe(200);
    expect((await get(adminKey)).statusCode).toBe(429);
  });
});

describe('ingest per org, by plan, in events', () => {
  const clock = testClock();
  let t: TestApp;
  const limits: RateLimits = {
    ingest: {
      free: { perSecond: 10, burst: 20 },
      starter: { perSecond: 100, burst: 1000 },
      pro: { perSecond: 1000, burst: 10_000 },
    },
    now: clock.now,
  };
  beforeAll(async () => {
    t = await testApp({ rateLimits: limits, now: clock.now });
  });
  afterAll(async () => t?.close());

  const send = (key: string, batch: object[]) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(key), 'content-type': BATCH },
      payload: JSON.stringify(batch),
    });
  const stored = async (orgId: string) =>
    Number(
      (
        await t.store.backend.query<{ n: string }>(
          `SELECT count() AS n FROM ${t.store.database}.events WHERE org_id = {org:String}`,
          { org: orgId },
        )
      )[0].n,
    );

  it('refuses a batch that does not fit whole (nothing stored from it), and another org is unaffected', async () => {
    const a = await t.createOrg('a', 'free');
    const b = await t.createOrg('b', 'free');
    expect((await send(a.adminKey, events('a1', 15))).statusCode).toBe(202);
    const over = await send(a.adminKey, events('a2', 10));
    expect429(over);
    expect(over.headers['retry-after']).toBe('1');
    expect(over.json().detail).toMatch(/10 events would exceed this org's ingest limit \(plan free: 10\/s/);
    expect(await stored(a.orgId)).toBe(15);

    // What fits still goes in; a batch over the burst can never fit and says so.
    expect((await send(a.adminKey, events('a3', 5))).statusCode).toBe(202);
    clock.advance(60_000);
    const huge = await send(a.adminKey, events('a4', 21));
    expect429(huge);
    expect(huge.json().detail).toMatch(/larger than .*send smaller batches/);
    expect(await stored(a.orgId)).toBe(20);

    // Org b has its own bucket.
    expect((await send(b.adminKey, events('b1', 20))).statusCode).toBe(202);
    expect(await stored(b.orgId)).toBe(20);
  });

  it('takes the rate of the org’s plan', async () => {
    const c = await t.createOrg('c', 'starter');
    expect((await send(c.adminKey, events('c1', 1000))).statusCode).toBe(202);
    expect429(await send(c.adminKey, events('c2', 1)));
    expect(await stored(c.orgId)).toBe(1000);
  });
});

describe('preview', () => {
  const clock = testClock();
  let t: TestApp;
  let adminKey: string;
  let readKey: string;
  const metricOn = async (name: string) => {
    const call = (url: string, payload: object) =>
      t.app.inject({ method: 'POST', url, headers: bearer(adminKey), payload });
    const connection = (await call('/v1/connections', { provider: 'testdata', name, config: { seed: 7 } })).json();
    const metric = await call('/v1/metrics', {
      connection_id: connection.id,
      name,
      kind: 'count',
      query: { shape: 'count', base: 5 },
      direction: 'increase_is_bad',
    });
    expect(metric.statusCode, metric.body).toBe(201);
    return { connectionId: connection.id as string, metricId: metric.json().id as string };
  };
  beforeAll(async () => {
    t = await testApp({ rateLimits: { preview: { perSecond: 1 / 60, burst: 2 }, now: clock.now } });
    adminKey = (await t.createOrg('a')).adminKey;
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(adminKey),
      payload: { name: 'dashboard', scopes: ['read'] },
    });
    readKey = res.json().key;
  });
  afterAll(async () => t?.close());

  const preview = (key: string, metricId: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/metrics/${metricId}/preview?from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z`,
      headers: bearer(key),
    });

  it('needs admin, and is limited per provider connection', async () => {
    const one = await metricOn('one');
    const two = await metricOn('two');
    const forbidden = await preview(readKey, one.metricId);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().detail).toMatch(/"admin" scope/);

    expect((await preview(adminKey, one.metricId)).statusCode).toBe(200);
    expect((await preview(adminKey, one.metricId)).statusCode).toBe(200);
    const over = await preview(adminKey, one.metricId);
    expect429(over);
    expect(over.headers['retry-after']).toBe('60');
    expect(over.json().detail).toContain(`previews of connection ${one.connectionId} are limited to 1/min`);
    // Another connection has its own budget; a minute later this one has one more.
    expect((await preview(adminKey, two.metricId)).statusCode).toBe(200);
    clock.advance(60_000);
    expect((await preview(adminKey, one.metricId)).statusCode).toBe(200);
    expect((await preview(adminKey, one.metricId)).statusCode).toBe(429);
  });
});

describe('/metrics', () => {
  const TOKEN = 'metrics-token-for-tests-0123456789';
  let guarded: TestApp;
  let open: TestApp;
  beforeAll(async () => {
    guarded = await testApp({ registry: new Registry(), metricsToken: TOKEN });
    open = await testApp({ registry: new Registry() });
  });
  afterAll(async () => {
    await guarded?.close();
    await open?.close();
  });

  it('requires the bearer token when one is set, and stays open when not', async () => {
    const without = await guarded.app.inject({ url: '/metrics' });
    expect(without.statusCode).toBe(401);
    expect(without.headers['content-type']).toContain(PROBLEM);
    expect(without.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await guarded.app.inject({ url: '/metrics', headers: bearer(TOKEN + 'x') })).statusCode).toBe(401);
    expect((await guarded.app.inject({ url: '/metrics', headers: { authorization: TOKEN } })).statusCode).toBe(401);
    const withToken = await guarded.app.inject({ url: '/metrics', headers: bearer(TOKEN) });
    expect(withToken.statusCode).toBe(200);
    expect(withToken.headers['content-type']).toMatch(/^text\/plain/);
    expect((await open.app.inject({ url: '/metrics' })).statusCode).toBe(200);
  });
});
