// Org deletion through the real app and embedded ClickHouse: every row of the org goes from
// every table (counted per table, physical rows), another org keeps all of its rows, the org's
// keys stop at once, export works until the deletion, and who may delete what.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chTime } from '../../store/migrations.js';
import { deleteOrg } from '../../store/org-deletion.js';
import { ORG_TABLES } from '../../store/org-tables.js';
import { bearer, ROOT_KEY, testApp, type TestApp } from '../support/app.js';

const root = bearer(ROOT_KEY);
const HOUR = 3600_000;

type Counts = Record<string, number>;
interface Org {
  orgId: string;
  adminKey: string;
  readKey: string;
}

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t?.close());

/**
 * The org's rows in each table of ORG_TABLES: physical rows (every version, what a deletion must
 * leave none of), or with `final` the rows as reads see them (background merges of versions
 * change the physical count, never this one).
 */
async function rowCounts(orgId: string, final = false): Promise<Counts> {
  const counts: Counts = {};
  for (const { name } of ORG_TABLES) {
    const [row] = await t.store.backend.query<{ n: string }>(
      `SELECT count() AS n FROM ${t.store.database}.${name} ${final ? 'FINAL' : ''} WHERE org_id = {org:String}`,
      { org: orgId },
    );
    counts[name] = Number(row.n);
  }
  return counts;
}
const liveRows = (orgId: string) => rowCounts(orgId, true);

