// GET /v1/jobs and GET /metrics through the real app (auth, problem+json, cursors)
// over a scheduler that ran one event's fetches against a replayed Datadog.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryRoutes } from '../../api/routes/telemetry.js';
import { testApp, type TestApp, bearer } from '../support/app.js';
import { deployment, harness, type Harness } from './support.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T = Date.parse('2026-11-02T12:00:00Z');
/**
 * One deployment at T, planned at T+1m: done are its pre-event stretch (T-6h..T-5m: the before
 * window and the noise-model history ahead of it) and the same clock range T-6h..T+65m on each of
 * the 7 previous days (the reference days); queued are the stretch's late-data pass, the after
 * window and its late-data pass.
 */
const SUCCEEDED = 8;
const QUEUED = 3;
const JOBS = SUCCEEDED + QUEUED;

let t: TestApp;
let h: Harness;
let key: string;
let otherKey: string;

beforeAll(async () => {
  t = await testApp();
  const org = await t.store.orgs.create('acme', 'pro');
  const other = await t.store.orgs.create('other', 'pro');
  key = (await t.store.keys.create(org.id, 'reader', ['read'])).key;
  otherKey = (await t.store.keys.create(other.id, 'reader', ['read'])).key;
  h = await harness({ start: T + MIN, store: t.store, orgId: org.id });
  await t.app.register(telemetryRoutes, { registry: h.registry });
  h.scheduler.onEventsStored(h.orgId, [deployment('d1', T)]);
  await h.scheduler.runDue();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

const get = (url: string, k = key) => t.app.inject({ method: 'GET', url, headers: bearer(k) });

describe('GET /v1/jobs', () => {
  it("lists the org's jobs with their windows, states and attempts", async () => {
    const res = await get('/v1/jobs');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.items).toHaveLength(JOBS);
    expect(body.next_cursor).toBeNull();
    // The before window's job also covers the engine's noise-model history: the 4 hours up to the
    // last full hour before the window (06:00–10:00 for a 10:55 window), and the 55 minutes between.
    const before = body.items.find((j: any) => j.window.from === new Date(T - 360 * MIN).toISOString());
    expect(before).toMatchObject({
      kind: 'window',
      state: 'succeeded',
      metric_id: h.metric.id,
      connection_id: h.connectionId,
      series: 'subject=production',
      window: { to: new Date(T - 5 * MIN).toISOString() },
      attempts: 1,
      points: 355,
      requests: 1,
      last_error: null,
    });
    // Each reference day in one job of its own (they lie 16h55m apart).
    const references = body.items.filter((j: any) => Date.parse(j.window.to) <= T - 360 * MIN);
    expect(references.map((j: any) => [j.window.from, j.window.to, j.state, j.points]).sort()).toEqual(
      [1, 2, 3, 4, 5, 6, 7]
        .map((d) => [
          new Date(T - 360 * MIN - d * DAY).toISOString(),
          new Date(T + 65 * MIN - d * DAY).toISOString(),
          'succeeded',
          425,
        ])
        .sort(),
    );
  });

  it('filters by state, connection, metric and event', async () => {
    expect((await get('/v1/jobs?state=succeeded')).json().items).toHaveLength(SUCCEEDED);
    expect((await get('/v1/jobs?state=queued')).json().items).toHaveLength(QUEUED);
    expect((await get(`/v1/jobs?connection=${h.connectionId}`)).json().items).toHaveLength(JOBS);
    expect((await get('/v1/jobs?connection=con_nope')).json().items).toHaveLength(0);
    expect((await get(`/v1/jobs?metric=${h.metric.id}&state=queued`)).json().items).toHaveLength(QUEUED);
    expect((await get('/v1/jobs?event=d1')).json().items).toHaveLength(JOBS);
    expect((await get('/v1/jobs?event=d1&source=ci/pipeline')).json().items).toHaveLength(JOBS);
    expect((await get('/v1/jobs?event=unknown')).json().items).toHaveLength(0);
  });

  it('pages with cursors without repeating or losing a job', async () => {
    const seen: string[] = [];
    let url = '/v1/jobs?limit=2';
    let pages = 0;
    for (let i = 0; i < JOBS; i++) {
      const body = (await get(url)).json();
      pages++;
      seen.push(...body.items.map((j: any) => j.id));
      if (!body.next_cursor) break;
      url = `/v1/jobs?limit=2&cursor=${body.next_cursor}`;
    }
    // 11 jobs, 2 a page: 6 pages, the last with one job and no cursor.
    expect(pages).toBe(Math.ceil(JOBS / 2));
    expect(seen).toHaveLength(JOBS);
    expect(new Set(seen).size).toBe(JOBS);
  });

  it('answers problem+json for bad filters and cursors, 401 without a key, and nothing of another org', async () => {
    const bad = await get('/v1/jobs?state=sleeping');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.json().errors[0].field).toBe('state');
    expect((await get('/v1/jobs?cursor=garbage')).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: '/v1/jobs' })).statusCode).toBe(401);
    expect((await get('/v1/jobs', otherKey)).json().items).toHaveLength(0);
  });
});

describe('GET /metrics', () => {
  it('serves the scheduler metrics as Prometheus text', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('# TYPE opstrails_scheduler_jobs gauge');
    // One call per succeeded job; 355 points for the pre-event stretch and 425 for each reference day.
    expect(res.body).toMatch(/opstrails_provider_calls_total\{provider="datadog",outcome="ok"\} 8\n/);
    expect(res.body).toMatch(/opstrails_points_written_total\{provider="datadog"\} 3330\n/);
  });
});
