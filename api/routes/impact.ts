// Impact reports: one event's report (JSON for scripts and dashboards, HTML for
// people), the timeline of summaries, and recomputation. Reports are read as
// stored; ETag / If-None-Match keeps polling cheap; Retry-After while pending.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseDuration, type WindowOverrides } from '../../engine/windows.js';
import type { ComputedReport, ImpactService } from '../../scheduler/impact.js';
import type { StoredEvent } from '../../store/events.js';
import type { Store } from '../../store/index.js';
import { requireOrg } from '../auth.js';
import { notFound, parseOr400 } from '../errors.js';
import { decodeCursor, encodeCursor, instant } from '../params.js';
import { sendReportHtml } from './pages.js';

export interface ImpactRouteOptions {
  store: Store;
  impact: ImpactService;
  /** Re-fetch an event's windows from its providers before recomputing (POST .../recompute). */
  refetch?: (orgId: string, event: StoredEvent) => Promise<void>;
}

const duration = z
  .string()
  .refine((s) => {
    try {
      return parseDuration(s) >= 0;
    } catch {
      return false;
    }
  }, 'a duration: ISO 8601 (PT90M) or short form (90m, 2h)')
  .optional();
const reportQuery = z.object({ before: duration, after: duration, gap: duration, source: z.string().optional() });
const VERDICTS = ['regression', 'improvement', 'no_change', 'inconclusive'] as const;
const listQuery = z.object({
  subject: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  since: instant.optional(),
  until: instant.optional(),
  verdict: z.enum(VERDICTS).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().optional(),
});
type Cursor = { time: number; source: string; id: string };
const isCursor = (v: unknown): v is Cursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isFinite((v as Cursor).time) &&
  typeof (v as Cursor).source === 'string' &&
  typeof (v as Cursor).id === 'string';

/** Whether the caller prefers HTML (a browser or the console) over JSON. */
function wantsHtml(req: FastifyRequest): boolean {
  const accept = String(req.headers.accept ?? '');
  const html = accept.indexOf('text/html');
  const json = accept.indexOf('application/json');
  return html >= 0 && (json < 0 || html < json);
}

/** 304 when the caller already holds this version. */
function notModified(req: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag).header('cache-control', 'private, no-cache').header('vary', 'Accept, Authorization');
  const given = req.headers['if-none-match'];
  if (given && given.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    reply.code(304).send();
    return true;
  }
  return false;
}

export async function impactRoutes(app: FastifyInstance, opts: ImpactRouteOptions) {
  const { store, impact } = opts;
  const reportDoc = {
    type: 'object',
    description:
      'ImpactReport: event, status, verdict, computed_at, explanation, windows, metrics[] (each with verdict, before/after summaries, change, counterfactual, test, baseline, threshold, data_quality, minimum_detectable_effect, confounders, onset, reason, explanation; the fields are described in domain/report.ts and engine/README.md)',
  };

  app.get<{ Params: { id: string } }>(
    '/v1/events/:id/impact',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'impact',
          scope: 'read',
          summary: 'The impact report of an event (JSON; HTML with Accept: text/html)',
          description:
            'Read as stored. With before/after/gap the report is computed on stored data for those windows (pending until their data is in). ETag and If-None-Match (304); Retry-After while pending.',
          query: reportQuery,
          responses: {
            200: {
              description: 'the report',
              schema: reportDoc,
              headers: { ETag: 'version of the report', 'Retry-After': 'seconds, while pending' },
            },
            304: { description: 'unchanged since If-None-Match' },
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'read');
      const q = parseOr400(reportQuery, req.query, 'query parameters');
      const [event] = await store.events.byId(orgId, req.params.id, q.source);
      if (!event) throw notFound('event');
      const adHoc: WindowOverrides | undefined =
        q.before || q.after || q.gap ? { before: q.before, after: q.after, gap: q.gap } : undefined;
      let computed: ComputedReport | undefined = adHoc
        ? await impact.compute(orgId, event, adHoc)
        : await impact.stored(orgId, event);
      // Not computed yet (just received): say what is awaited, without storing.
      computed ??= await impact.compute(orgId, event);
      if (computed.report.status === 'pending' || computed.report.status === 'partial') {
        if (computed.retryAfterSeconds > 0) reply.header('retry-after', String(computed.retryAfterSeconds));
      }
      // One representation, one tag: the page and the JSON of a report differ.
      const html = wantsHtml(req);
      if (notModified(req, reply, html ? computed.etag.replace(/"$/, '-html"') : computed.etag)) return reply;
      if (html) return sendReportHtml(reply, computed.report, computed.charts);
      return computed.report;
    },
  );

  app.get(
    '/v1/impact',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'impact',
          scope: 'read',
          summary: 'The impact timeline: one summary line per event, newest first',
          query: listQuery,
          responses: {
            200: {
              description: 'one page',
              schema: {
                type: 'object',
                properties: {
                  items: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        id: { type: 'string' },
                        source: { type: 'string' },
                        type: { type: 'string' },
                        subject: { type: ['string', 'null'] },
                        version: { type: ['string', 'null'] },
                        time: { type: 'string' },
                        status: { enum: ['pending', 'ready', 'partial', 'failed'] },
                        verdict: { enum: [...VERDICTS, null] },
                        worst_metric: { type: ['object', 'null'] },
                      },
                    },
                  },
                  next_cursor: { type: ['string', 'null'] },
                },
              },
            },
            304: { description: 'unchanged since If-None-Match' },
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'read');
      const q = parseOr400(listQuery, req.query, 'query parameters');
      const after = q.cursor ? decodeCursor(q.cursor, isCursor) : undefined;
      const rows = await store.reports.timeline(orgId, q, q.limit + 1, after);
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      const body = {
        items: page.map((r) => ({
          id: r.id,
          source: r.source,
          type: r.type,
          subject: r.subject || null,
          version: r.version || null,
          time: new Date(r.time).toISOString(),
          status: r.status ?? 'pending',
          verdict: r.verdict,
          worst_metric: r.worst_metric,
        })),
        next_cursor:
          rows.length > q.limit && last ? encodeCursor({ time: last.time, source: last.source, id: last.id }) : null,
      };
      const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url').slice(0, 27)}"`;
      if (notModified(req, reply, etag)) return reply;
      return body;
    },
  );

  app.post<{ Params: { id: string }; Querystring: { source?: string } }>(
    '/v1/events/:id/impact/recompute',
    {
      onRequest: app.authenticate,
      config: {
        doc: {
          tag: 'impact',
          scope: 'admin',
          summary: 'Re-fetch the event’s windows from the providers and recompute its report',
          query: z.object({ source: z.string().optional() }),
          responses: { 202: { description: 'accepted; poll the report (its ETag changes when done)' } },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      const [event] = await store.events.byId(
        orgId,
        req.params.id,
        typeof req.query.source === 'string' ? req.query.source : undefined,
      );
      if (!event) throw notFound('event');
      const work = (async () => {
        await opts.refetch?.(orgId, event);
        await impact.refresh(orgId, event.source, event.id);
      })();
      impact.track(
        work.catch((err) => req.log.warn({ err: (err as Error).message, event: event.id }, 'recompute failed')),
      );
      return reply.code(202).send({ status: 'accepted', event: { id: event.id, source: event.source } });
    },
  );
}
