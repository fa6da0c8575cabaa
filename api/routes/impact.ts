// Impact reports: one event's report (JSON for scripts and dashboards, HTML for
// people), the timeline of summaries, and recomputation. Reports are read as
// stored; ETag / If-None-Match keeps polling cheap; Retry-After while pending.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseDuration, type WindowOverrides } from '../../engine/windows.js';
import { AD_HOC_FETCHES_PER_MINUTE, AD_HOC_MAX_GAP_MS, AD_HOC_MAX_WINDOW_MS } from '../../scheduler/ad-hoc.js';
import type { ComputedReport, ImpactService } from '../../scheduler/impact.js';
import { RETENTION_DAYS } from '../../domain/plan.js';
import type { StoredEvent } from '../../store/events.js';
import type { Store } from '../../store/index.js';
import { requireOrg } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { etagOf, matchesIfNoneMatch, notModified } from '../etag.js';
import { pageSchema, schemaRef } from '../openapi.js';
import { cursor, decodeCursor, encodeCursor, idParams, instant, isTimeCursor } from '../params.js';
import { IMPACT_SUMMARY_SCHEMA } from '../report-schema.js';
import type { ZodTypeProvider } from '../validation.js';
import { renderReportPage } from '../pages/report.js';
import type { CachedReport, ReportCache } from '../report-cache.js';
import { sendReportPage } from './pages.js';

export interface ImpactRouteOptions {
  store: Store;
  impact: ImpactService;
  /** Answers of stored reports and timeline pages kept in-process (absent: every poll reads the store). */
  cache?: ReportCache;
  /** Re-fetch an event's windows from its providers before recomputing (POST .../recompute). */
  refetch?: (orgId: string, event: StoredEvent) => Promise<void>;
  /** Plan an event's missing, pending and failed pairs again (POST .../recompute repairs a stuck report). */
  replan?: (orgId: string, event: StoredEvent) => Promise<void>;
}

const DURATION = 'a duration: ISO 8601 (PT90M) or short form (90m, 2h)';
/** A cap in whole days, as the docs and errors say it: "7 days (P7D, 7d)". */
const daysText = (ms: number) => {
  const days = ms / 86_400_000;
  return `${days} day${days === 1 ? '' : 's'} (P${days}D, ${days}d)`;
};

/** An ad-hoc window length of at most `maxMs`: longer ones would have months fetched. */
function duration(maxMs: number) {
  const limit = daysText(maxMs);
  return z
    .string()
    .superRefine((s, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(s);
      } catch {
        // parseDuration throws on text it cannot read: that is exactly "not a duration" (a 400 naming the field).
        ctx.addIssue({ code: 'custom', message: DURATION });
        return;
      }
      if (ms > maxMs) ctx.addIssue({ code: 'custom', message: `at most ${limit}: longer ad-hoc windows are refused` });
    })
    .describe(`${DURATION}; at most ${limit}`)
    .optional();
}
const reportQuery = z.object({
  before: duration(AD_HOC_MAX_WINDOW_MS),
  after: duration(AD_HOC_MAX_WINDOW_MS),
  gap: duration(AD_HOC_MAX_GAP_MS),
  source: z.string().optional(),
});
const VERDICTS = ['regression', 'improvement', 'no_change', 'inconclusive'] as const;
const listQuery = z.object({
  subject: z.string().min(1).optional(),
  type: z.string().min(1).optional(),
  since: instant.optional(),
  until: instant.optional(),
  verdict: z.enum(VERDICTS).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor,
});
const sourceQuery = z.object({ source: z.string().optional() });

