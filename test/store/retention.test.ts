// Plan retention for every org table: reads hide rows past the org's horizon before anything
// is deleted, the sweep removes exactly those rows, a downgrade deletes at once, and another
// org's rows are untouched. The store's clock is injected; row times lie ahead of the real
// clock so the points' TTL (ClickHouse's own now()) leaves them alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receive } from '../../domain/event.js';
import { quotaPeriod } from '../../domain/plan.js';
import { analyzeEvent, computeWindows } from '../../engine/index.js';
import { notePastRetention } from '../../scheduler/past-retention.js';
import { RetentionSweep } from '../../scheduler/retention-sweep.js';
import type { Store } from '../../store/index.js';
import { chTime } from '../../store/migrations.js';
import { ORG_TABLES } from '../../store/org-tables.js';
import { testStore } from '../support/store.js';
import { readyReport } from '../support/reports.js';

const DAY = 86_400_000;
/** The store's clock: 200 days ahead of the real one (rows are written ahead of ClickHouse's now()). */
const START = Math.floor(Date.now() / DAY) * DAY + 200 * DAY + 12 * 3_600_000;
/** Ages (days at START) of the rows written per org: kept by free (7 days) only for the first two. */
const AGES = [1, 5, 20, 60] as const;
const EXPIRING = ORG_TABLES.filter((t) => t.expiresBy).map((t) => t.name);

let clock = START;
let store: Store;
let free: string;
let pro: string;
const UNLISTED = 'org_created_during_the_sweep';

/** Write one row per table per age for an org; the row's expiry instant is START - age days. */
async function seed(orgId: string): Promise<void> {
  for (const age of AGES) {
    const at = START - age * DAY;
    const id = `e${age}`;
    await store.events.ingest(orgId, [
      receive({ specversion: '1.0', id, source: 'ci', type: 'deployment', time: new Date(at).toISOString() }, at),
    ]);
    await store.reports.save(readyReport(orgId, 'ci', id, at, { computed_at: at }));
    await store.jobs.save([
      store.jobs.draft({
        org_id: orgId,
        connection_id: 'c',
        metric_id: 'm',
        series: '',
        vars: {},
        kind: 'window',
        from: at - 3_600_000,
        to: at,
        due_at: at,
        run_at: at,
      }),
    ]);
    const window = { from: at - 3_600_000, to: at };
    await store.pairs.save([
      store.pairs.draft({
        org_id: orgId,
        event_source: 'ci',
        event_id: id,
        metric_id: 'm',
        connection_id: 'c',
        series: '',
        event_type: 'deployment',
        event_time: at,
        windows: { before: window, after: window, references: [] },
      }),
    ]);
    await store.points.replaceWindow(orgId, 'm', '', { from: at, to: at + 60_000 }, [{ ts: at, value: age }], {
      fetchedAt: at,
      retentionDays: 90,
    });
    await store.backend.insert(`${store.database}.org_alerts`, [
      {
        org_id: orgId,
        type: 'usage_80',
        period_start: chTime(at),
        at: chTime(at),
        message: '',
        delivery: 'none',
        attempts: 0,
        last_error: '',
        updated_at: chTime(at),
      },
    ]);
  }
  // Usage is per month and expires a retention after the month ends: the clock's month and the three before.
  await store.backend.insert(
    `${store.database}.usage`,
    USAGE_MONTHS.map((start) => ({ org_id: orgId, period_start: chTime(start), events: 1 })),
  );
}

const month = new Date(START);
/** Starts of the months of the usage rows: START's month and the three before it. */
const USAGE_MONTHS = [0, 1, 2, 3].map((k) => Date.UTC(month.getUTCFullYear(), month.getUTCMonth() - k, 1));

/** How many of an org's rows of `table` a `days`-day plan no longer keeps at the clock `at`. */
function expired(table: string, days: number, at = START): number {
  const horizon = at - days * DAY;
  const expiries =
    table === 'usage' ? USAGE_MONTHS.map((start) => quotaPeriod(start).end) : AGES.map((a) => START - a * DAY);
  return expiries.filter((e) => e < horizon).length;
}

