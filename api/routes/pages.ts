// Pages for people: the console at / and /reports/{id} (static, holds no data: the browser asks
// the API with the user's key), the API reference at /docs, and the helper that answers an
// impact report as HTML. Each page carries a CSP that allows only its own inline blocks.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CONSOLE_CSP, renderConsolePage } from '../pages/console.js';
import { DOCS_STYLE_HASH, renderApiReference } from '../pages/docs.js';
import { REPORT_STYLE_HASH, renderReportPage } from '../pages/report.js';
import type { ImpactReport, ReportCharts } from '../../domain/report.js';
import type { RouteDoc } from '../openapi.js';

/** A report page runs no script and loads nothing: only its own style block. */
export const REPORT_CSP = [
  "default-src 'none'",
  `style-src ${REPORT_STYLE_HASH}`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const DOCS_CSP = [
  "default-src 'none'",
  `style-src ${DOCS_STYLE_HASH}`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function htmlHeaders(reply: FastifyReply, csp: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', csp)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer');
}

/** Answer an impact report as its HTML page (text/html; charset=utf-8, a CSP that forbids scripts). */
export function sendReportHtml(reply: FastifyReply, report: ImpactReport, charts: ReportCharts): FastifyReply {
  return sendReportPage(reply, renderReportPage(report, charts));
}

/** Answer a report page already rendered (renderReportPage), e.g. one kept by the polling cache. */
export function sendReportPage(reply: FastifyReply, page: string): FastifyReply {
  return htmlHeaders(reply, REPORT_CSP).send(page);
}

export interface PageRoutesOptions {
  /** The OpenAPI document the /docs page renders (read on each request, so it follows the routes). */
  openapi: () => object;
}

/** GET /, GET /reports/:id (the console) and GET /docs (the API reference). No auth: the pages hold no data. */
export async function pageRoutes(app: FastifyInstance, opts: PageRoutesOptions) {
  const consoleHtml = renderConsolePage();
  const sendConsole = async (_req: unknown, reply: FastifyReply) =>
    htmlHeaders(reply, CONSOLE_CSP).header('cache-control', 'no-cache').send(consoleHtml);
  const page = (summary: string): { doc: RouteDoc } => ({
    doc: {
      tag: 'pages',
      scope: null,
      summary,
      responses: { 200: { description: 'an HTML page', type: 'text/html', schema: { type: 'string' } } },
    },
  });
  app.get(
    '/',
    { config: page('The console: the event timeline and reports (asks the API with your key)') },
    sendConsole,
  );
  app.get('/reports/:id', { config: page('The console opened on one event’s report') }, sendConsole);
  app.get('/docs', { config: page('This API reference, as a page') }, async (_req, reply) =>
    htmlHeaders(reply, DOCS_CSP).header('cache-control', 'no-cache').send(renderApiReference(opts.openapi())),
  );
}
