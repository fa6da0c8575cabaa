// The reference-day counterfactual: combination of reference days (an event, an outage, a
// missing day, a DST change, the weekday), the placebo calibration and the fallbacks.
import { describe, expect, it } from 'vitest';
import {
  analyzeEvent,
  computeWindows,
  type EngineEvent,
  type MetricInput,
  type MetricResult,
} from '../../engine/index.js';
import { zoneOffsetMs } from '../../domain/time-zone.js';
import { pooledInflation } from '../../engine/calibration.js';
import { counterfactualInterval } from '../../engine/counterfactual.js';
import { referenceShifts } from '../../engine/windows.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** mulberry32 + Box–Muller: reproducible noise. */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 + 1e-12;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

interface Spec {
  /** Value at a bucket before noise (the rhythm, a change...). */
  level: (ts: number) => number;
  /** Relative noise, AR(0.5). */
  sd?: number;
  seed?: number;
  /** Days back (0 = today) to leave out entirely. */
  missingDays?: number[];
}

const T = Date.UTC(2026, 10, 18, 9, 30);
const event: EngineEvent = { id: 'deploy', type: 'deployment', time: T, subject: 'production' };
const windows = computeWindows({ time: T, type: 'deployment', stepSeconds: 60 });

/** A gauge over today's range and `days` earlier days, as columns. */
function gauge(spec: Spec, days = 7, time = T): { ts: Float64Array; value: Float64Array } {
  const w = computeWindows({ time, type: 'deployment', stepSeconds: 60 });
  const z = noise(spec.seed ?? 1);
  const ts: number[] = [];
  const value: number[] = [];
  for (let d = days; d >= 0; d--) {
    if (spec.missingDays?.includes(d)) continue;
    let e = 0;
    for (let t = w.pre.from - d * DAY - 2 * HOUR; t < w.after.to - d * DAY + 2 * HOUR; t += MIN) {
      e = 0.5 * e + Math.sqrt(0.75) * z();
      ts.push(t);
      value.push(spec.level(t) * (1 + (spec.sd ?? 0.02) * e));
    }
  }
  return { ts: Float64Array.from(ts), value: Float64Array.from(value) };
}

/** A daily rhythm (±40%, peaking at 14:00 UTC) on which the deploy sits on the morning ramp. */
const rhythm = (t: number) => 100 * (1 + 0.4 * Math.sin((2 * Math.PI * ((t % DAY) - 8 * HOUR)) / DAY));

function analyze(
  series: { ts: Float64Array; value: Float64Array },
  extra: Partial<MetricInput> = {},
  others: EngineEvent[] = [],
): MetricResult {
  const metric: MetricInput = {
    id: 'm',
    name: 'cpu',
    kind: 'gauge',
    direction: 'increase_is_bad',
    step_seconds: 60,
    threshold: 0.05,
    windows,
    before: [],
    after: [],
    series,
    ...extra,
  };
  return analyzeEvent({ event, metrics: [metric], otherEvents: others }).metrics[0];
}

