// What the MCP tests share: the service with data in it (a deployment whose
// checkout errors jump 50%, a Datadog connection holding secrets, and a second
// org with data of its own), a digest of every table to prove nothing was
// written, and the argument table that calls each tool with valid and invalid input.
import { createHash } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { expect } from 'vitest';
import { buildApp } from '../../api/app.js';
import type { McpRouteOptions } from '../../api/routes/mcp.js';
import { createRuntime, type Runtime } from '../../runtime.js';
import type { Store } from '../../store/index.js';
import { testStore } from '../support/store.js';

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
/** The deployment whose report the tests read: checkout errors jump 50% at T. */
export const T = Date.UTC(2026, 10, 14, 16, 0);
export const iso = (ms: number) => new Date(ms).toISOString();
export const ROOT_KEY = 'root-key-for-mcp-tests-0123456789abcdef';
/** Secrets of the Datadog connection: no answer may ever contain them. */
export const DD_SECRETS = { api_key: 'dd-api-key-never-shown-7c1e2f', app_key: 'dd-app-key-never-shown-93ab4d' };

/** The parts of a running service the tests use (test/support/pipeline.ts has them too). */
export interface Service {
  store: Store;
  app: FastifyInstance;
  /** An admin key of the test org. */
  key: string;
  advanceTo(ms: number): Promise<void>;
}

