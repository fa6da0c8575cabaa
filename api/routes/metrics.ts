// /v1/metrics: saved provider queries with what "worse" means; live preview
// from the provider and the points stored for a window.
import { METRIC_KINDS } from '../../domain/metric.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { seriesKey, type TemplateVars } from '../../connectors/template.js';
import type { ConnectorModule } from '../../connectors/types.js';
import { DEFAULT_THRESHOLDS } from '../../engine/index.js';
import { parseDuration } from '../../engine/windows.js';
import type { ConnectorFactory } from '../../scheduler/connectors.js';
import { fetchMetricSeries } from '../../scheduler/pull.js';
import type { Store } from '../../store/index.js';
import type { Metric, MetricDefinition } from '../../domain/metric.js';
import { requireOrg } from '../auth.js';
import type { Rate } from '../../domain/plan.js';
import { badRequest, notFound, zodFieldErrors, type FieldError } from '../errors.js';
import { schemaRef, type RouteDoc } from '../openapi.js';
import { describeRate, TokenBuckets, tooMany } from '../rate-limit.js';
import { idParams, instant } from '../params.js';
import { named, type ZodTypeProvider } from '../validation.js';

/** Most buckets one preview or series read may span. */
const MAX_BUCKETS = 10_000;
const HOUR = 3_600_000;

const duration = z
  .string()
  .refine((s) => {
    try {
      return parseDuration(s) > 0;
    } catch {
      // parseDuration throws on text it cannot read: that is "not a duration", a 400 naming the field.
      return false;
    }
  }, 'a positive duration: ISO 8601 (PT1H) or short form (60m, 2h, 1d)')
  .describe('a positive duration: ISO 8601 (PT1H) or short form (60m, 2h, 1d)');

/** An IANA time zone the runtime knows (the clock of the reference days). */
const timeZone = z
  .string()
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      // Intl throws a RangeError for a zone it does not know: that is the answer, a 400 naming the field.
      return false;
    }
  }, 'an IANA time zone such as Europe/Berlin')
  .describe('an IANA time zone such as Europe/Berlin');

const definition = z.object({
  connection_id: z.string().min(1, 'required'),
  name: z.string().trim().min(1, 'required').max(200),
  kind: z.enum(METRIC_KINDS),
  query: z.record(z.string(), z.unknown()),
  direction: z.enum(['increase_is_bad', 'decrease_is_bad', 'either']),
  unit: z.string().max(50).nullable().default(null),
  step_seconds: z.number().int().min(1).max(86_400).default(60),
  /** Relative; absent: the kind's default (DEFAULT_THRESHOLDS). */
  threshold: z.number().positive().max(100).optional(),
  critical: z.boolean().default(false),
  applies_to: z
    .object({ subjects: z.array(z.string().min(1)).optional(), types: z.array(z.string().min(1)).optional() })
    .strict()
    .default({}),
  windows: z
    .object({
      before: duration.optional(),
      after: duration.optional(),
      gap: duration.optional(),
      time_zone: timeZone.optional(),
    })
    .strict()
    .default({}),
});
const createBody = named(definition.strict(), 'metric');
const patchBody = named(definition.partial().strict(), 'metric update');
const listQuery = z.object({ connection_id: z.string().optional() });

const windowQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  subject: z.string().optional(),
  version: z.string().optional(),
  service: z.string().optional(),
});

export interface MetricRouteOptions {
  store: Store;
  connectors: ConnectorFactory;
  /** Told after a metric was created or changed (the scheduler plans its pairs for stored events). */
  onSaved?: (orgId: string, metric: Metric) => Promise<unknown>;
  /** Previews per provider connection (each spends the customer's provider quota); absent: unlimited. */
  previewLimit?: Rate;
  /** The preview limit's clock (default Date.now). */
  limitClock?: () => number;
}

