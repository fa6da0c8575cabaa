// The HTTP surface: a Fastify app assembled from plugins (auth, routes per
// resource), with one problem+json error handler and redacted JSON logs.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Store } from '../store/index.js';
import { authPlugin } from './auth.js';
import { errorHandler, sendProblem } from './errors.js';
import { eventRoutes } from './routes/events.js';
import { orgRoutes } from './routes/orgs.js';

export interface AppOptions {
  store: Store;
  rootKey?: string;
  logLevel?: string;
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

/** 1 MiB: the largest request body accepted. */
export const BODY_LIMIT = 1024 * 1024;

/** Build the app (not listening). */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: opts.logLevel ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      ...(opts.logStream ? { stream: opts.logStream } : {}),
    },
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

  await app.register(authPlugin, { store: opts.store, rootKey: opts.rootKey, now: opts.now });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = await opts.store.ready();
    if (!ready) return sendProblem(reply, 503, 'the store is not reachable or its migrations are not applied');
    return { status: 'ready' };
  });

  await app.register(eventRoutes, { store: opts.store });
  await app.register(orgRoutes, { store: opts.store });
  return app;
}
