// Impact reports through the real pipeline: testdata connector → scheduler (on a
// clock the test drives) → ClickHouse (chDB) → engine → stored report → API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { impactReportSchema } from '../../api/report-schema.js';
import type { ImpactReport, MetricReport } from '../../domain/report.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';
import { readyReport } from '../support/reports.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
// The deployment under test.
const T = Date.UTC(2026, 10, 10, 14, 0);
const iso = (ms: number) => new Date(ms).toISOString();

let p: Pipeline;
let orgId: string;
const metricIds: Record<string, string> = {};
const call: Pipeline['call'] = (...args) => p.call(...args);
const advanceTo = (ms: number) => p.advanceTo(ms);

beforeAll(async () => {
  p = await pipeline(T + MIN);
  const connection = (
    await call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic', config: { seed: 11 } })
  ).json();
  const change = (relative: number) => [{ at: iso(T), relative }];
  const metrics = [
    {
      key: 'errors',
      name: 'Checkout errors',
      kind: 'count',
      unit: 'errors/min',
      direction: 'increase_is_bad',
      critical: true,
      query: { shape: 'count', base: 300, noise: 0.03, changes: change(0.6) },
    },
    {
      key: 'latency',
      name: 'Latency p95',
      kind: 'quantile',
      unit: 'ms',
      direction: 'increase_is_bad',
      query: { shape: 'quantile', base: 400, noise: 0.03, changes: change(-0.3) },
    },
    {
      key: 'cpu',
      name: 'CPU',
      kind: 'gauge',
      unit: '%',
      direction: 'increase_is_bad',
      query: { shape: 'gauge', base: 50, noise: 0.01 },
    },
    {
      key: 'sparse',
      name: 'Refunds',
      kind: 'count',
      direction: 'increase_is_bad',
      query: { shape: 'count', base: 20, missing_rate: 0.6 },
    },
    {
      key: 'staging',
      name: 'Staging only',
      kind: 'gauge',
      direction: 'either',
      applies_to: { subjects: ['staging'] },
      query: { shape: 'gauge' },
    },
  ];
  for (const { key: k, ...m } of metrics) {
    const res = await call('POST', '/v1/metrics', { connection_id: connection.id, ...m });
    expect(res.statusCode, res.body).toBe(201);
    metricIds[k] = res.json().id;
  }
  // Five earlier reports whose CPU placebos spread twice the noise model's variance: the
  // deployment's report pools them with its own (store.reports.placeboHistory).
  orgId = (await call('GET', '/v1/org')).json().id as string;
  for (let i = 1; i <= 5; i++)
    await p.store.reports.save(
      readyReport(orgId, 'ci', `earlier-${i}`, T - i * 24 * HOUR - 3 * HOUR, {
        placebos: { [metricIds.cpu]: { inflation: 2, df: 20 } },
      }),
    );
  const sent = await call(
    'POST',
    '/v1/events',
    [
      {
        specversion: '1.0',
        id: 'deploy-1',
        source: 'ci',
        type: 'deployment',
        subject: 'production',
        time: iso(T),
        version: 'v1.2.0',
      },
      {
        specversion: '1.0',
        id: 'flag-1',
        source: 'ci',
        type: 'feature-flag',
        subject: 'production',
        time: iso(T + 50 * MIN),
      },
    ],
    { 'content-type': 'application/cloudevents-batch+json' },
  );
  expect(sent.statusCode).toBe(202);
});

afterAll(async () => p?.close());

