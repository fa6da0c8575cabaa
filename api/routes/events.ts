// /v1/events: CloudEvents ingestion (structured, batch, binary), listing with
// cursors, one event, and export of a time range as a CloudEvents batch.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { eventTimeProblem, receive, type ReceivedEvent } from '../../domain/event.js';
import type { EventQuota } from '../quota.js';
import type { EventFilter, IngestResult } from '../../store/events.js';
import type { Org } from '../../store/orgs.js';
import type { Store } from '../../store/index.js';
import { requireOrg } from '../auth.js';
import { BATCH, fromBinary, MAX_BATCH, STRUCTURED, validateBatch, validateEvent } from '../cloudevents.js';
import { badRequest, notFound, ProblemError, type FieldError } from '../errors.js';
import { schemaRef } from '../openapi.js';
import { cursor, decodeCursor, encodeCursor, idParams, instant, isTimeCursor } from '../params.js';
import type { ZodTypeProvider } from '../validation.js';

/** Most events one export answers with; narrow the range for more. */
const MAX_EXPORT = 100_000;

const filterSchema = {
  subject: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  since: instant.optional(),
  until: instant.optional(),
};
const listQuery = z.object({
  ...filterSchema,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor,
});
const exportQuery = z.object(filterSchema);
const oneQuery = z.object({ source: z.string().optional() });

export interface EventRouteOptions {
  store: Store;
  /** The events quota of the org's plan (absent: not enforced). */
  quota?: EventQuota;
  /** Told after events are stored (the scheduler plans their fetches); must return quickly. */
  onStored?: (orgId: string, events: ReceivedEvent[], result: IngestResult) => void;
  /** The app's clock: the receipt time of events without a time of their own. */
  now: () => number;
  /** The org's ingest limit: admits `count` events (all or none) or returns the 429 to throw; absent: unlimited. */
  admit?: (org: Org, count: number) => ProblemError | undefined;
}

