// Builds live connectors for stored connections: validated config, decrypted
// secrets, injected HTTP client, clock, logger and host policy. One instance per
// connection version, reused across calls.
import { connectorFor } from '../connectors/registry.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorDeps,
  type ConnectorModule,
  type HostPolicy,
  type Logger,
  type RateLimitInfo,
} from '../connectors/types.js';
import type { Connection } from '../store/connections.js';
import type { Store } from '../store/index.js';

/** What every connector instance is given. */
export interface ConnectorRuntime {
  fetch: typeof globalThis.fetch;
  now: () => number;
  logger: Logger;
  hostPolicy: HostPolicy;
  /** Per-connection timeout overrides, ms. */
  timeoutMs?: (connectionId: string) => number | undefined;
}

export interface LiveConnection {
  connection: Connection;
  module: ConnectorModule;
  connector: Connector;
}

/** Told of the rate-limit headers of a connection's answers. */
export type RateLimitListener = (connectionId: string, info: RateLimitInfo) => void;

export class ConnectorFactory {
  private readonly cache = new Map<string, { version: string; live: LiveConnection }>();
  private readonly rateLimitListeners = new Set<RateLimitListener>();

  constructor(
    private readonly store: Store,
    private readonly runtime: ConnectorRuntime,
  ) {}

  /** The live connector of a stored connection; throws ConnectorError invalid_config when it cannot be built. */
  async forConnection(orgId: string, connectionId: string): Promise<LiveConnection | undefined> {
    const connection = await this.store.connections.get(orgId, connectionId);
    if (!connection) return undefined;
    const key = `${orgId}/${connectionId}`;
    const hit = this.cache.get(key);
    if (hit && hit.version === connection.updated_at) return hit.live;
    const secrets = (await this.store.connections.secrets(orgId, connectionId)) ?? {};
    const module = connectorFor(connection.provider);
    if (!module) throw new ConnectorError('invalid_config', `unknown provider ${connection.provider}`);
    const live = { connection, module, connector: this.build(module, connection.config, secrets, connectionId) };
    this.cache.set(key, { version: connection.updated_at, live });
    return live;
  }

  /** Build a connector from raw config and secrets (validated here); throws ConnectorError invalid_config. */
  build(module: ConnectorModule, config: unknown, secrets: unknown, connectionId = 'unsaved'): Connector {
    const parsedConfig = module.configSchema.safeParse(config);
    if (!parsedConfig.success)
      throw new ConnectorError(
        'invalid_config',
        `config is not valid for ${module.id}: ${parsedConfig.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const parsedSecrets = module.secretsSchema.safeParse(secrets);
    if (!parsedSecrets.success)
      throw new ConnectorError(
        'invalid_config',
        `secrets are not valid for ${module.id} (fields: ${parsedSecrets.error.issues.map((i) => i.path.join('.')).join(', ')})`,
      );
    const scrub = secretScrubber(parsedSecrets.data);
    const deps: ConnectorDeps = {
      fetch: this.runtime.fetch,
      now: this.runtime.now,
      logger: scrubbingLogger(this.runtime.logger, scrub),
      hostPolicy: this.runtime.hostPolicy,
      onRateLimit: (info) => {
        for (const listener of this.rateLimitListeners) listener(connectionId, info);
      },
      timeoutMs: this.runtime.timeoutMs?.(connectionId),
    };
    return scrubbingConnector(module.create(parsedConfig.data, parsedSecrets.data, deps), scrub);
  }

  /** Listen to every connection's rate-limit headers (a scheduler's budgets); returns the unsubscribe. */
  listenRateLimits(listener: RateLimitListener): () => void {
    this.rateLimitListeners.add(listener);
    return () => void this.rateLimitListeners.delete(listener);
  }

  /** Forget a connection's instance (after an update or delete). */
  forget(orgId: string, connectionId: string): void {
    this.cache.delete(`${orgId}/${connectionId}`);
  }
}

/**
 * A function that replaces every secret value (any string of 4+ characters
 * inside the secrets) with "[redacted]": the last net under connectors, so a
 * provider echoing a credential cannot carry it into an error, a log or a check.
 */
export function secretScrubber(secrets: unknown): (text: string) => string {
  const values: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string' && v.length >= 4) values.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  collect(secrets);
  values.sort((a, b) => b.length - a.length);
  return (text) => values.reduce((t, secret) => t.split(secret).join('[redacted]'), text);
}

function scrubbingLogger(logger: Logger, scrub: (t: string) => string): Logger {
  const clean = (obj: object) =>
    JSON.parse(scrub(JSON.stringify(obj, (_k, v) => (v instanceof Error ? { message: v.message, name: v.name } : v))));
  const wrap = (level: keyof Logger) => (obj: object, msg?: string) =>
    logger[level](clean(obj), msg === undefined ? undefined : scrub(msg));
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

function scrubbingConnector(connector: Connector, scrub: (t: string) => string): Connector {
  const rethrow = (err: unknown): never => {
    if (err instanceof ConnectorError) {
      throw new ConnectorError(err.code, scrub(err.message), {
        retryAfterSeconds: err.retryAfterSeconds,
        status: err.status,
        retryable: err.retryable,
      });
    }
    if (err instanceof Error) err.message = scrub(err.message);
    throw err;
  };
  return {
    limits: connector.limits,
    async check() {
      const result = await connector.check();
      return JSON.parse(scrub(JSON.stringify(result)));
    },
    fetchSeries: (query, opts) => connector.fetchSeries(query, opts).catch(rethrow),
    describeQuery: (query, window) => JSON.parse(scrub(JSON.stringify(connector.describeQuery(query, window)))),
  };
}
