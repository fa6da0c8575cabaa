// /v1/orgs (operator key) and /v1/org (an org's own plan, usage, alerts and webhook).
import { PLANS, quotaPeriod, type Plan } from '../../domain/plan.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { ALERT_TYPES, type Alert } from '../../store/alerts.js';
import type { Org } from '../../store/orgs.js';
import { requireOrg, requireRoot } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { schemaRef } from '../openapi.js';
import { idParams } from '../params.js';
import { named, type ZodTypeProvider } from '../validation.js';

const createOrg = named(
  z.object({
    name: z.string().trim().min(1, 'required').max(200),
    plan: z.enum(PLANS).default('free'),
  }),
  'org',
);
const updateOrg = named(
  z
    .object({
      name: z.string().trim().min(1, 'required').max(200).optional(),
      plan: z.enum(PLANS).optional(),
    })
    .strict()
    .refine((b) => b.name !== undefined || b.plan !== undefined, 'give plan, name or both'),
  'org change',
);

const updateOwnOrg = named(
  z.object({ notify_url: z.string().trim().min(1, 'required').max(2000).nullable() }).strict(),
  'notification settings',
);

/** An org as the operator lists it. */
interface OrgSummary {
  id: string;
  name: string;
  plan: Plan;
  retention_days: number;
  created_at: string;
}

/** An org with its plan's limits, this month's usage and its alerts (GET /v1/org, the operator's GET and PATCH). */
interface OrgView extends OrgSummary {
  quota: { events: number; used: number; period_start: string; period_end: string };
  alerts: Omit<Alert, 'org_id'>[];
  notify_url: string | null;
}

const count = (description: string) => ({ type: 'integer', minimum: 0, description });
const orgSummarySchema = {
  type: 'object',
  required: ['id', 'name', 'plan', 'retention_days', 'created_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    plan: { enum: PLANS },
    retention_days: count('days of metric points the plan keeps'),
    created_at: { type: 'string', format: 'date-time' },
  },
};
const orgViewSchema = {
  ...orgSummarySchema,
  required: [...orgSummarySchema.required, 'quota', 'alerts'],
  properties: {
    ...orgSummarySchema.properties,
    quota: {
      type: 'object',
      description: "the plan's monthly events quota: past it ingest answers 429 quota-exceeded until the period ends",
      required: ['events', 'used', 'period_start', 'period_end'],
      properties: {
        events: count('events the plan accepts per calendar month (UTC)'),
        used: count('events accepted this month (a duplicate is not counted)'),
        period_start: { type: 'string', format: 'date-time', description: 'start of this month, UTC' },
        period_end: { type: 'string', format: 'date-time', description: 'start of next month, UTC (exclusive)' },
      },
    },
    alerts: {
      type: 'array',
      description: "the org's alerts within its retention, newest first: usage_80 once a month at 80% of the quota",
      items: {
        type: 'object',
        required: ['type', 'at', 'message', 'period_start', 'delivery', 'attempts', 'last_error'],
        properties: {
          type: { enum: ALERT_TYPES },
          at: { type: 'string', format: 'date-time' },
          message: { type: 'string' },
          period_start: { type: 'string', format: 'date-time', description: 'the quota period it belongs to' },
          delivery: {
            enum: ['none', 'pending', 'delivered', 'failed'],
            description: 'its notification to notify_url: none (no webhook), pending, delivered or failed',
          },
          attempts: count('delivery attempts made'),
          last_error: { type: 'string', description: "why the last attempt failed ('' when delivered)" },
        },
      },
    },
    notify_url: {
      type: ['string', 'null'],
      description: 'where notifications (usage alerts) are POSTed as CloudEvents; null: none',
    },
  },
};

export interface OrgRouteOptions {
  store: Store;
  /** Told after an org's plan changed (answers cached for it may hold what its retention no longer keeps). */
  onPlanChanged?: (orgId: string) => void;
  /** Why a URL cannot be an org's webhook (notify/webhook.ts webhookUrlProblem with the service's host policy), or undefined. */
  notifyUrlProblem: (url: string) => string | undefined;
  /** Clock in epoch ms (the quota's month); default Date.now. */
  now?: () => number;
}

