// Three service processes on one ClickHouse (the chDB-backed ClickHouse-HTTP test endpoint,
// or a real server when CLICKHOUSE_URL is set): a burst of events spread over the replicas,
// the replica running the scheduler killed with SIGKILL while it fetches. Every report must
// complete, and no fetch may run twice except the ones the kill cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.js';
import { startClickHouseHttp, type ClickHouseHttp } from '../support/clickhouse-http.js';
import { startReplay, type Replay } from '../support/replay.js';
import { callJson, killService, startService, type ServiceProcess } from '../support/service.js';
import { databaseName, sharedChdb } from '../support/store.js';
import { API_KEY, APP_KEY, askedWindow, baseValue, timeseriesAnswer, V2_PATH } from './support.js';

const ROOT_KEY = 'root-key-replicas-test-0123456789';
const SECRET_KEY = 'secret-key-replicas-test-0123456789';
const LEASE_SECONDS = 10;
const EVENTS = 24;
const MIN = 60_000;
const HOUR = 60 * MIN;

type Replica = ServiceProcess;

const realServer = process.env.CLICKHOUSE_URL;
let endpoint: ClickHouseHttp | undefined;
let clickhouseUrl: string;
let replay: Replay;
let store: Store;
const database = databaseName('replicas');
const replicas: Replica[] = [];

