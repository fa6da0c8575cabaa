// The store test suite, run against every backend: embedded chDB, and the
// server backend (@clickhouse/client) over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventTypeIs, receive, type CloudEvent } from '../../domain/event.js';
import type { Store } from '../../store/index.js';
import { migrate, MIGRATIONS } from '../../store/migrations.js';
import { schedulerStateTests } from './scheduler-state.js';
import { readyReport } from '../support/reports.js';

const event = (id: string, extra: Partial<CloudEvent> = {}): CloudEvent => ({
  specversion: '1.0',
  id,
  source: 'ci/pipeline',
  type: 'dev.opstrails.deployment',
  subject: 'production',
  time: '2026-11-20T10:00:00Z',
  ...extra,
});

export function storeSuite(name: string, open: () => Promise<Store>, after?: () => Promise<void>) {
  describe(`store on ${name}`, () => {
    let store: Store;
    /** Ingest CloudEvents received now (the events route parses their times the same way). */
    const ingest = (org: string, events: CloudEvent[]) =>
      store.events.ingest(
        org,
        events.map((e) => receive(e, Date.now())),
      );
    let orgA: string;
    let orgB: string;

    beforeAll(async () => {
      store = await open();
      orgA = (await store.orgs.create('A', 'pro')).id;
      orgB = (await store.orgs.create('B', 'free')).id;
    });
    afterAll(async () => {
      await store?.close();
      await after?.();
    });

    it('applies every migration once; a second run applies nothing', async () => {
      expect(store.appliedMigrations).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(store.backend, store.database)).toEqual([]);
      expect(await store.ready()).toBe(true);
    });

    it('creates the metric points table keyed by org, metric, ts with a retention TTL', async () => {
      const [row] = await store.backend.query<{ create_table_query: string; sorting_key: string }>(
        `SELECT create_table_query, sorting_key FROM system.tables WHERE database = {db:String}
           AND name IN ('metric_points', 'metric_points_local') AND engine != 'Distributed'`,
        { db: store.database },
      );
      expect(row.sorting_key).toBe('org_id, metric_id, series, ts');
      expect(row.create_table_query).toContain('ReplacingMergeTree(fetched_at, is_deleted)');
      expect(row.create_table_query).toMatch(/TTL toDateTime\(ts\) \+ toIntervalDay\(retention_days\)/);
    });

    it('reads points as columns (RowBinary) exactly as read() returns them, latest version only', async () => {
      const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
      const w = { from: t0, to: t0 + 10 * 60_000 };
      const pts = Array.from({ length: 10 }, (_, i) =>
        i % 3 === 0 ? { ts: t0 + i * 60_000, value: i + 0.25 } : { ts: t0 + i * 60_000, value: -i, weight: 1000 + i },
      );
      // Inserted out of order, then a newer version of bucket 4 and a tombstone for bucket 9.
      await store.points.replaceWindow(orgA, 'cols', 'subject=x', w, [...pts].reverse(), {
        fetchedAt: 1,
        retentionDays: 90,
      });
      const late = pts.slice(0, 9).map((p) => (p.ts === t0 + 4 * 60_000 ? { ...p, value: 44.5 } : p));
      await store.points.replaceWindow(orgA, 'cols', 'subject=x', w, late, { fetchedAt: 2, retentionDays: 90 });
      const points = await store.points.read(orgA, 'cols', 'subject=x', w.from, w.to);
      const cols = await store.points.readColumns(orgA, 'cols', 'subject=x', w.from, w.to);
      expect(points).toHaveLength(9);
      expect(Array.from(cols.ts)).toEqual(points.map((p) => p.ts));
      expect(Array.from(cols.value)).toEqual(points.map((p) => p.value));
      expect(Array.from(cols.weight)).toEqual(points.map((p) => p.weight ?? NaN));
      expect(cols.value[4]).toBe(44.5);
      // Another org, another series, an empty range: nothing.
      expect((await store.points.readColumns(orgB, 'cols', 'subject=x', w.from, w.to)).ts).toHaveLength(0);
      expect((await store.points.readColumns(orgA, 'cols', '', w.from, w.to)).ts).toHaveLength(0);
      expect((await store.points.readColumns(orgA, 'cols', 'subject=x', w.to, w.to + 60_000)).ts).toHaveLength(0);
    });

    it('keeps org_id first in every ORDER BY of an org-owned table', async () => {
      // The service's own bookkeeping (migrations, the scheduler lease) belongs to no org.
      const rows = await store.backend.query<{ name: string; sorting_key: string }>(
        `SELECT name, sorting_key FROM system.tables WHERE database = {db:String}
           AND name NOT IN ('schema_migrations', 'leases') AND engine != 'Distributed'`,
        { db: store.database },
      );
      expect(rows.length).toBeGreaterThanOrEqual(4);
      for (const r of rows) expect(r.sorting_key.startsWith('org_id'), r.name).toBe(true);
    });

    it('stores events once: a retry is a duplicate, within a batch too', async () => {
      const first = await ingest(orgA, [event('e1'), event('e2'), event('e1')]);
      expect(first).toEqual({ accepted: ['e1', 'e2'], duplicates: ['e1'] });
      const again = await ingest(orgA, [event('e2'), event('e3')]);
      expect(again).toEqual({ accepted: ['e3'], duplicates: ['e2'] });
      // The same id from another source is another event.
      const other = await ingest(orgA, [event('e1', { source: 'other' })]);
      expect(other.accepted).toEqual(['e1']);
      expect(await store.events.count(orgA)).toBe(4);
    });

    it('coalesces concurrent writes without losing or duplicating any', async () => {
      const batches = Array.from({ length: 8 }, (_, b) =>
        Array.from({ length: 50 }, (_, i) => event(`c${b}-${i}`, { source: 'burst' })),
      );
      const results = await Promise.all([...batches, batches[0]].map((batch) => ingest(orgB, batch)));
      const accepted = results.reduce((n, r) => n + r.accepted.length, 0);
      const duplicates = results.reduce((n, r) => n + r.duplicates.length, 0);
      expect(accepted).toBe(400);
      expect(duplicates).toBe(50);
      expect(await store.events.count(orgB)).toBe(400);
    });

    it('keeps the event exactly as sent and binds odd strings as parameters', async () => {
      const odd = event(`quote'back\\slash\nnew"line`, {
        data: { nested: [1, 'two', null] },
        version: 'v1.2.3',
        severity: 'high',
        team: 'payments',
      });
      await ingest(orgA, [odd]);
      const [found] = await store.events.byId(orgA, odd.id);
      expect(found.event).toEqual(odd);
    });

    it('lists newest first with filters and cursors, scoped to the org', async () => {
      // pro: the 90-day retention keeps these November events visible.
      const org = (await store.orgs.create('paging', 'pro')).id;
      const evs = Array.from({ length: 25 }, (_, i) =>
        event(`p${i}`, {
          time: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString(),
          subject: i % 2 ? 'staging' : 'production',
          type: i % 5 === 0 ? 'incident' : 'deployment',
        }),
      );
      await ingest(org, evs);
      const seen: string[] = [];
      let after;
      for (;;) {
        const page = await store.events.list(org, {}, 10, after);
        seen.push(...page.map((e) => e.id));
        if (page.length < 10) break;
        const last = page[page.length - 1];
        after = { time: last.time, source: last.source, id: last.id };
      }
      expect(seen).toEqual(evs.map((e) => e.id).reverse());
      const staging = await store.events.list(org, { subject: 'staging' }, 100);
      expect(staging.map((e) => e.id)).toEqual(
        evs
          .filter((_, i) => i % 2)
          .map((e) => e.id)
          .reverse(),
      );
      const incidents = await store.events.list(org, { type: 'incident' }, 100);
      expect(incidents.map((e) => e.id)).toEqual(['p20', 'p15', 'p10', 'p5', 'p0']);
      const range = await store.events.range(
        org,
        { since: Date.UTC(2026, 10, 1, 0, 3), until: Date.UTC(2026, 10, 1, 0, 6) },
        100,
      );
      expect(range.map((e) => e.id)).toEqual(['p3', 'p4', 'p5']);
      expect(await store.events.list(orgB, { source: 'ci/pipeline' }, 100)).toEqual([]);
    });

    it('filters by type with the same rule as eventTypeIs (domain/event.ts)', async () => {
      const org = (await store.orgs.create('types', 'pro')).id;
      const types = [
        'deployment',
        'dev.opstrails.deployment',
        'redeployment',
        'deployment.v2',
        'com.x.data-load',
        'incident',
      ];
      await ingest(
        org,
        types.map((type, i) => event(`t${i}`, { type })),
      );
      for (const name of ['deployment', 'data-load', 'incident', 'opstrails.deployment']) {
        const listed = (await store.events.list(org, { type: name }, 100)).map((e) => e.type).sort();
        expect(listed).toEqual(types.filter((t) => eventTypeIs(t, name)).sort());
      }
      // The rule itself: bare or reverse-DNS prefixed, never a mere suffix or prefix of a word.
      expect(types.filter((t) => eventTypeIs(t, 'deployment'))).toEqual(['deployment', 'dev.opstrails.deployment']);
    });

    schedulerStateTests(() => store);

    it('authenticates keys by hash, lists them without secrets, and revokes them', async () => {
      const created = await store.keys.create(orgA, 'ci', ['events:write']);
      expect(created.key).toMatch(/^otk_/);
      const found = await store.keys.authenticate(created.key);
      expect(found).toMatchObject({ id: created.id, org_id: orgA, scopes: ['events:write'] });
      expect(
        await store.keys.authenticate(created.key.slice(0, -1) + (created.key.endsWith('A') ? 'B' : 'A')),
      ).toBeUndefined();
      const listed = await store.keys.list(orgA);
      expect(JSON.stringify(listed)).not.toContain(created.key.slice(17));
      const [{ hash }] = await store.backend.query<{ hash: string }>(
        `SELECT hash FROM ${store.database}.api_keys FINAL WHERE key_id = {id:String}`,
        { id: created.id },
      );
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hash).not.toContain(created.key);
      expect(await store.keys.revoke(orgB, created.id)).toBe(false); // another org's key
      expect(await store.keys.revoke(orgA, created.id)).toBe(true);
      expect(await store.keys.authenticate(created.key)).toBeUndefined();
    });

    it("pools each metric's placebo estimates saved with the reports of earlier events, by df", async () => {
      const t0 = Date.now() - 3_600_000;
      const save = (org: string, id: string, at: number, placebos: Record<string, { inflation: number; df: number }>) =>
        store.reports.save(readyReport(org, 'ci/placebo', id, at, { placebos }));
      await save(orgA, 'p1', t0, { m1: { inflation: 4, df: 10 }, m2: { inflation: 0, df: 10 } });
      await save(orgA, 'p2', t0 + 60_000, { m1: { inflation: 1, df: 30 } });
      await save(orgA, 'p2b', t0 + 90_000, {});
      // The event asked about, a later one, and another org's: none of them count.
      await save(orgA, 'p3', t0 + 120_000, { m1: { inflation: 81, df: 10 } });
      await save(orgA, 'p4', t0 + 180_000, { m1: { inflation: 81, df: 10 } });
      await save(orgB, 'p0', t0, { m1: { inflation: 81, df: 10 } });
      const at = { time: t0 + 120_000, source: 'ci/placebo', id: 'p3' };
      const pooled = await store.reports.placeboHistory(orgA, ['m1', 'm2', 'm3'], at);
      expect([...pooled.keys()]).toEqual(['m1']);
      const m1 = pooled.get('m1')!;
      expect(m1.events).toBe(2);
      expect(m1.df).toBe(40);
      expect(m1.inflation).toBeCloseTo((10 * 4 + 30 * 1) / 40, 12);
      // At most `events` per metric: the latest one; and only the latest `scan` reports that carry any.
      expect((await store.reports.placeboHistory(orgA, ['m1'], at, 1)).get('m1')).toEqual({
        inflation: 1,
        df: 30,
        events: 1,
      });
      expect((await store.reports.placeboHistory(orgA, ['m1'], at, 30, 1)).get('m1')!.events).toBe(1);
      expect((await store.reports.placeboHistory(orgA, [], at)).size).toBe(0);
    });
  });
}
