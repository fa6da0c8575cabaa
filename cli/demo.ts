// `opstrails-impact demo` (npm run demo): on the embedded default, create a
// synthetic (testdata) connection, four metrics and a week of deployments —
// some with an injected change — pull the week's points, then serve.
import { buildApp, createLogger } from '../api/app.js';
import { ConfigError, loadConfig } from './config.js';
import { bootstrapDefaultOrg, configuredRuntime, serve } from './serve.js';
import { HOUR, loadDemo } from './demo-data.js';

export async function demo(): Promise<void> {
  const config = loadConfig();
  if (config.CLICKHOUSE_URL) throw new ConfigError('the demo runs on the embedded default: unset CLICKHOUSE_URL');
  let runtime;
  try {
    runtime = await configuredRuntime(config, { logger: createLogger('warn'), scheduler: { catchUpHours: 0 } });
  } catch (err) {
    throw new Error(
      `cannot open ${config.DATA_DIR} (is the service running on it? stop it first): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const { store } = runtime;
  await bootstrapDefaultOrg(store, { ...config, OPSTRAILS_ROOT_KEY: undefined });
  const org = (
    await store.backend.query<{ org_id: string }>(
      `SELECT org_id FROM ${store.database}.orgs FINAL WHERE name = 'default' ORDER BY created_at LIMIT 1`,
    )
  )[0];
  if (!org) throw new Error('no "default" org in this data directory');
  const key = await store.keys.create(org.org_id, 'demo', ['admin']);
  const app = await buildApp(runtime);
  const api = async (method: 'POST' | 'GET', url: string, payload?: object, contentType = 'application/json') => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key.key}`, 'content-type': contentType },
      payload: payload === undefined ? undefined : JSON.stringify(payload),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };

  const now = Date.now();
  const { deploys, created } = await loadDemo(api, now);

  // Ingest planned every window the reports need (all closed: the week is past);
  // the scheduler pulls them and the reports are computed as their pairs become ready.
  await runtime.scheduler.runDue();
  await runtime.impact.idle();
  const timeline = await store.reports.timeline(org.org_id, {}, 1000);
  await app.close();
  await runtime.close();

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
    return w && w.relative !== null
      ? `${row.id}: ${w.name} ${w.relative > 0 ? '+' : ''}${(w.relative * 100).toFixed(0)}%`
      : row.id;
  };
  process.stderr.write(
    `\nDemo data is ready (synthetic, from the testdata connector):\n` +
      `  1 connection, ${created.length} metrics, ${deploys.length + 1} deployments over the last week, ` +
      `reports computed for ${timeline.filter((r) => r.status).length}.\n` +
      `  Injected: errors +60% at deploy 5 (rolled back by 6), p95 latency -30% at deploy 12, orders -20% at deploy 18.\n\n` +
      `Demo API key (admin, shown once):\n\n  export KEY=${key.key}\n\n` +
      `Open the console at ${base}/ (paste the key), or the reports directly:\n` +
      links
        .map(
          ([what, row]) =>
            `  ${what.padEnd(18)} ${row ? `${base}/reports/${encodeURIComponent(row.id)}  (${describe(row)})` : '(none this time)'}\n`,
        )
        .join('') +
      `\nFrom a terminal:\n` +
      `  curl -H "Authorization: Bearer $KEY" '${base}/v1/impact?subject=production'\n` +
      (links[0][1] ? `  npx opstrails-impact report ${links[0][1].id} --key $KEY --url ${base}\n` : '') +
      `  curl -H "Authorization: Bearer $KEY" '${base}/v1/metrics/${created[0].id}/series?` +
      `from=${encodeURIComponent(new Date(deploys[4].time - HOUR).toISOString())}` +
      `&to=${encodeURIComponent(new Date(deploys[4].time + HOUR).toISOString())}'\n\n`,
  );
  await serve(config);
}
