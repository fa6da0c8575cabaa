// `opstrails-impact serve`: build the runtime (the store on embedded chDB by
// default, migrated at open), bootstrap a default org on a fresh embedded install, listen,
// and drain in-flight requests and pending writes on SIGTERM/SIGINT.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { Server as NetServer } from 'node:net';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { buildApp, createLogger } from '../api/app.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../runtime.js';
import type { Store, StoreOptions } from '../store/index.js';
import { SecretBox, SecretKeyFileError } from '../store/secrets.js';
import { PLANS, type Plan } from '../domain/plan.js';
import { ConfigError, type Config } from './config.js';

/**
 * The keys of connection secrets. The current one, which seals: OPSTRAILS_SECRET_KEY,
 * else the file OPSTRAILS_SECRET_KEY_FILE, else (embedded only) DATA_DIR/secret.key,
 * made on first start. Previous ones, which still open: OPSTRAILS_SECRET_KEY_PREVIOUS
 * and, on the embedded store when another key is current, DATA_DIR/secret.key if it
 * exists, so setting a key on an existing data directory loses nothing.
 */
export function secretBoxFor(config: Config): SecretBox {
  // A key file that cannot be used stops start-up with one line naming its variable.
  const readKeyFile = <T>(variable: string, read: () => T): T => {
    try {
      return read();
    } catch (err) {
      if (err instanceof SecretKeyFileError) throw new ConfigError(`invalid ${variable}: ${err.message}`);
      throw err;
    }
  };
  const previous = config.OPSTRAILS_SECRET_KEY_PREVIOUS.map((key, i) =>
    SecretBox.fromPassphrase(key, `OPSTRAILS_SECRET_KEY_PREVIOUS[${i + 1}]`),
  );
  const { OPSTRAILS_SECRET_KEY: key, OPSTRAILS_SECRET_KEY_FILE: file } = config;
  const configured = key
    ? SecretBox.fromPassphrase(key, 'OPSTRAILS_SECRET_KEY')
    : file
      ? readKeyFile('OPSTRAILS_SECRET_KEY_FILE', () => SecretBox.fromPassphraseFile(file, 'OPSTRAILS_SECRET_KEY_FILE'))
      : undefined;
  if (config.CLICKHOUSE_URL) {
    if (!configured) {
      throw new ConfigError(
        'OPSTRAILS_SECRET_KEY (or OPSTRAILS_SECRET_KEY_FILE) is required with CLICKHOUSE_URL: connection secrets are encrypted under it (32+ random characters)',
      );
    }
    return configured.withPrevious(...previous);
  }
  if (!configured)
    return readKeyFile('DATA_DIR', () => SecretBox.fromKeyFile(config.DATA_DIR)).withPrevious(...previous);
  const dataKey = readKeyFile('DATA_DIR', () => SecretBox.existingKeyFile(config.DATA_DIR));
  return configured.withPrevious(...previous, ...(dataKey ? [dataKey] : []));
}

/** The org bootstrapDefaultOrg created: its admin key (to print once) and plan. */
export interface DefaultOrg {
  orgId: string;
  plan: Plan;
  adminKey: string;
}

/**
 * On a fresh embedded install with no operator key, create org "default" on
 * OPSTRAILS_DEFAULT_PLAN; its admin key is printed once by the caller.
 */
export async function bootstrapDefaultOrg(
  store: Store,
  config: Pick<Config, 'CLICKHOUSE_URL' | 'OPSTRAILS_ROOT_KEY' | 'OPSTRAILS_DEFAULT_PLAN'>,
): Promise<DefaultOrg | undefined> {
  if (config.CLICKHOUSE_URL || config.OPSTRAILS_ROOT_KEY) return undefined;
  if ((await store.orgs.count()) > 0) return undefined;
  const org = await store.orgs.create('default', config.OPSTRAILS_DEFAULT_PLAN);
  const key = await store.keys.create(org.id, 'admin (first start)', ['admin']);
  return { orgId: org.id, plan: org.plan, adminKey: key.key };
}

/** What the terminal shows once on first start: the default org's plan, how to change it, its admin key. */
export function firstStartMessage(org: DefaultOrg, config: Pick<Config, 'OPSTRAILS_PLANS'>, base: string): string {
  const limits = config.OPSTRAILS_PLANS[org.plan];
  return (
    `\nFirst start: created org "default" (${org.orgId}) on plan "${org.plan}": ` +
    `${limits.retention_days} days of data, ${limits.events_per_month} events a month.\n` +
    `Choose another plan before the first start with OPSTRAILS_DEFAULT_PLAN (${PLANS.join(', ')}); afterwards, ` +
    `set OPSTRAILS_ROOT_KEY and send PATCH ${base}/v1/orgs/${org.orgId} {"plan": "..."} with that key.\n` +
    `Its admin API key (shown once, keep it):\n\n  ${org.adminKey}\n\n` +
    `Try:  curl -H "Authorization: Bearer $KEY" ${base}/v1/events\n\n`
  );
}

