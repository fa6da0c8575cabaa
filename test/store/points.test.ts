// Metric points: re-fetching a window replaces it (newer versions win, vanished
// buckets are tombstoned), series are kept apart, orgs are kept apart.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../store/index.js';
import { testStore } from '../support/store.js';

let store: Store;
// Reads keep to an org's retention: the orgs exist, on plans that keep these recent buckets.
let org1: string;
let org2: string;
let org3: string;
// Recent buckets: the 7-day TTL would drop older ones on insert.
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
const minute = (i: number) => T0 + i * 60_000;
const window = { from: minute(0), to: minute(10) };

beforeAll(async () => {
  store = await testStore();
  org1 = (await store.orgs.create('one', 'pro')).id;
  org2 = (await store.orgs.create('two', 'pro')).id;
  org3 = (await store.orgs.create('three', 'free')).id;
});

describe('replaceWindow', () => {
  it('stores points and replaces them on a re-fetch without duplicates', async () => {
    const first = Array.from({ length: 10 }, (_, i) => ({ ts: minute(i), value: i, weight: 100 }));
    await store.points.replaceWindow(org1, 'm1', '', window, first, { fetchedAt: 1000, retentionDays: 90 });
    expect(await store.points.read(org1, 'm1', '', window.from, window.to)).toEqual(first);

    // Late data: values changed, bucket 9 vanished, a point outside the window is ignored.
    const second = [
      ...Array.from({ length: 9 }, (_, i) => ({ ts: minute(i), value: i * 10 })),
      { ts: minute(20), value: 99 },
    ];
    await store.points.replaceWindow(org1, 'm1', '', window, second, { fetchedAt: 2000, retentionDays: 90 });
    const read = await store.points.read(org1, 'm1', '', window.from, minute(30));
    expect(read).toEqual(second.slice(0, 9));
    // Rows are versions until merges collapse them; reads never show more than one per bucket.
    expect(await store.points.rawCount(org1, 'm1')).toBeGreaterThanOrEqual(10);
    await store.backend.command(`OPTIMIZE TABLE ${store.database}.metric_points FINAL`);
    expect(await store.points.read(org1, 'm1', '', window.from, minute(30))).toEqual(second.slice(0, 9));
  });

  it('keeps series of one metric and orgs apart', async () => {
    await store.points.replaceWindow(org1, 'm2', 'subject=production', window, [{ ts: minute(1), value: 1 }], {
      fetchedAt: 1,
      retentionDays: 7,
    });
    await store.points.replaceWindow(org1, 'm2', 'subject=staging', window, [{ ts: minute(1), value: 2 }], {
      fetchedAt: 1,
      retentionDays: 7,
    });
    await store.points.replaceWindow(org2, 'm2', 'subject=production', window, [{ ts: minute(1), value: 3 }], {
      fetchedAt: 1,
      retentionDays: 7,
    });
    expect(await store.points.read(org1, 'm2', 'subject=production', window.from, window.to)).toEqual([
      { ts: minute(1), value: 1 },
    ]);
    expect(await store.points.read(org1, 'm2', 'subject=staging', window.from, window.to)).toEqual([
      { ts: minute(1), value: 2 },
    ]);
    expect(await store.points.read(org2, 'm2', 'subject=production', window.from, window.to)).toEqual([
      { ts: minute(1), value: 3 },
    ]);
  });

  it('sets the retention TTL from the plan on every row', async () => {
    const rows = await store.backend.query<{ retention_days: number }>(
      `SELECT DISTINCT retention_days FROM ${store.database}.metric_points WHERE metric_id = 'm2' ORDER BY retention_days`,
    );
    expect(rows.map((r) => Number(r.retention_days))).toEqual([7]);
  });
});

it('drops points older than the plan retention (TTL applies on insert and merge)', async () => {
  const old = Date.UTC(2020, 0, 1);
  await store.points.replaceWindow(org3, 'm3', '', { from: old, to: old + 60_000 }, [{ ts: old, value: 1 }], {
    fetchedAt: Date.now(),
    retentionDays: 7,
  });
  await store.backend.command(`OPTIMIZE TABLE ${store.database}.metric_points FINAL`);
  // Gone from the table, not only hidden from reads by the retention filter.
  expect(await store.points.rawCount(org3, 'm3')).toBe(0);
});
