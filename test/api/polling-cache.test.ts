// Cheap polling: repeated GETs of a report or the timeline are answered from memory, and
// what changes them (a report stored, an event received, a key revoked) reaches every
// replica — at once on the one that made the change, within about 1–2 s on the others.
// Two runtimes on one chDB database stand in for two replicas on one ClickHouse server.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createLogger } from '../../api/app.js';
import { ChangeFeed } from '../../api/change-feed.js';
import { Lru } from '../../api/lru.js';
import { PAGE_MAX_AGE_MS, ReportCache } from '../../api/report-cache.js';
import { createRuntime, type Runtime } from '../../runtime.js';
import { StoreError, type Backend } from '../../store/backend.js';
import type { TimelineChange } from '../../store/reports.js';
import { databaseName, sharedChdb, testStore } from '../support/store.js';

const ROOT = 'root-key-for-polling-tests-0123456789';
const HOUR = 3_600_000;
const REPORT = '/v1/events/deploy-1/impact';
/** The cross-replica bound asserted: one check a second, plus the check's own time on a busy machine. */
const REPLICA_BOUND_MS = 2_500;

/** One replica: its runtime and app over a backend the test can break. */
interface Replica {
  runtime: Runtime;
  app: FastifyInstance;
  logs: string[];
  /** While true every store call fails (and is recorded): an answer then cannot have come from the store. */
  broken: boolean;
  attempted: string[];
  failInserts: boolean;
}

/** A backend over this process's chDB whose calls fail while the replica is broken. */
function breakableBackend(replica: Pick<Replica, 'broken' | 'attempted' | 'failInserts'>): Backend {
  const base = sharedChdb();
  const guard = (what: string) => {
    if (!replica.broken) return;
    replica.attempted.push(what);
    throw new StoreError('the store is down for this test');
  };
  return {
    query: async (sql, params) => (guard(sql), base.query(sql, params)),
    queryRowBinary: async (sql, params) => (guard(sql), base.queryRowBinary(sql, params)),
    insert: async (table, rows) => {
      guard(`INSERT INTO ${table}`);
      if (replica.failInserts) throw new StoreError(`insert into ${table} refused for this test`);
      return base.insert(table, rows);
    },
    command: async (sql, params) => (guard(sql), base.command(sql, params)),
    close: async () => {},
  };
}

async function replica(database: string): Promise<Replica> {
  const r = { broken: false, attempted: [] as string[], failInserts: false, logs: [] as string[] };
  const store = await testStore({ database, backend: breakableBackend(r) });
  const runtime = await createRuntime({
    store,
    logger: createLogger('warn', { write: (line) => void r.logs.push(line) }),
  });
  const app = await buildApp(runtime, { rootKey: ROOT });
  return Object.assign(r, { runtime, app });
}

/** The change checks themselves (once a second, from the report cache and the key cache). */
const isChangeCheck = (sql: string) =>
  sql.includes('UNION ALL') || sql.includes('revoked_at IS NOT NULL AND updated_at >');

const get = (r: Replica, url: string, key: string, headers: Record<string, string> = {}) =>
  r.app.inject({ url, headers: { authorization: `Bearer ${key}`, ...headers } });
const call = async (r: Replica, method: 'POST' | 'DELETE', url: string, key: string, payload?: object) => {
  const res = await r.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload ? { payload } : {}),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res;
};
const postEvent = (r: Replica, key: string, id: string, source = 'ci') =>
  r.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
    payload: JSON.stringify({
      specversion: '1.0',
      id,
      source,
      type: 'deployment',
      subject: 'production',
      time: new Date(Date.now() - 3 * HOUR).toISOString(),
    }),
  });

/** Wait until `check` holds; returns how long it took (ms), fails past `ms`. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const etag = (res: LightMyRequestResponse) => res.headers.etag as string;

/** Run `requests` with the replica's store down: what they get can only come from memory. */
async function fromMemory<T>(r: Replica, requests: () => Promise<T>): Promise<T> {
  r.broken = true;
  try {
    return await requests();
  } finally {
    r.broken = false;
  }
}

let a: Replica;
let b: Replica;
let orgA: string;
let adminA: string;
let adminB: string;
let readerA: string;
let connection: string;