/** How the configured store opens: a ClickHouse server when CLICKHOUSE_URL is set, else embedded chDB in DATA_DIR. */
export function storeOptions(config: Config): StoreOptions {
  if (!config.CLICKHOUSE_URL) mkdirSync(config.DATA_DIR, { recursive: true });
  return {
    secretBox: secretBoxFor(config),
    clickhouseUrl: config.CLICKHOUSE_URL,
    username: config.CLICKHOUSE_USER,
    password: config.CLICKHOUSE_PASSWORD,
    database: config.CLICKHOUSE_DATABASE,
    cluster: config.CLICKHOUSE_CLUSTER,
    plans: config.OPSTRAILS_PLANS,
    dataDir: config.DATA_DIR,
  };
}

/** The service's runtime as the configuration describes it (`more` adds a registry, scheduler tuning, ...). */
export async function configuredRuntime(config: Config, more: Partial<RuntimeOptions> = {}): Promise<Runtime> {
  return createRuntime({
    store: storeOptions(config),
    logger: createLogger(config.LOG_LEVEL),
    hostPolicy: { allowedHosts: config.OPSTRAILS_ALLOWED_PROVIDER_HOSTS },
    ...more,
    // On a ClickHouse server other replicas may share the store: the scheduler runs where the lease is.
    scheduler: config.CLICKHOUSE_URL
      ? { replicas: { id: replicaId(), leaseMs: config.OPSTRAILS_LEASE_SECONDS * 1000 }, ...more.scheduler }
      : more.scheduler,
  });
}

/**
 * How long a stopping service, its listener closed, keeps answering the connections it has
 * before it closes the idle ones: requests already on the wire arrive and are answered.
 */
const DRAIN_GRACE_MS = 500;

/** This process's id among replicas: readable in logs, unique per start. */
function replicaId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function serve(config: Config): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const runtime = await configuredRuntime(config, { registry });
  const { store } = runtime;
  // Loaded here: rotate-secrets.ts imports this module (storeOptions).
  await (await import('./rotate-secrets.js')).checkStoredSecrets(store, runtime.logger).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  const defaultOrg = await bootstrapDefaultOrg(store, config);
  // /mcp answers to localhost, the configured HOST (unless a wildcard) and the names listed.
  const wildcard = config.HOST === '0.0.0.0' || config.HOST === '::';
  const app = await buildApp(runtime, {
    rootKey: config.OPSTRAILS_ROOT_KEY,
    mcpAllowedHosts: [...(wildcard ? [] : [config.HOST]), ...config.OPSTRAILS_MCP_ALLOWED_HOSTS],
    rateLimits: {
      authFailures: config.OPSTRAILS_RATE_LIMIT_AUTH_FAILURES,
      key: config.OPSTRAILS_RATE_LIMIT_REQUESTS,
      ingest: config.OPSTRAILS_RATE_LIMIT_INGEST,
      preview: config.OPSTRAILS_RATE_LIMIT_PREVIEW,
    },
    metricsToken: config.OPSTRAILS_METRICS_TOKEN,
  });
  app.log.info(
    {
      backend: config.CLICKHOUSE_URL ? 'clickhouse-server' : 'chdb',
      data_dir: config.CLICKHOUSE_URL ? undefined : config.DATA_DIR,
      migrations_applied: store.appliedMigrations,
    },
    'store ready',
  );
  // While stopping, every answer closes its connection: keep-alive clients reconnect (and find
  // the listener closed) instead of reusing a socket the close would cut mid-request.
  let stopping = false;
  app.addHook('onSend', async (_req, reply) => {
    if (stopping) reply.header('connection', 'close');
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  await runtime.start();
  const base = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`;
  if (defaultOrg) {
    // Printed once, to the terminal only (never to the log stream).
    process.stderr.write(firstStartMessage(defaultOrg, config, base));
  }
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining requests, fetches and pending writes');
    // No new connection from now on (clients are refused, and retry elsewhere), so none can be
    // accepted in the last moment and cut with its request unread. Only the listener closes (net's
    // close; http's would also drop idle keep-alive connections a client is about to reuse): the
    // open connections get a moment for requests on the wire to be answered (with Connection: close).
    NetServer.prototype.close.call(app.server);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_GRACE_MS));
    await app.close();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
