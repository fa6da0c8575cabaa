// GET /metrics: Prometheus text exposition of the process's registry (scheduler
// jobs, provider calls and latencies, points written). Unauthenticated, like most
// scrape targets: bind the service to a private interface or filter /metrics at the proxy.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export async function telemetryRoutes(app: FastifyInstance, opts: { registry: Registry }) {
  app.get('/metrics', async (_req, reply) => {
    const text = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(text);
  });
}
