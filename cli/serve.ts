// `opstrails-impact serve`: open the store (embedded chDB by default), apply
// migrations, bootstrap a default org on a fresh embedded install, listen,
// and drain in-flight requests and pending writes on SIGTERM/SIGINT.
import { mkdirSync } from 'node:fs';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buildApp, createLogger } from '../api/app.js';
import { ConnectorFactory } from '../scheduler/connectors.js';
import { ImpactService } from '../scheduler/impact.js';
import { Scheduler } from '../scheduler/index.js';
import { PairRepository } from '../store/jobs.js';
import { openStore, type Store } from '../store/index.js';
import { SecretBox } from '../store/secrets.js';
import { ConfigError, type Config } from './config.js';

/** The key sealing connection secrets: OPSTRAILS_SECRET_KEY, or on the embedded default a key file in DATA_DIR. */
export function secretBoxFor(config: Config): SecretBox {
  if (config.OPSTRAILS_SECRET_KEY) return SecretBox.fromPassphrase(config.OPSTRAILS_SECRET_KEY);
  if (config.CLICKHOUSE_URL) {
    throw new ConfigError('OPSTRAILS_SECRET_KEY is required with CLICKHOUSE_URL: connection secrets are encrypted under it (32+ random characters)');
  }
  return SecretBox.fromKeyFile(config.DATA_DIR);
}

/** On a fresh embedded install with no operator key, create org "default" and print its admin key once. */
export async function bootstrapDefaultOrg(store: Store, config: Config): Promise<string | undefined> {
  if (config.CLICKHOUSE_URL || config.OPSTRAILS_ROOT_KEY) return undefined;
  if ((await store.orgs.count()) > 0) return undefined;
  const org = await store.orgs.create('default', 'pro');
  const key = await store.keys.create(org.id, 'admin (first start)', ['admin']);
  return key.key;
}

export async function serve(config: Config): Promise<void> {
  if (!config.CLICKHOUSE_URL) mkdirSync(config.DATA_DIR, { recursive: true });
  const secretBox = secretBoxFor(config);
  const store = await openStore({
    secretBox,
    clickhouseUrl: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    dataDir: config.DATA_DIR,
  });
  const adminKey = await bootstrapDefaultOrg(store, config);
  const logger = createLogger(config.LOG_LEVEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The factory reports rate-limit headers to the scheduler, which needs the factory: tie the knot late.
  let scheduler: Scheduler | undefined;
  const connectors = new ConnectorFactory(store, {
    fetch: globalThis.fetch,
    now: Date.now,
    logger: logger.child({ component: 'connector' }),
    hostPolicy: { allowedHosts: config.OPSTRAILS_ALLOWED_PROVIDER_HOSTS },
    onRateLimit: (id, info) => scheduler?.onRateLimit(id, info),
  });
  const pairs = new PairRepository(store.backend, store.database);
  const impact = new ImpactService({
    store,
    connectors,
    pairsOfEvent: (o, s, i) => pairs.forEventId(o, i, s),
    fetchWindows: (o, m, v, w) => scheduler!.fetchWindows(o, m, v, w),
  });
  scheduler = new Scheduler({ store, connectors, logger: logger.child({ component: 'scheduler' }), registry, onPairReady: impact.onPairReady });
  const app = await buildApp({
    store,
    logger,
    rootKey: config.OPSTRAILS_ROOT_KEY,
    connectors,
    scheduler,
    impact,
    registry,
  });
  app.log.info(
    { backend: config.CLICKHOUSE_URL ? 'clickhouse-server' : 'chdb', data_dir: config.CLICKHOUSE_URL ? undefined : config.DATA_DIR, migrations_applied: store.appliedMigrations },
    'store ready',
  );
  await app.listen({ port: config.PORT, host: config.HOST });
  await scheduler.start();
  const base = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;
  if (adminKey) {
    // Printed once, to the terminal only (never to the log stream).
    process.stderr.write(
      `\nFirst start: created org "default". Its admin API key (shown once, keep it):\n\n  ${adminKey}\n\n` +
        `Try:  curl -H "Authorization: Bearer $KEY" ${base}/v1/events\n\n`,
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining requests, fetches and pending writes');
    await app.close();
    await scheduler!.stop();
    await impact.idle();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
