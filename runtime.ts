// The composition root: the one place where the service's parts are built and
// tied together. The CLI (serve, demo, backfill), the tests and the benches all
// call createRuntime; the HTTP app (api/app.ts) receives the runtime and builds
// nothing of its own.
//
//   store ─┬─ connectors ─┬─ scheduler ──(pair ready)──▶ impact
//          │              └──────────────(fetch windows)◀─┘
//          └───────────────────────────────────────────────┘
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HostPolicy } from './connectors/types.js';
import { ConnectorFactory } from './scheduler/connectors.js';
import { ImpactService } from './scheduler/impact.js';
import { Scheduler, type SchedulerOptions } from './scheduler/index.js';
import { RetentionSweep } from './scheduler/retention-sweep.js';
import { UsageAlerts } from './notify/usage-alerts.js';
import { webhookUrlProblem, WebhookSender } from './notify/webhook.js';
import { openStore, Store, type StoreOptions } from './store/index.js';

/** Scheduler settings a runtime may override (the rest are wired here; an onPairReady given is told after the impact service). */
export type SchedulerTuning = Omit<SchedulerOptions, 'store' | 'connectors' | 'logger' | 'now' | 'registry'>;

export interface RuntimeOptions {
  /** An open store, or how to open one (embedded chDB unless a ClickHouse URL is given). */
  store: Store | StoreOptions;
  /** The service's logger (api/app.ts createLogger: secrets redacted); components log through children of it. */
  logger: Logger;
  /** Clock in epoch ms (tests drive it; default Date.now). */
  now?: () => number;
  /** HTTP client of the connectors (default the global fetch). */
  fetch?: typeof globalThis.fetch;
  /** Which hosts connections may point at beyond the providers' official ones. */
  hostPolicy?: HostPolicy;
  /** Per-connection timeout overrides of provider calls, ms. */
  connectorTimeoutMs?: (connectionId: string) => number | undefined;
  /** Waits between a webhook's delivery attempts (tests shorten them; default notify/webhook.ts RETRY_DELAYS_MS). */
  notifyRetryDelaysMs?: readonly number[];
  /** Where the scheduler's Prometheus metrics go (served at /metrics). */
  registry?: Registry;
  scheduler?: SchedulerTuning;
}

export interface Runtime {
  store: Store;
  connectors: ConnectorFactory;
  scheduler: Scheduler;
  impact: ImpactService;
  logger: Logger;
  now: () => number;
  registry?: Registry;
  /** Orgs' usage alerts and their notifications. */
  alerts: UsageAlerts;
  /** Why a URL cannot be an org's notification webhook under the service's host policy, or undefined. */
  notifyUrlProblem(url: string): string | undefined;
  /** Start the scheduler's loop (resume persisted jobs, plan what a crash left) and the hourly retention sweep. */
  start(): Promise<void>;
  /** Stop fetching and sweeping, let report computations finish, close the store. */
  close(): Promise<void>;
}

export async function createRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const now = opts.now ?? Date.now;
  const { logger } = opts;
  const hostPolicy = opts.hostPolicy ?? { allowedHosts: [] };
  const child = (component: string) => logger.child({ component });
  const store = opts.store instanceof Store ? opts.store : await openStore({ now, ...opts.store });
  const connectors = new ConnectorFactory(store, {
    fetch: opts.fetch ?? globalThis.fetch,
    now,
    logger: child('connector'),
    hostPolicy,
    timeoutMs: opts.connectorTimeoutMs,
  });
  // The scheduler tells the impact service when a pair's data is in; the impact
  // service asks the scheduler for ad-hoc windows. Neither is called before both exist.
  const scheduler: Scheduler = new Scheduler({
    ...opts.scheduler,
    store,
    connectors,
    logger: child('scheduler'),
    now,
    registry: opts.registry,
    onPairReady: async (pair) => {
      impact.onPairReady(pair);
      await opts.scheduler?.onPairReady?.(pair);
    },
  });
  const impact: ImpactService = new ImpactService({
    store,
    connectors,
    now,
    logger: child('impact'),
    fetchWindows: (orgId, metric, vars, windows) => scheduler.fetchWindows(orgId, metric, vars, windows),
  });
  // Webhooks go out under the connectors' host rules (any public https host is admitted besides).
  const webhook = new WebhookSender({
    fetch: opts.fetch ?? globalThis.fetch,
    hostPolicy,
    now,
    logger: child('notify'),
    retryDelaysMs: opts.notifyRetryDelaysMs,
  });
  const alerts = new UsageAlerts({ store, webhook, logger: child('notify'), now });
  // Among replicas only the scheduler's lease holder sweeps (the mutations are idempotent; one is enough).
  const sweep = new RetentionSweep({
    retention: store.retention,
    logger: child('retention'),
    shouldRun: () => scheduler.isActive(),
  });
  return {
    store,
    connectors,
    scheduler,
    impact,
    logger,
    now,
    registry: opts.registry,
    alerts,
    notifyUrlProblem: (url) => webhookUrlProblem(url, hostPolicy),
    async start() {
      await scheduler.start();
      sweep.start();
    },
    async close() {
      await sweep.stop();
      await scheduler.stop();
      await alerts.stop();
      await webhook.close();
      await impact.idle();
      await store.close();
    },
  };
}