export async function orgRoutes(fastify: FastifyInstance, opts: OrgRouteOptions) {
  const { store } = opts;
  const { plans } = store;
  const now = opts.now ?? Date.now;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  const summary = (org: Org): OrgSummary => ({
    id: org.id,
    name: org.name,
    plan: org.plan,
    retention_days: plans[org.plan].retention_days,
    created_at: org.created_at,
  });
  const view = async (org: Org): Promise<OrgView> => {
    const period = quotaPeriod(now());
    const alerts = await store.alerts.list(org.id, await store.retention.horizon(org.id));
    return {
      ...summary(org),
      quota: {
        events: plans[org.plan].events_per_month,
        used: await store.usage.used(org.id, period.start),
        period_start: new Date(period.start).toISOString(),
        period_end: new Date(period.end).toISOString(),
      },
      alerts: alerts.map(({ org_id: _, ...alert }) => alert),
      notify_url: org.notify_url,
    };
  };
  const notFoundDoc = { description: 'no such org', type: 'application/problem+json', schema: schemaRef('Problem') };

  app.get(
    '/v1/org',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'orgs',
          scope: 'read',
          summary: "The caller's org: its plan, retention and this month's events quota",
          responses: { 200: { description: 'the org', schema: orgViewSchema } },
        },
      },
    },
    async (req) => {
      const org = await store.orgs.get(requireOrg(req, 'read'));
      if (!org) throw notFound('org');
      return view(org);
    },
  );

  app.patch(
    '/v1/org',
    {
      onRequest: app.authenticate,
      schema: { body: updateOwnOrg },
      config: {
        doc: {
          tag: 'orgs',
          scope: 'admin',
          summary: "Set or remove the caller's org notification webhook",
          description:
            'Usage alerts are POSTed to notify_url as CloudEvents (type dev.opstrails.usage.alert, structured mode), ' +
            'signed as Standard Webhooks says: headers webhook-id, webhook-timestamp and webhook-signature ' +
            '("v1," + base64 HMAC-SHA256 over "<id>.<timestamp>.<body>", keyed with the base64 part of notify_secret). ' +
            'Failed deliveries are retried 3 times over about 5 minutes. The URL must be https to a host whose ' +
            'addresses are public, unless the operator listed the host in OPSTRAILS_ALLOWED_PROVIDER_HOSTS. ' +
            'Each URL set gets a new notify_secret, shown in this answer only; null removes the webhook.',
          responses: {
            200: {
              description: 'the org, with the new signing secret when a URL was set',
              schema: {
                ...orgViewSchema,
                properties: {
                  ...orgViewSchema.properties,
                  notify_secret: { type: 'string', description: 'the webhook signing secret, shown once' },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      const url = req.body.notify_url;
      const problem = url === null ? undefined : opts.notifyUrlProblem(url);
      if (problem) throw badRequest(problem, [{ pointer: '/notify_url', field: 'notify_url', message: problem }]);
      const set = await store.orgs.setNotify(orgId, url, now());
      if (!set) throw notFound('org');
      store.orgCache.forget(orgId);
      return { ...(await view(set.org)), ...(set.secret === null ? {} : { notify_secret: set.secret }) };
    },
  );

  app.get(
    '/v1/orgs',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'orgs',
          scope: 'root',
          summary: 'List orgs (operator key), oldest first',
          responses: {
            200: {
              description: 'orgs',
              schema: { type: 'object', properties: { items: { type: 'array', items: orgSummarySchema } } },
            },
          },
        },
      },
    },
    async (req) => {
      requireRoot(req);
      return { items: (await store.orgs.list()).map(summary) };
    },
  );

  app.get(
    '/v1/orgs/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: {
        doc: {
          tag: 'orgs',
          scope: 'root',
          summary: "One org (operator key), with this month's usage",
          responses: { 200: { description: 'the org', schema: orgViewSchema }, 404: notFoundDoc },
        },
      },
    },
    async (req) => {
      requireRoot(req);
      const org = await store.orgs.get(req.params.id);
      if (!org) throw notFound('org');
      return view(org);
    },
  );

  app.patch(
    '/v1/orgs/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, body: updateOrg },
      config: {
        doc: {
          tag: 'orgs',
          scope: 'root',
          summary: "Change an org's plan or name (operator key)",
          description:
            "A plan change applies the new plan's retention to everything the org has stored before it answers: " +
            'on a shorter one, what is past it is deleted at once.',
          responses: { 200: { description: 'the org as changed', schema: orgViewSchema }, 404: notFoundDoc },
        },
      },
    },
    async (req) => {
      requireRoot(req);
      const org = await store.orgs.update(req.params.id, req.body, now());
      if (!org) throw notFound('org');
      store.orgCache.forget(org.id);
      // Run whenever a plan is given, changed or not: a retry after a failed mutation repairs it.
      if (req.body.plan !== undefined) {
        await store.retention.apply(org.id);
        opts.onPlanChanged?.(org.id);
      }
      return view(org);
    },
  );

  app.post(
    '/v1/orgs',
    {
      onRequest: app.authenticate,
      schema: { body: createOrg },
      config: {
        doc: {
          tag: 'orgs',
          scope: 'root',
          summary: 'Create an org (operator key); returns its first admin key, shown once',
          responses: {
            201: {
              description: 'created',
              schema: { type: 'object', properties: { org: { type: 'object' }, admin_key: { type: 'string' } } },
            },
          },
        },
      },
    },
    async (req, reply) => {
      requireRoot(req);
      const org = await store.orgs.create(req.body.name, req.body.plan);
      const key = await store.keys.create(org.id, 'admin (created with the org)', ['admin']);
      return reply.code(201).send({ org, admin_key: key.key });
    },
  );
}
