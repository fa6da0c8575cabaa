// Deleting an org: by the operator (DELETE /v1/orgs/{id}) or by the org's own admin with a
// confirmation (DELETE /v1/org). store/org-deletion.ts does the work; docs/org-deletion.md explains it.
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { deleteOrg, OrgDeletionIncompleteError, type RowsRemoved } from '../../store/org-deletion.js';
import { ORG_TABLES } from '../../store/org-tables.js';
import { KEY_FRESH_MS, requireOrg, requireRoot } from '../auth.js';
import { badRequest, notFound, ProblemError } from '../errors.js';
import { schemaRef, type RouteResponse } from '../openapi.js';
import { idParams } from '../params.js';
import { named, type ZodTypeProvider } from '../validation.js';

const confirmation = named(
  z.object({
    confirm: z.string().describe("this org's id (GET /v1/org shows it): a deletion cannot be undone"),
  }),
  'deletion confirmation',
);

/** No body at all is a missing confirmation too: validated as {}, so the answer names `confirm`. */
async function emptyBodyAsObject(req: FastifyRequest): Promise<void> {
  req.body ??= {};
}

export interface OrgDeletionRouteOptions {
  store: Store;
  /** Drop this process's cached key lookups (app.forgetKeys). */
  forgetKeys: () => void;
  /** Wait between revoking the org's keys and deleting their rows; default KEY_FRESH_MS. */
  propagationMs?: number;
  /** Resolves once work this process had started for the org (scheduler jobs, report computations) has finished. */
  settle?: (orgId: string) => Promise<unknown>;
  now: () => number;
}

const deletedSchema = {
  type: 'object',
  required: ['org_id', 'deleted'],
  properties: {
    org_id: { type: 'string' },
    deleted: {
      type: 'object',
      description: 'rows removed per table (every stored version of a row counts)',
      required: ORG_TABLES.map((t) => t.name),
      properties: Object.fromEntries(ORG_TABLES.map((t) => [t.name, { type: 'integer', minimum: 0 }])),
    },
  },
};

const DESCRIPTION = [
  "The org's keys are revoked first: they stop working at once on this replica, within about a second on the others.",
  `After a wait (${KEY_FRESH_MS / 1000} s: every replica has then seen the revocation or stopped trusting its cached`,
  "keys) every row of the org is deleted from every table, the org's own row last; the answer comes when they are",
  'gone. Export the events (GET /v1/events/export) before: it works until the deletion starts.',
].join(' ');

const responses = (notFoundDescription: string): Record<number, RouteResponse> => ({
  200: { description: 'deleted', schema: deletedSchema },
  404: { description: notFoundDescription, type: 'application/problem+json', schema: schemaRef('Problem') },
  409: {
    description:
      'rows were written for the org while it was being deleted (a fetch still running): its keys are revoked and ' +
      'most rows gone; send the request again with the operator key to finish',
    type: 'application/problem+json',
    schema: schemaRef('Problem'),
  },
});

export async function orgDeletionRoutes(fastify: FastifyInstance, opts: OrgDeletionRouteOptions) {
  const { store } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  /** Delete the org, or answer 404/409; logs what went (ids and counts only). */
  async function remove(orgId: string, log: FastifyBaseLogger): Promise<{ org_id: string; deleted: RowsRemoved }> {
    let deleted: RowsRemoved | undefined;
    try {
      deleted = await deleteOrg(store, orgId, {
        propagationMs: opts.propagationMs ?? KEY_FRESH_MS,
        now: opts.now,
        onKeysRevoked: opts.forgetKeys,
        settle: opts.settle,
      });
    } catch (err) {
      if (!(err instanceof OrgDeletionIncompleteError)) throw err;
      log.warn({ org_id: orgId, remaining: err.remaining }, 'org deletion incomplete: rows written meanwhile');
      throw new ProblemError(
        409,
        'rows were written for the org while it was being deleted; send the request again (operator key) to finish',
      );
    }
    if (!deleted) throw notFound('org');
    log.info({ org_id: orgId, deleted }, 'org deleted');
    return { org_id: orgId, deleted };
  }

  app.delete(
    '/v1/orgs/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams },
      config: {
        doc: {
          tag: 'orgs',
          scope: 'root',
          summary: 'Delete an org and all its data (operator key)',
          description: DESCRIPTION,
          responses: responses('no such org (or its deletion has already finished)'),
        },
      },
    },
    async (req) => {
      requireRoot(req);
      return remove(req.params.id, req.log);
    },
  );

  app.delete(
    '/v1/org',
    {
      onRequest: app.authenticate,
      preValidation: emptyBodyAsObject,
      schema: { body: confirmation },
      config: {
        doc: {
          tag: 'orgs',
          scope: 'admin',
          summary: "Delete the caller's org and all its data, confirmed by its id",
          description: `${DESCRIPTION} The body must name the org, {"confirm": "<org id>"}; else 400, nothing deleted.`,
          responses: responses('the org is gone already'),
        },
      },
    },
    async (req) => {
      const orgId = requireOrg(req, 'admin');
      if (req.body.confirm !== orgId) {
        throw badRequest("confirm is not this org's id; nothing was deleted", [
          { pointer: '/confirm', field: 'confirm', message: "must be this org's id (GET /v1/org shows it)" },
        ]);
      }
      return remove(orgId, req.log);
    },
  );
}
