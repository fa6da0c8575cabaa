// The org endpoints through the real app and embedded ClickHouse: an org's own view (plan,
// retention, this month's quota), the operator's list/get/patch, and who may call which.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_LIMITS, quotaPeriod } from '../../domain/plan.js';
import { bearer, ROOT_KEY, testApp, type TestApp } from '../support/app.js';

const root = bearer(ROOT_KEY);

const ev = (id: string, type = 'deployment') => ({
  specversion: '1.0',
  id,
  source: 'ci',
  type,
  subject: 'production',
  time: '2026-11-20T10:00:00Z',
});

let t: TestApp;
let a: { orgId: string; adminKey: string };
let b: { orgId: string; adminKey: string };

/** The service's clock: the day after the events' time (a free org keeps 7 days). */
const NOW = Date.parse('2026-11-21T00:00:00Z');

beforeAll(async () => {
  t = await testApp({ now: () => NOW });
  a = await t.createOrg('alpha', 'starter');
  b = await t.createOrg('beta', 'free');
});
afterAll(async () => t?.close());

const postEvents = (key: string, events: object[]) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(key), 'content-type': 'application/cloudevents-batch+json' },
    payload: JSON.stringify(events),
  });

/** The retention_days values the org's stored metric points carry (every row, versions included). */
async function pointRetention(orgId: string): Promise<number[]> {
  const rows = await t.store.backend.query<{ d: number }>(
    `SELECT DISTINCT retention_days AS d FROM ${t.store.database}.metric_points WHERE org_id = {org:String} ORDER BY d`,
    { org: orgId },
  );
  return rows.map((r) => Number(r.d));
}

describe('GET /v1/org', () => {
  it("shows the caller's org, its plan's limits and the events accepted this month (duplicates once)", async () => {
    expect((await postEvents(a.adminKey, [ev('a1'), ev('a2'), ev('a3')])).statusCode).toBe(202);
    const again = await postEvents(a.adminKey, [ev('a2'), ev('a4')]);
    expect(again.json()).toEqual({ accepted: ['a4'], duplicates: ['a2'] });

    const res = await t.app.inject({ url: '/v1/org', headers: bearer(a.adminKey) });
    expect(res.statusCode).toBe(200);
    const period = quotaPeriod(NOW);
    expect(res.json()).toEqual({
      id: a.orgId,
      name: 'alpha',
      plan: 'starter',
      retention_days: 30,
      created_at: expect.any(String),
      quota: {
        events: 250_000,
        used: 4,
        period_start: new Date(period.start).toISOString(),
        period_end: new Date(period.end).toISOString(),
      },
      alerts: [],
      notify_url: null,
    });
  });

  it('answers a key with the read scope, and shows another org its own org only', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(b.adminKey),
      payload: { name: 'reader', scopes: ['read'] },
    });
    const res = await t.app.inject({ url: '/v1/org', headers: bearer(created.json().key) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: b.orgId, name: 'beta', plan: 'free', retention_days: 7 });
    expect(res.json().quota).toMatchObject({ events: 10_000, used: 0 });
  });

  it('refuses a key without the read scope and the operator key (403)', async () => {
    const writer = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(b.adminKey),
      payload: { name: 'writer', scopes: ['events:write'] },
    });
    expect((await t.app.inject({ url: '/v1/org', headers: bearer(writer.json().key) })).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/v1/org', headers: root })).statusCode).toBe(403);
  });
});

