// /v1/keys: an org's API keys, managed by its admins (the secret is shown once, at creation).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { SCOPES } from '../../store/orgs.js';
import { requireOrg } from '../auth.js';
import { notFound } from '../errors.js';
import { idParams } from '../params.js';
import { named, type ZodTypeProvider } from '../validation.js';

const createKey = named(
  z.object({
    name: z.string().trim().min(1, 'required').max(200),
    scopes: z.array(z.enum(SCOPES)).min(1, 'at least one scope'),
  }),
  'key',
);

export async function keyRoutes(fastify: FastifyInstance, opts: { store: Store }) {
  const { store } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const keyItem = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'array', items: { enum: SCOPES } },
      prefix: { type: 'string' },
      created_at: { type: 'string' },
      last_used_at: { type: ['string', 'null'] },
    },
  };

  app.post(
    '/v1/keys',
    {
      onRequest: app.authenticate,
      schema: { body: createKey },
      config: {
        doc: {
          tag: 'keys',
          scope: 'admin',
          summary: 'Create an API key (the key is shown once)',
          responses: {
            201: {
              description: 'created',
              schema: { ...keyItem, properties: { ...keyItem.properties, key: { type: 'string' } } },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      const key = await store.keys.create(orgId, req.body.name, [...new Set(req.body.scopes)]);
      return reply
        .code(201)
        .send({ id: key.id, name: key.name, scopes: key.scopes, key: key.key, created_at: key.created_at });
    },
  );

  app.get(
    '/v1/keys',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'keys',
          scope: 'admin',
          summary: 'List active keys (no secrets)',
          responses: {
            200: {
              description: 'keys',
              schema: { type: 'object', properties: { items: { type: 'array', items: keyItem } } },
            },
          },
        },
      },
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      const keys = await store.keys.list(orgId);
      return {
        items: keys.map((k) => ({
          id: k.id,
          name: k.name,
          scopes: k.scopes,
          prefix: k.prefix,
          created_at: k.created_at,
          last_used_at: k.last_used_at,
        })),
      };
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: {
        doc: { tag: 'keys', scope: 'admin', summary: 'Revoke a key', responses: { 204: { description: 'revoked' } } },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      if (!(await store.keys.revoke(orgId, req.params.id))) throw notFound('key');
      app.forgetKeys();
      return reply.code(204).send();
    },
  );
}
