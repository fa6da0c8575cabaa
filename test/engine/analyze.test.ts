// analyzeEvent end to end on plain arrays: verdicts, insufficient data, confounders, seasonal
// baselines, BH q-values, explanations and onset. Series come from the deterministic generator.
import { describe, expect, it } from 'vitest';
import { analyzeEvent, benjaminiHochberg, computeWindows, type MetricInput, type Point } from '../../engine/index.js';
import { testdataPoint, testdataQuerySchema, type TestdataQuery } from '../../connectors/testdata/generator.js';

const T = Date.UTC(2026, 2, 3, 14, 0); // event time
const event = { id: 'ev-1', type: 'dev.opstrails.deployment', time: T, subject: 'production' };
const W = computeWindows({ time: T, type: 'deployment', stepSeconds: 60 });

function gen(seed: number, over: Partial<TestdataQuery>, from = W.before.from, to = W.after.to): Point[] {
  const q = testdataQuerySchema.parse(over);
  const out: Point[] = [];
  for (let ts = from; ts < to; ts += 60_000) {
    const p = testdataPoint(seed, q, ts, 60);
    if (p) out.push(p);
  }
  return out;
}
const at = (minutes: number) => new Date(T + minutes * 60_000).toISOString();
function metric(over: Partial<MetricInput> & { points?: Point[] }): MetricInput {
  const pts = over.points ?? [];
  return {
    id: 'm',
    kind: 'gauge',
    direction: 'increase_is_bad',
    step_seconds: 60,
    windows: W,
    before: pts,
    after: pts,
    ...over,
  };
}
const one = (m: MetricInput, extra: object = {}) => analyzeEvent({ event, metrics: [m], ...extra }).metrics[0];

describe('insufficient data never throws', () => {
  it.each(['count', 'ratio', 'gauge', 'quantile'] as const)('%s with empty windows', (kind) => {
    const r = one(metric({ kind, points: [] }));
    expect(r.verdict).toBe('insufficient_data');
    expect(r.reason).toMatch(/no data/);
    expect(r.explanation).toMatch(/^Not enough data/);
  });
  it('fewer than 10 buckets a side', () => {
    const pts = gen(1, { base: 100 }).filter((p, i) => i % 7 === 0);
    const r = one(metric({ points: pts }));
    expect(r.verdict).toBe('insufficient_data');
    expect(r.reason).toMatch(/fewer than 10 buckets/);
  });
  it('under 80% of buckets present, with a minimum detectable effect', () => {
    const r = one(metric({ points: gen(2, { base: 100, missing_rate: 0.4 }) }));
    expect(r.verdict).toBe('insufficient_data');
    expect(r.reason).toMatch(/under 80%/);
    expect(r.data_quality.missing.before).toBeGreaterThan(12);
    expect(r.minimum_detectable_effect).toBeGreaterThan(0);
    expect(r.explanation).toMatch(/could only detect a change of about ±/);
  });
  it('all-zero counts', () => {
    const pts = gen(3, { base: 100 }).map((p) => ({ ts: p.ts, value: 0 }));
    const r = one(metric({ kind: 'count', points: pts }));
    expect(r.verdict).toBe('insufficient_data');
    expect(r.reason).toMatch(/no events counted/);
  });
});