/** An org with rows in every table: through the API where there is a route, else through the store. */
async function populatedOrg(name: string): Promise<Org> {
  const { orgId, adminKey } = await t.createOrg(name);
  const call = async (method: 'POST' | 'GET', url: string, payload?: object) => {
    const res = await t.app.inject({ method, url, headers: bearer(adminKey), payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  const readKey = (await call('POST', '/v1/keys', { name: 'reader', scopes: ['read'] })).key;
  const connection = await call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic' });
  const metric = await call('POST', '/v1/metrics', {
    connection_id: connection.id,
    name: 'errors',
    kind: 'gauge',
    query: { shape: 'gauge' },
    direction: 'either',
  });
  // Recent times throughout: a mutation rewriting a part drops rows past their retention.
  const now = Date.now();
  const eventTime = Math.floor(now / HOUR) * HOUR - HOUR;
  const event = {
    specversion: '1.0',
    id: 'd1',
    source: 'ci',
    type: 'deployment',
    time: new Date(eventTime).toISOString(),
  };
  await call('POST', '/v1/events', event);

  const window = { from: eventTime - HOUR, to: eventTime };
  const points = [0, 1, 2].map((i) => ({ ts: window.from + i * 60_000, value: i }));
  await t.store.points.replaceWindow(orgId, metric.id, '', window, points, { fetchedAt: now, retentionDays: 90 });
  const job = { org_id: orgId, connection_id: connection.id, metric_id: metric.id, series: '', vars: {} };
  await t.store.jobs.save([t.store.jobs.draft({ ...job, kind: 'window', ...window, due_at: now, run_at: now })]);
  const pair = t.store.pairs.draft({
    ...job,
    event_source: 'ci',
    event_id: 'd1',
    event_type: 'deployment',
    event_time: eventTime,
    windows: { before: window, after: { from: eventTime, to: eventTime + HOUR }, references: [] },
  });
  await t.store.pairs.save([pair]);
  await t.store.reports.save({
    org_id: orgId,
    event_source: 'ci',
    event_id: 'd1',
    event_time: eventTime,
    status: 'pending',
    verdict: null,
    worst_metric: null,
    report: {},
    charts: {},
    retry_after_s: 60,
  });
  const month = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1);
  await t.store.backend.insert(`${t.store.database}.usage`, [
    { org_id: orgId, period_start: chTime(month), events: 1 },
  ]);
  await t.store.backend.insert(`${t.store.database}.org_alerts`, [
    {
      org_id: orgId,
      type: 'usage_80',
      period_start: chTime(month),
      at: chTime(now),
      message: '80% of the events quota used',
      delivery: 'pending',
      attempts: 0,
      last_error: '',
      updated_at: chTime(now),
    },
  ]);
  const counts = await rowCounts(orgId);
  for (const { name } of ORG_TABLES) expect(counts[name], name).toBeGreaterThan(0);
  return { orgId, adminKey, readKey };
}

const exportEvents = (key: string) => t.app.inject({ url: '/v1/events/export', headers: bearer(key) });
const deleteOwnOrg = (key: string, payload?: object) =>
  t.app.inject({ method: 'DELETE', url: '/v1/org', headers: bearer(key), ...(payload ? { payload } : {}) });

/** A deletion's report names every table, each with at least the rows reads saw before it. */
function expectRemoved(deleted: Counts, before: Counts) {
  expect(Object.keys(deleted).sort()).toEqual(Object.keys(before).sort());
  for (const [table, rows] of Object.entries(before)) expect(deleted[table], table).toBeGreaterThanOrEqual(rows);
}
const zeros = Object.fromEntries(ORG_TABLES.map((t) => [t.name, 0]));

let kept: Org;
let keptCounts: Counts;
beforeAll(async () => {
  kept = await populatedOrg('kept');
  keptCounts = await liveRows(kept.orgId);
});

it('ORG_TABLES lists every table of the database that has an org_id column', async () => {
  const rows = await t.store.backend.query<{ table: string }>(
    `SELECT table FROM system.columns WHERE database = {db:String} AND name = 'org_id' ORDER BY table`,
    { db: t.store.database },
  );
  expect(rows.map((r) => r.table)).toEqual(ORG_TABLES.map((t) => t.name).sort());
});

describe('DELETE /v1/orgs/{id} (operator key)', () => {
  it("revokes the org's keys at once, then removes every row of it from every table, and no other org's", async () => {
    const gone = await populatedOrg('gone');
    const before = await liveRows(gone.orgId);
    const exported = await exportEvents(gone.readKey);
    expect(exported.statusCode).toBe(200);
    expect(exported.json().map((e: { id: string }) => e.id)).toEqual(['d1']);

    let answered = false;
    const deletion = t.app
      .inject({ method: 'DELETE', url: `/v1/orgs/${gone.orgId}`, headers: root })
      .finally(() => (answered = true));
    // While the deletion waits for other replicas to see the revocation, the keys already fail here.
    await vi.waitFor(async () => expect(await t.store.keys.list(gone.orgId)).toEqual([]));
    for (const key of [gone.adminKey, gone.readKey]) expect((await exportEvents(key)).statusCode).toBe(401);
    expect(answered).toBe(false);

    const res = await deletion;
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().org_id).toBe(gone.orgId);
    expectRemoved(res.json().deleted, before);
    expect(await rowCounts(gone.orgId)).toEqual(zeros);
    expect(await liveRows(kept.orgId)).toEqual(keptCounts);
    expect((await exportEvents(gone.adminKey)).statusCode).toBe(401);
    expect((await exportEvents(kept.readKey)).statusCode).toBe(200);

    const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'org deleted' && l.org_id === gone.orgId);
    expect(line).toMatchObject({ level: 30, deleted: res.json().deleted });
    expect(t.logs.join('\n')).not.toContain(gone.adminKey);

    // Deleted is gone: a second deletion finds no org.
    const again = await t.app.inject({ method: 'DELETE', url: `/v1/orgs/${gone.orgId}`, headers: root });
    expect(again.statusCode).toBe(404);
  }, 60_000);

  it('answers 404 problem+json for an org that does not exist', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/orgs/org_nope', headers: root });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().detail).toBe('org not found');
  });

  it("refuses an org's admin key (403)", async () => {
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/orgs/${kept.orgId}`, headers: bearer(kept.adminKey) });
    expect(res.statusCode).toBe(403);
    expect(await liveRows(kept.orgId)).toEqual(keptCounts);
  });
});

describe('DELETE /v1/org (the org admin, confirmed)', () => {
  let own: Org;
  let before: Counts;
  beforeAll(async () => {
    own = await populatedOrg('own');
    before = await liveRows(own.orgId);
  });

  it.each([
    ['no body', () => undefined],
    ['no confirm', () => ({})],
    ["another org's id", () => ({ confirm: kept.orgId })],
    ['a number', () => ({ confirm: 42 })],
  ])('refuses %s with 400 naming confirm, and deletes nothing', async (_case, body) => {
    const res = await deleteOwnOrg(own.adminKey, body());
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(['confirm']);
    expect(res.json().detail).toContain('confirm');
    expect(await liveRows(own.orgId)).toEqual(before);
    expect(await liveRows(kept.orgId)).toEqual(keptCounts);
    expect((await exportEvents(own.readKey)).statusCode).toBe(200);
  });

  it('refuses a read key and the operator key (403)', async () => {
    expect((await deleteOwnOrg(own.readKey, { confirm: own.orgId })).statusCode).toBe(403);
    expect((await deleteOwnOrg(ROOT_KEY, { confirm: own.orgId })).statusCode).toBe(403);
    expect(await liveRows(own.orgId)).toEqual(before);
  });

  it('deletes the caller’s org when confirmed by its id; its keys answer 401 right after', async () => {
    expect((await exportEvents(own.adminKey)).statusCode).toBe(200);
    const res = await deleteOwnOrg(own.adminKey, { confirm: own.orgId });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().org_id).toBe(own.orgId);
    expectRemoved(res.json().deleted, before);
    expect((await exportEvents(own.adminKey)).statusCode).toBe(401);
    expect((await deleteOwnOrg(own.adminKey, { confirm: own.orgId })).statusCode).toBe(401);
    expect(await rowCounts(own.orgId)).toEqual(zeros);
    expect(await liveRows(kept.orgId)).toEqual(keptCounts);
  }, 60_000);
});

describe('deleteOrg', () => {
  it('removes what work still running wrote during the deletion (the final pass)', async () => {
    const late = await populatedOrg('late');
    const before = await liveRows(late.orgId);
    const [job] = await t.store.jobs.list(late.orgId);
    let revoked = 0;
    const removed = await deleteOrg(t.store, late.orgId, {
      propagationMs: 0,
      now: Date.now,
      onKeysRevoked: () => revoked++,
      // A fetch that was running finishes after the first pass: its job's new version lands.
      settle: async () => {
        await t.store.jobs.save([{ ...job, state: 'succeeded' }]);
      },
    });
    expect(revoked).toBe(1);
    expectRemoved(removed!, before);
    expect(removed!.fetch_jobs).toBeGreaterThanOrEqual(before.fetch_jobs + 1);
    expect(await rowCounts(late.orgId)).toEqual(zeros);
    expect(await liveRows(kept.orgId)).toEqual(keptCounts);
    expect(await deleteOrg(t.store, late.orgId, { propagationMs: 0, now: Date.now })).toBeUndefined();
  });
});
