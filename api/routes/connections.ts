// /v1/providers and /v1/connections: what can be connected (JSON Schema from the
// connectors' zod schemas) and the org's connections. Secrets go in, never out.
import type { FastifyInstance } from 'fastify';
import { METRIC_KINDS } from '../../domain/metric.js';
import { z } from 'zod';
import { CONNECTORS, connectorFor } from '../../connectors/registry.js';
import { ConnectorError, type ConnectorModule } from '../../connectors/types.js';
import type { ConnectorFactory } from '../../scheduler/connectors.js';
import type { Connection } from '../../store/connections.js';
import type { Store } from '../../store/index.js';
import { requireOrg } from '../auth.js';
import { badRequest, notFound, ProblemError, zodFieldErrors, type FieldError } from '../errors.js';
import type { RouteDoc } from '../openapi.js';
import { idParams } from '../params.js';
import { named, type ZodTypeProvider } from '../validation.js';

export interface ConnectionRouteOptions {
  store: Store;
  connectors: ConnectorFactory;
  /** Connection health from the scheduler, when one runs. */
  health?: (orgId: string, connectionId: string) => Promise<unknown> | unknown;
  /** Told when a check succeeds (the scheduler resumes the connection's jobs). */
  onChecked?: (orgId: string, connectionId: string, ok: boolean) => void;
}

const objectBody = z.record(z.string(), z.unknown());
const createBody = named(
  z.object({
    provider: z.string().min(1, 'required'),
    name: z.string().trim().min(1, 'required').max(200),
    config: objectBody.default({}),
    secrets: objectBody.default({}),
  }),
  'connection',
);
const patchBody = named(
  z
    .object({
      name: z.string().trim().min(1).max(200).optional(),
      // Shallow merge into what is stored; a null value removes a field.
      config: z.record(z.string(), z.unknown()).optional(),
      secrets: z.record(z.string(), z.unknown()).optional(),
    })
    .strict(),
  'connection update',
);

/** JSON Schema of a zod schema as a form builder needs it (input side: defaults optional). */
const jsonSchema = (schema: z.ZodType) =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON Schema document is open-ended
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, any>;

/** The providers as GET /v1/providers lists them. */
export function describeProviders() {
  return CONNECTORS.map((c) => {
    const secrets = jsonSchema(c.secretsSchema);
    for (const prop of Object.values<Record<string, unknown>>(secrets.properties ?? {})) prop.writeOnly = true;
    return {
      id: c.id,
      name: c.name,
      kinds: c.kinds,
      config_schema: jsonSchema(c.configSchema),
      secrets_schema: secrets,
      query_schema: jsonSchema(c.querySchema),
    };
  });
}

/**
 * Validate config and secrets for a provider and build its connector once (host
 * policy, credential shape). Field errors name the field; secret values never
 * appear in a message.
 */
