// Builds live connectors for stored connections: validated config, decrypted
// secrets, injected HTTP client, clock, logger and host policy, behind the
// egress policy and the secret scrubber (connectors/guard.ts). One instance per
// connection version, reused across calls.
import { createGuardedConnector } from '../connectors/guard.js';
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
    const deps: ConnectorDeps = {
      fetch: this.runtime.fetch,
      now: this.runtime.now,
      logger: this.runtime.logger,
      hostPolicy: this.runtime.hostPolicy,
      onRateLimit: (info) => {
        for (const listener of this.rateLimitListeners) listener(connectionId, info);
      },
      timeoutMs: this.runtime.timeoutMs?.(connectionId),
    };
    // The egress policy and the secret scrubber go around every connector here (connectors/guard.ts).
    return createGuardedConnector(module, parsedConfig.data, parsedSecrets.data, deps);
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
