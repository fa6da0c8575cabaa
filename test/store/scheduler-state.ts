// The scheduler's state in the store, on every backend: fetch jobs and impact
// pairs go through their one column map unchanged, and reads see the newest version.
import { describe, expect, it } from 'vitest';
import { receive } from '../../domain/event.js';
import type { Store } from '../../store/index.js';
import type { FetchJob } from '../../store/jobs.js';
import type { ImpactPair } from '../../store/pairs.js';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 2, 12);

/** Tests of store.jobs and store.pairs; `store` is the suite's open store. */
export function schedulerStateTests(store: () => Store): void {
  describe('fetch jobs', () => {
    const draft = (s: Store, org: string, over: Partial<FetchJob> = {}) =>
      Object.assign(
        s.jobs.draft({
          org_id: org,
          connection_id: 'con_a',
          metric_id: 'met_a',
          series: 'subject=production',
          vars: { subject: 'production' },
          kind: 'window',
          from: T,
          to: T + 60 * MIN,
          due_at: T + 2 * MIN,
          run_at: T + 2 * MIN,
        }),
        over,
      );

    it('round-trips every field and reads the newest version only', async () => {
      const s = store();
      const org = (await s.orgs.create('jobs', 'pro')).id;
      const job = draft(s, org);
      await s.jobs.save([job]);
      expect(await s.jobs.get(org, job.id)).toEqual(job);
      Object.assign(job, {
        state: 'succeeded',
        attempts: 2,
        fetched_at: T + 3 * MIN + 7,
        points: 60,
        requests: 3,
        last_error: null,
        last_error_code: null,
      });
      await s.jobs.save([job]);
      Object.assign(job, { state: 'failed', last_error: 'quote\'s "text"', last_error_code: 'bad_response' });
      await s.jobs.save([job]);
      expect(await s.jobs.get(org, job.id)).toEqual(job);
      expect(await s.jobs.list(org)).toEqual([job]);
      expect(await s.jobs.get('another org', job.id)).toBeUndefined();
    });

    it('filters, pages newest first, and finds due and cut jobs', async () => {
      const s = store();
      const org = (await s.orgs.create('job filters', 'pro')).id;
      const early = draft(s, org, { from: T - 120 * MIN, to: T - 60 * MIN, run_at: T - MIN });
      const settle = draft(s, org, { kind: 'settle', from: T + 50 * MIN, run_at: T + 70 * MIN });
      const other = draft(s, org, { metric_id: 'met_b', series: '', vars: {}, run_at: T });
      const backfill = draft(s, org, { kind: 'backfill', backfill_id: 'bf_1', run_at: T });
      const running = draft(s, org, { state: 'running' });
      const all = [early, settle, other, backfill, running];
      await s.jobs.save(all);
      const ids = (jobs: FetchJob[]) => jobs.map((j) => j.id).sort();

      expect(ids(await s.jobs.list(org, { metricId: 'met_b' }))).toEqual([other.id]);
      expect(ids(await s.jobs.list(org, { kind: 'settle' }))).toEqual([settle.id]);
      expect(ids(await s.jobs.list(org, { backfillId: 'bf_1' }))).toEqual([backfill.id]);
      expect(ids(await s.jobs.list(org, { states: ['running'] }))).toEqual([running.id]);
      expect(ids(await s.jobs.list(org, { overlaps: { from: T - 90 * MIN, to: T - 80 * MIN } }))).toEqual([early.id]);
      const overlapsAny = [{ metricId: 'met_a', series: 'subject=production', from: T + 55 * MIN, to: T + 56 * MIN }];
      expect(ids(await s.jobs.list(org, { overlapsAny, kind: 'settle' }))).toEqual([settle.id]);
      expect(await s.jobs.list(org, { overlapsAny: [] })).toEqual([]);

      // Pages of two, newest first, neither repeating nor losing a job.
      const seen: string[] = [];
      for (let after: { created_at: number; id: string } | undefined; ;) {
        const page = await s.jobs.list(org, {}, 2, after);
        seen.push(...page.map((j) => j.id));
        if (page.length < 2) break;
        after = { created_at: page[1].created_at, id: page[1].id };
      }
      // Drafts get strictly increasing created_at (versions of one table never tie).
      expect(seen).toEqual([...all].sort((a, b) => b.created_at - a.created_at).map((j) => j.id));

      const due = (await s.jobs.due(T, ['window', 'settle'], 100)).filter((j) => j.org_id === org);
      expect(due.map((j) => j.id)).toEqual([early.id, other.id]);
      expect((await s.jobs.due(T, ['backfill'], 100, 'bf_1')).map((j) => j.id)).toEqual([backfill.id]);
      expect(ids((await s.jobs.inStates(['running'], ['window'])).filter((j) => j.org_id === org))).toEqual([
        running.id,
      ]);
      expect((await s.jobs.countByState()).running).toBeGreaterThanOrEqual(1);
    });

    it('sums up a connection: last success, last error, open jobs', async () => {
      const s = store();
      const org = (await s.orgs.create('job stats', 'pro')).id;
      expect(await s.jobs.connectionStats(org, 'con_a')).toEqual({ lastSuccess: null, lastError: null, open: 0 });
      const ok = draft(s, org, { state: 'succeeded', fetched_at: T + 5 * MIN });
      const bad = draft(s, org, { state: 'failed', last_error: 'no such metric', last_error_code: 'bad_query' });
      const queued = draft(s, org);
      await s.jobs.save([ok, bad, queued]);
      const stats = await s.jobs.connectionStats(org, 'con_a');
      expect(stats).toEqual({
        lastSuccess: T + 5 * MIN,
        lastError: { at: bad.updated_at, code: 'bad_query', message: 'no such metric' },
        open: 1,
      });
    });
  });

  describe('impact pairs', () => {
    const windows = (t: number) => ({
      before: { from: t - 360 * MIN, to: t - 5 * MIN },
      after: { from: t + 5 * MIN, to: t + 65 * MIN },
      references: [1, 2].map((d) => ({ from: t - 360 * MIN - d * 1440 * MIN, to: t + 65 * MIN - d * 1440 * MIN })),
    });
    const draft = (s: Store, org: string, id: string, t: number, over: Partial<ImpactPair> = {}) =>
      Object.assign(
        s.pairs.draft({
          org_id: org,
          event_source: 'ci/pipeline',
          event_id: id,
          metric_id: 'met_a',
          connection_id: 'con_a',
          series: 'subject=production',
          event_type: 'deployment',
          event_time: t,
          windows: windows(t),
        }),
        over,
      );

    it('round-trips every field, finds pairs by event and metric, and lists ready ones in order', async () => {
      const s = store();
      const org = (await s.orgs.create('pairs', 'pro')).id;
      const first = draft(s, org, 'd1', T);
      const second = draft(s, org, 'd2', T + 30 * MIN);
      const elsewhere = draft(s, org, 'd1', T + 60 * MIN, { event_source: 'other' });
      await s.pairs.save([first, second, elsewhere]);
      expect(await s.pairs.forEventId(org, 'd1', 'ci/pipeline')).toEqual([first]);
      expect(await s.pairs.forEventId(org, 'd1')).toEqual([first, elsewhere]);
      expect(await s.pairs.forEvents(org, [{ source: 'ci/pipeline', id: 'd2' }])).toEqual([second]);
      expect(await s.pairs.forEvents(org, [])).toEqual([]);
      expect(
        await s.pairs.forMetric(org, 'met_a', {
          series: 'subject=production',
          eventFrom: T + MIN,
          eventTo: T + 60 * MIN,
        }),
      ).toEqual([second]);

      Object.assign(second, { state: 'ready', revision: 1, ready_at: T + 70 * MIN });
      Object.assign(first, { state: 'ready', revision: 2, ready_at: T + 80 * MIN });
      Object.assign(elsewhere, { state: 'failed', last_error: 'connection con_a no longer exists' });
      await s.pairs.save([first, second, elsewhere]);
      expect(await s.pairs.ready(org)).toEqual([second, first]);
      expect(await s.pairs.ready(org, { since: T + 70 * MIN })).toEqual([first]);
      expect(await s.pairs.forMetric(org, 'met_a', { states: ['failed'] })).toEqual([elsewhere]);
    });

    it('reads pairs stored before reference days (one week-earlier before/after pair)', async () => {
      const s = store();
      const org = (await s.orgs.create('old pairs', 'pro')).id;
      const pair = draft(s, org, 'old', T);
      const weekBefore = { from: T - 7 * 1440 * MIN - 65 * MIN, to: T - 7 * 1440 * MIN - 5 * MIN };
      const weekAfter = { from: T - 7 * 1440 * MIN + 5 * MIN, to: T - 7 * 1440 * MIN + 65 * MIN };
      await s.pairs.save([pair]);
      const [row] = await s.backend.query<Record<string, unknown>>(
        `SELECT * FROM ${s.database}.impact_pairs FINAL WHERE org_id = {org:String}`,
        { org },
      );
      const old = {
        before: pair.windows.before,
        after: pair.windows.after,
        week_before: weekBefore,
        week_after: weekAfter,
      };
      await s.backend.insert(`${s.database}.impact_pairs`, [
        { ...row, windows: JSON.stringify(old), updated_at: '2030-01-01 00:00:00.000' },
      ]);
      const [read] = await s.pairs.forEventId(org, 'old');
      expect(read.windows).toEqual({ ...pair.windows, references: [weekBefore, weekAfter] });
    });

    it('lists events received recently that have no pair yet, by org', async () => {
      const s = store();
      const org = (await s.orgs.create('unplanned', 'pro')).id;
      const event = (id: string) => ({
        specversion: '1.0' as const,
        id,
        source: 'ci/pipeline',
        type: 'deployment',
        subject: 'production',
        time: new Date(T).toISOString(),
      });
      const since = Date.now() - 1000;
      await s.events.ingest(org, [receive(event('planned'), Date.now()), receive(event('lost'), Date.now())]);
      await s.pairs.save([draft(s, org, 'planned', T)]);
      const mine = (await s.pairs.unplannedEvents(since)).filter((o) => o.orgId === org);
      expect(mine).toEqual([
        {
          orgId: org,
          events: [
            {
              org_id: org,
              source: 'ci/pipeline',
              id: 'lost',
              type: 'deployment',
              subject: 'production',
              time: T,
              event: event('lost'),
            },
          ],
        },
      ]);
    });
  });
}