beforeAll(async () => {
  const database = databaseName('poll');
  a = await replica(database);
  b = await replica(database);
  const org = (await call(a, 'POST', '/v1/orgs', ROOT, { name: 'polled', plan: 'pro' })).json();
  orgA = org.org.id;
  adminA = org.admin_key;
  adminB = (await call(a, 'POST', '/v1/orgs', ROOT, { name: 'other', plan: 'pro' })).json().admin_key;
  readerA = (await call(a, 'POST', '/v1/keys', adminA, { name: 'dashboard', scopes: ['read'] })).json().key;
  connection = (
    await call(a, 'POST', '/v1/connections', adminA, { provider: 'testdata', name: 'synthetic', config: { seed: 1 } })
  ).json().id;
  expect((await postEvent(a, adminA, 'deploy-1')).statusCode).toBe(202);
  // No metric applies yet: a stored report that is ready and says so.
  await a.runtime.impact.refresh(orgA, 'ci', 'deploy-1');
});

afterAll(async () => {
  for (const r of [a, b]) {
    if (!r) continue;
    r.broken = false;
    await r.app.close();
    await r.runtime.close();
  }
});

/** A metric of org A that applies to deploy-1 (its windows are not fetched: the report turns pending). */
const addMetric = (r: Replica, name: string) =>
  call(r, 'POST', '/v1/metrics', adminA, {
    connection_id: connection,
    name,
    kind: 'gauge',
    direction: 'either',
    query: { shape: 'gauge' },
  });

describe('a repeated poll is answered from memory', () => {
  it('serves 304s and the same 200s with the store down, for the report, its page and the timeline', async () => {
    const json = await get(a, REPORT, readerA);
    expect(json.statusCode).toBe(200);
    expect(json.json().status).toBe('ready');
    const page = await get(a, REPORT, readerA, { accept: 'text/html' });
    expect(page.headers['content-type']).toContain('text/html');
    const timeline = await get(a, '/v1/impact', readerA);
    expect(timeline.json().items.map((i: { id: string }) => i.id)).toEqual(['deploy-1']);
    // The key's first use is recorded in the background; let it land so nothing else is in flight.
    await within(5_000, async () =>
      (await a.runtime.store.keys.list(orgA)).some((k) => k.name === 'dashboard' && k.last_used_at !== null),
    );

    a.broken = true;
    try {
      const unchanged = await get(a, REPORT, readerA, { 'if-none-match': etag(json) });
      expect(unchanged.statusCode).toBe(304);
      expect(unchanged.headers.etag).toBe(etag(json));
      expect(unchanged.headers.vary).toBe('Accept, Authorization');
      const again = await get(a, REPORT, readerA);
      expect([again.statusCode, again.body, again.headers['content-type']]).toEqual([
        200,
        json.body,
        'application/json; charset=utf-8',
      ]);
      expect((await get(a, REPORT, readerA, { accept: 'text/html', 'if-none-match': etag(page) })).statusCode).toBe(
        304,
      );
      const pageAgain = await get(a, REPORT, readerA, { accept: 'text/html' });
      expect([pageAgain.statusCode, pageAgain.body]).toEqual([200, page.body]);
      expect(pageAgain.headers['content-security-policy']).toBe(page.headers['content-security-policy']);
      // The JSON tag does not match the page, nor the page's the JSON.
      expect((await get(a, REPORT, readerA, { accept: 'text/html', 'if-none-match': etag(json) })).statusCode).toBe(
        200,
      );
      expect((await get(a, '/v1/impact', readerA, { 'if-none-match': etag(timeline) })).statusCode).toBe(304);
      expect((await get(a, '/v1/impact', readerA)).body).toBe(timeline.body);
      expect(a.attempted.filter((sql) => !isChangeCheck(sql))).toEqual([]);

      // The control: what needs the store fails while it is down (so the answers above did not touch it).
      expect((await get(a, '/v1/events/deploy-unknown/impact', readerA)).statusCode).toBe(500);
      // Ad-hoc windows are computed per request, never answered from memory.
      expect((await get(a, `${REPORT}?before=90m`, readerA)).statusCode).toBe(500);
      expect((await get(a, '/v1/impact?limit=7', readerA)).statusCode).toBe(500);
    } finally {
      a.broken = false;
    }
  });

  it('still checks the key, its scope and its org on every cached answer', async () => {
    const first = await get(a, REPORT, readerA);
    const timeline = await get(a, '/v1/impact', readerA);
    const writer = (await call(a, 'POST', '/v1/keys', adminA, { name: 'ci', scopes: ['events:write'] })).json().key;
    expect((await a.app.inject({ url: REPORT, headers: { 'if-none-match': etag(first) } })).statusCode).toBe(401);
    expect((await get(a, REPORT, writer, { 'if-none-match': etag(first) })).statusCode).toBe(403);
    expect((await get(a, '/v1/impact', writer, { 'if-none-match': etag(timeline) })).statusCode).toBe(403);
    // Another org's key: the event is not found (not a 304, not org A's report) ...
    const other = await get(a, REPORT, adminB, { 'if-none-match': etag(first) });
    expect(other.statusCode).toBe(404);
    expect(other.body).not.toContain('deploy-1');
    expect((await get(a, REPORT, adminB)).statusCode).toBe(404);
    // ... and its timeline is its own (empty), even with org A's tag.
    const otherTimeline = await get(a, '/v1/impact', adminB, { 'if-none-match': etag(timeline) });
    expect(otherTimeline.statusCode).toBe(200);
    expect(otherTimeline.json().items).toEqual([]);
  });
});

