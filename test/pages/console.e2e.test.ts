// The console and the report page in a real headless Chromium against a real local server
// (the page routes plus stand-in impact routes serving the engine-generated fixtures).
// Without chromium these tests are skipped locally and fail under CI=true.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame, Page } from 'playwright-core';
import {
  chromiumOrSkip,
  launchBrowser,
  newPage,
  screenshot,
  type TestBrowser,
  type TestPage,
} from '../support/browser.js';
import { startStandIn, type StandIn } from './standin-server.js';
import { loadReport, loadTimeline } from './fixtures.js';

const RUN = chromiumOrSkip();
const REPORT_ID = 'deploy-2026-11-26-checkout-v1.8.0';
const XSS_ID = '<script>alert(1)</script>';

/** Failed-resource lines Chromium logs for 4xx answers the test provokes on purpose. */
const timeline = loadTimeline() as { subject: string; verdict: string | null }[];
const STAGING = timeline.filter((e) => e.subject === 'staging').length;
const REGRESSIONS = timeline.filter((e) => e.verdict === 'regression').length;

const isStatusLine = (line: string) =>
  /Failed to load resource: the server responded with a status of (401|404)/.test(line);

describe.skipIf(!RUN)('console in headless Chromium', () => {
  let server: StandIn;
  let browser: TestBrowser;
  const pages: TestPage[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    server = await startStandIn();
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string): Promise<TestPage> {
    const t = await newPage(browser, { collectConsoleErrors: true });
    t.page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    pages.push(t);
    await t.page.goto(server.url + path);
    return t;
  }

  async function signIn(page: Page, key = server.key) {
    await page.fill('#api-key', key);
    await page.click('#key-form button[type=submit]');
  }

  const rowCount = (page: Page) => page.locator('#events-body tr').count();

  async function reportFrame(page: Page): Promise<Frame> {
    await page.waitForSelector('#report-frame:not([hidden])');
    const handle = await page.$('#report-frame');
    const frame = await handle!.contentFrame();
    await frame!.waitForSelector('h1');
    return frame!;
  }

  it('asks for a key first, serves the console with security headers, and calls no API before', async () => {
    const res = await fetch(server.url + '/');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');

    const t = await open('/');
    await t.page.waitForSelector('#key-view:not([hidden])');
    expect(await t.page.getAttribute('#api-key', 'type')).toBe('password');
    expect(await t.page.isVisible('#timeline-view')).toBe(false);
    expect(t.requests.filter((r) => r.url.includes('/v1/'))).toEqual([]);
    await screenshot(t.page, 'console-key');
    expect(t.consoleErrors).toEqual([]);
  });

  it('lists events with verdict badges, filters them, loads more, and opens a report on click', async () => {
    const t = await open('/');
    const { page } = t;
    await signIn(page);
    await page.waitForSelector('#events-body tr');
    expect(await rowCount(page)).toBe(20);
    // The org's usage alert of this month is shown above the timeline, as text.
    await page.waitForSelector('#usage:not([hidden])');
    expect(await page.textContent('#usage')).toContain('Usage alert: 8,000 of 10,000 events used this month (80%');
    // Badges carry words, not only colour.
    const badges = await page.locator('#events-body .badge').allTextContents();
    expect(badges).toHaveLength(20);
    expect(new Set(badges)).toEqual(new Set(['regression', 'no change', 'improvement', 'inconclusive', 'pending']));
    // The hostile id is shown as text and never runs.
    expect(await page.locator('#events-body a.event-link', { hasText: XSS_ID }).count()).toBe(1);
    await screenshot(page, 'console-timeline');

    await page.click('#load-more');
    await page.waitForFunction((n) => document.querySelectorAll('#events-body tr').length === n, timeline.length);
    expect(await page.isVisible('#load-more')).toBe(false);

    await page.fill('#filters input[name=subject]', 'staging');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction((n) => document.querySelectorAll('#events-body tr').length === n, STAGING);
    const subjects = await page.locator('#events-body tr td:nth-child(3)').allTextContents();
    expect(new Set(subjects)).toEqual(new Set(['staging']));

    await page.fill('#filters input[name=subject]', '');
    await page.selectOption('#filters select[name=verdict]', 'regression');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#events-body .badge')].every((b) => b.textContent === 'regression') &&
        document.querySelectorAll('#events-body tr').length > 0,
    );
    expect(await rowCount(page)).toBe(REGRESSIONS);
    expect(server.seen.some((s) => s.url.includes('verdict=regression'))).toBe(true);

    await page.click('#filters button[type=reset]');
    await page.waitForFunction(() => document.querySelectorAll('#events-body tr').length === 20);

    await page.click(`#events-body a.event-link:text-is("${REPORT_ID}")`);
    await page.waitForURL(`**/reports/${REPORT_ID}`);
    const frame = await reportFrame(page);
    expect(await frame.textContent('h1')).toBe('Impact of deployment v1.8.0 on production');
    await checkCharts(frame);
    await screenshot(page, 'console-report');

    // Back to the timeline through history.
    await page.goBack();
    await page.waitForSelector('#timeline-view:not([hidden])');
    expect(new URL(page.url()).pathname).toBe('/');

    expect(t.consoleErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  /** Every metric's chart is drawn at a real size with its event marker; the table lists every metric. */
  async function checkCharts(frame: Frame) {
    const { report } = loadReport('regression');
    const charts = frame.locator('section.metric svg[role=img]');
    expect(await charts.count()).toBe(report.metrics.length);
    for (let i = 0; i < report.metrics.length; i++) {
      const svg = charts.nth(i);
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(300);
      expect(box!.height).toBeGreaterThan(100);
      const marker = await svg.locator('.event-marker line').boundingBox();
      expect(marker!.height).toBeGreaterThan(100);
      // The accessible name comes from the chart's <title>.
      const labelledBy = (await svg.getAttribute('aria-labelledby'))!.split(' ');
      expect(await frame.textContent(`[id="${labelledBy[0]}"]`)).toContain(report.metrics[i].name);
      expect(await svg.locator('.confounder-marker').count()).toBe(report.metrics[i].confounders.length);
    }
    expect(await frame.locator('tbody th[scope=row]').count()).toBe(report.metrics.length);
  }

  it('opens /reports/{id} directly: asks for a key first, then shows the report; a reload keeps the key in the tab', async () => {
    const t = await open(`/reports/${REPORT_ID}`);
    const { page } = t;
    await page.waitForSelector('#key-view:not([hidden])');
    expect(t.requests.filter((r) => r.url.includes('/v1/'))).toEqual([]);
    await signIn(page);
    const frame = await reportFrame(page);
    await checkCharts(frame);
    expect(await page.textContent('#report-title')).toBe(`Impact report: ${REPORT_ID}`);

    await page.reload();
    await reportFrame(page);
    expect(await page.isVisible('#key-view')).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('opstrails.api_key'))).toBe(server.key);

    // The key never travels in a URL, and every API call carried it in the header.
    const api = t.requests.filter((r) => r.url.includes('/v1/'));
    expect(api.length).toBeGreaterThanOrEqual(2);
    for (const r of t.requests) expect(r.url).not.toContain(server.key);
    for (const r of api) expect(r.headers.authorization).toBe(`Bearer ${server.key}`);
    expect(t.consoleErrors).toEqual([]);

    await page.click('#forget-key');
    await page.waitForSelector('#key-view:not([hidden])');
    expect(await page.evaluate(() => sessionStorage.getItem('opstrails.api_key'))).toBeNull();
  });

  it('shows a report for a hostile event id as text (no script runs) and a pending report with what it awaits', async () => {
    const t = await open(`/reports/${encodeURIComponent(XSS_ID)}`);
    await signIn(t.page);
    const frame = await reportFrame(t.page);
    expect(await frame.textContent('dl.facts code >> nth=2')).toBe(XSS_ID);
    expect(await frame.textContent('#status-h')).toBe('Status: pending');
    expect(await frame.locator('.headline .badge').textContent()).toBe('pending');
    expect(await frame.locator('script').count()).toBe(0);
    expect(await t.page.textContent('#report-status')).toContain('pending');
    await screenshot(t.page, 'console-report-pending');
    expect(dialogs).toEqual([]);
    expect(t.consoleErrors).toEqual([]);
  });

  it('explains 404, 401 and network failures in words', async () => {
    const t = await open('/reports/no-such-event');
    await signIn(t.page);
    await t.page.waitForSelector('#message:not([hidden])');
    expect(await t.page.textContent('#message')).toBe(
      'Not found: the impact report of event "no-such-event" (404: event not found).',
    );

    const wrong = await open('/');
    await signIn(wrong.page, 'otk_wrong_key_000000000000');
    await wrong.page.waitForSelector('#message:not([hidden])');
    expect(await wrong.page.isVisible('#key-view')).toBe(true);
    expect(await wrong.page.textContent('#message')).toContain(
      'The API key was not accepted (401: the API key is not valid or has been revoked)',
    );
    expect(await wrong.page.evaluate(() => sessionStorage.getItem('opstrails.api_key'))).toBeNull();

    const offline = await open('/');
    await offline.page.route('**/v1/**', (route) => route.abort('connectionrefused'));
    await signIn(offline.page);
    await offline.page.waitForSelector('#message:not([hidden])');
    expect(await offline.page.textContent('#message')).toMatch(
      /^Could not reach the server \(.+\)\. Check the connection and try again\.$/,
    );
    await screenshot(offline.page, 'console-network-error');

    // Only the provoked 4xx resource lines reach the console: no script errors.
    for (const p of [t, wrong]) expect(p.consoleErrors.filter((l) => !isStatusLine(l))).toEqual([]);
    expect(t.consoleErrors.length + wrong.consoleErrors.length).toBeGreaterThan(0);
  });

  it('prints the report with one metric per page', async () => {
    const t = await open(`/reports/${REPORT_ID}`);
    await signIn(t.page);
    await reportFrame(t.page);
    // Render the report document itself (as a browser opening it offline would) and print it.
    const html = await t.page.evaluate(() => (document.getElementById('report-frame') as HTMLIFrameElement).srcdoc);
    const printed = await newPage(browser);
    pages.push(printed);
    await printed.page.setContent(html);
    await printed.page.emulateMedia({ media: 'print' });
    const bodyBg = await printed.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bodyBg).toBe('rgba(0, 0, 0, 0)');
    const breaks = await printed.page.$$eval('section.metric', (els) =>
      els.map((e) => getComputedStyle(e).breakBefore),
    );
    expect(breaks.every((b) => b === 'page')).toBe(true);
    const pdf = await printed.page.pdf({ format: 'A4', printBackground: true });
    const pageCount = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    expect(pageCount).toBeGreaterThanOrEqual(1 + loadReport('regression').report.metrics.length);
    await screenshot(printed.page, 'report-print');
    expect(printed.consoleErrors).toEqual([]);
  });

  it('serves the API reference at /docs', async () => {
    const t = await open('/docs');
    expect(await t.page.textContent('h1')).toContain('OpsTrails Impact');
    expect(await t.page.locator('nav.index a[href^="#op-"]').count()).toBe(4);
    expect(await t.page.locator('section.op').count()).toBe(4);
    await screenshot(t.page, 'docs');
    expect(t.consoleErrors).toEqual([]);
  });
});