describe('reference-day counterfactual', () => {
  it('takes a daily ramp for what it is, and finds a change on top of it', () => {
    const plain = analyze(gauge({ level: rhythm }, 0));
    // Without references the ramp reads as a rise of well over the threshold.
    expect(plain.baseline.kind).toBe('before_window');
    expect(plain.verdict).toBe('regression');

    const held = analyze(gauge({ level: rhythm }));
    expect(held.baseline.kind).toBe('reference_days');
    expect(held.baseline.reference_days).toBe(7);
    expect(held.verdict).toBe('no_change');
    expect(Math.abs(held.change.relative!)).toBeLessThan(0.02);
    expect(held.baseline.explains_change).toBe(true);
    // The numbers agree: observed / expected − 1 is the relative change.
    const cf = held.counterfactual!;
    expect(cf.observed / cf.expected - 1).toBeCloseTo(held.change.relative!, 10);
    expect(cf.expected_ci![0]).toBeLessThan(cf.expected);
    expect(cf.expected_ci![1]).toBeGreaterThan(cf.expected);

    const jump = analyze(gauge({ level: (t) => rhythm(t) * (t >= T ? 1.2 : 1) }));
    expect(jump.verdict).toBe('regression');
    expect(jump.change.relative!).toBeGreaterThan(0.15);
    expect(jump.change.relative!).toBeLessThan(0.25);
    expect(jump.explanation).toMatch(/expected from 7 reference days/);
  });

  it('leaves out a reference day that holds another event, and one without data', () => {
    const series = gauge({ level: rhythm, missingDays: [4] });
    const other: EngineEvent = { id: 'other', type: 'deployment', time: T - 2 * DAY + 10 * MIN, subject: 'production' };
    const r = analyze(series, {}, [other]);
    expect(r.baseline.kind).toBe('reference_days');
    expect(r.baseline.days!.map((d) => d.day)).toEqual([1, 3, 5, 6, 7]);
    expect(r.baseline.skipped_days).toEqual([{ day: 2, reason: 'another event in its windows' }]);
    expect(r.verdict).toBe('no_change');
  });

  it('an outage on a reference day does not drag the prediction', () => {
    // Day 3's after window ran at three times its level (an incident nobody recorded).
    const outage = (t: number) =>
      rhythm(t) * (t >= windows.after.from - 3 * DAY && t < windows.after.to - 3 * DAY ? 3 : 1);
    const clean = analyze(gauge({ level: rhythm, seed: 5 }));
    const r = analyze(gauge({ level: outage, seed: 5 }));
    expect(r.baseline.skipped_days).toEqual([{ day: 3, reason: expect.stringMatching(/far from the other days/) }]);
    expect(r.baseline.reference_days).toBe(6);
    expect(r.verdict).toBe('no_change');
    expect(Math.abs(r.change.relative! - clean.change.relative!)).toBeLessThan(0.01);
  });

  it('falls back to one week earlier, or to the plain comparison, with fewer than three reference days', () => {
    const only = gauge({ level: rhythm, missingDays: [1, 2, 3, 4, 5, 6] });
    const week = analyze(only);
    expect(week.baseline.kind).toBe('seasonal_week');
    expect(week.test.method).toMatch(/_did$/);
    const none = analyze(gauge({ level: rhythm }, 0));
    expect(none.baseline.kind).toBe('before_window');
    expect(none.counterfactual!.observed / none.counterfactual!.expected - 1).toBeCloseTo(none.change.relative!, 10);
  });

  it("follows the provider's clock across a DST change", () => {
    // Europe/Berlin moved to summer time on 2026-03-29 at 01:00 UTC.
    const t = Date.UTC(2026, 2, 31, 8, 20); // 10:20 CEST
    expect(zoneOffsetMs(t, 'Europe/Berlin')).toBe(2 * HOUR);
    expect(zoneOffsetMs(Date.UTC(2026, 2, 27, 8, 20), 'Europe/Berlin')).toBe(HOUR);
    const shifts = referenceShifts(t, 7, 60, 'Europe/Berlin');
    // Two days back is still summer time; three days back and more, the same local time is an hour later in UTC.
    expect(shifts.map((s) => s / HOUR)).toEqual([24, 48, 71, 95, 119, 143, 167]);
    expect(referenceShifts(t, 3, 60).map((s) => s / HOUR)).toEqual([24, 48, 72]);

    // A level that steps up at 10:00 Berlin time every day; the deploy is at 10:20.
    const local = (ts: number) => {
      const h = ((ts + zoneOffsetMs(ts, 'Europe/Berlin')) % DAY) / HOUR;
      return h >= 10 ? 130 : 100;
    };
    const dstEvent: EngineEvent = { id: 'dst', type: 'deployment', time: t, subject: 'production' };
    const series = gauge({ level: local, seed: 9 }, 7, t);
    const run = (timeZone: string | null) =>
      analyzeEvent({
        event: dstEvent,
        metrics: [
          {
            id: 'm',
            kind: 'gauge',
            direction: 'increase_is_bad',
            step_seconds: 60,
            threshold: 0.05,
            windows: computeWindows({ time: t, type: 'deployment', stepSeconds: 60 }),
            before: [],
            after: [],
            series,
            time_zone: timeZone,
          },
        ],
      }).metrics[0];
    const utc = run(null);
    const berlin = run('Europe/Berlin');
    // In UTC, five of the seven reference days step an hour later: the prediction runs low and the step reads as a rise.
    expect(utc.change.relative!).toBeGreaterThan(0.05);
    expect(berlin.baseline.reference_days).toBe(7);
    expect(Math.abs(berlin.change.relative!)).toBeLessThan(0.02);
    expect(berlin.verdict).toBe('no_change');
  });

  it('uses the weekday pattern when two weeks show one', () => {
    // On this weekday (7 and 14 days back, and today) the after window runs 15% above the others'.
    const weekday = (t: number) => {
      const d = Math.round((T - t) / DAY);
      const sameWeekday = d % 7 === 0;
      const inAfter = t >= windows.after.from - d * DAY;
      return rhythm(t) * (sameWeekday && inAfter ? 1.15 : 1);
    };
    const r = analyze(gauge({ level: weekday, seed: 3 }, 14));
    expect(r.baseline.weekday_adjusted).toBe(true);
    expect(Math.abs(r.change.relative!)).toBeLessThan(0.03);
    // Seven days alone cannot see it: one same-weekday reference among seven.
    const week = analyze(gauge({ level: weekday, seed: 3 }, 7));
    expect(week.baseline.weekday_adjusted).toBe(false);
    expect(week.change.relative!).toBeGreaterThan(0.08);
  });

  it('widens the interval to the placebo spread when the days differ more than the noise model allows', () => {
    // Each day's after window sits at its own level (±6%): day-to-day variation the within-day noise cannot show.
    const z = noise(77);
    const dayShift = Array.from({ length: 8 }, () => 1 + 0.06 * z());
    dayShift[0] = 1;
    const wobbly = (t: number) => {
      const d = Math.round((T - t) / DAY);
      return rhythm(t) * (t >= windows.after.from - d * DAY ? dayShift[d] : 1);
    };
    const calm = analyze(gauge({ level: rhythm, seed: 11, sd: 0.01 }));
    const r = analyze(gauge({ level: wobbly, seed: 11, sd: 0.01 }));
    expect(r.baseline.calibration).toBe('placebo');
    expect(r.baseline.placebo!.se).toBeGreaterThan(2 * r.baseline.placebo!.model_se);
    expect(r.change.ci![1] - r.change.ci![0]).toBeGreaterThan(2 * (calm.change.ci![1] - calm.change.ci![0]));
    expect(r.explanation).toMatch(/placebo spread/);
  });

  it("reports the noise model's standard error and df beside the placebos', and restates either interval", () => {
    const z = noise(78);
    const dayShift = Array.from({ length: 8 }, (_, d) => (d === 0 ? 1 : 1 + 0.06 * z()));
    const wobbly = (t: number) => {
      const d = Math.round((T - t) / DAY);
      return rhythm(t) * (t >= windows.after.from - d * DAY ? dayShift[d] : 1);
    };
    const r = analyze(gauge({ level: wobbly, seed: 12, sd: 0.01 }), { kind: 'quantile' });
    const p = r.baseline.placebo!;
    expect(r.baseline.calibration).toBe('placebo');
    expect(r.test.df).toBe(p.df);
    expect(p.model_df).toBeGreaterThan(1);
    // Latency compares logs: the change on that scale is the statistic times the standard error used.
    const diff = r.test.statistic! * p.se;
    const restated = counterfactualInterval('quantile', diff, p.se, p.df, r.counterfactual!.observed, 0.95);
    expect(restated.p).toBeCloseTo(r.test.p_value!, 12);
    expect(restated.ci![0]).toBeCloseTo(r.change.ci![0], 12);
    expect(restated.ci![1]).toBeCloseTo(r.change.ci![1], 12);
    // The noise model's own interval is the narrower one here: that is why the placebos decided.
    const model = counterfactualInterval('quantile', diff, p.model_se, p.model_df!, r.counterfactual!.observed, 0.95);
    expect(model.ci![1] - model.ci![0]).toBeLessThan(r.change.ci![1] - r.change.ci![0]);
    // A calm series: whichever decided, the test's df is that one's.
    const calm = analyze(gauge({ level: rhythm, seed: 12, sd: 0.01 }));
    const c = calm.baseline.placebo!;
    expect(calm.test.df).toBe(calm.baseline.calibration === 'model' ? c.model_df : c.df);
  });

  it("pools the placebo inflation with the metric's earlier events, unless this event's placebos disagree", () => {
    // Too little history, or none: nothing pooled. Otherwise weighted by df, the history's capped at 100.
    expect(pooledInflation({ inflation: 1.5, df: 10 }, undefined)).toBeNull();
    expect(pooledInflation({ inflation: 1.5, df: 10 }, { inflation: 1, df: 40, events: 4 })).toBeNull();
    expect(pooledInflation({ inflation: 1.5, df: 10 }, { inflation: 1, df: 300, events: 30 })).toEqual({
      inflation: (100 * 1 + 10 * 1.5) / 110,
      df: 110,
      events: 30,
    });
    // Placebos spreading five times wider than the history allows keep their own calibration.
    expect(pooledInflation({ inflation: 5, df: 10 }, { inflation: 1, df: 300, events: 30 })).toBeNull();

    const calm = gauge({ level: rhythm, seed: 13, sd: 0.01 });
    const alone = analyze(calm);
    // A history saying the noise model is right: the interval rests on the model and both estimates' df.
    const trusted = analyze(calm, { placebo_history: { inflation: 1, df: 200, events: 30 } });
    expect(trusted.baseline.placebo!.pooled!.events).toBe(30);
    expect(trusted.baseline.calibration).not.toBe('placebo');
    expect(trusted.test.df!).toBeGreaterThan(alone.baseline.placebo!.df);
    // A history of placebos four times the model's variance: widened to it, and said so.
    const wide = analyze(calm, { placebo_history: { inflation: 4, df: 200, events: 30 } });
    expect(wide.baseline.calibration).toBe('pooled');
    const p = wide.baseline.placebo!;
    expect(wide.change.ci![1] - wide.change.ci![0]).toBeGreaterThan(
      1.5 * (trusted.change.ci![1] - trusted.change.ci![0]),
    );
    const diff = wide.test.statistic! * p.model_se * Math.sqrt(p.pooled!.inflation);
    const restated = counterfactualInterval(
      'gauge',
      diff,
      p.model_se * Math.sqrt(p.pooled!.inflation),
      wide.test.df!,
      wide.counterfactual!.observed,
      0.95,
    );
    expect(restated.ci![0]).toBeCloseTo(wide.change.ci![0], 9);
    expect(wide.explanation).toMatch(/placebo spread of this and 30 earlier events/);
    // Days that differ far more than any history said: this event's own placebos decide.
    const z = noise(79);
    const dayShift = Array.from({ length: 8 }, (_, d) => (d === 0 ? 1 : 1 + 0.06 * z()));
    const wobbly = (t: number) => {
      const d = Math.round((T - t) / DAY);
      return rhythm(t) * (t >= windows.after.from - d * DAY ? dayShift[d] : 1);
    };
    const odd = analyze(gauge({ level: wobbly, seed: 13, sd: 0.01 }), {
      placebo_history: { inflation: 1, df: 200, events: 30 },
    });
    expect(odd.baseline.calibration).toBe('placebo');
    expect(odd.baseline.placebo!.pooled).toBeUndefined();
  });

  it('compares latency on the log scale, gaps in the stored buckets included', () => {
    const full = gauge({ level: rhythm, seed: 31, sd: 0.03 });
    // Drop every 17th bucket: reference days and today then have gaps at different clock times.
    const keep = Array.from(full.ts, (_, i) => i % 17 !== 5);
    const series = { ts: full.ts.filter((_, i) => keep[i]), value: full.value.filter((_, i) => keep[i]) };
    const held = analyze(series, { kind: 'quantile' });
    expect(held.test.method).toBe('reference_days_log_latency_t');
    expect(held.baseline.reference_days).toBe(7);
    expect(Math.abs(held.change.relative!)).toBeLessThan(0.02);
    expect(held.verdict).toBe('no_change');
    // The same series as points gives the same answer (the column and point paths agree).
    const points = Array.from(series.ts, (ts, i) => ({ ts, value: series.value[i] }));
    const viaPoints = analyze(
      { ts: new Float64Array(), value: new Float64Array() },
      { kind: 'quantile', series: undefined, before: points, after: points, references: points },
    );
    expect(viaPoints.change.relative).toBeCloseTo(held.change.relative!, 12);
  });

  it('works for counts and ratios on their log scale', () => {
    const z = noise(21);
    const ts: number[] = [];
    const value: number[] = [];
    const weight: number[] = [];
    for (let d = 7; d >= 0; d--) {
      for (let t = windows.pre.from - d * DAY; t < windows.after.to - d * DAY; t += MIN) {
        const requests = Math.round(rhythm(t) * 10 * (1 + 0.03 * z()));
        const rate = 0.02 * (d === 0 && t >= T ? 1.5 : 1);
        ts.push(t);
        weight.push(requests);
        value.push(Math.max(0, Math.round(requests * rate * (1 + 0.1 * z()))));
      }
    }
    const series = { ts: Float64Array.from(ts), value: Float64Array.from(value), weight: Float64Array.from(weight) };
    const ratio = analyze(series, { kind: 'ratio', threshold: 0.2 });
    expect(ratio.baseline.kind).toBe('reference_days');
    expect(ratio.test.method).toBe('reference_days_log_ratio_of_sums_t');
    expect(ratio.verdict).toBe('regression');
    expect(ratio.change.relative!).toBeGreaterThan(0.35);
    expect(ratio.change.relative!).toBeLessThan(0.65);
    // Requests follow the rhythm: as a count they have a ramp the references explain.
    const requests = analyze({ ts: series.ts, value: series.weight }, { kind: 'count', threshold: 0.1 });
    expect(requests.test.method).toBe('reference_days_log_rate_t');
    expect(requests.verdict).toBe('no_change');
  });
});