describe('what changes a cached answer on this replica drops it at once', () => {
  it('a recomputed report: the next poll gets the new version (pending, with its Retry-After)', async () => {
    const ready = await get(a, REPORT, readerA);
    const timeline = await get(a, '/v1/impact', readerA);
    await addMetric(a, 'CPU');
    await a.runtime.impact.refresh(orgA, 'ci', 'deploy-1');

    const res = await get(a, REPORT, readerA, { 'if-none-match': etag(ready) });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('pending');
    expect(etag(res)).not.toBe(etag(ready));
    const retryAfter = res.headers['retry-after'];
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const changed = await get(a, '/v1/impact', readerA, { 'if-none-match': etag(timeline) });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().items[0].status).toBe('pending');

    // From memory, a pending report keeps its Retry-After (as stored), on 200s and 304s alike.
    a.broken = true;
    try {
      const cached = await get(a, REPORT, readerA);
      expect([cached.statusCode, cached.headers['retry-after'], cached.body]).toEqual([200, retryAfter, res.body]);
      const unchanged = await get(a, REPORT, readerA, { 'if-none-match': etag(res) });
      expect([unchanged.statusCode, unchanged.headers['retry-after']]).toEqual([304, retryAfter]);
    } finally {
      a.broken = false;
    }
  });

  it('an event received: the timeline shows it on the next poll', async () => {
    const timeline = await get(a, '/v1/impact', readerA);
    expect((await postEvent(a, adminA, 'deploy-2')).statusCode).toBe(202);
    const res = await get(a, '/v1/impact', readerA, { 'if-none-match': etag(timeline) });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((i: { id: string }) => i.id)).toContain('deploy-2');
  });

  it('a revoked key: refused at once', async () => {
    const created = (await call(a, 'POST', '/v1/keys', adminA, { name: 'short-lived', scopes: ['read'] })).json();
    const first = await get(a, REPORT, created.key);
    expect((await get(a, REPORT, created.key, { 'if-none-match': etag(first) })).statusCode).toBe(304);
    await call(a, 'DELETE', `/v1/keys/${created.id}`, adminA);
    expect((await get(a, REPORT, created.key, { 'if-none-match': etag(first) })).statusCode).toBe(401);
  });
});

