// Ad-hoc windows (GET /v1/events/{id}/impact?before=&after=&gap=) are capped and budgeted: a
// read key must not be able to have months of data fetched. Through the real pipeline: testdata
// connector → scheduler (clock driven by the test, jobs planned but never run) → chDB → API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImpactReport } from '../../domain/report.js';
import { AD_HOC_FETCHES_PER_MINUTE } from '../../scheduler/ad-hoc.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T = Date.UTC(2026, 10, 10, 14, 0);
const iso = (ms: number) => new Date(ms).toISOString();

let p: Pipeline;
let orgId: string;

/** Every fetch job in the store, whatever its state. */
async function jobCount(): Promise<number> {
  return (await p.store.jobs.list(orgId)).length;
}

beforeAll(async () => {
  p = await pipeline(T + 2 * HOUR);
  orgId = (await p.store.orgs.list()).find((o) => o.name === 'pipeline')!.id;
  const connection = (
    await p.call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic', config: { seed: 3 } })
  ).json();
  const metric = await p.call('POST', '/v1/metrics', {
    connection_id: connection.id,
    name: 'Errors',
    kind: 'count',
    direction: 'increase_is_bad',
    query: { shape: 'count', base: 100, noise: 0.03 },
  });
  expect(metric.statusCode, metric.body).toBe(201);
  const event = (id: string, time: number) => ({
    specversion: '1.0',
    id,
    source: 'ci',
    type: 'deployment',
    subject: 'production',
    time: iso(time),
  });
  const sent = await p.call('POST', '/v1/events', [event('deploy-1', T), event('deploy-old', T - 20 * DAY)], {
    'content-type': 'application/cloudevents-batch+json',
  });
  expect(sent.statusCode).toBe(202);
});

afterAll(async () => p?.close());

const impact = (id: string, query: string) => p.call('GET', `/v1/events/${id}/impact?${query}`);

describe('ad-hoc windows and retention', () => {
  it('refuses a window reaching past a free org’s 7 days, and clips what it fetches to them', async () => {
    await p.store.orgs.update(orgId, { plan: 'free' });
    try {
      const jobs = await jobCount();
      // Retention starts 7 days before now (T + 2 h); a 7-day before window ending at T − 5 min starts past it.
      const refused = await impact('deploy-1', 'before=7d');
      expect(refused.statusCode).toBe(400);
      const body = refused.json();
      expect(body.detail).toContain('before');
      expect(body.errors[0].field).toBe('before');
      expect(body.errors[0].message).toMatch(/past the 7-day retention of the free plan/);
      expect(body.errors[0].message).toMatch(/older than .* is deleted/);
      // An event 20 days old: whichever parameter was given is named.
      const gapOnly = await impact('deploy-old', 'gap=1h');
      expect(gapOnly.statusCode).toBe(400);
      expect(gapOnly.json().errors[0].field).toBe('gap');
      const afterOnly = await impact('deploy-old', 'after=1h');
      expect(afterOnly.json().errors[0].field).toBe('after');
      expect(await jobCount()).toBe(jobs);

      // Within retention: accepted; its history and reference days reach 7 more days back, which
      // are not refused but not fetched either (their points would be deleted on arrival).
      const before = new Set((await p.store.jobs.list(orgId)).map((j) => j.id));
      const ok = await impact('deploy-1', 'before=5d&after=1h');
      expect(ok.statusCode, ok.body).toBe(200);
      const created = (await p.store.jobs.list(orgId)).filter((j) => !before.has(j.id));
      expect(created.length).toBeGreaterThan(0);
      // Nothing planned before this: every job is this request's, and none reaches past retention.
      expect(before.size).toBe(0);
      expect(Math.min(...created.map((j) => j.from))).toBe(p.clock.now - 7 * DAY);
    } finally {
      await p.store.orgs.update(orgId, { plan: 'pro' });
    }
  });
});

describe('ad-hoc window caps', () => {
  it('refuses before=3650d with a 400 naming before, and plans no fetch', async () => {
    const jobs = await jobCount();
    const res = await impact('deploy-1', 'before=3650d');
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ field: 'before', message: expect.stringContaining('at most 7 days') });
    expect(await jobCount()).toBe(jobs);
  });

  it('caps each side at 7 days and the gap at 1 day', async () => {
    const jobs = await jobCount();
    for (const [query, field] of [
      ['before=8d', 'before'],
      ['before=P8D', 'before'],
      ['before=7d1m', 'before'],
      ['after=8d', 'after'],
      ['gap=25h', 'gap'],
    ]) {
      const res = await impact('deploy-1', query);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
    expect(await jobCount()).toBe(jobs);
  });

  it('accepts 7 days a side and fetches them through the scheduler', async () => {
    const jobs = await jobCount();
    const res = await impact('deploy-1', 'before=7d&after=1h&gap=5m');
    expect(res.statusCode, res.body).toBe(200);
    const report: ImpactReport = res.json();
    expect(report.windows.before).toEqual({ from: iso(T - 5 * MIN - 7 * DAY), to: iso(T - 5 * MIN) });
    expect(report.status).toBe('pending');
    expect(report.awaiting!.join(' ')).toContain('fetching the requested windows');
    expect(await jobCount()).toBeGreaterThan(jobs);
    // A day's gap is the most: the after window then closes tomorrow (pending, nothing fetched yet).
    const gap = await impact('deploy-1', 'gap=1d');
    expect(gap.statusCode).toBe(200);
    expect((gap.json() as ImpactReport).windows.gap).toBe('PT24H');
  });
});

describe('ad-hoc fetch budget', () => {
  it('fetches at most the budget of distinct window sets a minute per org, then uses stored data only', async () => {
    // A fresh minute: the grants of the tests above have expired.
    p.clock.now += 2 * MIN;
    for (let i = 0; i < AD_HOC_FETCHES_PER_MINUTE; i++) {
      const res = await impact('deploy-1', `before=${10 + i}m&after=10m`);
      expect(res.statusCode).toBe(200);
      expect((res.json() as ImpactReport).explanation).not.toContain('stored data only');
    }
    // Asking again for windows already granted this minute (polling a pending report) is free.
    const poll = (await impact('deploy-1', 'before=10m&after=10m')).json() as ImpactReport;
    expect(poll.awaiting?.join(' ')).toContain('fetching the requested windows');

    // Spent: an event whose windows nothing covers yet gets no job, and the report says why.
    const jobs = await jobCount();
    const spent = await impact('deploy-old', 'before=1h&after=1h');
    expect(spent.statusCode).toBe(200);
    const report: ImpactReport = spent.json();
    expect(report.explanation).toContain('Computed from stored data only');
    expect(report.explanation).toContain(`${AD_HOC_FETCHES_PER_MINUTE} ad-hoc window sets`);
    expect(report.awaiting).toBeUndefined();
    expect(report.status).not.toBe('pending');
    expect(await jobCount()).toBe(jobs);

    // A minute later the budget is back: the same request plans its fetch.
    p.clock.now += MIN + 1000;
    const later = (await impact('deploy-old', 'before=1h&after=1h')).json() as ImpactReport;
    expect(later.explanation).not.toContain('stored data only');
    expect(later.status).toBe('pending');
    expect(await jobCount()).toBeGreaterThan(jobs);
  });
});
