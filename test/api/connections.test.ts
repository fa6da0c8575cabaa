// Providers, connections and metrics through the real app, the real store and
// real HTTP to a local server standing in for each provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createLogger } from '../../api/app.js';
import { createRuntime } from '../../runtime.js';
import type { FastifyInstance } from 'fastify';
import { startReplay, type Replay } from '../support/replay.js';
import { testStore } from '../support/store.js';
import type { Store } from '../../store/index.js';

const ROOT = 'root-key-for-connection-tests-0123456789';
let app: FastifyInstance;
let store: Store;
let replay: Replay;
let key: string;
const logs: string[] = [];

beforeAll(async () => {
  store = await testStore();
  // Worst case provider: every answer is a 401 that echoes the credentials it received.
  replay = await startReplay((req) => ({
    status: 401,
    body: {
      error: `bad credentials: ${JSON.stringify(req.headers)} ${req.body}`,
      detail: req.headers.authorization ?? '',
    },
  }));
  const runtime = await createRuntime({
    store,
    logger: createLogger('debug', { write: (l) => void logs.push(l) }),
    hostPolicy: { allowedHosts: [], allowAnyHost: true },
  });
  app = await buildApp(runtime, { rootKey: ROOT });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/orgs',
    headers: { authorization: `Bearer ${ROOT}` },
    payload: { name: 'c', plan: 'pro' },
  });
  key = res.json().admin_key;
});
afterAll(async () => {
  await app?.close();
  await replay?.close();
});

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('GET /v1/providers', () => {
  it('lists every provider with config, secrets and query JSON Schemas', async () => {
    const res = await call('GET', '/v1/providers');
    expect(res.statusCode).toBe(200);
    const items = res.json().items as {
      id: string;
      config_schema: any;
      secrets_schema: any;
      query_schema: any;
      kinds: string[];
    }[];
    expect(items.map((p) => p.id)).toEqual(['prometheus', 'datadog', 'sentry', 'newrelic', 'ga4', 'adobe', 'testdata']);
    for (const p of items) {
      expect(p.config_schema.type, p.id).toBe('object');
      expect(p.query_schema.type, p.id).toBe('object');
      expect(p.kinds.length, p.id).toBeGreaterThan(0);
      for (const prop of Object.values<any>(p.secrets_schema.properties ?? {})) expect(prop.writeOnly, p.id).toBe(true);
    }
    const dd = items.find((p) => p.id === 'datadog')!;
    expect(dd.secrets_schema.required).toEqual(['api_key', 'app_key']);
    expect(dd.config_schema.properties.site.enum).toContain('datadoghq.eu');
  });
});

/** A connection per provider, each carrying a recognisable secret, pointed at the echoing server. */
const SECRET = 'SUPERSECRET-7f3a9c21-do-not-leak';
const providers = () => [
  { provider: 'prometheus', config: { base_url: replay.url }, secrets: { bearer_token: SECRET } },
  { provider: 'datadog', config: { base_url: replay.url }, secrets: { api_key: SECRET, app_key: `${SECRET}-app` } },
  { provider: 'sentry', config: { organization: 'acme', base_url: replay.url }, secrets: { auth_token: SECRET } },
  {
    provider: 'newrelic',
    config: { account_id: 1234567, region: 'us', base_url: replay.url },
    secrets: { api_key: SECRET },
  },
  { provider: 'ga4', config: { property_id: '123456789', base_url: replay.url }, secrets: { access_token: SECRET } },
  {
    provider: 'adobe',
    config: { global_company_id: 'acme0', rsid: 'acmeprod', base_url: replay.url, ims_url: replay.url },
    secrets: { client_id: 'client-1234', client_secret: SECRET },
  },
];

