// `opstrails-impact demo` (npm run demo): on the embedded default, create a
// synthetic (testdata) connection, four metrics and a week of deployments —
// some with an injected change — pull the week's points, then serve.
import { mkdirSync } from 'node:fs';
import { buildApp } from '../api/app.js';
import { ConnectorFactory } from '../scheduler/connectors.js';
import { pullMetric } from '../scheduler/pull.js';
import { openStore } from '../store/index.js';
import { ConfigError, loadConfig } from './config.js';
import { bootstrapDefaultOrg, secretBoxFor, serve } from './serve.js';

const HOUR = 3_600_000;

/** Deployments of the demo week: three a day, and which ones changed what. */
export function demoDeployments(now: number) {
  const start = Math.floor(now / HOUR) * HOUR - 7 * 24 * HOUR;
  return Array.from({ length: 21 }, (_, i) => {
    const day = Math.floor(i / 3);
    const time = start + day * 24 * HOUR + [10, 14, 17][i % 3] * HOUR + 7 * 60_000;
    return { n: i + 1, version: `v2.${i + 1}.0`, time };
  });
}

export async function demo(): Promise<void> {
  const config = loadConfig();
  if (config.CLICKHOUSE_URL) throw new ConfigError('the demo runs on the embedded default: unset CLICKHOUSE_URL');
  mkdirSync(config.DATA_DIR, { recursive: true });
  let store;
  try {
    store = await openStore({ database: config.CLICKHOUSE_DATABASE, dataDir: config.DATA_DIR, secretBox: secretBoxFor(config) });
  } catch (err) {
    throw new Error(`cannot open ${config.DATA_DIR} (is the service running on it? stop it first): ${(err as Error).message}`);
  }
  await bootstrapDefaultOrg(store, { ...config, OPSTRAILS_ROOT_KEY: undefined });
  const org = (await store.backend.query<{ org_id: string }>(
    `SELECT org_id FROM ${store.database}.orgs FINAL WHERE name = 'default' ORDER BY created_at LIMIT 1`,
  ))[0];
  if (!org) throw new Error('no "default" org in this data directory');
  const key = await store.keys.create(org.org_id, 'demo', ['admin']);
  const app = await buildApp({ store, logLevel: 'warn' });
  const api = async (method: 'POST' | 'GET', url: string, payload?: object, contentType = 'application/json') => {
    const res = await app.inject({ method, url, headers: { authorization: `Bearer ${key.key}`, 'content-type': contentType }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  const now = Date.now();
  const deploys = demoDeployments(now);
  const at = (n: number) => new Date(deploys[n - 1].time).toISOString();
  const connection = await api('POST', '/v1/connections', { provider: 'testdata', name: 'Demo (synthetic data)', config: { seed: 42 } });
  const rhythm = { daily_amplitude: 0.25, rho: 0.5 };
  const metrics = [
    // Errors jump 60% with deploy 5; deploy 6 (a rollback) brings them back.
    { name: 'Checkout errors', kind: 'count', unit: 'errors/min', direction: 'increase_is_bad', critical: true,
      query: { shape: 'count', base: 40, noise: 0.1, ...rhythm, changes: [{ at: at(5), relative: 0.6 }, { at: at(6), relative: -0.375 }] } },
    { name: 'Checkout error rate', kind: 'ratio', unit: 'errors/requests', direction: 'increase_is_bad',
      query: { shape: 'ratio', base: 0.01, requests: 2000, ...rhythm, changes: [{ at: at(5), relative: 0.6 }, { at: at(6), relative: -0.375 }] } },
    // Deploy 12 makes checkout 30% faster.
    { name: 'Checkout latency p95', kind: 'quantile', unit: 'ms', direction: 'increase_is_bad',
      query: { shape: 'quantile', base: 420, noise: 0.08, ...rhythm, changes: [{ at: at(12), relative: -0.3 }] } },
    // Deploy 18 loses a fifth of conversions.
    { name: 'Orders', kind: 'count', unit: 'orders/min', direction: 'decrease_is_bad', critical: true,
      query: { shape: 'count', base: 25, noise: 0.1, ...rhythm, changes: [{ at: at(18), relative: -0.2 }] } },
  ];
  const created = [];
  for (const m of metrics) {
    created.push(await api('POST', '/v1/metrics', { connection_id: connection.id, applies_to: { subjects: ['production'] }, ...m }));
  }
  await api(
    'POST',
    '/v1/events',
    deploys.map((d) => ({
      specversion: '1.0',
      id: `demo-deploy-${d.n}`,
      source: 'demo/ci',
      type: d.n === 6 ? 'dev.opstrails.rollback' : 'dev.opstrails.deployment',
      subject: 'production',
      time: new Date(d.time).toISOString(),
      version: d.version,
      data: { service: 'checkout', note: 'synthetic demo event' },
    })),
    'application/cloudevents-batch+json',
  );

  const connectors = new ConnectorFactory(store, { fetch: globalThis.fetch, now: Date.now, logger: app.log, hostPolicy: { allowedHosts: [] } });
  let points = 0;
  for (const m of created) {
    const r = await pullMetric({ store, connectors, now: Date.now }, { orgId: org.org_id, metric: await store.metrics.get(org.org_id, m.id).then((x) => x!), from: deploys[0].time - 2 * HOUR, to: now });
    points += r.points;
  }
  await app.close();
  await store.close();

  const base = `http://${config.HOST}:${config.PORT}`;
  process.stderr.write(
    `\nDemo data is ready (synthetic, from the testdata connector):\n` +
      `  1 connection, ${created.length} metrics, ${deploys.length} deployments over the last week, ${points} points pulled.\n` +
      `  Injected: errors +60% at deploy 5 (rolled back by 6), p95 latency -30% at deploy 12, orders -20% at deploy 18.\n\n` +
      `Demo API key (admin, shown once):\n\n  export KEY=${key.key}\n\n` +
      `Where to look:\n` +
      `  curl -H "Authorization: Bearer $KEY" '${base}/v1/events?subject=production'\n` +
      `  curl -H "Authorization: Bearer $KEY" ${base}/v1/metrics\n` +
      `  curl -H "Authorization: Bearer $KEY" '${base}/v1/metrics/${created[0].id}/series?from=${encodeURIComponent(new Date(deploys[4].time - HOUR).toISOString())}&to=${encodeURIComponent(new Date(deploys[4].time + HOUR).toISOString())}'\n\n`,
  );
  await serve(config);
}