describe('what another replica changes reaches this one within about 1–2 s', () => {
  it('a report it stores', async () => {
    const cached = await get(a, REPORT, readerA);
    const timeline = await get(a, '/v1/impact', readerA);
    expect(
      await fromMemory(a, async () => (await get(a, REPORT, readerA, { 'if-none-match': etag(cached) })).statusCode),
    ).toBe(304);
    // One more metric applies; replica B computes and stores the new version.
    await addMetric(a, 'Memory');
    await b.runtime.impact.refresh(orgA, 'ci', 'deploy-1');
    const fromB = await get(b, REPORT, readerA);
    expect(etag(fromB)).not.toBe(etag(cached));

    const took = await within(REPLICA_BOUND_MS, async () => {
      const res = await get(a, REPORT, readerA, { 'if-none-match': etag(cached) });
      return res.statusCode === 200 && etag(res) === etag(fromB);
    });
    expect(took).toBeLessThanOrEqual(REPLICA_BOUND_MS);
    // Seen by the change check, not because A stopped trusting its cache: the new version is served from memory.
    const now = await fromMemory(a, () => get(a, REPORT, readerA, { 'if-none-match': etag(fromB) }));
    expect(now.statusCode).toBe(304);
    expect((await get(a, REPORT, readerA)).json().metrics).toHaveLength(2);
    // The timeline's version did not change (the report stays pending), but its cached page was re-read.
    expect((await get(a, '/v1/impact', readerA)).body).toBe(timeline.body);
  });

  it('an event it receives: the timeline, and the newest event of an id asked for without ?source=', async () => {
    const timeline = await get(a, '/v1/impact', readerA);
    const cached = await get(a, REPORT, readerA);
    expect(cached.json().event.source).toBe('ci');
    const held = await fromMemory(a, async () => [
      (await get(a, REPORT, readerA, { 'if-none-match': etag(cached) })).statusCode,
      (await get(a, '/v1/impact', readerA, { 'if-none-match': etag(timeline) })).statusCode,
    ]);
    expect(held).toEqual([304, 304]);
    // Another source sends an event with the same id: without ?source= it is now the one answered.
    expect((await postEvent(b, adminA, 'deploy-1', 'cd')).statusCode).toBe(202);
    await within(REPLICA_BOUND_MS, async () => {
      const res = await get(a, '/v1/impact', readerA, { 'if-none-match': etag(timeline) });
      return res.statusCode === 200 && res.json().items.some((i: { source: string }) => i.source === 'cd');
    });
    const res = await get(a, REPORT, readerA, { 'if-none-match': etag(cached) });
    expect(res.statusCode).toBe(200);
    expect(res.json().event.source).toBe('cd');
    // Asked for by its source, the first event's report is still there.
    expect((await get(a, `${REPORT}?source=ci`, readerA, { 'if-none-match': etag(cached) })).statusCode).toBe(304);
  });

  it('a key it revokes', async () => {
    const created = (await call(a, 'POST', '/v1/keys', adminA, { name: 'revoked-elsewhere', scopes: ['read'] })).json();
    // Both replicas hold the key (A answers with it from memory).
    const timeline = await get(a, '/v1/impact', created.key);
    expect((await get(b, '/v1/impact', created.key)).statusCode).toBe(200);
    expect(
      await fromMemory(
        a,
        async () => (await get(a, '/v1/impact', created.key, { 'if-none-match': etag(timeline) })).statusCode,
      ),
    ).toBe(304);
    await call(b, 'DELETE', `/v1/keys/${created.id}`, adminA);
    expect((await get(b, '/v1/impact', created.key)).statusCode).toBe(401);
    const took = await within(
      REPLICA_BOUND_MS,
      async () => (await get(a, '/v1/impact', created.key)).statusCode === 401,
    );
    expect(took).toBeLessThanOrEqual(REPLICA_BOUND_MS);
  });
});

describe('last_used_at', () => {
  it('is recorded off the request path: a failed write is logged, the request answered', async () => {
    const created = (await call(a, 'POST', '/v1/keys', adminA, { name: 'unrecorded', scopes: ['read'] })).json();
    a.failInserts = true;
    try {
      expect((await get(a, '/v1/impact', created.key)).statusCode).toBe(200);
      await within(5_000, async () => a.logs.some((l) => l.includes('recording key use failed')));
    } finally {
      a.failInserts = false;
    }
    const line = a.logs.find((l) => l.includes('recording key use failed'))!;
    expect(line).not.toContain(created.key);
    expect(JSON.parse(line).key_id).toBe(created.id);
  });
});