describe('verdicts', () => {
  it('constant, equal windows hold (no_change); a constant shift is a regression', () => {
    const flat = gen(4, { base: 100 }).map((p) => ({ ts: p.ts, value: 5 }));
    expect(one(metric({ points: flat })).verdict).toBe('no_change');
    const shifted = flat.map((p) => ({ ts: p.ts, value: p.ts >= T ? 6 : 5 }));
    const r = one(metric({ points: shifted }));
    expect(r.verdict).toBe('regression');
    expect(r.change.relative).toBeCloseTo(0.2, 12);
  });

  it('an error-rate regression explains itself with the numbers, as a ratio of sums', () => {
    const pts = gen(5, {
      shape: 'ratio',
      base: 0.008,
      requests: 3000,
      noise: 0.05,
      changes: [{ at: at(0), relative: 1.4 }],
    });
    const r = one(metric({ kind: 'ratio', name: 'error rate', points: pts }));
    expect(r.verdict).toBe('regression');
    const sums = (w: { from: number; to: number }) =>
      pts.filter((p) => p.ts >= w.from && p.ts < w.to).reduce((s, p) => [s[0] + p.value, s[1] + p.weight!], [0, 0]);
    const [e0, q0] = sums(W.before);
    const [e1, q1] = sums(W.after);
    expect(r.before.rate).toBeCloseTo(e0 / q0, 15);
    expect(r.change.relative).toBeCloseTo(e1 / q1 / (e0 / q0) - 1, 12);
    expect(r.change.ci![0]).toBeGreaterThan(0);
    expect(r.explanation).toMatch(
      /^Error rate rose from 0\.\d+% to 1\.\d+% \(\+\d+%, 95% CI \+\d+% to \+\d+%\) after the deployment; q [<=] [\d.]+\.$/,
    );
  });

  it('sparse counts use the exact conditional test, also from an all-zero before window', () => {
    const pts = gen(6, { shape: 'count', base: 0.3, noise: 0 }).map((p) => ({
      ts: p.ts,
      value: p.ts < T ? 0 : p.value,
    }));
    const r = one(metric({ kind: 'count', points: pts }));
    expect(r.test.method).toBe('exact_conditional_binomial');
    expect(r.verdict).toBe('regression');
    expect(r.data_quality.low_counts).toBe(true);
  });

  it('direction decides regression vs improvement; "either" calls any change a regression', () => {
    const pts = gen(7, { base: 200, noise: 0.03, changes: [{ at: at(0), relative: -0.2 }] });
    expect(one(metric({ points: pts, direction: 'decrease_is_bad' })).verdict).toBe('regression');
    expect(one(metric({ points: pts, direction: 'increase_is_bad' })).verdict).toBe('improvement');
    expect(one(metric({ points: pts, direction: 'either' })).verdict).toBe('regression');
  });

  it('a latency shift: Hodges–Lehmann relative to the before median', () => {
    const pts = gen(8, { shape: 'quantile', base: 250, noise: 0.1, rho: 0.3, changes: [{ at: at(0), relative: 0.3 }] });
    const r = one(metric({ kind: 'quantile', name: 'p95 latency', unit: 'ms', points: pts }));
    expect(r.verdict).toBe('regression');
    expect(r.test.method).toMatch(/^mann_whitney/);
    expect(r.change.relative).toBeCloseTo(r.change.absolute! / r.before.median!, 12);
    expect(r.change.relative).toBeGreaterThan(0.2);
    expect(r.change.relative).toBeLessThan(0.4);
    expect(r.before.p95).not.toBeNull();
  });

  it('a tiny change inside the threshold band is no_change', () => {
    const pts = gen(9, { base: 100, noise: 0.01, changes: [{ at: at(0), relative: 0.005 }] });
    const r = one(metric({ points: pts }));
    expect(r.verdict).toBe('no_change');
    expect(r.explanation).toMatch(/held/);
  });
});

describe('confounders and seasonality', () => {
  const pts = gen(10, { base: 100, noise: 0.02, changes: [{ at: at(0), relative: 0.3 }] });
  it('an event covering most of the after window makes a change inconclusive, and is listed', () => {
    const other = { id: 'ev-2', type: 'deployment', time: T + 20 * 60_000, subject: 'production' };
    const r = one(metric({ points: pts }), {
      otherEvents: [other, { id: 'ev-3', type: 'deployment', time: T + 20 * 60_000, subject: 'staging' }],
    });
    expect(r.confounders.map((c) => c.id)).toEqual(['ev-2']);
    expect(r.confounders[0].window).toBe('after');
    expect(r.confounders[0].coverage).toBeGreaterThan(0.5);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/ev-2/);
  });

  it('a daily ramp explained by the week-earlier reference is not reported as impact', () => {
    // Deploy at 00:00 UTC: the steepest rise of a ±30% daily sine.
    const t0 = Date.UTC(2026, 2, 4);
    const w = computeWindows({ time: t0, type: 'deployment', stepSeconds: 60 });
    const q = { base: 100, noise: 0.05, daily_amplitude: 0.3 };
    const now = gen(11, q, w.before.from, w.after.to);
    const week = gen(11, q, w.seasonal.week.before.from, w.seasonal.week.after.to);
    const ev = { ...event, time: t0 };
    const plain = analyzeEvent({ event: ev, metrics: [metric({ points: now, windows: w })] }).metrics[0];
    expect(plain.verdict).toBe('regression');
    const r = analyzeEvent({ event: ev, metrics: [metric({ points: now, windows: w, seasonal: { week } })] })
      .metrics[0];
    expect(r.baseline.kind).toBe('seasonal_week');
    expect(r.baseline.explains_change).toBe(true);
    expect(r.verdict).not.toBe('regression');
    expect(r.explanation).toMatch(/week earlier/);
    // With the week missing, the day-earlier reference is used.
    const day = gen(11, q, w.seasonal.day.before.from, w.seasonal.day.after.to);
    expect(
      analyzeEvent({ event: ev, metrics: [metric({ points: now, windows: w, seasonal: { week: [], day } })] })
        .metrics[0].baseline.kind,
    ).toBe('seasonal_day');
  });

  it('an onset inside the before window is said out loud', () => {
    const early = gen(12, { base: 100, noise: 0.02, changes: [{ at: at(-25), relative: 0.3 }] });
    const r = one(metric({ points: early }));
    expect(r.onset?.before_event).toBe(true);
    expect(r.onset!.minutes_from_event).toBeGreaterThan(-30);
    expect(r.onset!.minutes_from_event).toBeLessThan(-20);
    expect(r.explanation).toMatch(/level shifted about 2\d minutes before the deployment/);
  });
});