describe('connections keep their secrets', () => {
  it.each(['prometheus', 'datadog', 'sentry', 'newrelic', 'ga4', 'adobe'])(
    '%s: never returned, logged, stored in clear or put in an error',
    async (provider) => {
      const spec = providers().find((p) => p.provider === provider)!;
      const created = await call('POST', '/v1/connections', { name: `${provider} prod`, ...spec });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id;
      expect(created.json()).toMatchObject({ provider, name: `${provider} prod`, status: 'unchecked' });
      expect(created.json().secrets).toBeUndefined();

      const answers = [created.body];
      answers.push((await call('GET', `/v1/connections/${id}`)).body);
      answers.push((await call('GET', '/v1/connections')).body);
      answers.push((await call('PATCH', `/v1/connections/${id}`, { name: `${provider} production` })).body);
      const check = await call('POST', `/v1/connections/${id}/check`);
      answers.push(check.body);
      expect(check.json().ok).toBe(false);
      expect(check.json().error.code).toBe('auth_failed');
      const after = (await call('GET', `/v1/connections/${id}`)).json();
      expect(after.status).toBe('failing');
      answers.push(JSON.stringify(after));

      // A metric preview against the failing provider: the error is a problem, still without the secret.
      const queries: Record<string, unknown> = {
        prometheus: { promql: 'sum(rate(http_errors_total[1m]))' },
        datadog: { query: 'sum:trace.http.request.errors{env:prod}.as_count()' },
        sentry: { dataset: 'errors', y_axis: 'count()' },
        newrelic: { nrql: "SELECT count(*) AS errors FROM TransactionError WHERE appName = 'shop'" },
        ga4: { metric: 'eventCount' },
        adobe: { metric: 'metrics/pageviews' },
      };
      const metric = await call('POST', '/v1/metrics', {
        connection_id: id,
        name: 'errors',
        kind: 'count',
        query: queries[provider],
        direction: 'increase_is_bad',
      });
      expect(metric.statusCode, metric.body).toBe(201);
      const preview = await call(
        'POST',
        `/v1/metrics/${metric.json().id}/preview?from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z`,
      );
      expect(preview.statusCode).toBe(502);
      expect(preview.json()).toMatchObject({ code: 'auth_failed', status: 502 });
      answers.push(preview.body);

      for (const body of answers) {
        expect(body).not.toContain(SECRET);
        expect(body).not.toContain('SUPERSECRET');
      }
      expect(logs.join('\n')).not.toContain('SUPERSECRET');
      const [row] = await store.backend.query<{ secrets: string }>(
        `SELECT secrets FROM ${store.database}.connections FINAL WHERE connection_id = {id:String}`,
        { id },
      );
      expect(row.secrets).toMatch(/^v2\./);
      expect(row.secrets).not.toContain('SUPERSECRET');
      // The secret did reach the provider: it was used, just never shown.
      expect(replay.requests.some((r) => JSON.stringify(r.headers).includes(SECRET) || r.body.includes(SECRET))).toBe(
        true,
      );
    },
  );
});