describe('Lru', () => {
  it('keeps at most maxEntries and maxWeight; entries used since they were stored outlive the others', () => {
    const lru = new Lru<string, number>({ maxEntries: 3, maxWeight: 10 });
    lru.set('a', 1, 2);
    lru.set('b', 2, 2);
    lru.set('c', 3, 2);
    expect(lru.get('a')).toBe(1); // a is used: it gets a second chance
    lru.set('d', 4, 2); // one too many: b, the oldest unused, leaves
    expect([lru.get('b'), lru.size, lru.weight]).toEqual([undefined, 3, 6]);
    lru.set('e', 5, 7); // 13 over a weight of 10: c and d (not used) leave, a stays
    expect([lru.get('c'), lru.get('d'), lru.get('a'), lru.get('e'), lru.weight]).toEqual([
      undefined,
      undefined,
      1,
      5,
      9,
    ]);
    lru.set('huge', 6, 11); // heavier than the limit alone: not kept, nothing dropped for it
    expect([lru.get('huge'), lru.size]).toEqual([undefined, 2]);
    lru.deleteWhere((v) => v === 5);
    expect([lru.size, lru.weight]).toEqual([1, 2]);
    // Many entries, one of them hot: the hot one survives any number of inserts.
    const hot = new Lru<number, number>({ maxEntries: 10 });
    hot.set(-1, -1);
    for (let i = 0; i < 1000; i++) {
      expect(hot.get(-1)).toBe(-1);
      hot.set(i, i);
    }
    expect([hot.size, hot.get(999), hot.get(0)]).toEqual([10, 999, undefined]);
  });
});

describe('ChangeFeed', () => {
  type Row = { id: string; at: number };
  function feed(rows: Row[], opts: { limit?: number } = {}) {
    const clock = { now: 100_000 };
    const reads: number[] = [];
    const applied: { rows: string[]; complete: boolean }[] = [];
    const errors: unknown[] = [];
    let failing = false;
    let mono = 0;
    const f = new ChangeFeed<Row>({
      read: async (since, limit) => {
        reads.push(since);
        if (failing) throw new Error('down');
        return rows.filter((r) => r.at > since).slice(0, limit);
      },
      identify: (r) => ({ key: `${r.id}@${r.at}`, at: r.at }),
      apply: (fresh, complete) => void applied.push({ rows: fresh.map((r) => r.id), complete }),
      now: () => clock.now,
      overlapMs: 5_000,
      limit: opts.limit,
      onError: (err) => void errors.push(err),
      monotonic: () => mono,
    });
    return {
      f,
      clock,
      reads,
      applied,
      errors,
      fail: (v: boolean) => (failing = v),
      advance: (ms: number) => (mono += ms),
    };
  }

  it('reports each row once, and a row that shows up late behind newer ones', async () => {
    const rows: Row[] = [{ id: 'x', at: 99_000 }];
    const t = feed(rows);
    await t.f.poll();
    rows.push({ id: 'y', at: 101_000 });
    await t.f.poll();
    // Visible only now, stamped before y: still inside the overlap.
    rows.push({ id: 'late', at: 97_000 });
    await t.f.poll();
    expect(t.applied.map((a) => a.rows)).toEqual([['x'], ['y'], ['late']]);
    expect(t.reads).toEqual([95_000, 95_000, 95_000]); // the watermark stops at this clock (100,000)
  });

  it('does not report a change this process marked, and says when a read hit its limit', async () => {
    const t = feed(
      [
        { id: 'mine', at: 99_500 },
        { id: 'a', at: 99_600 },
        { id: 'b', at: 99_700 },
      ],
      { limit: 2 },
    );
    t.f.markReported({ id: 'mine', at: 99_500 });
    await t.f.poll();
    expect(t.applied).toEqual([{ rows: ['a'], complete: false }]);
  });

  it('gets past a burst larger than its limit: everything counts as changed, the watermark follows the clock', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: `e${i}`, at: 100_100 + i * 10 }));
    const t = feed(rows, { limit: 10 });
    t.clock.now = 101_000;
    await t.f.poll(); // the burst's first 10 rows: incomplete
    t.clock.now = 106_000;
    rows.push({ id: 'after', at: 105_900 });
    await t.f.poll(); // the same 10 again (already reported), still incomplete
    await t.f.poll(); // past the burst and its overlap: complete again
    expect(t.reads).toEqual([95_000, 96_000, 101_000]);
    expect(t.applied).toEqual([
      { rows: rows.slice(0, 10).map((r) => r.id), complete: false },
      { rows: [], complete: false },
      { rows: ['after'], complete: true },
    ]);
  });

  it('is fresh only while checks succeed; a run of failures is reported once', async () => {
    const t = feed([]);
    expect(t.f.isFresh(5_000)).toBe(true);
    t.fail(true);
    for (let i = 0; i < 6; i++) {
      t.advance(1_000);
      await t.f.poll();
    }
    expect(t.f.isFresh(5_000)).toBe(false);
    expect(t.errors).toHaveLength(1);
    t.fail(false);
    await t.f.poll();
    expect(t.f.isFresh(5_000)).toBe(true);
  });
});

