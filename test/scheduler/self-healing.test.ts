// Reports heal themselves: the service killed with SIGKILL at several instants while it plans
// a burst (some of an event's pairs planned, others not; pairs planned but never refreshed),
// restarted on the same data each time: every report completes. The real service process on
// the embedded store, a replayed Datadog behind three metrics.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplay, type Replay } from '../support/replay.js';
import { callJson, killService, startService, type ServiceProcess } from '../support/service.js';
import { API_KEY, APP_KEY, baseValue, timeseriesAnswer, V2_PATH } from './support.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** After accepting each burst, the service is killed this long later (ms): before, during and after planning. */
const KILL_AFTER = [0, 150, 400, 900];
const PER_BURST = 15;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let replay: Replay;
let service: ServiceProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-heal-'));
const env = () => ({ DATA_DIR: dataDir, OPSTRAILS_ALLOWED_PROVIDER_HOSTS: '127.0.0.1' });

beforeAll(async () => {
  replay = await startReplay(async (req) => {
    if (req.path !== V2_PATH) return { status: 200, body: { valid: true } };
    await sleep(20);
    return timeseriesAnswer(req, baseValue);
  });
}, 60_000);

afterAll(async () => {
  if (service) await killService(service);
  await replay?.close();
});

describe('self-healing reports', () => {
  it('the service killed at several instants while planning bursts: after restarts every report completes', async () => {
    service = await startService(env());
    const key = /otk_[A-Za-z0-9_-]+/.exec(service.stderr.join(''))?.[0];
    expect(key).toBeDefined();
    const connection = await callJson(service.base, key!, 'POST', '/v1/connections', {
      provider: 'datadog',
      name: 'datadog',
      config: { base_url: replay.url },
      secrets: { api_key: API_KEY, app_key: APP_KEY },
    });
    expect(connection.status).toBe(201);
    for (const name of ['errors', 'requests', 'latency']) {
      const metric = await callJson(service.base, key!, 'POST', '/v1/metrics', {
        connection_id: connection.body.id,
        name,
        kind: name === 'latency' ? 'gauge' : 'count',
        query: { query: `sum:trace.http.${name}{env:{{subject}}}.as_count()` },
        direction: 'increase_is_bad',
        applies_to: { types: ['deployment'] },
      });
      expect(metric.status).toBe(201);
    }

    const t0 = Math.floor(Date.now() / MIN) * MIN - 6 * HOUR;
    const ids: string[] = [];
    for (const [round, killAfter] of KILL_AFTER.entries()) {
      const batch = Array.from({ length: PER_BURST }, (_, i) => ({
        specversion: '1.0',
        id: `deploy-${round}-${i}`,
        source: 'ci/heal',
        type: 'deployment',
        subject: i % 2 === 0 ? 'production' : 'staging',
        time: new Date(t0 - (round * PER_BURST + i) * 23 * MIN).toISOString(),
      }));
      const res = await fetch(`${service.base}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(batch),
      });
      expect(res.status).toBe(202);
      ids.push(...batch.map((e) => e.id));
      await sleep(killAfter);
      await killService(service);
      service = await startService(env());
    }

    // After the last restart, every report of every burst completes.
    const ready = new Set<string>();
    for (let round = 0; round < 480 && ready.size < ids.length; round++) {
      for (const id of ids) {
        if (ready.has(id)) continue;
        const r = await callJson(service.base, key!, 'GET', `/v1/events/${id}/impact`);
        if (r.status === 200 && r.body.status === 'ready') {
          expect(r.body.metrics).toHaveLength(3);
          ready.add(id);
        }
      }
      if (ready.size < ids.length) await sleep(250);
    }
    expect([...ids].filter((id) => !ready.has(id))).toEqual([]);
  }, 600_000);
});
