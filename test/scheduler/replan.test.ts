// Reports that used to stay pending until a restart: an event stored before its metric existed
// (the quick start's order), a metric whose applies_to widened, and a report left partial
// (a pair failed) that POST .../recompute must repair. The real pipeline: testdata connector,
// scheduler on a driven clock, chDB, engine, API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, type Pipeline } from '../support/pipeline.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T = Date.UTC(2026, 10, 10, 14, 0);
const iso = (ms: number) => new Date(ms).toISOString();

let p: Pipeline;
let connectionId: string;

const event = (id: string, subject: string, at = T) => ({
  specversion: '1.0',
  id,
  source: 'ci',
  type: 'deployment',
  subject,
  time: iso(at),
});

async function report(id: string) {
  const res = await p.call('GET', `/v1/events/${id}/impact`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** Let the background planning of a saved metric land, then run what is due. */
async function settle(at: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await p.advanceTo(at);
}

beforeAll(async () => {
  p = await pipeline(T + MIN);
  connectionId = (
    await p.call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic', config: { seed: 5 } })
  ).json().id;
});

afterAll(async () => {
  await p?.close();
});

describe('planning stored events again', () => {
  it('an event stored before any metric gets its report once a metric is created, without a restart', async () => {
    expect((await p.call('POST', '/v1/events', event('early-1', 'production'))).statusCode).toBe(202);
    // An event older than the org's retention (pro: 90 days) is refused: its data is gone.
    const ancient = await p.call('POST', '/v1/events', event('ancient-1', 'production', T - 120 * DAY));
    expect(ancient.statusCode).toBe(422);
    expect(ancient.json().errors[0].field).toBe('time');
    await p.advanceTo(T + 2 * MIN);
    expect((await report('early-1')).metrics).toHaveLength(0);

    const created = await p.call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'Orders',
      kind: 'count',
      direction: 'decrease_is_bad',
      query: { shape: 'count', base: 200, noise: 0.03 },
    });
    expect(created.statusCode, created.body).toBe(201);
    await settle(T + 3 * HOUR);
    const r = await report('early-1');
    expect(r.status).toBe('ready');
    expect(r.metrics.map((m: { name: string }) => m.name)).toEqual(['Orders']);
  });

  it('a metric whose applies_to widens is planned for the events it now applies to', async () => {
    const staging = await p.call('POST', '/v1/metrics', {
      connection_id: connectionId,
      name: 'Staging errors',
      kind: 'count',
      direction: 'increase_is_bad',
      applies_to: { subjects: ['staging'] },
      query: { shape: 'count', base: 50, noise: 0.05 },
    });
    expect(staging.statusCode).toBe(201);
    await settle(T + 3 * HOUR + MIN);
    expect((await report('early-1')).metrics).toHaveLength(1);

    const widened = await p.call('PATCH', `/v1/metrics/${staging.json().id}`, {
      applies_to: { subjects: ['staging', 'production'] },
    });
    expect(widened.statusCode, widened.body).toBe(200);
    await settle(T + 3 * HOUR + 2 * MIN);
    const r = await report('early-1');
    expect(r.status).toBe('ready');
    expect(r.metrics.map((m: { name: string }) => m.name).sort()).toEqual(['Orders', 'Staging errors']);
  });

  it('recompute repairs a report left partial by a failed pair', async () => {
    const org = await orgId();
    const pairs = await p.store.pairs.forEventId(org, 'early-1');
    expect(pairs).toHaveLength(2);
    // A pair failed for good (its fetch failed, say): the report is partial.
    await p.store.pairs.save([{ ...pairs[0], state: 'failed', last_error: 'provider gone for a while' }]);
    await p.impact.refresh(org, 'ci', 'early-1');
    expect((await report('early-1')).status).toBe('partial');

    const res = await p.call('POST', '/v1/events/early-1/impact/recompute');
    expect(res.statusCode).toBe(202);
    await settle(T + 3 * HOUR + 3 * MIN);
    await p.impact.idle();
    const r = await report('early-1');
    expect(r.status).toBe('ready');
    expect(r.metrics).toHaveLength(2);
  });
});

async function orgId(): Promise<string> {
  return (await p.store.keys.authenticate(p.key))!.org_id;
}