describe('ReportCache bounds', () => {
  const changes: TimelineChange[] = [];
  /** When the cached reports' event happened, epoch ms. */
  const EVENT_TIME = 50_000;
  let now = 100_000;
  const cache = () =>
    new ReportCache({
      changesSince: async (since) => changes.filter((c) => c.at > since),
      now: () => now,
      limits: { maxReports: 2, maxPages: 1 },
    });
  const answer = (n: number) => ({ etag: `"${n}"`, htmlEtag: `"${n}-html"`, json: `{"n":${n}}` });

  it('keeps at most maxReports reports and maxPages pages', () => {
    const c = cache();
    for (const n of [1, 2, 3]) c.keepReport('org', `e${n}`, undefined, answer(n), EVENT_TIME, c.generation('org'));
    expect([c.report('org', 'e1', undefined, 0), c.report('org', 'e3', undefined, 0)?.etag]).toEqual([
      undefined,
      '"3"',
    ]);
    c.keepPage('org', 'q1', answer(1), c.generation('org'));
    c.keepPage('org', 'q2', answer(2), c.generation('org'));
    expect([c.page('org', 'q1'), c.page('org', 'q2')?.etag, c.size.pages]).toEqual([undefined, '"2"', 1]);
  });

  it('does not keep an answer read before a change of its org, and drops what another replica changed', async () => {
    const c = cache();
    const before = c.generation('org');
    c.reportStored('org', 'ci', 'e1', 99_000);
    c.keepReport('org', 'e1', undefined, answer(1), EVENT_TIME, before);
    expect(c.report('org', 'e1', undefined, 0)).toBeUndefined();
    c.keepReport('org', 'e1', 'ci', answer(1), EVENT_TIME, c.generation('org'));
    c.keepPage('org', 'q', answer(1), c.generation('org'));
    c.keepPage('other', 'q', answer(2), c.generation('other'));
    changes.push({ kind: 'report', org_id: 'org', source: 'ci', id: 'e1', at: 99_900 });
    await c.check();
    expect([c.report('org', 'e1', 'ci', 0), c.page('org', 'q'), c.page('other', 'q')?.etag]).toEqual([
      undefined,
      undefined,
      '"2"',
    ]);
  });

  it('serves no report of an event past the retention, no page older than a minute, none after a plan change', () => {
    const c = cache();
    c.keepReport('org', 'e1', undefined, answer(1), EVENT_TIME, c.generation('org'));
    expect(c.report('org', 'e1', undefined, EVENT_TIME)?.etag).toBe('"1"');
    expect(c.report('org', 'e1', undefined, EVENT_TIME + 1)).toBeUndefined();

    c.keepPage('org', 'q', answer(1), c.generation('org'));
    now += PAGE_MAX_AGE_MS - 1;
    expect(c.page('org', 'q')?.etag).toBe('"1"');
    now += 1;
    expect(c.page('org', 'q')).toBeUndefined();

    c.keepPage('org', 'q', answer(2), c.generation('org'));
    c.keepPage('other', 'q', answer(3), c.generation('other'));
    c.orgChanged('org');
    expect([c.page('org', 'q'), c.page('other', 'q')?.etag]).toEqual([undefined, '"3"']);
  });
});
