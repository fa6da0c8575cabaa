// GET /metrics: Prometheus text exposition of the process's registry (scheduler
// jobs, provider calls and latencies, points written). Unauthenticated, like most
// scrape targets: bind the service to a private interface or filter /metrics at the proxy.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RouteDoc } from '../openapi.js';

export async function telemetryRoutes(app: FastifyInstance, opts: { registry: Registry }) {
  const doc = {
    tag: 'health',
    scope: null,
    summary: 'Prometheus metrics of the process (unauthenticated: keep it on a private interface)',
    responses: {
      200: {
        description: 'text exposition format',
        type: 'text/plain; version=0.0.4',
        schema: { type: 'string' },
      },
    },
  } satisfies RouteDoc;
  app.get('/metrics', { config: { doc } }, async (_req, reply) => {
    const text = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(text);
  });
}
