// The HTTP surface: a Fastify app assembled from plugins (auth, routes per
// resource), with one problem+json error handler and redacted JSON logs.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { ConnectorFactory } from '../scheduler/connectors.js';
import { ImpactService } from '../scheduler/impact.js';
import { schedulerEvents, type Scheduler } from '../scheduler/index.js';
import type { Store } from '../store/index.js';
import { PairRepository } from '../store/jobs.js';
import { authPlugin } from './auth.js';
import { errorHandler, sendProblem } from './errors.js';
import { openApiCollector, type RouteDoc } from './openapi.js';
import { connectionRoutes } from './routes/connections.js';
import { eventRoutes } from './routes/events.js';
import { impactRoutes } from './routes/impact.js';
import { jobRoutes } from './routes/jobs.js';
import { metricRoutes } from './routes/metrics.js';
import { orgRoutes } from './routes/orgs.js';
import { pageRoutes } from './routes/pages.js';
import { telemetryRoutes } from './routes/telemetry.js';

export interface AppOptions {
  store: Store;
  rootKey?: string;
  logLevel?: string;
  /** Live connectors for stored connections (shared with the scheduler); built from the options below when absent. */
  connectors?: ConnectorFactory;
  /** Hosts beyond the providers' official ones that connections may use (OPSTRAILS_ALLOWED_PROVIDER_HOSTS). */
  allowedProviderHosts?: readonly string[];
  /** The fetch scheduler (plans on ingest, serves /v1/jobs and connection health); absent in API-only tests. */
  scheduler?: Scheduler;
  /** Computes and stores impact reports (shared with the scheduler's onPairReady); built here when absent. */
  impact?: ImpactService;
  /** Prometheus registry served at /metrics. */
  registry?: Registry;
  /** Tests only: let connections point at any host (local replay servers). */
  allowAnyProviderHost?: boolean;
  /** The logger (shared with the scheduler); built from logLevel / logStream when absent. */
  logger?: FastifyBaseLogger;
  /** Where JSON log lines go (stdout by default; tests capture them). */
  logStream?: { write(line: string): void };
  now?: () => number;
}

/** Paths and keys that never reach a log line. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["dd-api-key"]',
  'req.headers["dd-application-key"]',
  'headers.authorization',
  '*.secrets',
  '*.password',
  '*.api_key',
  '*.admin_key',
  '*.key',
];

declare module 'fastify' {
  interface FastifyInstance {
    /** The OpenAPI 3.1 document of every documented route. */
    openapi(): Record<string, unknown>;
  }
}

/** 1 MiB: the largest request body accepted. */
export const BODY_LIMIT = 1024 * 1024;

/** The service's JSON logger: pino with secrets redacted. */
export function createLogger(level = 'info', stream?: { write(line: string): void }): FastifyBaseLogger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  return stream ? pino(options, stream) : pino(options);
}

/** Build the app (not listening). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger ?? createLogger(opts.logLevel, opts.logStream),
    bodyLimit: BODY_LIMIT,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
  });
  // On shutdown, answers to requests still in flight close their connection,
  // so close() finishes once they are answered instead of waiting on keep-alive.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (closing) reply.header('connection', 'close');
  });
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => sendProblem(reply, 404, `no route for ${req.method} ${req.url.split('?')[0]}`));

  const openapi = openApiCollector(app, { title: 'OpsTrails Impact API', version: '1' });
  app.decorate('openapi', openapi);
  await app.register(authPlugin, { store: opts.store, rootKey: opts.rootKey, now: opts.now });
  app.get('/openapi.json', async () => openapi());

  const health = (summary: string) => ({ doc: { tag: 'health', scope: null, summary, responses: { 200: { description: 'ok' }, 503: { description: 'not ready' } } } as RouteDoc });
  app.get('/healthz', { config: health('The process is up') }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: health('The store answers and its migrations are applied') }, async (_req, reply) => {
    const ready = await opts.store.ready();
    if (!ready) return sendProblem(reply, 503, 'the store is not reachable or its migrations are not applied');
    return { status: 'ready' };
  });

  const connectors =
    opts.connectors ??
    new ConnectorFactory(opts.store, {
      fetch: globalThis.fetch,
      now: opts.now ?? Date.now,
      logger: app.log.child({ component: 'connector' }),
      hostPolicy: { allowedHosts: opts.allowedProviderHosts ?? [], allowAnyHost: opts.allowAnyProviderHost },
    });

  const { scheduler } = opts;
  const pairs = scheduler?.pairs ?? new PairRepository(opts.store.backend, opts.store.database);
  const impact =
    opts.impact ?? new ImpactService({ store: opts.store, connectors, pairsOfEvent: (o, s, i) => pairs.forEventId(o, i, s), now: opts.now });

  await app.register(eventRoutes, {
    store: opts.store,
    onStored: scheduler && ((orgId, events, result) => scheduler.onEventsStored(orgId, schedulerEvents(events, result.accepted, Date.now()))),
  });
  await app.register(orgRoutes, { store: opts.store });
  await app.register(connectionRoutes, {
    store: opts.store,
    connectors,
    health: scheduler && ((o, c) => scheduler.health(o, c)),
    onChecked: scheduler && ((o, c, ok) => void scheduler.onConnectionChecked(o, c, ok)),
  });
  await app.register(metricRoutes, { store: opts.store, connectors });
  await app.register(impactRoutes, { store: opts.store, impact, refetch: (o, e) => impact.refetch(o, e) });
  if (scheduler) await app.register(jobRoutes, { store: opts.store, scheduler });
  if (opts.registry) await app.register(telemetryRoutes, { registry: opts.registry });
  // Closing waits for report computations already under way.
  app.addHook('onClose', async () => impact.idle());
  await app.register(pageRoutes, { openapi });
  return app;
}