export async function metricRoutes(fastify: FastifyInstance, opts: MetricRouteOptions) {
  const { store, connectors, previewLimit } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const previews = new TokenBuckets<string>(opts.limitClock ?? Date.now);
  /** Tell onSaved without holding up the answer; a failure is logged (a restart's catch-up plans recent events anyway). */
  const saved = (req: FastifyRequest, orgId: string, metric: Metric): Metric => {
    opts
      .onSaved?.(orgId, metric)
      .catch((err: unknown) =>
        req.log.error({ metric_id: metric.id, err: String(err) }, 'planning the saved metric for stored events failed'),
      );
    return metric;
  };
  const found = async (orgId: string, id: string) =>
    (await store.metrics.get(orgId, id)) ?? Promise.reject(notFound('metric'));

  /** Check a definition against its connection's provider: kind, step, query schema. */
  async function validate(orgId: string, def: MetricDefinition): Promise<MetricDefinition> {
    const live = await connectors.forConnection(orgId, def.connection_id);
    if (!live)
      throw badRequest('no such connection in this org', [
        { pointer: '/connection_id', field: 'connection_id', message: 'no such connection' },
      ]);
    const errors: FieldError[] = [];
    if (!live.module.kinds.includes(def.kind)) {
      errors.push({
        pointer: '/kind',
        field: 'kind',
        message: `${live.module.id} serves ${live.module.kinds.join(', ')}`,
      });
    }
    if (def.step_seconds < live.connector.limits.minStepSeconds) {
      errors.push({
        pointer: '/step_seconds',
        field: 'step_seconds',
        message: `${live.module.id} serves steps of ${live.connector.limits.minStepSeconds} s or more`,
      });
    }
    errors.push(...queryErrors(live.module, def));
    if (errors.length > 0)
      throw badRequest(`invalid metric: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
    return def;
  }

  const metric = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      ...(z.toJSONSchema(definition, { io: 'output', unrepresentable: 'any' }) as { properties: object }).properties,
      created_at: { type: 'string' },
      updated_at: { type: 'string' },
    },
  };
  const points = {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        ts: { type: 'integer', description: 'bucket start, epoch ms' },
        value: { type: 'number' },
        weight: { type: 'number' },
      },
    },
  };
  const doc = (summary: string, scope: 'read' | 'admin', extra: Partial<RouteDoc> = {}): { doc: RouteDoc } => ({
    doc: {
      tag: 'metrics',
      scope,
      summary,
      responses: { 200: { description: 'the metric', schema: metric } },
      ...extra,
    },
  });

  app.post(
    '/v1/metrics',
    {
      onRequest: app.authenticate,
      schema: { body: createBody },
      config: doc('Create a metric: a saved query on a connection', 'admin', {
        responses: { 201: { description: 'created', schema: metric } },
      }),
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      const body = req.body;
      const def = await validate(orgId, { ...body, threshold: body.threshold ?? DEFAULT_THRESHOLDS[body.kind] });
      return reply.code(201).send(view(saved(req, orgId, await store.metrics.create(orgId, def))));
    },
  );

  app.get(
    '/v1/metrics',
    {
      onRequest: app.authenticate,
      schema: { querystring: listQuery },
      config: doc('List metrics', 'read', {
        responses: {
          200: {
            description: 'metrics',
            schema: { type: 'object', properties: { items: { type: 'array', items: metric } } },
          },
        },
      }),
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      return { items: (await store.metrics.list(orgId, { connectionId: req.query.connection_id })).map(view) };
    },
  );

  app.get(
    '/v1/metrics/:id',
    { onRequest: app.authenticate, schema: { params: idParams }, config: doc('One metric', 'read') },
    async (req) => {
      return view(await found(requireOrg(req, 'read'), req.params.id));
    },
  );

  app.patch(
    '/v1/metrics/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, body: patchBody },
      config: doc('Update a metric', 'admin'),
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      const patch = req.body;
      const { id: _id, org_id: _org, created_at: _c, updated_at: _u, ...current } = await found(orgId, req.params.id);
      // A new kind without a new threshold: a threshold that was the old kind's default becomes the new kind's.
      const threshold =
        patch.threshold ??
        (patch.kind && patch.kind !== current.kind && current.threshold === DEFAULT_THRESHOLDS[current.kind]
          ? DEFAULT_THRESHOLDS[patch.kind]
          : current.threshold);
      const def = await validate(orgId, { ...current, ...patch, threshold } as MetricDefinition);
      return view(saved(req, orgId, (await store.metrics.update(orgId, req.params.id, def))!));
    },
  );

  app.delete(
    '/v1/metrics/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: doc('Delete a metric', 'admin', { responses: { 204: { description: 'deleted' } } }),
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      if (!(await store.metrics.delete(orgId, req.params.id))) throw notFound('metric');
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/metrics/:id/preview',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, querystring: windowQuery },
      config: doc('Fetch live from the provider (nothing stored); shows the exact request', 'admin', {
        description:
          "Spends the provider connection's quota: needs the admin scope and is rate-limited per connection (429).",
        responses: {
          429: {
            description: 'over the preview limit of the metric’s connection',
            type: 'application/problem+json',
            schema: schemaRef('Problem'),
          },
          200: {
            description: 'points and the request sent (secrets left out)',
            schema: {
              type: 'object',
              properties: {
                request: { type: 'object' },
                requests: { type: 'array' },
                series: { type: 'string' },
                from: { type: 'string' },
                to: { type: 'string' },
                points,
              },
            },
          },
        },
      }),
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      const metric = await found(orgId, req.params.id);
      const { window, vars } = windowOf(metric, req.query);
      if (previewLimit) {
        const wait = previews.take(`${orgId}\u0000${metric.connection_id}`, previewLimit);
        if (wait > 0) {
          throw tooMany(
            `previews of connection ${metric.connection_id} are limited to ${describeRate(previewLimit)} ` +
              `(bursts of ${previewLimit.burst}) to spare its provider quota`,
            previewLimit,
            wait,
          );
        }
      }
      const live = await connectors.forConnection(orgId, metric.connection_id);
      if (!live) throw notFound('connection');
      const fetched = await fetchMetricSeries(live, metric, window, vars);
      return {
        request: fetched.requests[0] ?? null,
        requests: fetched.requests,
        series: seriesKey(metric.query, vars),
        from: new Date(window.from).toISOString(),
        to: new Date(window.to).toISOString(),
        points: fetched.points,
      };
    },
  );

  app.get(
    '/v1/metrics/:id/series',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, querystring: windowQuery },
      config: doc('Stored points of a window', 'read', {
        responses: {
          200: {
            description: 'points',
            schema: {
              type: 'object',
              properties: { series: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, points },
            },
          },
        },
      }),
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      const metric = await found(orgId, req.params.id);
      const { window, vars } = windowOf(metric, req.query);
      const series = seriesKey(metric.query, vars);
      return {
        series,
        from: new Date(window.from).toISOString(),
        to: new Date(window.to).toISOString(),
        points: await store.points.read(orgId, metric.id, series, window.from, window.to),
      };
    },
  );
}

/** Field errors of a metric's query under its provider's query schema (both sides of a two-query ratio). */
function queryErrors(module: ConnectorModule, def: Pick<MetricDefinition, 'kind' | 'query'>): FieldError[] {
  const q = def.query as { numerator?: unknown; denominator?: unknown };
  const parts: [string, unknown][] =
    def.kind === 'ratio' && (q.numerator !== undefined || q.denominator !== undefined)
      ? [
          ['/query/numerator', q.numerator],
          ['/query/denominator', q.denominator],
        ]
      : [['/query', def.query]];
  return parts.flatMap(([pointer, query]) => {
    const r = module.querySchema.safeParse(query);
    return r.success
      ? []
      : zodFieldErrors(r.error, pointer).map((e) => ({ ...e, field: e.pointer!.slice(1).replaceAll('/', '.') }));
  });
}

/** The requested window (default: the last hour), step-bounded, and the template values. */
function windowOf(
  metric: Metric,
  q: z.infer<typeof windowQuery>,
): { window: { from: number; to: number }; vars: TemplateVars } {
  const to = q.to ?? Date.now();
  const from = q.from ?? to - HOUR;
  if (from >= to) throw badRequest('from must be before to', [{ field: 'from', message: 'must be before to' }]);
  if ((to - from) / (metric.step_seconds * 1000) > MAX_BUCKETS) {
    throw badRequest(`the window spans more than ${MAX_BUCKETS} buckets of ${metric.step_seconds} s`, [
      { field: 'to', message: 'narrow the window' },
    ]);
  }
  return { window: { from, to }, vars: { subject: q.subject, version: q.version, service: q.service } };
}

const view = ({ org_id: _org, ...metric }: Metric) => metric;
