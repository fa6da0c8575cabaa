// The monthly events quota, the usage alert and its webhook, and the event times ingest refuses,
// through the real app on embedded ClickHouse with the service's clock moved by the test. The
// webhook is a real HTTP server on 127.0.0.1 (listed as the operator would list a private host),
// and its signature is checked with an HMAC computed here as the Standard Webhooks spec says.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_LIMITS, parsePlans } from '../../domain/plan.js';
import { bearer, ROOT_KEY, testApp, type TestApp } from '../support/app.js';

const DAY = 86_400_000;
/** A Free plan with a quota small enough to use up: 10 events a month, 7 days kept. */
const plans = (() => {
  const r = parsePlans('free:events=10', DEFAULT_PLAN_LIMITS);
  if (!r.ok) throw new Error(r.reason);
  return r.plans;
})();

let clock = Date.parse('2026-12-10T12:00:00Z');
let t: TestApp;

/** What the webhook received, and how it answers the next requests (then 200). */
const received: { headers: IncomingMessage['headers']; body: string }[] = [];
const answers: number[] = [];
let hook: Server;
let hookUrl: string;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/opstrails`;
  t = await testApp({
    now: () => clock,
    plans,
    hostPolicy: { allowedHosts: ['127.0.0.1'] },
    notifyRetryDelaysMs: [10, 10, 10],
  });
});
afterAll(async () => {
  await t?.close();
  hook?.close();
});

const ev = (id: string, time?: number) => ({
  specversion: '1.0',
  id,
  source: 'ci',
  type: 'deployment',
  ...(time === undefined ? {} : { time: new Date(time).toISOString() }),
});
const send = (key: string, events: object[]) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(key), 'content-type': 'application/cloudevents-batch+json' },
    payload: JSON.stringify(events),
  });
const org = async (key: string) => (await t.app.inject({ method: 'GET', url: '/v1/org', headers: bearer(key) })).json();
const stored = async (key: string) =>
  (await t.app.inject({ method: 'GET', url: '/v1/events?limit=1000', headers: bearer(key) })).json().items.length;
const setNotify = (key: string, url: string | null) =>
  t.app.inject({ method: 'PATCH', url: '/v1/org', headers: bearer(key), payload: { notify_url: url } });
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ev(`${prefix}-${i}`));

describe('the monthly events quota', () => {
  let key: string;
  beforeAll(async () => {
    clock = Date.parse('2026-12-10T12:00:00Z');
    key = (await t.createOrg('small', 'free')).adminKey;
  });

  it('counts accepted events, raises usage_80 once at 80%, and refuses a batch that does not fit, whole', async () => {
    expect((await send(key, ids('a', 7))).statusCode).toBe(202);
    let view = await org(key);
    expect(view.quota).toMatchObject({ events: 10, used: 7, period_start: '2026-12-01T00:00:00.000Z' });
    expect(view.alerts).toEqual([]);

    expect((await send(key, ids('b', 1))).statusCode).toBe(202);
    view = await org(key);
    expect(view.quota.used).toBe(8);
    expect(view.alerts).toHaveLength(1);
    expect(view.alerts[0]).toMatchObject({
      type: 'usage_80',
      period_start: '2026-12-01T00:00:00.000Z',
      delivery: 'none',
      message: expect.stringContaining('8 of 10 events used this month (80%, free plan)'),
    });
    expect(t.logs.some((l) => l.includes('"level":40') && l.includes('8 of 10 events used this month'))).toBe(true);

    // 2 left: a batch of 3 is refused whole.
    const refused = await send(key, ids('c', 3));
    expect(refused.statusCode).toBe(429);
    const problem = refused.json();
    expect(problem.type).toMatch(/quota-exceeded$/);
    expect(problem.detail).toMatch(/nothing was stored/);
    const periodEnd = Date.parse('2027-01-01T00:00:00Z');
    expect(Number(refused.headers['retry-after'])).toBe(Math.ceil((periodEnd - clock) / 1000));
    expect(await stored(key)).toBe(8);

    // A second crossing raises no second alert.
    expect((await send(key, ids('d', 2))).statusCode).toBe(202);
    view = await org(key);
    expect(view.quota.used).toBe(10);
    expect(view.alerts).toHaveLength(1);
    expect((await send(key, ids('e', 1))).statusCode).toBe(429);
  });

  it('takes a retry of accepted events at full quota as duplicates, counted once', async () => {
    const retry = await send(key, ids('a', 7));
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual({ accepted: [], duplicates: ids('a', 7).map((e) => e.id) });
    // A batch mixing stored events with one new one does not fit: refused whole.
    expect((await send(key, [...ids('a', 2), ev('new-1')])).statusCode).toBe(429);
    expect((await org(key)).quota.used).toBe(10);
  });

  it('accepts again when the next month starts', async () => {
    clock = Date.parse('2027-01-01T00:00:01Z');
    expect((await send(key, ids('jan', 3))).statusCode).toBe(202);
    const view = await org(key);
    expect(view.quota).toMatchObject({ used: 3, period_start: '2027-01-01T00:00:00.000Z' });
  });
});

describe('the usage alert webhook', () => {
  let key: string;
  let orgId: string;
  beforeAll(async () => {
    clock = Date.parse('2026-12-10T12:00:00Z');
    ({ adminKey: key, orgId } = await t.createOrg('hooked', 'free'));
  });

  it('refuses URLs the host rules refuse, naming notify_url', async () => {
    for (const url of [
      'http://example.com/hook',
      'https://10.1.2.3/hook',
      'https://user:pw@example.com/',
      'not a url',
    ]) {
      const res = await setNotify(key, url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().errors[0].field).toBe('notify_url');
    }
    const readKey = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/keys',
        headers: bearer(key),
        payload: { name: 'r', scopes: ['read'] },
      })
    ).json().key;
    const res = await setNotify(readKey, hookUrl);
    expect(res.statusCode).toBe(403);
  });

  it('delivers the alert as a signed CloudEvent, retrying a 503', async () => {
    const set = await setNotify(key, hookUrl);
    expect(set.statusCode).toBe(200);
    const { notify_secret: secret, notify_url } = set.json();
    expect(notify_url).toBe(hookUrl);
    expect(secret).toMatch(/^whsec_/);
    // The secret is shown once: not in the org's view, nor in any log line.
    expect(JSON.stringify(await org(key))).not.toContain(secret);

    answers.push(503);
    expect((await send(key, ids('w', 8))).statusCode).toBe(202);
    await t.runtime.alerts.idle();
    expect(received).toHaveLength(2);
    const [first, second] = received;
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
      .update(`${second.headers['webhook-id']}.${second.headers['webhook-timestamp']}.${second.body}`)
      .digest('base64');
    expect(second.headers['webhook-signature']).toBe(`v1,${expected}`);
    const event = JSON.parse(second.body);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'dev.opstrails.usage.alert',
      subject: orgId,
      data: { org_id: orgId, alert: 'usage_80', quota: { events: 10, used: 8 } },
    });
    const [alert] = (await org(key)).alerts;
    expect(alert).toMatchObject({ type: 'usage_80', delivery: 'delivered', attempts: 2, last_error: '' });
    expect(t.logs.join('\n')).not.toContain(secret);
  });

  it('records a delivery that failed every attempt', async () => {
    received.length = 0;
    const other = await t.createOrg('unlucky', 'free');
    await setNotify(other.adminKey, hookUrl);
    answers.push(500, 500, 500, 500);
    expect((await send(other.adminKey, ids('x', 9))).statusCode).toBe(202);
    await t.runtime.alerts.idle();
    expect(received).toHaveLength(4);
    const [alert] = (await org(other.adminKey)).alerts;
    expect(alert).toMatchObject({ delivery: 'failed', attempts: 4, last_error: 'HTTP 500' });
  });

  it('removes the webhook with null', async () => {
    const res = await setNotify(key, null);
    expect(res.statusCode).toBe(200);
    expect(res.json().notify_url).toBeNull();
    expect(res.json().notify_secret).toBeUndefined();
  });
});

describe('event times ingest refuses', () => {
  let key: string;
  beforeAll(async () => {
    clock = Date.parse('2026-12-10T12:00:00Z');
    key = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/orgs',
        headers: bearer(ROOT_KEY),
        payload: { name: 'times', plan: 'starter' },
      })
    ).json().admin_key;
  });

  it('refuses a batch holding an event older than the retention or over 24 h ahead, whole, naming time', async () => {
    const batch = [
      ev('ok-1', clock - DAY),
      ev('old', clock - 31 * DAY),
      ev('ok-2'),
      ev('ahead', clock + 25 * 3600_000),
    ];
    const res = await send(key, batch);
    expect(res.statusCode).toBe(422);
    const problem = res.json();
    expect(problem.detail).toMatch(/^batch rejected, nothing stored/);
    expect(problem.errors).toEqual([
      expect.objectContaining({
        index: 1,
        pointer: '/1/time',
        field: 'time',
        message: expect.stringMatching(/30-day retention of this org's starter plan/),
      }),
      expect.objectContaining({
        index: 3,
        pointer: '/3/time',
        field: 'time',
        message: expect.stringMatching(/more than 24 hours ahead/),
      }),
    ]);
    expect(await stored(key)).toBe(0);
    expect((await org(key)).quota.used).toBe(0);
  });

  it('accepts the edges: just inside the retention, 23 h ahead, and no time (the receive time)', async () => {
    const res = await send(key, [
      ev('edge-old', clock - 30 * DAY + 60_000),
      ev('edge-new', clock + 23 * 3600_000),
      ev('now'),
    ]);
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toHaveLength(3);
  });

  it('names time for a structured event too', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(key), 'content-type': 'application/cloudevents+json' },
      payload: JSON.stringify(ev('old-one', clock - 60 * DAY)),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([expect.objectContaining({ pointer: '/time', field: 'time' })]);
  });
});