export function validateConnection(
  connectors: ConnectorFactory,
  module: ConnectorModule,
  config: unknown,
  secrets: Record<string, unknown>,
): { config: Record<string, unknown>; secrets: Record<string, unknown> } {
  const errors: FieldError[] = [];
  const c = module.configSchema.safeParse(config);
  if (!c.success) errors.push(...zodFieldErrors(c.error, '/config').map((e) => ({ ...e, field: `config.${e.field}` })));
  const s = module.secretsSchema.safeParse(secrets);
  if (!s.success) {
    const values = Object.values(secrets).flatMap((v) => (typeof v === 'string' && v.length >= 4 ? [v] : []));
    errors.push(
      ...zodFieldErrors(s.error, '/secrets').map((e) => ({
        ...e,
        field: `secrets.${e.field}`,
        message: values.some((v) => e.message.includes(v)) ? 'invalid value' : e.message,
      })),
    );
  }
  if (errors.length > 0)
    throw badRequest(`invalid connection: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
  try {
    connectors.build(module, c.data, s.data);
  } catch (err) {
    if (err instanceof ConnectorError && err.code === 'invalid_config') {
      const field = /ims_url/.test(err.message)
        ? 'config.ims_url'
        : /base_url|host/.test(err.message)
          ? 'config.base_url'
          : 'config';
      throw badRequest(`invalid connection: ${err.message}`, [
        { pointer: `/${field.replace('.', '/')}`, field, message: err.message },
      ]);
    }
    throw err;
  }
  return { config: c.data as Record<string, unknown>, secrets: s.data as Record<string, unknown> };
}

function moduleOr400(provider: string): ConnectorModule {
  const module = connectorFor(provider);
  if (!module) {
    const ids = CONNECTORS.map((c) => c.id).join(', ');
    throw badRequest(`unknown provider ${JSON.stringify(provider)}; one of ${ids}`, [
      { pointer: '/provider', field: 'provider', message: `one of ${ids}` },
    ]);
  }
  return module;
}

const mergeShallow = (base: Record<string, unknown>, patch: Record<string, unknown>) =>
  Object.fromEntries(Object.entries({ ...base, ...patch }).filter(([, v]) => v !== null));

export async function connectionRoutes(fastify: FastifyInstance, opts: ConnectionRouteOptions) {
  const { store, connectors } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const view = async (c: Connection) => {
    const { org_id: _org, ...rest } = c;
    return opts.health ? { ...rest, health: await opts.health(c.org_id, c.id) } : rest;
  };
  const found = async (orgId: string, id: string) =>
    (await store.connections.get(orgId, id)) ?? Promise.reject(notFound('connection'));

  const connection = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      provider: { type: 'string' },
      name: { type: 'string' },
      config: { type: 'object' },
      status: { enum: ['unchecked', 'ok', 'failing'] },
      status_message: { type: ['string', 'null'] },
      checked_at: { type: ['string', 'null'] },
      created_at: { type: 'string' },
      updated_at: { type: 'string' },
      health: { type: 'object' },
    },
  };
  const doc = (summary: string, scope: 'read' | 'admin', extra: Partial<RouteDoc> = {}): { doc: RouteDoc } => ({
    doc: {
      tag: 'connections',
      scope,
      summary,
      responses: { 200: { description: 'the connection', schema: connection } },
      ...extra,
    },
  });

  app.get(
    '/v1/providers',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'connections',
          scope: 'read',
          summary: 'Providers with config, secrets and query JSON Schemas',
          responses: {
            200: {
              description: 'providers',
              schema: {
                type: 'object',
                properties: {
                  items: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        id: { type: 'string' },
                        name: { type: 'string' },
                        kinds: { type: 'array', items: { enum: METRIC_KINDS } },
                        config_schema: { type: 'object', description: 'JSON Schema of the connection’s config' },
                        secrets_schema: { type: 'object', description: 'JSON Schema of its secrets (write-only)' },
                        query_schema: { type: 'object', description: 'JSON Schema of a metric’s query' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      requireOrg(req, 'read');
      return { items: describeProviders() };
    },
  );

  app.post(
    '/v1/connections',
    {
      onRequest: app.authenticate,
      schema: { body: createBody },
      config: doc('Create a connection (secrets are write-only)', 'admin', {
        responses: { 201: { description: 'created', schema: connection } },
      }),
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      const body = req.body;
      const module = moduleOr400(body.provider);
      const valid = validateConnection(connectors, module, body.config, body.secrets);
      const created = await store.connections.create(orgId, { provider: module.id, name: body.name, ...valid });
      return reply.code(201).send(await view(created));
    },
  );

  app.get(
    '/v1/connections',
    {
      onRequest: app.authenticate,
      config: doc('List connections', 'read', {
        responses: {
          200: {
            description: 'connections',
            schema: { type: 'object', properties: { items: { type: 'array', items: connection } } },
          },
        },
      }),
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      return { items: await Promise.all((await store.connections.list(orgId)).map(view)) };
    },
  );

  app.get(
    '/v1/connections/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: doc('One connection, with its health', 'read'),
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      return view(await found(orgId, req.params.id));
    },
  );

  app.patch(
    '/v1/connections/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, body: patchBody },
      config: doc('Update a connection (config and secrets merge; null removes a field)', 'admin'),
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      const body = req.body;
      const current = await found(orgId, req.params.id);
      const module = moduleOr400(current.provider);
      const secrets = mergeShallow((await store.connections.secrets(orgId, current.id)) ?? {}, body.secrets ?? {});
      const valid = validateConnection(connectors, module, mergeShallow(current.config, body.config ?? {}), secrets);
      const changedAccess = body.config !== undefined || body.secrets !== undefined;
      const updated = await store.connections.update(orgId, current.id, {
        name: body.name,
        config: valid.config,
        secrets: body.secrets ? valid.secrets : undefined,
        // New credentials or settings: the last check no longer speaks for them.
        ...(changedAccess ? { status: 'unchecked' as const, status_message: null } : {}),
      });
      connectors.forget(orgId, current.id);
      return view(updated!);
    },
  );

  app.delete(
    '/v1/connections/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: doc('Delete a connection no metric uses', 'admin', {
        responses: { 204: { description: 'deleted' }, 409: { description: 'metrics use it' } },
      }),
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      await found(orgId, req.params.id);
      const metrics = await store.metrics.list(orgId, { connectionId: req.params.id });
      if (metrics.length > 0) {
        const ids = metrics.map((m) => m.id).join(', ');
        throw new ProblemError(409, `the connection is used by ${metrics.length} metric(s): ${ids}; delete them first`);
      }
      await store.connections.delete(orgId, req.params.id);
      connectors.forget(orgId, req.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/connections/:id/check',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: doc('Check credentials and reachability against the provider', 'admin', {
        responses: {
          200: {
            description: 'the check’s result (a failing check is a 200 too: the provider answered)',
            schema: {
              oneOf: [
                { type: 'object', properties: { ok: { const: true }, details: { type: 'object' } } },
                {
                  type: 'object',
                  properties: {
                    ok: { const: false },
                    error: {
                      type: 'object',
                      properties: { code: { type: 'string' }, message: { type: 'string' } },
                    },
                  },
                },
              ],
            },
          },
        },
      }),
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      await found(orgId, req.params.id);
      let result;
      try {
        const live = await connectors.forConnection(orgId, req.params.id);
        result = await live!.connector.check();
      } catch (err) {
        if (!(err instanceof ConnectorError)) throw err;
        result = { ok: false as const, error: { code: err.code, message: err.message } };
      }
      await store.connections.update(orgId, req.params.id, {
        status: result.ok ? 'ok' : 'failing',
        status_message: result.ok ? null : result.error.message,
        checked_at: Date.now(),
      });
      opts.onChecked?.(orgId, req.params.id, result.ok);
      return result;
    },
  );
}
