// The planner as pure functions: interval arithmetic, satisfaction, coalescing.
// Properties: every needed bucket ends up covered late enough; jobs stay within
// the point cap; a first fetch is never delayed beyond the slack.
import { receive } from '../../domain/event.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedulerEvents } from '../../scheduler/index.js';
import {
  coalesce,
  needsFor,
  pairWindows,
  satisfiedBy,
  subtract,
  union,
  unmet,
  type Need,
  type PlanJob,
} from '../../scheduler/plan.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const job = (from: number, to: number, extra: Partial<PlanJob> = {}): PlanJob => ({
  kind: 'window',
  from,
  to,
  state: 'queued',
  run_at: to,
  due_at: to,
  fetched_at: null,
  ...extra,
});

describe('interval helpers', () => {
  it('subtracts and unites ranges', () => {
    expect(
      subtract({ from: 0, to: 10 }, [
        { from: 2, to: 4 },
        { from: 8, to: 20 },
      ]),
    ).toEqual([
      { from: 0, to: 2 },
      { from: 4, to: 8 },
    ]);
    expect(subtract({ from: 0, to: 10 }, [{ from: -5, to: 50 }])).toEqual([]);
    expect(
      union([
        { from: 5, to: 8 },
        { from: 0, to: 5 },
        { from: 10, to: 12 },
      ]),
    ).toEqual([
      { from: 0, to: 8 },
      { from: 10, to: 12 },
    ]);
  });

  it('a job satisfies only the buckets that had closed delay before it ran', () => {
    const j = job(0, 60 * MIN, { state: 'succeeded', fetched_at: 40 * MIN });
    expect(satisfiedBy(j, 2 * MIN, MIN, 0)).toEqual({ from: 0, to: 38 * MIN });
    expect(satisfiedBy({ ...j, state: 'failed' }, 0, MIN, 0)).toBeNull();
    expect(satisfiedBy(job(0, 10 * MIN, { run_at: 5 * MIN }), 10 * MIN, MIN, 0)).toBeNull();
  });

  it('needs a late-data pass only when the provider settles after its data delay', () => {
    const w = pairWindows({ time: 0, type: 'deployment' }, { step_seconds: 60, windows: {} });
    // Deployment at 00:00: before window 22:55–23:55 with 4 hours of noise-model history up to the
    // last full hour before it (18:00–22:00), so the pre-event stretch is 18:00–23:55; the after
    // window 00:05–01:05; and on each of the 7 previous days the same clock range 18:00–01:05.
    const pre = { from: -360 * MIN, to: -5 * MIN };
    const after = { from: 5 * MIN, to: 65 * MIN };
    const references = [1, 2, 3, 4, 5, 6, 7].map((d) => ({ from: pre.from - d * DAY, to: after.to - d * DAY }));
    expect(w).toEqual({ before: pre, after, references });
    const ranges = [pre, after, ...references];
    expect(needsFor(w, { dataDelaySeconds: 120, settleSeconds: 600 })).toEqual([
      ...ranges.map((range) => ({ range, delayMs: 120_000 })),
      ...ranges.map((range) => ({ range, delayMs: 600_000, final: true })),
    ]);
    expect(needsFor(w, { dataDelaySeconds: 0, settleSeconds: 0 })).toEqual(
      ranges.map((range) => ({ range, delayMs: 0 })),
    );
  });

  it("follows the metric's wall clock across a DST change for the reference days", () => {
    // Europe/Berlin leaves summer time on 2026-10-25 (03:00 CEST → 02:00 CET). A deployment at
    // 13:00 CET on the 26th (12:00 UTC) compares with 13:00 local on each earlier day: 24 hours
    // back on the 25th (already CET, 12:00 UTC), d × 24 hours + 1 hour back on the 24th and
    // earlier (CEST, 11:00 UTC). Without a time zone every day is d × 24 hours back.
    const t = Date.UTC(2026, 9, 26, 12, 0);
    const utc = pairWindows({ time: t, type: 'deployment' }, { step_seconds: 60, windows: {} });
    const berlin = pairWindows(
      { time: t, type: 'deployment' },
      { step_seconds: 60, windows: { time_zone: 'Europe/Berlin' } },
    );
    expect(berlin.before).toEqual(utc.before);
    expect(berlin.after).toEqual(utc.after);
    const shifts = [1, 2, 3, 4, 5, 6, 7].map((d) => d * DAY + (d >= 2 ? HOUR : 0));
    expect(berlin.references).toEqual(shifts.map((s) => ({ from: utc.before.from - s, to: utc.after.to - s })));
    expect(utc.references).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((d) => ({ from: utc.before.from - d * DAY, to: utc.after.to - d * DAY })),
    );
  });
});

