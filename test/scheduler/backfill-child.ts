// A child process for the backfill test: `setup` creates an org, a Datadog
// connection to the replay server and a metric in DATA_DIR; `backfill` is the
// real command; `verify` reports what the store holds. Run with `node --import tsx`.
import { backfill } from '../../cli/backfill.js';
import { loadConfig } from '../../cli/config.js';
import { storeOptions } from '../../cli/serve.js';
import { openStore } from '../../store/index.js';

const [mode, ...args] = process.argv.slice(2);

async function open() {
  return openStore(storeOptions(loadConfig()));
}

async function main(): Promise<number> {
  if (mode === 'backfill') return backfill(args);
  const store = await open();
  try {
    if (mode === 'setup') {
      const org = await store.orgs.create('acme', 'pro');
      const connection = await store.connections.create(org.id, {
        provider: 'datadog',
        name: 'datadog',
        config: { base_url: args[0] },
        secrets: { api_key: 'dd-api-key-backfill-31c7', app_key: 'dd-app-key-backfill-9a02' },
      });
      const metric = await store.metrics.create(org.id, {
        connection_id: connection.id,
        name: 'requests',
        kind: 'count',
        query: { query: 'sum:trace.http.request.hits{env:production}.as_count()' },
        direction: 'either',
        unit: null,
        step_seconds: 60,
        threshold: 0.05,
        critical: false,
        applies_to: {},
        windows: {},
      });
      process.stdout.write(JSON.stringify({ orgId: org.id, metricId: metric.id }) + '\n');
      return 0;
    }
    if (mode === 'verify') {
      const [orgId, metricId] = args;
      const [row] = await store.backend.query<{ n: string; distinct: string; raw: string }>(
        `SELECT (SELECT count() FROM ${store.database}.metric_points FINAL WHERE org_id = {org:String} AND metric_id = {metric:String}) AS n,
                (SELECT uniqExact(ts) FROM ${store.database}.metric_points FINAL WHERE org_id = {org:String} AND metric_id = {metric:String}) AS distinct,
                (SELECT count() FROM ${store.database}.metric_points WHERE org_id = {org:String} AND metric_id = {metric:String}) AS raw`,
        { org: orgId, metric: metricId },
      );
      const jobs = await store.jobs.list(orgId, { kind: 'backfill' });
      process.stdout.write(
        JSON.stringify({
          points: Number(row.n),
          distinct: Number(row.distinct),
          raw: Number(row.raw),
          jobs: jobs.map((j) => j.state),
        }) + '\n',
      );
      return 0;
    }
    process.stderr.write(`unknown mode ${mode}\n`);
    return 2;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
