// GET /metrics: Prometheus text exposition of the process's registry (scheduler
// jobs, provider calls and latencies, points written). Open unless a token is configured
// (OPSTRAILS_METRICS_TOKEN): then a scraper sends it as a bearer token. Either way, keep it on
// a private interface or filter /metrics at the proxy.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { safeEqual } from '../../store/orgs.js';
import { ProblemError } from '../errors.js';
import { schemaRef, type RouteDoc } from '../openapi.js';

export interface TelemetryRouteOptions {
  registry: Registry;
  /** The bearer token /metrics requires; absent: open. */
  token?: string;
}

export async function telemetryRoutes(app: FastifyInstance, opts: TelemetryRouteOptions) {
  const { token } = opts;
  const doc = {
    tag: 'health',
    scope: null,
    summary: 'Prometheus metrics of the process (a bearer token when OPSTRAILS_METRICS_TOKEN is set; keep it private)',
    responses: {
      200: {
        description: 'text exposition format',
        type: 'text/plain; version=0.0.4',
        schema: { type: 'string' },
      },
      401: {
        description: 'OPSTRAILS_METRICS_TOKEN is set and the request does not carry it',
        type: 'application/problem+json',
        schema: schemaRef('Problem'),
      },
    },
  } satisfies RouteDoc;
  app.get('/metrics', { config: { doc } }, async (req, reply) => {
    if (token !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      // Compared as hashes in constant time: the answer's timing says nothing about the token.
      if (!m || !safeEqual(m[1], token)) {
        throw new ProblemError(
          401,
          'send the metrics token: "Authorization: Bearer <OPSTRAILS_METRICS_TOKEN>"',
          undefined,
          {
            'www-authenticate': 'Bearer realm="opstrails-metrics"',
          },
        );
      }
    }
    const text = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(text);
  });
}
