// /v1/orgs (operator key) and /v1/keys (org admins).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { SCOPES } from '../../store/orgs.js';
import { requireOrg, requireRoot } from '../auth.js';
import { notFound, parseOr400 } from '../errors.js';

const createOrg = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  plan: z.enum(['free', 'starter', 'pro']).default('free'),
});
const createKey = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  scopes: z.array(z.enum(SCOPES)).min(1, 'at least one scope'),
});

export async function orgRoutes(app: FastifyInstance, opts: { store: Store }) {
  const { store } = opts;

  app.post('/v1/orgs', { onRequest: app.authenticate }, async (req, reply) => {
    requireRoot(req);
    const body = parseOr400(createOrg, req.body, 'org');
    const org = await store.orgs.create(body.name, body.plan);
    const key = await store.keys.create(org.id, 'admin (created with the org)', ['admin']);
    return reply.code(201).send({ org, admin_key: key.key });
  });

  app.post('/v1/keys', { onRequest: app.authenticate }, async (req, reply) => {
    const orgId = requireOrg(req, 'admin');
    const body = parseOr400(createKey, req.body, 'key');
    const key = await store.keys.create(orgId, body.name, [...new Set(body.scopes)]);
    return reply.code(201).send({ id: key.id, name: key.name, scopes: key.scopes, key: key.key, created_at: key.created_at });
  });

  app.get('/v1/keys', { onRequest: app.authenticate }, async (req) => {
    const orgId = requireOrg(req, 'admin');
    const keys = await store.keys.list(orgId);
    return {
      items: keys.map((k) => ({ id: k.id, name: k.name, scopes: k.scopes, prefix: k.prefix, created_at: k.created_at, last_used_at: k.last_used_at })),
    };
  });

  app.delete<{ Params: { id: string } }>('/v1/keys/:id', { onRequest: app.authenticate }, async (req, reply) => {
    const orgId = requireOrg(req, 'admin');
    if (!(await store.keys.revoke(orgId, req.params.id))) throw notFound('key');
    app.forgetKeys();
    return reply.code(204).send();
  });
}
