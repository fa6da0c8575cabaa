// The HTTP surface: a Fastify app assembled from plugins (auth, routes per
// resource), with one problem+json error handler and redacted JSON logs.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConnectorFactory } from '../scheduler/connectors.js';
import type { ImpactService } from '../scheduler/impact.js';
import { schedulerEvents, type Scheduler } from '../scheduler/index.js';
import type { Store } from '../store/index.js';
import { authPlugin } from './auth.js';
import { clientErrorHandler, errorHandler, frameworkErrors, sendProblem } from './errors.js';
import { openApiCollector, schemaRef, type RouteDoc } from './openapi.js';
import type { UsageAlerts } from '../notify/usage-alerts.js';
import { EventQuota } from './quota.js';
import { IngestLimiter, type RateLimits } from './rate-limit.js';
import { ReportCache } from './report-cache.js';
import { connectionRoutes } from './routes/connections.js';
import { eventRoutes } from './routes/events.js';
import { impactRoutes } from './routes/impact.js';
import { jobRoutes } from './routes/jobs.js';
import { mcpRoutes } from './routes/mcp.js';
import { metricRoutes } from './routes/metrics.js';
import { orgDeletionRoutes } from './routes/org-deletion.js';
import { keyRoutes } from './routes/keys.js';
import { orgRoutes } from './routes/orgs.js';
import { pageRoutes } from './routes/pages.js';
import { telemetryRoutes } from './routes/telemetry.js';
import { zodValidatorCompiler } from './validation.js';

/** What the app serves; createRuntime (runtime.ts) builds it, the app builds nothing. */
export interface AppDeps {
  store: Store;
  /** Live connectors for stored connections (shared with the scheduler). */
  connectors: ConnectorFactory;
  /** The fetch scheduler: plans on ingest, serves /v1/jobs and connection health. */
  scheduler: Scheduler;
  /** Computes and stores impact reports. */
  impact: ImpactService;
  /** The service's logger (createLogger below). */
  logger: FastifyBaseLogger;
  now: () => number;
  /** Prometheus registry served at /metrics (absent: no /metrics route). */
  registry?: Registry;
  /** Orgs' usage alerts (told when ingest grows an org's usage). */
  alerts: UsageAlerts;
  /** Why a URL cannot be an org's notification webhook, or undefined. */
  notifyUrlProblem(url: string): string | undefined;
}

export interface AppOptions {
  /** The operator's key (creates orgs); none: no root access. */
  rootKey?: string;
  /** Names the service answers to on /mcp besides localhost (DNS-rebinding protection; ports ignored). */
  mcpAllowedHosts?: readonly string[];
  /**
   * Rate limits (api/rate-limit.ts); absent: none. `serve` passes the configured ones
   * (DEFAULT_RATE_LIMITS unless set otherwise); test apps and benches leave them off unless they test them.
   */
  rateLimits?: RateLimits;
  /** When set, GET /metrics requires "Authorization: Bearer <this>"; absent: /metrics is open. */
  metricsToken?: string;
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
export function createLogger(level = 'info', stream?: { write(line: string): void }): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' } };
  return stream ? pino(options, stream) : pino(options);
}

