// The page routes through app.inject: content types and the security headers of each page.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { pageRoutes, sendReportHtml } from '../../api/routes/pages.js';
import { loadReport } from './fixtures.js';
import { SAMPLE_OPENAPI } from './sample-openapi.js';

const app = Fastify();
const { report, charts } = loadReport('regression');

/** The sha256 CSP sources of every inline <script> and <style> body in a page. */
function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
  );
}

beforeAll(async () => {
  let reads = 0;
  await app.register(pageRoutes, {
    openapi: () => ({ ...SAMPLE_OPENAPI, info: { ...SAMPLE_OPENAPI.info, title: `Reads ${++reads}` } }),
  });
  app.get('/report', async (_req, reply) => sendReportHtml(reply, report, charts));
  await app.ready();
});
afterAll(() => app.close());

describe('pageRoutes', () => {
  it('serves the console at / and /reports/:id with a hash-only CSP that allows exactly its inline blocks', async () => {
    const root = await app.inject('/');
    const deep = await app.inject(`/reports/${encodeURIComponent('<script>alert(1)</script>')}`);
    for (const res of [root, deep]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    // The page holds no data: the same bytes whatever the id.
    expect(deep.body).toBe(root.body);
    expect(deep.body).not.toContain('alert(1)');
    const csp = String(root.headers['content-security-policy']);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    const scripts = inlineHashes(root.body, 'script');
    expect(scripts).toHaveLength(1);
    expect(csp).toContain(`script-src ${scripts[0]}`);
    for (const h of inlineHashes(root.body, 'style')) expect(csp).toContain(h);
    // The report shown in the console's frame inherits this policy: its style block must pass too.
    const reportHtml = (await app.inject('/report')).body;
    for (const h of inlineHashes(reportHtml, 'style')) expect(csp).toContain(h);
  });

  it('sendReportHtml answers HTML whose CSP forbids every script', async () => {
    const res = await app.inject('/report');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).toContain(`style-src ${inlineHashes(res.body, 'style')[0]}`);
    expect(res.body).toContain('Impact of deployment v1.8.0 on production');
  });

  it('serves /docs from the OpenAPI document as it is at request time', async () => {
    const first = await app.inject('/docs');
    const second = await app.inject('/docs');
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(first.body).toContain('<h1>Reads 1');
    expect(second.body).toContain('<h1>Reads 2');
    const csp = String(first.headers['content-security-policy']);
    expect(csp).toContain(`style-src ${inlineHashes(first.body, 'style')[0]}`);
    expect(csp).not.toContain('script-src');
  });
});