/** Whether the caller prefers HTML (a browser or the console) over JSON. */
function wantsHtml(req: FastifyRequest): boolean {
  const accept = String(req.headers.accept ?? '');
  const html = accept.indexOf('text/html');
  const json = accept.indexOf('application/json');
  return html >= 0 && (json < 0 || html < json);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** A report's answers: both ETags (the version ignores computed_at), its JSON and, when asked for, its page. */
function reportAnswers(computed: ComputedReport, withPage: boolean): CachedReport {
  const { report, charts } = computed;
  // The version ignores computed_at: recomputing unchanged data keeps callers' caches valid.
  // The page also draws the charts, so its version includes them.
  const version = { ...report, computed_at: null };
  const pending = report.status === 'pending' || report.status === 'partial';
  return {
    etag: etagOf(version),
    htmlEtag: etagOf({ report: version, charts }, 'html'),
    json: JSON.stringify(report),
    html: withPage ? renderReportPage(report, charts) : undefined,
    retryAfter: pending && computed.retryAfterSeconds > 0 ? computed.retryAfterSeconds : undefined,
  };
}

/** Answer with a report's answers (304 when the caller holds this version); false when the page is wanted but was not rendered. */
function sendReport(req: FastifyRequest, reply: FastifyReply, r: CachedReport, html: boolean): boolean {
  const etag = html ? r.htmlEtag : r.etag;
  if (html && r.html === undefined && !matchesIfNoneMatch(req.headers['if-none-match'], etag)) return false;
  if (r.retryAfter !== undefined) reply.header('retry-after', String(r.retryAfter));
  if (notModified(req, reply, etag)) return true;
  void (html ? sendReportPage(reply, r.html!) : reply.type(JSON_TYPE).send(r.json));
  return true;
}

/** The timeline query as a cache key: parsed values, so equal queries spelled differently share it. */
const pageKey = (q: z.infer<typeof listQuery>) =>
  JSON.stringify([q.subject, q.type, q.since, q.until, q.verdict, q.limit, q.cursor]);

export async function impactRoutes(fastify: FastifyInstance, opts: ImpactRouteOptions) {
  const { store, impact, cache } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const unchanged = { description: 'unchanged since If-None-Match (weak comparison; * matches)' };

  app.get(
    '/v1/events/:id/impact',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, querystring: reportQuery },
      config: {
        doc: {
          tag: 'impact',
          scope: 'read',
          summary: 'The impact report of an event (JSON; HTML with Accept: text/html)',
          description:
            'Read as stored. With before/after/gap the report is computed on stored data for those windows ' +
            '(pending until their data is in). Ad-hoc windows: before and after at most ' +
            `${daysText(AD_HOC_MAX_WINDOW_MS)} each, gap at most ${daysText(AD_HOC_MAX_GAP_MS)}, ` +
            'and the before window must start within the org’s retention (by default ' +
            `${Object.entries(RETENTION_DAYS)
              .map(([plan, days]) => `${plan} ${days}`)
              .join(', ')} days; ` +
            'older data is deleted), else 400 naming the parameter. What they lack is fetched, ' +
            'within the retention, for at most ' +
            `${AD_HOC_FETCHES_PER_MINUTE} distinct window sets per org per minute (asking again for the same ` +
            'ones is free); beyond that the report is computed from stored data only and its explanation ' +
            'says so. ETag and If-None-Match (304): the JSON and the page of one ' +
            'report carry different tags; computed_at is not part of the version. Retry-After while pending.',
          responses: {
            200: {
              description: 'the report',
              schema: schemaRef('ImpactReport'),
              otherTypes: { 'text/html': { type: 'string', description: 'the report page (no scripts)' } },
              headers: {
                ETag: 'version of the report in this representation',
                'Retry-After': 'seconds, while pending',
              },
            },
            304: unchanged,
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'read');
      const q = req.query;
      const html = wantsHtml(req);
      const adHoc: WindowOverrides | undefined =
        q.before || q.after || q.gap ? { before: q.before, after: q.after, gap: q.gap } : undefined;
      // Ad-hoc windows are computed per request (and may be fetching): never cached.
      const hit =
        adHoc || !cache
          ? undefined
          : cache.report(orgId, req.params.id, q.source, await store.retention.horizon(orgId));
      if (hit && sendReport(req, reply, hit, html)) return reply;

      const generation = cache?.generation(orgId) ?? 0;
      const [event] = await store.events.byId(orgId, req.params.id, q.source);
      if (!event) throw notFound('event');
      // Before anything is computed or fetched: windows reaching past the retention ask for deleted data.
      const refused = adHoc && (await impact.adHocProblem(orgId, event, adHoc));
      if (refused)
        throw badRequest(`${refused.field}: ${refused.message}`, [{ pointer: `/${refused.field}`, ...refused }]);
      let computed: ComputedReport | undefined = adHoc
        ? await impact.compute(orgId, event, adHoc)
        : await impact.stored(orgId, event);
      // Only a stored report is kept: one computed here (none stored yet, or ad-hoc windows)
      // depends on the time of the request (its Retry-After, what is awaited).
      const storedReport = computed !== undefined && !adHoc;
      // Not computed yet (just received): say what is awaited, without storing.
      computed ??= await impact.compute(orgId, event);
      const answers = reportAnswers(computed, html);
      if (storedReport) cache?.keepReport(orgId, req.params.id, q.source, answers, event.time, generation);
      sendReport(req, reply, answers, html);
      return reply;
    },
  );

  app.get(
    '/v1/impact',
    {
      onRequest: app.authenticate,
      schema: { querystring: listQuery },
      config: {
        doc: {
          tag: 'impact',
          scope: 'read',
          summary: 'The impact timeline: one summary line per event, newest first',
          description: 'ETag and If-None-Match (304) over the page as answered.',
          responses: {
            200: {
              description: 'one page',
              schema: pageSchema(IMPACT_SUMMARY_SCHEMA),
              headers: { ETag: 'version of this page' },
            },
            304: unchanged,
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'read');
      const q = req.query;
      const key = pageKey(q);
      const hit = cache?.page(orgId, key);
      if (hit) {
        if (notModified(req, reply, hit.etag)) return reply;
        return reply.type(JSON_TYPE).send(hit.json);
      }
      const generation = cache?.generation(orgId) ?? 0;
      const after = q.cursor ? decodeCursor(q.cursor, isTimeCursor) : undefined;
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
      // The page holds no computed_at: what it shows is its version.
      const answer = { etag: etagOf(body), json: JSON.stringify(body) };
      cache?.keepPage(orgId, key, answer, generation);
      if (notModified(req, reply, answer.etag)) return reply;
      return reply.type(JSON_TYPE).send(answer.json);
    },
  );

  app.post(
    '/v1/events/:id/impact/recompute',
    {
      onRequest: app.authenticate,
      schema: { params: idParams, querystring: sourceQuery },
      config: {
        doc: {
          tag: 'impact',
          scope: 'admin',
          summary: 'Re-fetch the event’s windows from the providers and recompute its report',
          responses: {
            202: {
              description: 'accepted; poll the report (its ETag changes when the result does)',
              schema: {
                type: 'object',
                properties: {
                  status: { const: 'accepted' },
                  event: { type: 'object', properties: { id: { type: 'string' }, source: { type: 'string' } } },
                },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const orgId = requireOrg(req, 'admin');
      const [event] = await store.events.byId(orgId, req.params.id, req.query.source);
      if (!event) throw notFound('event');
      const work = (async () => {
        await opts.replan?.(orgId, event);
        await opts.refetch?.(orgId, event);
        await impact.refresh(orgId, event.source, event.id);
      })();
      // Nobody awaits the work: a failure is logged here and the stored report stays as it was.
      const logFailure = (err: unknown) =>
        req.log.warn(
          { err: (err as Error).message, event: { id: event.id, source: event.source } },
          'recompute failed',
        );
      impact.track(work.catch(logFailure));
      return reply.code(202).send({ status: 'accepted', event: { id: event.id, source: event.source } });
    },
  );
}