describe('operator routes', () => {
  it('lists orgs and shows one, with its usage', async () => {
    const list = await t.app.inject({ url: '/v1/orgs', headers: root });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([
      { id: a.orgId, name: 'alpha', plan: 'starter', retention_days: 30, created_at: expect.any(String) },
      { id: b.orgId, name: 'beta', plan: 'free', retention_days: 7, created_at: expect.any(String) },
    ]);
    const one = await t.app.inject({ url: `/v1/orgs/${a.orgId}`, headers: root });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: a.orgId, quota: { used: 4 } });
    expect((await t.app.inject({ url: '/v1/orgs/org_nope', headers: root })).statusCode).toBe(404);
  });

  it.each([
    ['GET', '/v1/orgs'],
    ['GET', '/v1/orgs/ORG'],
    ['PATCH', '/v1/orgs/ORG'],
  ] as const)('refuses an org admin key on %s %s (403)', async (method, url) => {
    const res = await t.app.inject({
      method,
      url: url.replace('ORG', a.orgId),
      headers: bearer(a.adminKey),
      ...(method === 'PATCH' ? { payload: { plan: 'pro' } } : {}),
    });
    expect(res.statusCode).toBe(403);
  });

  it('changes the plan and re-applies its retention to the stored points', async () => {
    // Recent points: a TTL past its time deletes rows when a mutation rewrites their part.
    const hour = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
    const window = { from: hour, to: hour + 3600_000 };
    const points = [0, 1, 2].map((i) => ({ ts: window.from + i * 60_000, value: i }));
    await t.store.points.replaceWindow(a.orgId, 'm1', '', window, points, { fetchedAt: Date.now(), retentionDays: 30 });
    await t.store.points.replaceWindow(b.orgId, 'm1', '', window, points, { fetchedAt: Date.now(), retentionDays: 7 });
    expect(await pointRetention(a.orgId)).toEqual([30]);

    const res = await t.app.inject({
      method: 'PATCH',
      url: `/v1/orgs/${a.orgId}`,
      headers: root,
      payload: { plan: 'pro', name: 'alpha inc' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: a.orgId, name: 'alpha inc', plan: 'pro', retention_days: 90 });
    expect(res.json().quota).toMatchObject({ events: DEFAULT_PLAN_LIMITS.pro.events_per_month, used: 4 });
    expect(await pointRetention(a.orgId)).toEqual([90]);
    expect(await pointRetention(b.orgId)).toEqual([7]); // another org's points are untouched
    expect((await t.store.orgs.get(a.orgId))?.plan).toBe('pro');
    const seen = await t.app.inject({ url: '/v1/org', headers: bearer(a.adminKey) });
    expect(seen.json()).toMatchObject({ name: 'alpha inc', plan: 'pro', retention_days: 90 });

    // Two changes in a row: the later one wins.
    await t.app.inject({ method: 'PATCH', url: `/v1/orgs/${a.orgId}`, headers: root, payload: { plan: 'free' } });
    await t.app.inject({ method: 'PATCH', url: `/v1/orgs/${a.orgId}`, headers: root, payload: { plan: 'starter' } });
    expect((await t.store.orgs.get(a.orgId))?.plan).toBe('starter');
    expect(await pointRetention(a.orgId)).toEqual([30]);
  });

  it.each([
    [{ plan: 'enterprise' }, 'plan'],
    [{ name: '' }, 'name'],
    [{}, '(body)'],
  ])('refuses a bad change %o with 400 naming the field', async (payload, field) => {
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/orgs/${b.orgId}`, headers: root, payload });
    expect(res.statusCode).toBe(400);
    if (field !== '(body)') expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(res.json().detail).toContain(field === '(body)' ? 'give plan, name or both' : field);
    expect((await t.store.orgs.get(b.orgId))?.plan).toBe('free');
  });

  it('answers 404 for a change of an org that does not exist', async () => {
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/v1/orgs/org_nope',
      headers: root,
      payload: { plan: 'pro' },
    });
    expect(res.statusCode).toBe(404);
  });
});

describe('event types at ingest', () => {
  it('stores loosely written known types under their name; filters find them; others are kept as sent', async () => {
    const sent = [
      ev('t1', 'data_load'),
      ev('t2', 'dataload'),
      ev('t3', 'Data-Load'),
      ev('t4', 'dev.opstrails.data-load'),
      ev('t5', 'dev.opstrails.Data_Load'),
      ev('t6', 'Feature_Flag'),
      ev('t7', 'DEPLOYMENT'),
    ];
    expect((await postEvents(b.adminKey, sent)).statusCode).toBe(202);
    const list = await t.app.inject({ url: '/v1/events?type=data-load', headers: bearer(b.adminKey) });
    expect(list.statusCode).toBe(200);
    const byId = Object.fromEntries(list.json().items.map((e: { id: string; type: string }) => [e.id, e.type]));
    expect(byId).toEqual({ t1: 'data-load', t2: 'data-load', t3: 'data-load', t4: 'dev.opstrails.data-load' });
    // The filter's type is read the way ingest reads a type.
    const loose = await t.app.inject({ url: '/v1/events?type=Data_Load', headers: bearer(b.adminKey) });
    expect(
      loose
        .json()
        .items.map((e: { id: string }) => e.id)
        .sort(),
    ).toEqual(['t1', 't2', 't3', 't4']);
    const kept = await t.app.inject({ url: '/v1/events/t6', headers: bearer(b.adminKey) });
    expect(kept.json().type).toBe('Feature_Flag');
    expect((await t.app.inject({ url: '/v1/events/t5', headers: bearer(b.adminKey) })).json().type).toBe(
      'dev.opstrails.Data_Load',
    );
    expect((await t.app.inject({ url: '/v1/events/t7', headers: bearer(b.adminKey) })).json().type).toBe('deployment');
  });
});
