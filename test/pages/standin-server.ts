// A small real Fastify server for the console's browser tests: the real page routes plus
// stand-in JSON routes for /v1/impact and /v1/events/:id/impact that serve the report fixtures
// and check the bearer key the way the API does (401 problem+json otherwise).
import { eventTypeIs } from '../../domain/event.js';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { pageRoutes, sendReportHtml } from '../../api/routes/pages.js';
import { loadReport, loadTimeline } from './fixtures.js';
import { SAMPLE_OPENAPI } from './sample-openapi.js';

export interface StandIn {
  url: string;
  key: string;
  /** Every API request the server saw: its URL and whether it carried the right bearer key. */
  seen: { url: string; authorized: boolean }[];
  close(): Promise<void>;
}

const problem = (reply: FastifyReply, status: number, detail: string) =>
  reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `https://opstrails.dev/problems/${status}`,
      title: status === 401 ? 'Unauthorized' : 'Not found',
      status,
      detail,
    });

/** Start the stand-in on a free local port. */
export async function startStandIn(key = 'otk_test_4f9c2e8a1b7d4c3e9f0a'): Promise<StandIn> {
  const app = Fastify();
  const seen: StandIn['seen'] = [];
  const timeline = loadTimeline() as {
    id: string;
    subject: string;
    type: string;
    verdict: string | null;
    status: string;
    source: string;
    version: string | null;
    time: string;
  }[];

  const authorized = (req: FastifyRequest) => {
    const ok = req.headers.authorization === `Bearer ${key}`;
    seen.push({ url: req.url, authorized: ok });
    return ok;
  };

  await app.register(pageRoutes, { openapi: () => SAMPLE_OPENAPI });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/impact', async (req, reply) => {
    if (!authorized(req)) return problem(reply, 401, 'the API key is not valid or has been revoked');
    const q = req.query;
    const limit = Math.min(Number(q.limit ?? 100), 1000);
    const offset = q.cursor ? Number(Buffer.from(q.cursor, 'base64url').toString()) : 0;
    const matches = timeline.filter(
      (e) =>
        (!q.subject || e.subject === q.subject) &&
        (!q.type || eventTypeIs(e.type, q.type)) &&
        (!q.verdict || e.verdict === q.verdict),
    );
    const items = matches.slice(offset, offset + limit);
    const next = offset + limit < matches.length ? Buffer.from(String(offset + limit)).toString('base64url') : null;
    return { items, next_cursor: next };
  });

  app.get<{ Params: { id: string } }>('/v1/events/:id/impact', async (req, reply) => {
    if (!authorized(req)) return problem(reply, 401, 'the API key is not valid or has been revoked');
    const regression = loadReport('regression');
    const item = timeline.find((e) => e.id === req.params.id);
    if (!item) return problem(reply, 404, 'event not found');
    let fixture = regression;
    if (item.id !== regression.report.event.id) {
      // Other events get a report shaped like the fixture but naming themselves (pending ones stay pending).
      fixture = item.status === 'pending' ? loadReport('pending') : regression;
      fixture.report.event = {
        specversion: '1.0',
        id: item.id,
        source: item.source,
        type: item.type,
        subject: item.subject,
        time: fixture.report.event.time,
        ...(item.version ? { version: item.version } : {}),
      };
    }
    if (fixture.report.status === 'pending') reply.header('retry-after', '30');
    const accept = String(req.headers.accept ?? '');
    if (accept.includes('text/html')) return sendReportHtml(reply, fixture.report, fixture.charts);
    return fixture.report;
  });

  // The org of the key: this month's quota and one usage alert (the console shows it above the timeline).
  app.get('/v1/org', async (req, reply) => {
    if (!authorized(req)) return problem(reply, 401, 'the API key is not valid or has been revoked');
    const period = { period_start: '2026-11-01T00:00:00.000Z', period_end: '2026-12-01T00:00:00.000Z' };
    return {
      id: 'org_standin',
      name: 'stand-in',
      plan: 'free',
      retention_days: 7,
      created_at: '2026-10-01T00:00:00.000Z',
      quota: { events: 10000, used: 8123, ...period },
      alerts: [
        {
          type: 'usage_80',
          at: '2026-11-20T10:00:00.000Z',
          message:
            '8,000 of 10,000 events used this month (80%, free plan): past 10,000 new events are refused until 2026-12-01',
          period_start: period.period_start,
          delivery: 'none',
          attempts: 0,
          last_error: '',
        },
      ],
      notify_url: null,
    };
  });

  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, key, seen, close: () => app.close() };
}