describe('several metrics', () => {
  it('q-values are BH across the metrics; the event verdict puts critical metrics first', () => {
    const metrics: MetricInput[] = [
      metric({
        id: 'a',
        name: 'checkout errors',
        kind: 'count',
        critical: true,
        points: gen(13, { shape: 'count', base: 80, changes: [{ at: at(0), relative: 0.5 }] }),
      }),
      metric({ id: 'b', name: 'cpu', points: gen(14, { base: 50, noise: 0.05 }) }),
      metric({
        id: 'c',
        name: 'latency',
        kind: 'quantile',
        points: gen(15, { shape: 'quantile', base: 200, noise: 0.1, changes: [{ at: at(0), relative: 0.25 }] }),
      }),
      metric({ id: 'd', name: 'empty', points: [] }),
    ];
    const res = analyzeEvent({ event, metrics });
    const ps = res.metrics.map((m) => m.test.p_value ?? NaN);
    const qs = benjaminiHochberg(ps);
    res.metrics.forEach((m, i) => {
      if (m.test.p_value === null) expect(m.test.q_value).toBeNull();
      else {
        expect(m.test.q_value).toBeCloseTo(qs[i], 15);
        expect(m.test.q_value!).toBeGreaterThanOrEqual(m.test.p_value);
      }
    });
    expect(res.verdict).toBe('regression');
    expect(res.explanation).toMatch(/^Regression in checkout errors \(critical\), latency\.$/);
  });
});

describe('input hygiene', () => {
  it('unordered and duplicated buckets give the same result as clean ones (the last duplicate wins)', () => {
    const pts = gen(16, { base: 100, noise: 0.05, changes: [{ at: at(0), relative: 0.2 }] });
    const clean = one(metric({ points: pts }));
    const messy = [...pts]
      .reverse()
      .concat(pts.slice(0, 5).map((p) => ({ ts: p.ts, value: 1e9 })))
      .concat(pts.slice(0, 5));
    const r = one(metric({ points: messy }));
    expect(r.change).toEqual(clean.change);
    expect(r.test.p_value).toBe(clean.test.p_value);
    expect(r.data_quality.present).toEqual(clean.data_quality.present);
  });
});

describe('the windows the caller computed', () => {
  const pts = gen(17, { base: 100, noise: 0.05 }, W.before.from - 60 * 60_000, W.after.to + 60 * 60_000);
  it('are the ones cut and reported, overrides included (the engine does not resolve them again)', () => {
    const wide = computeWindows({ time: T, type: 'deployment', stepSeconds: 60, metric: { before: '2h', gap: '0m' } });
    const r = one(metric({ points: pts, windows: wide }));
    expect(r.windows).toEqual({ before: wide.before, after: wide.after });
    expect(r.data_quality.expected).toEqual({ before: 120, after: 60 });
    expect(r.data_quality.present.before).toBe(120);
    expect(one(metric({ points: pts })).data_quality.expected.before).toBe(60);
  });
  it("must be computed for the metric's step", () => {
    const coarse = computeWindows({ time: T, type: 'deployment', stepSeconds: 300 });
    expect(() => one(metric({ points: pts, windows: coarse }))).toThrow(/300s step, not 60s/);
  });
});

describe('noise-model history ahead of the before window', () => {
  // Windows of white noise, preceded by 4 hours of the same level wandering with ρ = 0.9:
  // the history says the series is persistent, so the interval widens and the df drop.
  const white = gen(31, { base: 100, noise: 0.05 });
  const wandering = gen(32, { base: 100, noise: 0.05, rho: 0.9 }, W.history.from, W.history.to);
  it('widens the interval when the history shows autocorrelation the windows alone do not', () => {
    const alone = one(metric({ points: white }));
    const withHistory = one(metric({ before: [...wandering, ...white], after: white }));
    expect(alone.data_quality.history_buckets).toBe(0);
    expect(withHistory.data_quality.history_buckets).toBe(240);
    const width = (r: typeof alone) => r.change.ci![1] - r.change.ci![0];
    expect(width(withHistory)).toBeGreaterThan(1.5 * width(alone));
    expect(withHistory.test.df!).toBeLessThan(alone.test.df ?? Infinity);
    // The estimate is the windows' alone: history is never compared.
    expect(withHistory.change.relative).toBe(alone.change.relative);
    expect(withHistory.before).toEqual(alone.before);
  });
  it('leaves out history stretches that hold another event, and thin ones', () => {
    const other = {
      id: 'ev-0',
      type: 'deployment',
      time: W.history.from + 30 * 60_000,
      subject: 'production',
    };
    const thinned = wandering.filter(
      (p) =>
        p.ts >= W.history.from + 60 * 60_000 && (p.ts >= W.history.from + 120 * 60_000 || p.ts % (10 * 60_000) === 0),
    );
    const r = one(metric({ before: [...wandering, ...white], after: white }), { otherEvents: [other] });
    expect(r.data_quality.history_buckets).toBe(180);
    // The first hour of history missing, the second down to 6 buckets (< 10): only the last two hours count.
    expect(one(metric({ before: [...thinned, ...white], after: white })).data_quality.history_buckets).toBe(120);
    // History the columnar input carries counts the same.
    const all = [...wandering, ...white];
    const cols = { ts: Float64Array.from(all, (p) => p.ts), value: Float64Array.from(all, (p) => p.value) };
    expect(one(metric({ series: cols })).data_quality.history_buckets).toBe(240);
  });
});