/** Rows physically stored per expiring table for an org (every version, nothing hidden). */
async function stored(orgId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of EXPIRING) {
    const [row] = await store.backend.query<{ n: string }>(
      `SELECT count() AS n FROM ${store.database}.${table} WHERE org_id = {org:String}`,
      { org: orgId },
    );
    out[table] = Number(row.n);
  }
  return out;
}

/** What the org-scoped reads return: the event ids each read sees. */
async function visible(orgId: string) {
  const all = { from: START - 400 * DAY, to: START + DAY };
  const ids = AGES.map((a) => `e${a}`);
  return {
    events: (await store.events.list(orgId, {}, 100)).map((e) => e.id).sort(),
    range: (await store.events.range(orgId, {}, 100)).length,
    byId: (await Promise.all(ids.map((id) => store.events.byId(orgId, id)))).flat().length,
    timeline: (await store.reports.timeline(orgId, {}, 100)).length,
    reports: (await Promise.all(ids.map((id) => store.reports.get(orgId, 'ci', id)))).filter(Boolean).length,
    jobs: (await store.jobs.list(orgId)).length,
    pairs: (await store.pairs.forMetric(orgId, 'm')).length,
    pairsById: (await Promise.all(ids.map((id) => store.pairs.forEventId(orgId, id)))).flat().length,
    points: (await store.points.read(orgId, 'm', '', all.from, all.to)).length,
    columns: (await store.points.readColumns(orgId, 'm', '', all.from, all.to)).ts.length,
  };
}

const seen = (n: number, events: string[]) => ({
  events,
  range: n,
  byId: n,
  timeline: n,
  reports: n,
  jobs: n,
  pairs: n,
  pairsById: n,
  points: n,
  columns: n,
});

beforeAll(async () => {
  store = await testStore({ now: () => clock });
  free = (await store.orgs.create('Free org', 'free')).id;
  pro = (await store.orgs.create('Pro org', 'pro')).id;
  await seed(free);
  await seed(pro);
  // Rows of an org the sweep's list does not name (created since it was read).
  await seed(UNLISTED);
});
afterAll(async () => {
  await store?.close();
});

describe('retention by plan', () => {
  it('lists every table that holds an org_id column, and no other', async () => {
    const rows = await store.backend.query<{ table: string }>(
      `SELECT DISTINCT table FROM system.columns WHERE database = {db:String} AND name = 'org_id' ORDER BY table`,
      { db: store.database },
    );
    expect(rows.map((r) => r.table)).toEqual(ORG_TABLES.map((t) => t.name).sort());
  });

  it('takes the horizon from the plan at the store clock; an unknown org keeps nothing', async () => {
    expect(await store.retention.horizon(free)).toBe(START - 7 * DAY);
    expect(await store.retention.horizon(pro)).toBe(START - 90 * DAY);
    expect(await store.retention.horizon('no such org')).toBe(START);
  });

  it('hides rows past the horizon from every read before anything is deleted', async () => {
    expect(await visible(free)).toEqual(seen(2, ['e1', 'e5']));
    expect(await visible(pro)).toEqual(seen(4, ['e1', 'e20', 'e5', 'e60']));
    // Hidden, not deleted: every row is still stored.
    expect(await stored(free)).toEqual(Object.fromEntries(EXPIRING.map((t) => [t, 4])));
  });

  it('sweeps exactly the expired rows of every org, and nothing on a second run', async () => {
    const deleted = await store.retention.sweep();
    // free: ages 20 and 60 are past 7 days, and the usage of months that ended before them. pro: nothing yet.
    expect(deleted).toEqual(Object.fromEntries(EXPIRING.map((t) => [t, expired(t, 7)])));
    expect(deleted.events).toBe(2);
    const after = await stored(free);
    for (const t of EXPIRING) expect(after[t], t).toBe(4 - deleted[t]);
    expect(await stored(pro)).toEqual(Object.fromEntries(EXPIRING.map((t) => [t, 4])));
    // Kept for the longest plan's 90 days: the sweep never takes a new org's rows for a deleted one's.
    expect(await stored(UNLISTED)).toEqual(Object.fromEntries(EXPIRING.map((t) => [t, 4])));
    expect(await visible(free)).toEqual(seen(2, ['e1', 'e5']));
    expect(Object.values(await store.retention.sweep()).every((n) => n === 0)).toBe(true);
  });

  it('applies a downgrade at once: pro → free deletes its 8–90-day-old rows, the other org keeps its own', async () => {
    const freeBefore = await stored(free);
    await store.orgs.update(pro, { plan: 'free' });
    await store.retention.apply(pro);
    expect(await store.retention.horizon(pro)).toBe(START - 7 * DAY);
    const after = await stored(pro);
    for (const t of EXPIRING) expect(after[t], t).toBe(4 - expired(t, 7));
    expect(await visible(pro)).toEqual(seen(2, ['e1', 'e5']));
    expect(await stored(free)).toEqual(freeBefore);
    const [row] = await store.backend.query<{ days: number }>(
      `SELECT DISTINCT retention_days AS days FROM ${store.database}.metric_points WHERE org_id = {org:String}`,
      { org: pro },
    );
    expect(Number(row.days)).toBe(7);
  });

  it('as the clock moves on, rows pass the horizon and the sweep follows', async () => {
    clock = START + 3 * DAY;
    // e5 is now 8 days old: hidden at once, deleted by the next sweep.
    expect(await visible(free)).toEqual(seen(1, ['e1']));
    const deleted = await store.retention.sweep();
    // Both orgs (pro is on free now) lose e5, and whatever else the later clock leaves behind.
    expect(deleted).toEqual(Object.fromEntries(EXPIRING.map((t) => [t, 2 * (expired(t, 7, clock) - expired(t, 7))])));
    expect(deleted.events).toBe(2);
    expect((await stored(free)).events).toBe(1);
    clock = START;
  });
});