/** Build the app (not listening). */
export async function buildApp(deps: AppDeps, opts: AppOptions = {}): Promise<FastifyInstance> {
  const { store, connectors, scheduler, impact } = deps;
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT,
    // Errors Fastify and Node's HTTP parser raise (bad URL encoding, long path parameters, 431, ...) as problem+json.
    clientErrorHandler,
    frameworkErrors,
    // An event id may be 1,024 characters, up to 9,216 percent-encoded (the default, 100, answered 414).
    routerOptions: { maxParamLength: 9216 },
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
  // Route input schemas are zod (api/validation.ts); the same objects document the routes.
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, 404, `no route for ${req.method} ${req.url.split('?')[0]}`),
  );

  const openapi = openApiCollector(app, { title: 'OpsTrails Impact API', version: '1' });
  app.decorate('openapi', openapi);
  const limits = opts.rateLimits ?? {};
  const limitClock = limits.now ?? deps.now;
  await app.register(authPlugin, {
    store,
    rootKey: opts.rootKey,
    now: deps.now,
    authFailureLimit: limits.authFailures,
    keyLimit: limits.key,
    blockedHoldMs: limits.blockedHoldMs,
    limitClock,
  });
  app.get(
    '/openapi.json',
    {
      config: {
        doc: {
          tag: 'docs',
          scope: null,
          summary: 'This document: OpenAPI 3.1 of every route',
          responses: { 200: { description: 'the OpenAPI document', schema: { type: 'object' } } },
        },
      },
    },
    async () => openapi(),
  );

  const health = (summary: string, status: string, extra: RouteDoc['responses'] = {}): { doc: RouteDoc } => ({
    doc: {
      tag: 'health',
      scope: null,
      summary,
      responses: {
        200: { description: status, schema: { type: 'object', properties: { status: { const: status } } } },
        ...extra,
      },
    },
  });
  app.get('/healthz', { config: health('The process is up', 'ok') }, async () => ({ status: 'ok' }));
  const notReady = {
    503: {
      description: 'the store is not reachable or its migrations are not applied',
      type: 'application/problem+json',
      schema: schemaRef('Problem'),
    },
  };
  app.get(
    '/readyz',
    { config: health('The store answers and its migrations are applied', 'ready', notReady) },
    async (_req, reply) => {
      const ready = await store.ready();
      if (!ready) return sendProblem(reply, 503, 'the store is not reachable or its migrations are not applied');
      return { status: 'ready' };
    },
  );

  // Polled answers (stored reports, timeline pages) kept in-process; dropped when this process
  // stores a report or an event, and by a once-a-second check of what other replicas stored.
  const reportCache = new ReportCache({
    changesSince: (since, limit) => store.reports.changesSince(since, limit),
    now: deps.now,
    onError: (err) =>
      app.log.warn({ err: String(err) }, 'report change check failed; polls read the store until it works'),
  });
  const unsubscribe = impact.onReportStored((r) => reportCache.reportStored(r.orgId, r.source, r.id, r.computedAt));
  reportCache.start();
  app.addHook('onClose', async () => {
    unsubscribe();
    await reportCache.stop();
  });
  const ingestLimiter = limits.ingest
    ? new IngestLimiter({
        rates: limits.ingest,
        now: limitClock,
      })
    : undefined;
  const quota = new EventQuota({
    store,
    plans: store.plans,
    now: deps.now,
    onUsage: (org, usage) => deps.alerts.usageChanged(org, usage),
  });
  await app.register(eventRoutes, {
    store,
    quota,
    now: deps.now,
    admit: ingestLimiter && ((org, count) => ingestLimiter.admit(org.id, org.plan, count)),
    onStored: (orgId, events, result) => {
      const accepted = new Set(result.accepted);
      reportCache.eventsStored(
        orgId,
        events.flatMap((r) =>
          accepted.has(r.event.id) ? [{ source: r.event.source, id: r.event.id, receivedAt: r.receivedAt }] : [],
        ),
      );
      scheduler.onEventsStored(orgId, schedulerEvents(events, result.accepted));
    },
  });
  await app.register(orgRoutes, {
    store,
    now: deps.now,
    notifyUrlProblem: (url) => deps.notifyUrlProblem(url),
    onPlanChanged: (orgId) => reportCache.orgChanged(orgId),
  });
  await app.register(keyRoutes, { store });
  await app.register(orgDeletionRoutes, {
    store,
    now: deps.now,
    forgetKeys: () => app.forgetKeys(),
    settle: () => Promise.all([scheduler.idle(), impact.idle()]),
  });
  await app.register(connectionRoutes, {
    store,
    connectors,
    health: (o, c) => scheduler.health(o, c),
    onChecked: (o, c, ok) => void scheduler.onConnectionChecked(o, c, ok),
  });
  await app.register(metricRoutes, {
    store,
    connectors,
    onSaved: (orgId, m) => scheduler.onMetricSaved(orgId, m),
    previewLimit: limits.preview,
    limitClock,
  });
  await app.register(impactRoutes, {
    store,
    impact,
    cache: reportCache,
    refetch: (o, e) => impact.refetch(o, e),
    replan: (o, e) => scheduler.replan(o, [e], { pending: true, retryFailed: true }),
  });
  await app.register(jobRoutes, { store, scheduler });
  await app.register(mcpRoutes, { allowedHosts: opts.mcpAllowedHosts });
  if (deps.registry) await app.register(telemetryRoutes, { registry: deps.registry, token: opts.metricsToken });
  // Closing waits for report computations already under way.
  app.addHook('onClose', async () => impact.idle());
  await app.register(pageRoutes, { openapi });
  return app;
}
