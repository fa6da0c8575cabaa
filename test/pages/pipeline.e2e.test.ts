// The console and reports in headless Chromium against the real service: data
// pulled by the scheduler from the testdata connector into chDB, reports computed
// by the engine, served by the real API and pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumOrSkip, launchBrowser, newPage, screenshot, type TestBrowser } from '../support/browser.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';

const RUN = chromiumOrSkip();
const MIN = 60_000;
const T = Date.UTC(2026, 10, 12, 9, 0);
const iso = (ms: number) => new Date(ms).toISOString();

describe.skipIf(!RUN)('console and reports on the real pipeline', () => {
  let p: Pipeline;
  let browser: TestBrowser;
  let base: string;

  beforeAll(async () => {
    p = await pipeline(T - 3 * 60 * MIN);
    const connection = (
      await p.call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic', config: { seed: 5 } })
    ).json();
    const change = [{ at: iso(T), relative: 0.5 }];
    for (const m of [
      {
        name: 'Checkout errors',
        kind: 'count',
        unit: 'errors/min',
        direction: 'increase_is_bad',
        critical: true,
        query: { shape: 'count', base: 300, noise: 0.03, changes: change },
      },
      {
        name: 'Error rate',
        kind: 'ratio',
        direction: 'increase_is_bad',
        query: { shape: 'ratio', base: 0.01, requests: 20000, noise: 0.03, changes: change },
      },
      {
        name: 'Latency p95',
        kind: 'quantile',
        unit: 'ms',
        direction: 'increase_is_bad',
        query: { shape: 'quantile', base: 300, noise: 0.03 },
      },
    ]) {
      expect((await p.call('POST', '/v1/metrics', { connection_id: connection.id, ...m })).statusCode).toBe(201);
    }
    const events = [
      {
        specversion: '1.0',
        id: 'deploy-early',
        source: 'ci',
        type: 'deployment',
        subject: 'production',
        time: iso(T - 120 * MIN),
        version: 'v1.0.0',
      },
      {
        specversion: '1.0',
        id: 'deploy-bad',
        source: 'ci',
        type: 'deployment',
        subject: 'production',
        time: iso(T),
        version: 'v1.1.0',
      },
      {
        specversion: '1.0',
        id: 'config-push',
        source: 'ci',
        type: 'config-change',
        subject: 'production',
        time: iso(T + 50 * MIN),
      },
    ];
    expect(
      (await p.call('POST', '/v1/events', events, { 'content-type': 'application/cloudevents-batch+json' })).statusCode,
    ).toBe(202);
    await p.advanceTo(T + 2 * 60 * MIN);
    base = await p.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await p?.close();
  });

  it('lists the events with verdict badges; a click opens a report whose every chart has its event marker; no console errors', async () => {
    const t = await newPage(browser, { collectConsoleErrors: true });
    const { page } = t;
    await page.goto(`${base}/`);
    await page.fill('#api-key', p.key);
    await page.click('#key-form button[type=submit]');
    await page.waitForSelector('#events-body tr');
    const ids = await page.locator('#events-body a.event-link').allTextContents();
    expect(ids).toEqual(['config-push', 'deploy-bad', 'deploy-early']);
    const badges = await page.locator('#events-body .badge').allTextContents();
    expect(badges[1]).toBe('regression');
    await screenshot(page, 'pipeline-console');

    await page.click('#events-body a.event-link:text-is("deploy-bad")');
    await page.waitForURL('**/reports/deploy-bad');
    await page.waitForSelector('#report-frame:not([hidden])');
    const frame = (await (await page.$('#report-frame'))!.contentFrame())!;
    await frame.waitForSelector('h1');
    expect(await frame.textContent('h1')).toContain('v1.1.0');
    const charts = frame.locator('section.metric svg[role=img]');
    expect(await charts.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      const svg = charts.nth(i);
      expect((await svg.boundingBox())!.width).toBeGreaterThan(300);
      expect((await svg.locator('.event-marker line').boundingBox())!.height).toBeGreaterThan(100);
      // The config push 50 minutes later is marked as a confounder on every chart.
      expect(await svg.locator('.confounder-marker').count()).toBe(1);
    }
    await screenshot(page, 'pipeline-report');
    expect(t.consoleErrors).toEqual([]);
    expect(t.requests.every((r) => !r.url.includes(p.key))).toBe(true);
  });
});