export async function eventRoutes(fastify: FastifyInstance, opts: EventRouteOptions) {
  const { store } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // Every body reaches the handler as bytes: the mode is decided by headers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const ingestResult = {
    type: 'object',
    properties: {
      accepted: { type: 'array', items: { type: 'string' } },
      duplicates: { type: 'array', items: { type: 'string' } },
    },
  };
  const page = {
    type: 'object',
    properties: { items: { type: 'array', items: schemaRef('CloudEvent') }, next_cursor: { type: ['string', 'null'] } },
  };

  app.post(
    '/v1/events',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'events',
          scope: 'events:write',
          summary: 'Send CloudEvents (structured, batch or binary mode)',
          description:
            `Structured: ${STRUCTURED} or application/json, one event. ` +
            `Batch: ${BATCH}, up to 1,000 events, all or nothing. ` +
            'Binary: ce-* headers with the data as the body. ' +
            '(source, id) identifies an event; a retry is reported under duplicates. 202 means stored. ' +
            "An event `time` older than the org's plan retention, or more than 24 hours ahead, is refused (422, the batch whole). " +
            "Past the plan's monthly events quota a batch that does not fit is refused whole (429 `quota-exceeded`, " +
            'Retry-After to the start of next month, UTC); events already stored do not count again.',
          // Read as bytes: the content mode is decided by headers, and api/cloudevents.ts validates.
          rawBody: {
            [STRUCTURED]: schemaRef('CloudEvent'),
            'application/json': schemaRef('CloudEvent'),
            [BATCH]: { type: 'array', items: schemaRef('CloudEvent'), minItems: 1, maxItems: MAX_BATCH },
          },
          responses: {
            202: { description: 'stored', schema: ingestResult },
            413: { description: 'body over 1 MiB' },
            415: { description: 'unsupported content type' },
            422: {
              description: "an event's time is past the org's retention or more than 24 hours ahead; nothing stored",
              type: 'application/problem+json',
              schema: schemaRef('Problem'),
            },
            429: {
              description:
                "over the org's monthly events quota (type ends in quota-exceeded), its ingest rate (events per second " +
                "by plan) or the key's request rate; nothing stored",
              type: 'application/problem+json',
              schema: schemaRef('Problem'),
            },
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'events:write');
      const body = req.body as Buffer | undefined;
      const mediaType = String(req.headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
      let events;
      let mode: Mode;
      if (req.headers['ce-specversion'] !== undefined) {
        mode = 'binary';
        const r = validateEvent(fromBinary(req.headers, body));
        if (!r.event) throw badRequest(summarize(r.errors), r.errors);
        events = [r.event];
      } else if (mediaType === STRUCTURED || mediaType === 'application/json') {
        mode = 'structured';
        const parsed = parseJson(body);
        if (Array.isArray(parsed)) {
          throw badRequest(`a JSON array is a batch: send it as ${BATCH}`, [
            { pointer: '/', field: '(body)', message: 'expected one CloudEvent object' },
          ]);
        }
        const r = validateEvent(parsed);
        if (!r.event) throw badRequest(summarize(r.errors), r.errors);
        events = [r.event];
      } else if (mediaType === BATCH) {
        mode = 'batch';
        const r = validateBatch(parseJson(body));
        if (r.errors.length > 0) throw badRequest(`batch rejected, nothing stored: ${summarize(r.errors)}`, r.errors);
        events = r.events;
      } else {
        throw new ProblemError(
          415,
          `unsupported content type ${JSON.stringify(mediaType)}: ` +
            `use ${STRUCTURED}, application/json, ${BATCH}, or binary mode with ce-* headers`,
        );
      }
      const org = await store.orgCache.get(orgId);
      if (!org) throw notFound('org');
      const receivedAt = opts.now();
      const received = events.map((e) => receive(e, receivedAt));
      const horizon = {
        at: await store.retention.horizon(orgId),
        why: `the ${store.retentionDays(org.plan)}-day retention of this org's ${org.plan} plan`,
      };
      const timeErrors = timeErrorsOf(received, receivedAt, horizon, mode);
      if (timeErrors.length > 0) {
        throw new ProblemError(
          422,
          `${mode === 'batch' ? 'batch rejected, nothing stored: ' : ''}${summarize(timeErrors)}`,
          timeErrors,
        );
      }
      // Counted in events, after validation (a rejected batch costs nothing), before anything is stored.
      const over = opts.admit?.(org, events.length);
      if (over) throw over;
      const reservation = await opts.quota?.admit(org, received);
      // Counted once stored; a failed ingest releases what it reserved. A failure to count (the
      // usage row, the alert) is logged: the events are stored, and the answer says so.
      const settle = async (stored: number) =>
        reservation &&
        opts.quota?.settle(reservation, stored).catch((err: unknown) => {
          req.log.warn({ err: String(err), org_id: orgId }, 'counting events toward the quota failed');
        });
      const result = await store.events.ingest(orgId, received).catch(async (err: unknown) => {
        await settle(0);
        throw err;
      });
      await settle(result.accepted.length);
      if (result.accepted.length > 0) opts.onStored?.(orgId, received, result);
      return reply.code(202).send(result);
    },
  );

  app.get(
    '/v1/events',
    {
      onRequest: app.authenticate,
      schema: { querystring: listQuery },
      config: {
        doc: {
          tag: 'events',
          scope: 'read',
          summary: 'List events, newest first',
          responses: { 200: { description: 'one page', schema: page } },
        },
      },
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      const q = req.query;
      const after = q.cursor ? decodeCursor(q.cursor, isTimeCursor) : undefined;
      const rows = await store.events.list(orgId, toFilter(q), q.limit + 1, after);
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((r) => r.event),
        next_cursor:
          rows.length > q.limit && last ? encodeCursor({ time: last.time, source: last.source, id: last.id }) : null,
      };
    },
  );

  app.get(
    '/v1/events/export',
    {
      onRequest: app.authenticate,
      schema: { querystring: exportQuery },
      config: {
        doc: {
          tag: 'events',
          scope: 'read',
          summary: 'Export a time range as a CloudEvents batch, exactly as sent',
          responses: {
            200: {
              description: 'events, oldest first (at most 100,000)',
              type: BATCH,
              schema: { type: 'array', items: schemaRef('CloudEvent') },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'read');
      const q = req.query;
      const rows = await store.events.range(orgId, toFilter(q), MAX_EXPORT + 1);
      if (rows.length > MAX_EXPORT) {
        throw badRequest(`the range holds more than ${MAX_EXPORT} events; narrow since/until`, [
          { field: 'since', message: 'narrow the range' },
        ]);
      }
      return reply.type(BATCH).send(rows.map((r) => r.event));
    },
  );

  app.get(
    '/v1/events/:id',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, querystring: oneQuery },
      config: {
        doc: {
          tag: 'events',
          scope: 'read',
          summary: 'One event as sent',
          responses: {
            200: {
              description: 'the CloudEvent (the newest, if several sources share the id; ?source= picks one)',
              schema: schemaRef('CloudEvent'),
            },
          },
        },
      },
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      const [found] = await store.events.byId(orgId, req.params.id, req.query.source);
      if (!found) throw notFound('event');
      return found.event;
    },
  );
}

/** How the events came: ce-* headers with the data as the body, one event as JSON, or a batch. */
type Mode = 'binary' | 'structured' | 'batch';

/** The events whose time ingest refuses (eventTimeProblem), as field errors naming `time` where it was sent. */
function timeErrorsOf(
  received: readonly ReceivedEvent[],
  now: number,
  horizon: { at: number; why: string },
  mode: Mode,
): FieldError[] {
  return received.flatMap((r, i): FieldError[] => {
    const problem = r.event.time === undefined ? undefined : eventTimeProblem(r.time, now, horizon);
    if (!problem) return [];
    if (mode === 'binary') return [{ field: 'time', message: `${problem} (header ce-time)` }];
    if (mode === 'batch') return [{ index: i, pointer: `/${i}/time`, field: 'time', message: problem }];
    return [{ pointer: '/time', field: 'time', message: problem }];
  });
}

function toFilter(q: z.infer<typeof exportQuery>): EventFilter {
  return { subject: q.subject, type: q.type, source: q.source, since: q.since, until: q.until };
}

function parseJson(body: Buffer | undefined): unknown {
  if (!body || body.length === 0)
    throw badRequest('the request body is empty', [{ pointer: '/', field: '(body)', message: 'expected JSON' }]);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest('the request body is not valid JSON', [
      { pointer: '/', field: '(body)', message: (err as Error).message },
    ]);
  }
}

function summarize(errors: { index?: number; field: string; message: string }[]): string {
  const shown = errors
    .slice(0, 5)
    .map((e) => `${e.index === undefined ? '' : `[${e.index}] `}${e.field}: ${e.message}`);
  return shown.join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : '');
}