describe('the hourly sweep', () => {
  const logged: { level: string; obj: object; msg?: string }[] = [];
  const logger = {
    debug: () => {},
    info: (obj: object, msg?: string) => void logged.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => void logged.push({ level: 'warn', obj, msg }),
    error: () => {},
  };

  it('sweeps only while this process should, logs what it deleted, and a failure at warn', async () => {
    clock = START + 10 * DAY;
    const idle = new RetentionSweep({ retention: store.retention, logger, shouldRun: () => false });
    await idle.runOnce();
    expect((await stored(free)).events).toBe(1);

    await new RetentionSweep({ retention: store.retention, logger }).runOnce();
    expect((await stored(free)).events).toBe(0);
    expect(logged).toEqual([
      { level: 'info', obj: { deleted: expect.objectContaining({ events: 2 }) }, msg: expect.any(String) },
    ]);

    await new RetentionSweep({ retention: store.retention, logger }).runOnce();
    expect(logged).toHaveLength(1); // nothing left to delete: nothing logged

    const failing = { sweep: () => Promise.reject(new Error('ClickHouse is down')) };
    await new RetentionSweep({ retention: failing, logger }).runOnce();
    expect(logged[1]).toMatchObject({ level: 'warn', obj: { err: 'Error: ClickHouse is down' } });
    clock = START;
  });
});

describe('a report past the retention', () => {
  const t = Date.UTC(2026, 10, 20, 12);
  const windows = computeWindows({ time: t, type: 'deployment', stepSeconds: 60 });
  const empty = () =>
    analyzeEvent({
      event: { id: 'e', type: 'deployment', time: t, subject: null },
      metrics: [
        {
          id: 'm',
          name: 'Errors',
          kind: 'gauge',
          direction: 'increase_is_bad',
          step_seconds: 60,
          windows,
          before: [],
          after: [],
        },
      ],
    }).metrics[0];

  it('says the before window lies past the retention instead of "no data"', () => {
    const r = empty();
    notePastRetention(r, { plan: 'free', days: 7, horizon: windows.before.from + 60_000 });
    expect(r.reason).toBe(
      "the before window starts on 2026-11-20, past this org's 7-day retention (Free plan): its data has been deleted",
    );
    expect(r.explanation).toMatch(/^Not enough data to judge Errors: the before window starts on 2026-11-20, past/);
  });

  it('leaves "no data" alone when the windows are within the retention', () => {
    const r = empty();
    notePastRetention(r, { plan: 'free', days: 7, horizon: windows.before.from });
    expect(r.reason).toMatch(/^no data/);
  });
});