describe('connection validation', () => {
  it('names the field: unknown provider, bad config, missing secret, foreign host', async () => {
    const unknown = await call('POST', '/v1/connections', { provider: 'splunk', name: 'x' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].field).toBe('provider');

    const ga4 = await call('POST', '/v1/connections', {
      provider: 'ga4',
      name: 'x',
      config: { property_id: 'properties/abc' },
      secrets: { access_token: 'tok-12345' },
    });
    expect(ga4.statusCode).toBe(400);
    expect(ga4.json().errors.map((e: { field: string }) => e.field)).toContain('config.property_id');

    const dd = await call('POST', '/v1/connections', {
      provider: 'datadog',
      name: 'x',
      config: {},
      secrets: { api_key: 'k-123456' },
    });
    expect(dd.statusCode).toBe(400);
    expect(dd.json().errors.map((e: { field: string }) => e.field)).toContain('secrets.app_key');
    expect(dd.body).not.toContain('k-123456');

    // A strict app (production policy): a host that is neither official nor allowed is refused.
    const production = await createRuntime({
      store,
      logger: createLogger('silent'),
      hostPolicy: { allowedHosts: ['sentry.internal.example'] },
    });
    const strict = await buildApp(production, { rootKey: ROOT });
    const foreign = await strict.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { authorization: `Bearer ${key}` },
      payload: {
        provider: 'sentry',
        name: 'x',
        config: { organization: 'acme', base_url: 'https://169.254.169.254/latest' },
        secrets: { auth_token: 't-1234' },
      },
    });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().errors[0].field).toBe('config.base_url');
    const allowed = await strict.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { authorization: `Bearer ${key}` },
      payload: {
        provider: 'sentry',
        name: 'x',
        config: { organization: 'acme', base_url: 'https://sentry.internal.example' },
        secrets: { auth_token: 't-1234' },
      },
    });
    expect(allowed.statusCode).toBe(201);
    await strict.close();
  });

  it('refuses to delete a connection that metrics use, and 404s across orgs', async () => {
    const con = (await call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic' })).json();
    const metric = (
      await call('POST', '/v1/metrics', {
        connection_id: con.id,
        name: 'm',
        kind: 'gauge',
        query: { shape: 'gauge' },
        direction: 'either',
      })
    ).json();
    const refused = await call('DELETE', `/v1/connections/${con.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toContain(metric.id);
    const other = await app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { authorization: `Bearer ${ROOT}` },
      payload: { name: 'other' },
    });
    const otherKey = other.json().admin_key;
    expect(
      (await app.inject({ url: `/v1/connections/${con.id}`, headers: { authorization: `Bearer ${otherKey}` } }))
        .statusCode,
    ).toBe(404);
    expect(
      (await app.inject({ url: `/v1/metrics/${metric.id}`, headers: { authorization: `Bearer ${otherKey}` } }))
        .statusCode,
    ).toBe(404);
    expect((await call('DELETE', `/v1/metrics/${metric.id}`)).statusCode).toBe(204);
    expect((await call('DELETE', `/v1/connections/${con.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/v1/connections/${con.id}`)).statusCode).toBe(404);
  });
});

describe('metrics on the synthetic provider', () => {
  let connectionId: string;
  beforeAll(async () => {
    connectionId = (
      await call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic', config: { seed: 7 } })
    ).json().id;
    const check = await call('POST', `/v1/connections/${connectionId}/check`);
    expect(check.json()).toMatchObject({ ok: true, details: { synthetic: true } });
  });

  it('creates a metric with defaults, validates kind, query, windows and direction by field', async () => {
    const res = await call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'Checkout errors',
      kind: 'count',
      query: { shape: 'count', base: 40, changes: [{ at: '2026-11-01T10:30:00Z', relative: 0.5 }] },
      direction: 'increase_is_bad',
      applies_to: { subjects: ['production'], types: ['deployment'] },
      windows: { before: '90m', after: 'PT30M' },
    });
    expect(res.statusCode, res.body).toBe(201);
    // No threshold given: the kind's default (engine DEFAULT_THRESHOLDS; 10% for counts).
    expect(res.json()).toMatchObject({
      step_seconds: 60,
      threshold: 0.1,
      critical: false,
      unit: null,
      windows: { before: '90m', after: 'PT30M' },
    });
    const defaults: Record<string, number> = { count: 0.1, ratio: 0.2, gauge: 0.05, quantile: 0.05 };
    for (const [kind, threshold] of Object.entries(defaults)) {
      const made = await call('POST', '/v1/metrics', {
        connection_id: connectionId,
        name: `default ${kind}`,
        kind,
        query: { shape: kind },
        direction: 'either',
      });
      expect(made.statusCode, made.body).toBe(201);
      expect(made.json().threshold).toBe(threshold);
    }
    // A threshold given is kept, whatever the kind's default.
    const own = await call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'own threshold',
      kind: 'ratio',
      query: { shape: 'ratio' },
      direction: 'either',
      threshold: 0.03,
    });
    expect(own.json().threshold).toBe(0.03);
    // Changing the kind moves a default threshold to the new kind's default, and keeps a chosen one.
    const countDefault = await call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'becomes a ratio',
      kind: 'count',
      query: { shape: 'count' },
      direction: 'either',
    });
    const toRatio = await call('PATCH', `/v1/metrics/${countDefault.json().id}`, {
      kind: 'ratio',
      query: { shape: 'ratio' },
    });
    expect(toRatio.statusCode, toRatio.body).toBe(200);
    expect(toRatio.json()).toMatchObject({ kind: 'ratio', threshold: 0.2 });
    const ownToGauge = await call('PATCH', `/v1/metrics/${own.json().id}`, {
      kind: 'gauge',
      query: { shape: 'gauge' },
    });
    expect(ownToGauge.json()).toMatchObject({ kind: 'gauge', threshold: 0.03 });

    const bad = await call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'x',
      kind: 'histogram',
      query: { shape: 'sawtooth' },
      direction: 'up',
      windows: { before: 'forever' },
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['kind', 'direction', 'windows.before']));

    const badQuery = await call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'x',
      kind: 'gauge',
      query: { shape: 'sawtooth' },
      direction: 'either',
    });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().errors[0]).toMatchObject({ field: 'query.shape', pointer: '/query/shape' });

    const noConnection = await call('POST', '/v1/metrics', {
      connection_id: 'con_nope',
      name: 'x',
      kind: 'gauge',
      query: {},
      direction: 'either',
    });
    expect(noConnection.json().errors[0].field).toBe('connection_id');
  });

  it('previews live without storing, and a pull stores what the series endpoint returns', async () => {
    const metric = (
      await call('POST', '/v1/metrics', {
        connection_id: connectionId,
        name: 'Error ratio {{subject}}',
        kind: 'ratio',
        query: { shape: 'ratio', base: 0.02, requests: 500, changes: [{ at: '2026-11-01T10:30:00Z', relative: 1 }] },
        direction: 'increase_is_bad',
      })
    ).json();
    const preview = await call(
      'POST',
      `/v1/metrics/${metric.id}/preview?from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z`,
    );
    expect(preview.statusCode, preview.body).toBe(200);
    const body = preview.json();
    expect(body.points).toHaveLength(60);
    expect(body.points[0].ts).toBe(Date.parse('2026-11-01T10:00:00Z'));
    expect(body.points.every((p: { weight?: number }) => typeof p.weight === 'number')).toBe(true);
    expect(body.request.url).toContain('testdata:synthetic');
    const stored = await call(
      'GET',
      `/v1/metrics/${metric.id}/series?from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z`,
    );
    expect(stored.json().points).toEqual([]);

    const again = await call(
      'POST',
      `/v1/metrics/${metric.id}/preview?from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z`,
    );
    expect(again.json().points).toEqual(body.points); // deterministic

    const wide = await call(
      'POST',
      `/v1/metrics/${metric.id}/preview?from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z`,
    );
    expect(wide.statusCode).toBe(400);
    expect((await call('POST', `/v1/metrics/${metric.id}/preview?from=yesterday`)).json().errors[0].field).toBe('from');
  });
});