describe('GET /v1/events/{id}/impact', () => {
  it('is pending with what it awaits and a Retry-After until the after window has closed', async () => {
    await advanceTo(T + 2 * MIN);
    const res = await call('GET', '/v1/events/deploy-1/impact');
    expect(res.statusCode).toBe(200);
    const report: ImpactReport = res.json();
    expect(report.status).toBe('pending');
    expect(report.verdict).toBeNull();
    expect(report.awaiting!.join(' ')).toContain('after window closes');
    const retry = Number(res.headers['retry-after']);
    expect(retry).toBeGreaterThan(60 * 60 - 10 * 60); // the after window ends at T + 65 min
    expect(retry).toBeLessThan(70 * 60);
    expect(report.metrics.map((m) => m.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(impactReportSchema.parse(report)).toEqual(report);
  });

  it('is ready once the data is in, with a verdict per metric that matches what was injected', async () => {
    await advanceTo(T + 70 * MIN);
    await advanceTo(T + 90 * MIN);
    const res = await call('GET', '/v1/events/deploy-1/impact');
    const report: ImpactReport = res.json();
    expect(report.status).toBe('ready');
    expect(report.verdict).toBe('regression');
    expect(res.headers['retry-after']).toBeUndefined();
    const by = (k: string) => report.metrics.find((m) => m.metric_id === metricIds[k]) as MetricReport;
    expect(report.metrics.map((m) => m.metric_id)).not.toContain(metricIds.staging); // applies to staging only
    expect(by('errors').verdict).toBe('regression');
    expect(by('latency').verdict).toBe('improvement');
    expect(by('cpu').verdict).toBe('no_change');
    // The CPU metric's placebo inflation was pooled with its five earlier reports' (2 on 100 df).
    const pooled = by('cpu').baseline!.placebo!.pooled!;
    expect(pooled.events).toBe(5);
    expect(pooled.df).toBeGreaterThan(100);
    expect(pooled.inflation).toBeGreaterThan(1.5);
    // The report saved each metric's own estimate for the reports after it.
    const later = await p.store.reports.placeboHistory(orgId, [metricIds.errors], {
      time: T + 1,
      source: 'ci',
      id: 'none',
    });
    expect(later.get(metricIds.errors)).toMatchObject({ events: 1, df: by('errors').baseline!.placebo!.df });
    expect(by('sparse').verdict).toBe('insufficient_data');
    expect(by('sparse').reason).toBeTruthy();
    expect(report.explanation).toContain('Checkout errors');
  });

  it('carries every field of the contract', async () => {
    const report: ImpactReport = (await call('GET', '/v1/events/deploy-1/impact')).json();
    expect(report.event).toMatchObject({ id: 'deploy-1', source: 'ci', version: 'v1.2.0' });
    expect(Date.parse(report.computed_at!)).toBeGreaterThan(0);
    expect(report.windows.before).toEqual({ from: iso(T - 65 * MIN), to: iso(T - 5 * MIN) });
    expect(report.windows.after).toEqual({ from: iso(T + 5 * MIN), to: iso(T + 65 * MIN) });
    expect(report.windows.gap).toBe('PT5M');
    expect(report.windows.baseline.week.before.from).toBe(iso(T - 65 * MIN - 7 * 24 * HOUR));
    const errors = report.metrics.find((m) => m.metric_id === metricIds.errors)!;
    // No metric sets a threshold: each gets its kind's default (counts 10%, latency and gauges 5%).
    expect(errors).toMatchObject({
      name: 'Checkout errors',
      kind: 'count',
      unit: 'errors/min',
      direction: 'increase_is_bad',
      critical: true,
      status: 'ready',
      threshold: 0.1,
    });
    expect(report.metrics.map((m) => [m.metric_id, m.threshold])).toEqual([
      [metricIds.errors, 0.1],
      [metricIds.latency, 0.05],
      [metricIds.cpu, 0.05],
      [metricIds.sparse, 0.1],
    ]);
    expect(errors.before!.n).toBe(60);
    expect(errors.after!.n).toBe(60);
    expect(errors.after!.rate! / errors.before!.rate!).toBeGreaterThan(1.45);
    expect(errors.change!.relative).toBeGreaterThan(0.45);
    expect(errors.change!.ci![0]).toBeGreaterThan(0.05);
    expect(errors.change!.confidence).toBe(0.95);
    expect(errors.test!.method).toBe('reference_days_log_rate_t');
    expect(errors.test!.p_value).toBeLessThan(0.001);
    expect(errors.test!.q_value).toBeGreaterThanOrEqual(errors.test!.p_value!);
    // The scheduler fetched the same clock range on each of the 7 previous days (no other event on
    // them): the after window is compared with what they predict from today's pre-event level.
    const baseline = errors.baseline!;
    expect(baseline).toMatchObject({
      kind: 'reference_days',
      reference_days: 7,
      explains_change: false,
      weekday_adjusted: false,
    });
    expect(baseline.skipped_days).toBeUndefined();
    expect(baseline.days!.map((d) => [d.day, d.date])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((d) => [d, iso(T - d * 24 * HOUR).slice(0, 10)]),
    );
    // Equal weights over the days kept; each day's own change is the noise of an unchanged series.
    for (const d of baseline.days!) expect(d.weight).toBeCloseTo(1 / 7, 12);
    for (const d of baseline.days!) expect(Math.abs(d.change)).toBeLessThan(0.05);
    // reference_change is the raw before → after change, which the prediction does not explain away here.
    expect(baseline.reference_change).toBeCloseTo(errors.after!.rate! / errors.before!.rate! - 1, 10);
    // Placebo events: two earlier ones today and three on each reference day; their spread, wider
    // than the noise model's, set the interval.
    expect(baseline.calibration).toBe('placebo');
    expect(baseline.placebo!.placebos).toBe(2 + 3 * 7);
    expect(baseline.placebo!.se).toBeGreaterThan(baseline.placebo!.model_se);
    expect(baseline.placebo!.df).toBeGreaterThanOrEqual(2);
    // The counterfactual: the observed after rate against the one expected without the deployment;
    // observed / expected − 1 is the reported change, and the interval maps over likewise.
    const cf = errors.counterfactual!;
    expect(cf.observed).toBe(errors.after!.rate);
    expect(cf.relative).toBe(errors.change!.relative);
    expect(cf.expected).toBeCloseTo(cf.observed / (1 + cf.relative), 9);
    expect(cf.expected_ci![0]).toBeCloseTo(cf.observed / (1 + errors.change!.ci![1]), 9);
    expect(cf.expected_ci![1]).toBeCloseTo(cf.observed / (1 + errors.change!.ci![0]), 9);
    expect(cf.expected_ci![0]).toBeLessThan(cf.expected);
    expect(cf.expected_ci![1]).toBeGreaterThan(cf.expected);
    // Without the +60% the rate would have stayed near its base of 300 a minute.
    expect(Math.abs(cf.expected / 300 - 1)).toBeLessThan(0.05);
    expect(errors.explanation).toContain('expected from 7 reference days');
    expect(errors.data_quality).toMatchObject({
      expected: { before: 60, after: 60 },
      missing: { before: 0, after: 0 },
      late_data_pending: false,
    });
    // Today's buckets ahead of the before window that the engine read: the 4 hours of noise-model
    // history (T-6h..T-2h) and the 55 minutes between it and the before window, all fetched with the
    // before window as one pre-event stretch.
    expect(errors.data_quality!.history_buckets).toBe(240 + 55);
    // The feature flag 50 minutes after the deploy falls in the after window (covering a quarter of it).
    expect(errors.confounders).toEqual([
      expect.objectContaining({ id: 'flag-1', type: 'feature-flag', window: 'after' }),
    ]);
    expect(errors.explanation).toMatch(/rose|increase|\+/i);
    const latency = report.metrics.find((m) => m.metric_id === metricIds.latency)!;
    expect(latency.before!.median).toBeGreaterThan(latency.after!.median!);
    expect(latency.before!.p95).not.toBeNull();
    expect(latency.baseline!.kind).toBe('reference_days');
    expect(latency.counterfactual!.relative).toBe(latency.change!.relative);
    expect(latency.counterfactual!.expected).toBeCloseTo(
      latency.counterfactual!.observed / (1 + latency.counterfactual!.relative),
      9,
    );
    // Refunds miss 60% of their buckets: insufficient data before any baseline is tried, so no expected level.
    const sparse = report.metrics.find((m) => m.metric_id === metricIds.sparse)!;
    expect(sparse.reason).toMatch(/under 80% of buckets present/);
    expect(sparse.baseline!.kind).toBe('before_window');
    expect(sparse.counterfactual).toBeNull();
  });

  it('documents every field it answers with (the OpenAPI ImpactReport schema is the report)', async () => {
    const report = (await call('GET', '/v1/events/deploy-1/impact')).json();
    // zod drops keys it does not know: equal means no field is left out of the documentation.
    expect(impactReportSchema.parse(report)).toEqual(report);
  });

  it('answers ETag and 304 for If-None-Match, and the HTML page for people', async () => {
    const url = '/v1/events/deploy-1/impact';
    const first = await call('GET', url);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers.vary).toBe('Accept, Authorization');
    const again = await call('GET', url, undefined, { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers.etag).toBe(etag);
    // Weak comparison (RFC 9110 13.1.2): a W/ form of the tag, a list, or * also match.
    expect((await call('GET', url, undefined, { 'if-none-match': `W/${etag}` })).statusCode).toBe(304);
    expect((await call('GET', url, undefined, { 'if-none-match': `"other", ${etag}` })).statusCode).toBe(304);
    expect((await call('GET', url, undefined, { 'if-none-match': '*' })).statusCode).toBe(304);
    expect((await call('GET', url, undefined, { 'if-none-match': '"other"' })).statusCode).toBe(200);

    const html = await call('GET', url, undefined, { accept: 'text/html' });
    expect(html.headers['content-type']).toContain('text/html');
    expect(html.body).toContain('<svg');
    expect(html.body).toContain('Checkout errors');
    expect((html.body.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
    // The page and the JSON are two representations: two tags, and neither revalidates the other.
    const pageTag = html.headers.etag as string;
    expect(pageTag).toMatch(/^"[\w-]+-html"$/);
    expect(pageTag).not.toBe(etag);
    const pageAgain = await call('GET', url, undefined, { accept: 'text/html', 'if-none-match': pageTag });
    expect(pageAgain.statusCode).toBe(304);
    expect(pageAgain.headers.etag).toBe(pageTag);
    expect((await call('GET', url, undefined, { accept: 'text/html', 'if-none-match': etag })).statusCode).toBe(200);
    expect((await call('GET', url, undefined, { 'if-none-match': pageTag })).statusCode).toBe(200);
  });

  it('computes ad-hoc windows on stored data without changing the stored report', async () => {
    const stored = await call('GET', '/v1/events/deploy-1/impact');
    const res = await call('GET', '/v1/events/deploy-1/impact?before=50m&after=30m&gap=10m');
    expect(res.statusCode).toBe(200);
    const report: ImpactReport = res.json();
    expect(report.windows.after).toEqual({ from: iso(T + 10 * MIN), to: iso(T + 40 * MIN) });
    expect(report.windows.gap).toBe('PT10M');
    expect(report.metrics.find((m) => m.metric_id === metricIds.errors)!.after!.n).toBe(30);
    expect(res.headers.etag).not.toBe(stored.headers.etag);
    expect((await call('GET', '/v1/events/deploy-1/impact')).headers.etag).toBe(stored.headers.etag);
    // A computation on the same data answers the same tag: computed_at is not part of the version.
    p.clock.now += 1000;
    const again = await call('GET', '/v1/events/deploy-1/impact?before=50m&after=30m&gap=10m');
    p.clock.now -= 1000;
    expect(again.json().computed_at).not.toBe(res.json().computed_at);
    expect(again.headers.etag).toBe(res.headers.etag);
    const bad = await call('GET', '/v1/events/deploy-1/impact?before=soon');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('before');
  });

  it('fetches what ad-hoc windows lack through the scheduler: pending, then ready', async () => {
    const url = '/v1/events/deploy-1/impact?before=3h&after=1h&gap=5m';
    const first = await call('GET', url);
    expect(first.json().status).toBe('pending');
    expect(first.json().awaiting.join(' ')).toContain('fetching the requested windows');
    expect(Number(first.headers['retry-after'])).toBeGreaterThan(0);
    const jobs = (await call('GET', `/v1/jobs?metric=${metricIds.errors}&state=queued`)).json().items;
    expect(jobs.length).toBeGreaterThan(0);
    await advanceTo(p.clock.now + MIN);
    const ready = (await call('GET', url)).json() as ImpactReport;
    expect(ready.status).toBe('ready');
    expect(ready.metrics.find((m) => m.metric_id === metricIds.errors)!.before!.n).toBe(180);
  });

  it('recomputes on demand (admin): re-fetched and stored again', async () => {
    const before = (await call('GET', '/v1/events/deploy-1/impact')).json() as ImpactReport;
    p.clock.now = T + 3 * HOUR;
    const res = await call('POST', '/v1/events/deploy-1/impact/recompute');
    expect(res.statusCode).toBe(202);
    await p.impact.idle();
    const after = (await call('GET', '/v1/events/deploy-1/impact')).json() as ImpactReport;
    expect(Date.parse(after.computed_at!)).toBeGreaterThan(Date.parse(before.computed_at!));
    expect(after.verdict).toBe('regression');
    expect((await call('GET', '/v1/events/nope/impact')).statusCode).toBe(404);
  });
});

describe('GET /v1/impact', () => {
  it('lists one summary line per event with the worst metric, filters, and honours If-None-Match', async () => {
    const res = await call('GET', '/v1/impact');
    expect(res.statusCode).toBe(200);
    const { items } = res.json();
    expect(items.map((i: { id: string }) => i.id)).toEqual(['flag-1', 'deploy-1']);
    const deploy = items[1];
    expect(deploy).toMatchObject({
      id: 'deploy-1',
      type: 'deployment',
      subject: 'production',
      version: 'v1.2.0',
      time: iso(T),
      status: 'ready',
      verdict: 'regression',
    });
    expect(deploy.worst_metric).toMatchObject({
      metric_id: metricIds.errors,
      name: 'Checkout errors',
      verdict: 'regression',
    });
    expect((await call('GET', '/v1/impact?verdict=regression')).json().items.map((i: { id: string }) => i.id)).toEqual([
      'deploy-1',
    ]);
    expect((await call('GET', '/v1/impact?type=deployment')).json().items).toHaveLength(1);
    expect((await call('GET', '/v1/impact?subject=staging')).json().items).toHaveLength(0);
    const page = (await call('GET', '/v1/impact?limit=1')).json();
    expect(page.items).toHaveLength(1);
    const next = (await call('GET', `/v1/impact?limit=1&cursor=${page.next_cursor}`)).json();
    expect(next.items[0].id).toBe('deploy-1');
    const cached = await call('GET', '/v1/impact', undefined, { 'if-none-match': res.headers.etag as string });
    expect(cached.statusCode).toBe(304);
    expect((await call('GET', '/v1/impact', undefined, { 'if-none-match': `W/${res.headers.etag}` })).statusCode).toBe(
      304,
    );
    // Another page is another version.
    expect((await call('GET', '/v1/impact?limit=1')).headers.etag).not.toBe(res.headers.etag);
    expect((await call('GET', '/v1/impact?verdict=bad')).json().errors[0].field).toBe('verdict');
  });
});