function startReplica(): Promise<Replica> {
  return startService({
    CLICKHOUSE_URL: clickhouseUrl,
    CLICKHOUSE_USER: process.env.CLICKHOUSE_USER ?? 'default',
    CLICKHOUSE_PASSWORD: process.env.CLICKHOUSE_PASSWORD ?? '',
    CLICKHOUSE_DATABASE: database,
    OPSTRAILS_ROOT_KEY: ROOT_KEY,
    OPSTRAILS_SECRET_KEY: SECRET_KEY,
    OPSTRAILS_ALLOWED_PROVIDER_HOSTS: '127.0.0.1',
    OPSTRAILS_LEASE_SECONDS: String(LEASE_SECONDS),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const call = callJson;

/** Which replica logged taking the scheduler lease last, if any is alive. */
function holders(): Replica[] {
  return replicas.filter((r) => {
    const changes = r.logs.filter((l) => l.msg === 'lease acquired' || l.msg === 'lease lost');
    return r.proc.exitCode === null && r.proc.signalCode === null && changes.at(-1)?.msg === 'lease acquired';
  });
}

beforeAll(async () => {
  if (!realServer) endpoint = await startClickHouseHttp(sharedChdb().session);
  clickhouseUrl = realServer ?? endpoint!.url;
  // Slow answers keep fetches in flight when the holder is killed.
  replay = await startReplay(async (req) => {
    if (req.path !== V2_PATH) return { status: 200, body: { valid: true } };
    await sleep(150);
    return timeseriesAnswer(req, baseValue);
  });
  replicas.push(...(await Promise.all([startReplica(), startReplica(), startReplica()])));
  store = await openStore({
    clickhouseUrl,
    username: process.env.CLICKHOUSE_USER ?? 'default',
    password: process.env.CLICKHOUSE_PASSWORD ?? '',
    database,
  });
}, 300_000);

afterAll(async () => {
  await Promise.all(replicas.map(killService));
  await store?.close();
  await replay?.close();
  await endpoint?.close();
});

describe('three replicas on one ClickHouse', () => {
  it('a burst spread over the replicas, the scheduler holder killed mid-run: every report completes, no fetch twice', async () => {
    // One replica holds the scheduler lease.
    for (let i = 0; i < 600 && holders().length === 0; i++) await sleep(100);
    expect(holders()).toHaveLength(1);

    const [first] = replicas;
    const org = await call(first.base, ROOT_KEY, 'POST', '/v1/orgs', { name: 'replicated', plan: 'pro' });
    expect(org.status).toBe(201);
    const key = org.body.admin_key as string;
    const connection = await call(replicas[1].base, key, 'POST', '/v1/connections', {
      provider: 'datadog',
      name: 'datadog',
      config: { base_url: replay.url },
      secrets: { api_key: API_KEY, app_key: APP_KEY },
    });
    expect(connection.status).toBe(201);
    const metric = await call(replicas[2].base, key, 'POST', '/v1/metrics', {
      connection_id: connection.body.id,
      name: 'errors',
      kind: 'count',
      query: { query: 'sum:trace.http.request.errors{env:production}.as_count()' },
      direction: 'increase_is_bad',
      applies_to: { types: ['deployment'] },
    });
    expect(metric.status).toBe(201);

    // The burst: events hours old (their windows complete and settled), sent round-robin.
    const t0 = Math.floor(Date.now() / MIN) * MIN - 6 * HOUR;
    const ids = Array.from({ length: EVENTS }, (_, i) => `deploy-${i}`);
    const sent = await Promise.all(
      ids.map((id, i) =>
        call(replicas[i % 3].base, key, 'POST', '/v1/events', {
          specversion: '1.0',
          id,
          source: 'ci/replicas',
          type: 'deployment',
          subject: 'production',
          time: new Date(t0 - i * 37 * MIN).toISOString(),
        }),
      ),
    );
    expect(sent.map((s) => s.status)).toEqual(ids.map(() => 202));

    // Kill the holder once it is fetching.
    const holder = holders()[0];
    for (let i = 0; i < 300 && replay.requests.filter((r) => r.path === V2_PATH).length < 3; i++) await sleep(20);
    expect(replay.requests.filter((r) => r.path === V2_PATH).length).toBeGreaterThanOrEqual(3);
    await killService(holder);
    // What the kill cut: jobs left "running" (no replica runs jobs until a survivor takes the lease).
    const cut = (await store.jobs.inStates(['running'], ['window', 'settle'])).map((j) => ({ from: j.from, to: j.to }));

    // A survivor takes over and every report completes.
    const survivors = replicas.filter((r) => r !== holder);
    const reports = new Map<string, any>();
    for (let round = 0; round < 240 && reports.size < EVENTS; round++) {
      for (const [i, id] of ids.entries()) {
        if (reports.has(id)) continue;
        const r = await call(survivors[i % 2].base, key, 'GET', `/v1/events/${id}/impact`);
        if (r.status === 200 && r.body.status === 'ready') reports.set(id, r.body);
      }
      if (reports.size < EVENTS) await sleep(250);
    }
    expect(reports.size).toBe(EVENTS);
    for (const report of reports.values()) expect(report.metrics).toHaveLength(1);
    expect(holders()).toHaveLength(1);
    expect(survivors).toContain(holders()[0]);

    // No fetch ran twice, except the ones the kill cut (those are fetched again, once).
    const calls = new Map<string, number>();
    for (const req of replay.requests.filter((r) => r.path === V2_PATH)) {
      const w = askedWindow(req);
      const k = `${w.from}-${w.to}`;
      calls.set(k, (calls.get(k) ?? 0) + 1);
    }
    const inCut = (from: number, to: number) => cut.some((c) => from >= c.from && to <= c.to);
    for (const [k, n] of calls) {
      const [from, to] = k.split('-').map(Number);
      if (n > 1) {
        expect(inCut(from, to), `window ${k} fetched ${n} times`).toBe(true);
        expect(n).toBe(2);
      }
    }
    // Jobs record their own calls: the calls beyond them are the cut jobs' first tries only.
    const jobs = await store.jobs.list(org.body.org.id, {});
    expect(jobs.every((j) => j.state === 'succeeded')).toBe(true);
    const recorded = jobs.reduce((n, j) => n + j.requests, 0);
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    const cutCalls = [...calls].filter(([k]) => inCut(...(k.split('-').map(Number) as [number, number]))).length;
    expect(total - recorded).toBeLessThanOrEqual(cutCalls);

    // No duplicate points: one stored value per bucket, and extra raw rows only where a cut fetch wrote before dying.
    const dupes = await store.backend.query<{ ts: string; n: string }>(
      `SELECT toUnixTimestamp64Milli(ts) AS ts, count() AS n FROM ${database}.metric_points
       WHERE org_id = {org:String} GROUP BY metric_id, series, ts HAVING n > 1`,
      { org: org.body.org.id },
    );
    for (const d of dupes)
      expect(inCut(Number(d.ts), Number(d.ts) + MIN), `bucket ${d.ts} stored ${d.n} times`).toBe(true);

    // One replica held each term of the lease (it may lose and renew its own term when the store is slow).
    const holderOf = new Map<unknown, Set<unknown>>();
    for (const l of replicas.flatMap((r) => r.logs.filter((x) => x.msg === 'lease acquired'))) {
      holderOf.set(l.term, new Set([...(holderOf.get(l.term) ?? []), l.holder]));
    }
    expect(holderOf.size).toBeGreaterThanOrEqual(2);
    for (const ids of holderOf.values()) expect(ids.size).toBe(1);
  }, 180_000);
});