/** Call the API as `key`. */
export function call(
  app: FastifyInstance,
  key: string,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/**
 * The service (/mcp included): built like test/support/pipeline.ts (chDB store, scheduler on a
 * clock the test drives), with the names /mcp answers to besides localhost.
 */
export async function mcpService(
  start: number,
  mcp: McpRouteOptions = {},
): Promise<Service & { runtime: Runtime; close(): Promise<void> }> {
  const clock = { now: start };
  const now = () => clock.now;
  const runtime = await createRuntime({
    store: await testStore({ now }),
    logger: pino({ level: 'silent' }),
    now,
    scheduler: { random: () => 0.5 },
  });
  const app = await buildApp(runtime, { rootKey: ROOT_KEY, mcpAllowedHosts: mcp.allowedHosts });
  const created = await app.inject({
    method: 'POST',
    url: '/v1/orgs',
    headers: { authorization: `Bearer ${ROOT_KEY}` },
    payload: { name: 'mcp', plan: 'pro' },
  });
  expect(created.statusCode, created.body).toBe(201);
  return {
    runtime,
    store: runtime.store,
    app,
    key: created.json().admin_key,
    async advanceTo(ms) {
      clock.now = ms;
      await runtime.scheduler.runDue();
      await runtime.impact.idle();
    },
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** Ids of what seed() stored. */
export interface Seeded {
  metricId: string;
  connectionId: string;
  datadogId: string;
  /** Another org's key and ids: "not found" for this org's key. */
  other: { key: string; eventId: string; metricId: string; connectionId: string };
}

const event = (id: string, time: number, more: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'github.com/acme/shop',
  type: 'deployment',
  subject: 'production',
  version: 'v1.4.2',
  time: iso(time),
  ...more,
});

/** Create the data the tests read, through the API, and let the reports compute. */
export async function seed(s: Service): Promise<Seeded> {
  const ok = (res: LightMyRequestResponse, status: number) => {
    expect(res.statusCode, res.body).toBe(status);
    return res.json();
  };
  async function dataset(key: string, name: string, events: object[]) {
    const connection = ok(await call(s.app, key, 'POST', '/v1/connections', { provider: 'testdata', name }), 201);
    const metric = ok(
      await call(s.app, key, 'POST', '/v1/metrics', {
        connection_id: connection.id,
        name: 'Checkout errors',
        kind: 'count',
        direction: 'increase_is_bad',
        critical: true,
        applies_to: { subjects: ['production'] },
        query: { shape: 'count', base: 300, noise: 0.03, changes: [{ at: iso(T), relative: 0.5 }] },
      }),
      201,
    );
    for (const e of events) ok(await call(s.app, key, 'POST', '/v1/events', e), 202);
    return { connectionId: connection.id as string, metricId: metric.id as string };
  }

  const mine = await dataset(s.key, 'synthetic', [
    event('deploy-1', T),
    // No metric applies to staging: its report is final at once.
    event('deploy-0', T - 2 * HOUR, { subject: 'staging', version: 'v1.4.1' }),
  ]);
  const datadog = ok(
    await call(s.app, s.key, 'POST', '/v1/connections', {
      provider: 'datadog',
      name: 'datadog',
      config: { site: 'datadoghq.eu' },
      secrets: DD_SECRETS,
    }),
    201,
  );

  const org = await s.store.orgs.create('other', 'pro');
  const otherKey = (await s.store.keys.create(org.id, 'admin', ['admin'])).key;
  const theirs = await dataset(otherKey, 'theirs', [event('other-deploy', T + 5 * MIN)]);

  await s.advanceTo(T + 70 * MIN);
  await s.advanceTo(T + 90 * MIN);
  return {
    ...mine,
    datadogId: datadog.id,
    other: { key: otherKey, eventId: 'other-deploy', ...theirs },
  };
}

/** Create an org API key with these scopes through the API; returns its id and secret. */
export async function createKey(s: Service, scopes: string[]): Promise<{ id: string; key: string }> {
  const res = await call(s.app, s.key, 'POST', '/v1/keys', { name: scopes.join('+'), scopes });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id, key: res.json().key };
}

/**
 * A digest of every table of the store's database, table by table: the rows as queries see
 * them (FINAL: the newest version of each), in a fixed order. Equal digests: nothing was written.
 */
export async function tableDigests(store: Store): Promise<Record<string, string>> {
  const tables = await store.backend.query<{ name: string; engine: string }>(
    'SELECT name, engine FROM system.tables WHERE database = {db:String} ORDER BY name',
    { db: store.database },
  );
  const digests: Record<string, string> = {};
  for (const t of tables) {
    const final = /Replacing|Collapsing|Aggregating|Summing/.test(t.engine) ? ' FINAL' : '';
    const rows = await store.backend.query(`SELECT * FROM ${store.database}.${t.name}${final} ORDER BY ALL`);
    digests[t.name] = `${rows.length} rows ${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
  }
  return digests;
}

/** One call of a tool: its arguments and whether it must succeed. */
export interface ToolCase {
  args: Record<string, unknown>;
  ok: boolean;
  /** For a failure: text its message must contain (the argument or the API's problem). */
  names?: string;
}

/** Every tool with valid and invalid input; a test checks this covers exactly the registered tools. */
export function toolCases(ids: Seeded): Record<string, ToolCase[]> {
  return {
    list_events: [
      { args: {}, ok: true },
      {
        args: { subject: 'production', type: 'deployment', since: iso(T - DAY), until: iso(T + DAY), limit: 5 },
        ok: true,
      },
      { args: { since: 'yesterday' }, ok: false, names: 'since' },
      { args: { limit: 0 }, ok: false, names: 'limit' },
      { args: { subjct: 'production' }, ok: false, names: 'subjct' },
      { args: { cursor: 'not-a-cursor' }, ok: false, names: 'cursor' },
    ],
    get_event: [
      { args: { id: 'deploy-1' }, ok: true },
      { args: { id: 'deploy-1', source: 'github.com/acme/shop' }, ok: true },
      { args: {}, ok: false, names: 'id' },
      { args: { id: 'no-such-event' }, ok: false, names: 'not found' },
    ],
    get_impact_report: [
      { args: { event_id: 'deploy-1' }, ok: true },
      // Ad-hoc windows inside what is stored: computed on the stored points.
      { args: { event_id: 'deploy-1', before: '30m', after: '30m', gap: '5m' }, ok: true },
      { args: { event_id: 'deploy-1', before: 'a while' }, ok: false, names: 'before' },
      { args: { event_id: 42 }, ok: false, names: 'event_id' },
      { args: { event_id: 'no-such-event' }, ok: false, names: 'not found' },
    ],
    list_impacts: [
      { args: { type: 'deployment', subject: 'production', verdict: 'regression', since: iso(T - DAY) }, ok: true },
      { args: { limit: 1 }, ok: true },
      { args: { verdict: 'worse' }, ok: false, names: 'verdict' },
      { args: { until: '2026-13-01T00:00:00Z' }, ok: false, names: 'until' },
    ],
    list_metrics: [
      { args: {}, ok: true },
      { args: { connection_id: ids.connectionId }, ok: true },
      { args: { connection_id: '' }, ok: false, names: 'connection_id' },
    ],
    get_metric_series: [
      { args: { metric_id: ids.metricId, from: iso(T - HOUR), to: iso(T + HOUR) }, ok: true },
      { args: { metric_id: ids.metricId, from: iso(T - 6 * DAY), to: iso(T + 2 * HOUR) }, ok: true },
      { args: { metric_id: ids.metricId, from: iso(T - 30 * DAY), to: iso(T) }, ok: false, names: 'to' },
      { args: { metric_id: ids.metricId, from: iso(T), to: iso(T - HOUR) }, ok: false, names: 'from' },
      { args: { metric_id: 'met_nope', from: iso(T - HOUR), to: iso(T) }, ok: false, names: 'not found' },
      { args: { from: iso(T - HOUR) }, ok: false, names: 'metric_id' },
    ],
    list_connections: [
      { args: {}, ok: true },
      { args: { provider: 'datadog' }, ok: false, names: 'provider' },
    ],
  };
}
