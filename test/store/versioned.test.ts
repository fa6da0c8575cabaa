// Versioned tables on a frozen clock: every write of a row is a newer version than
// the last, even within one millisecond, so the last write always wins.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../store/index.js';
import { testStore } from '../support/store.js';

const T = Date.UTC(2026, 10, 2, 12);
let store: Store;
let org: string;

beforeAll(async () => {
  store = await testStore({ now: () => T });
  org = (await store.orgs.create('frozen', 'pro')).id;
});

describe('versions on a frozen clock', () => {
  it('keeps the last of three saves of a job and of a pair', async () => {
    const job = store.jobs.draft({
      org_id: org,
      connection_id: 'con_a',
      metric_id: 'met_a',
      series: '',
      vars: {},
      kind: 'window',
      from: T,
      to: T + 60_000,
      due_at: T,
      run_at: T,
    });
    for (const state of ['running', 'queued', 'succeeded'] as const) {
      job.state = state;
      await store.jobs.save([job]);
    }
    expect((await store.jobs.get(org, job.id))?.state).toBe('succeeded');

    const window = { from: T, to: T + 60_000 };
    const pair = store.pairs.draft({
      org_id: org,
      event_source: 'ci',
      event_id: 'd1',
      metric_id: 'met_a',
      connection_id: 'con_a',
      series: '',
      event_type: 'deployment',
      event_time: T,
      windows: { before: window, after: window, references: [] },
    });
    for (const revision of [1, 2, 3]) {
      Object.assign(pair, { state: 'ready', revision, ready_at: T });
      await store.pairs.save([pair]);
    }
    expect((await store.pairs.forEventId(org, 'd1')).map((p) => p.revision)).toEqual([3]);
  });

  it('keeps the last update of a connection and hides it once deleted', async () => {
    const connection = await store.connections.create(org, {
      provider: 'datadog',
      name: 'first',
      config: {},
      secrets: { api_key: 'k', app_key: 'a' },
    });
    await store.connections.update(org, connection.id, { name: 'second' });
    await store.connections.update(org, connection.id, { name: 'third' });
    expect((await store.connections.get(org, connection.id))?.name).toBe('third');
    expect(await store.connections.delete(org, connection.id)).toBe(true);
    expect(await store.connections.get(org, connection.id)).toBeUndefined();
    expect(await store.connections.list(org)).toEqual([]);
  });

  it('keeps a key revoked after a use whose caller clock ran ahead', async () => {
    const created = await store.keys.create(org, 'ci', ['read']);
    await store.keys.touch(org, created.id, Date.now() + 86_400_000);
    expect(await store.keys.revoke(org, created.id)).toBe(true);
    expect(await store.keys.authenticate(created.key)).toBeUndefined();
    expect(await store.keys.list(org)).toEqual([]);
  });
});
