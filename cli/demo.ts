// `opstrails-impact demo` (npm run demo): on the embedded default, create a
// synthetic (testdata) connection, four metrics and a week of deployments —
// some with an injected change — pull the week's points, then serve.
import { mkdirSync } from 'node:fs';
import { buildApp } from '../api/app.js';
import { ConnectorFactory } from '../scheduler/connectors.js';
import { ImpactService } from '../scheduler/impact.js';
import { Scheduler } from '../scheduler/index.js';
import { openStore } from '../store/index.js';
import { ConfigError, loadConfig } from './config.js';
import { bootstrapDefaultOrg, secretBoxFor, serve } from './serve.js';
import { HOUR, loadDemo } from './demo-data.js';

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
  const { deploys, created } = await loadDemo(api, now);

  // The scheduler plans and pulls every window the reports need (all closed: the
  // week is past), then the reports are computed as their pairs become ready.
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const connectors = new ConnectorFactory(store, { fetch: globalThis.fetch, now: Date.now, logger: silent, hostPolicy: { allowedHosts: [] } });
  const impact = new ImpactService({ store, connectors, pairsOfEvent: (o, s, i) => scheduler.pairs.forEventId(o, i, s) });
  const scheduler: Scheduler = new Scheduler({ store, connectors, logger: silent, onPairReady: impact.onPairReady, catchUpHours: 0 });
  const stored = await store.events.list(org.org_id, { source: 'demo/ci' }, 1000);
  scheduler.onEventsStored(org.org_id, stored.map((e) => ({ source: e.source, id: e.id, type: e.type, subject: e.subject, time: e.time, event: e.event })));
  await scheduler.runDue();
  await impact.idle();
  await scheduler.stop();
  const timeline = await store.reports.timeline(org.org_id, {}, 1000);
  await app.close();
  await store.close();

  const base = `http://${config.HOST}:${config.PORT}`;
  const pick = (verdict: string) => timeline.find((r) => r.verdict === verdict);
  const staging = timeline.find((r) => r.subject === 'staging');
  const links: [string, (typeof timeline)[number] | undefined][] = [
    ['a regression', pick('regression')],
    ['an improvement', pick('improvement')],
    ['no change', pick('no_change')],
    ['insufficient data', staging],
  ];
  const describe = (row: (typeof timeline)[number]) => {
    const w = row.worst_metric as { name: string; relative: number | null } | null;
    return w && w.relative !== null ? `${row.id}: ${w.name} ${w.relative > 0 ? '+' : ''}${(w.relative * 100).toFixed(0)}%` : row.id;
  };
  process.stderr.write(
    `\nDemo data is ready (synthetic, from the testdata connector):\n` +
      `  1 connection, ${created.length} metrics, ${deploys.length + 1} deployments over the last week, reports computed for ${timeline.filter((r) => r.status).length}.\n` +
      `  Injected: errors +60% at deploy 5 (rolled back by 6), p95 latency -30% at deploy 12, orders -20% at deploy 18.\n\n` +
      `Demo API key (admin, shown once):\n\n  export KEY=${key.key}\n\n` +
      `Open the console at ${base}/ (paste the key), or the reports directly:\n` +
      links
        .map(([what, row]) => `  ${what.padEnd(18)} ${row ? `${base}/reports/${encodeURIComponent(row.id)}  (${describe(row)})` : '(none this time)'}\n`)
        .join('') +
      `\nFrom a terminal:\n` +
      `  curl -H "Authorization: Bearer $KEY" '${base}/v1/impact?subject=production'\n` +
      (links[0][1] ? `  npx opstrails-impact report ${links[0][1].id} --key $KEY --url ${base}\n` : '') +
      `  curl -H "Authorization: Bearer $KEY" '${base}/v1/metrics/${created[0].id}/series?from=${encodeURIComponent(new Date(deploys[4].time - HOUR).toISOString())}&to=${encodeURIComponent(new Date(deploys[4].time + HOUR).toISOString())}'\n\n`,
  );
  await serve(config);
}