describe('coalesce', () => {
  const opts = (now: number) => ({
    now,
    stepMs: MIN,
    maxJobMs: 1500 * MIN,
    slackMs: 5 * MIN,
    settleSlackMs: 15 * MIN,
    gapMs: 60 * MIN,
  });
  const make = (r: { from: number; to: number }, due: number, final: boolean): PlanJob => ({
    ...job(r.from, r.to, { run_at: due, due_at: due }),
    kind: final ? 'settle' : 'window',
  });

  it('plans nothing for needs already covered, and extends a queued neighbour instead of adding a job', () => {
    const jobs = [job(0, 60 * MIN, { run_at: 62 * MIN, due_at: 62 * MIN })];
    const covered = coalesce(
      jobs,
      [{ range: { from: 10 * MIN, to: 50 * MIN }, delayMs: 2 * MIN }],
      opts(60 * MIN),
      make,
    );
    expect(covered).toEqual({ created: [], changed: [] });
    const next = coalesce(jobs, [{ range: { from: MIN, to: 61 * MIN }, delayMs: 2 * MIN }], opts(60 * MIN), make);
    expect(next.created).toHaveLength(0);
    expect(jobs[0]).toMatchObject({ from: 0, to: 61 * MIN, run_at: 63 * MIN, due_at: 62 * MIN });
  });

  it('a far-off late-data pass does not stand in for a first fetch wanted now', () => {
    const settle = job(0, 60 * MIN, { kind: 'settle', run_at: 48 * 60 * MIN, due_at: 48 * 60 * MIN });
    const jobs = [settle];
    const { created } = coalesce(jobs, [{ range: { from: 0, to: 60 * MIN }, delayMs: 2 * MIN }], opts(62 * MIN), make);
    expect(created.map((j) => [j.kind, j.from, j.to, j.run_at])).toEqual([['window', 0, 60 * MIN, 62 * MIN]]);
  });

  it('chunks a long window by the point cap', () => {
    const jobs: PlanJob[] = [];
    const { created } = coalesce(jobs, [{ range: { from: 0, to: 4000 * MIN }, delayMs: 0 }], opts(5000 * MIN), make);
    expect(created.map((j) => [j.from / MIN, j.to / MIN])).toEqual([
      [0, 1500],
      [1500, 3000],
      [3000, 4000],
    ]);
  });

  it('properties: needs end up covered, jobs within the cap, first fetches delayed at most the slack', () => {
    const needArb = fc.record({
      from: fc.integer({ min: 0, max: 3000 }),
      len: fc.integer({ min: 1, max: 300 }),
      final: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(needArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 3500 }),
        (raw, nowMin) => {
          const o = { ...opts(nowMin * MIN), maxJobMs: 500 * MIN };
          const needs: Need[] = raw.map((n) => ({
            range: { from: n.from * MIN, to: (n.from + n.len) * MIN },
            delayMs: n.final ? 10 * MIN : 2 * MIN,
            final: n.final,
          }));
          const jobs: PlanJob[] = [];
          coalesce(jobs, needs, o, make);
          expect(unmet(needs, jobs, MIN, o.now)).toEqual([]);
          for (const j of jobs) expect(j.to - j.from).toBeLessThanOrEqual(o.maxJobMs);
          for (const n of needs.filter((x) => !x.final)) {
            // The bucket-closing time + delay is when it was wanted; whichever job covers it runs within the slack.
            for (let t = n.range.from; t < n.range.to; t += MIN) {
              const wanted = Math.max(o.now, t + MIN + n.delayMs);
              const runs = jobs.filter((j) => j.from <= t && t < j.to).map((j) => j.run_at);
              expect(Math.min(...runs) - wanted).toBeLessThanOrEqual(o.slackMs + (n.range.to - t - MIN));
            }
          }
        },
      ),
      { numRuns: Number(process.env.PLAN_RUNS ?? 100) },
    );
  });
});

describe('schedulerEvents', () => {
  it('keeps accepted events only and falls back to the receipt time', () => {
    const e = (id: string, time?: string) => ({
      specversion: '1.0' as const,
      id,
      source: 's',
      type: 'deployment',
      subject: 'prod',
      ...(time ? { time } : {}),
    });
    const received = [e('a', '2026-11-02T12:00:00Z'), e('b'), e('dup')].map((x) => receive(x, 42));
    const out = schedulerEvents(received, ['a', 'b']);
    expect(out.map((x) => [x.id, x.time, x.subject])).toEqual([
      ['a', Date.parse('2026-11-02T12:00:00Z'), 'prod'],
      ['b', 42, 'prod'],
    ]);
  });
});
