// The seasonal counterfactual: what the after window would have been without the event,
// predicted from the same clock windows on many reference days, with today's level set by the
// seasonally adjusted hours before the event, and calibrated against placebo events.
import { calibrate } from './calibration.js';
import { tQuantile, tTwoSided } from './distributions.js';
import type { MetricKind } from '../domain/metric.js';
import type { Calibration, PlaceboHistory } from '../domain/report.js';
import { statDifference, type WindowStat } from './robust-t.js';
import { afterLevel, levelIn, profileOf, sumsOf, type Grid, type Profile, type Sums } from './grid.js';
import type { SerialStretch } from './hac.js';
import { take } from './scratch.js';

/** What the counterfactual comparison returns. */
export interface Counterfactual {
  /** Change on the comparison scale (log for counts, ratios and latency; units for gauges). */
  diff: number;
  se: number;
  df: number;
  p: number;
  /** Relative change of the observed after window against the expected one, and its interval. */
  relative: number | null;
  ci: [number, number] | null;
  /** The same in the metric's units (against the expected after level). */
  absolute: number | null;
  ci_absolute: [number, number] | null;
  /** Standard error of the relative change (log scale where the kind is). */
  se_relative: number | null;
  autocorrelation: number;
  n_eff: { before: number; after: number };
  /** The reference days used, each with its weight in the prediction and its own pre → after change (comparison scale). */
  days: { day: number; weight: number; change: number }[];
  /** Reference days left out by the robust combination (their change was far from the others'). */
  outliers: number[];
  /** Which variance decided the interval: the noise model, this event's placebo spread where that was wider, or the placebo inflation pooled with the metric's earlier events' (PlaceboHistory). */
  calibration: Calibration;
  /**
   * The placebo events' spread and the noise model's, both as the standard error of the change;
   * `placebos` = how many, `df` and `model_df` = the degrees of freedom of each; `pooled` = the
   * inflation pooled with the metric's earlier events and its df, when their history was used.
   */
  placebo: {
    se: number;
    model_se: number;
    placebos: number;
    df: number;
    model_df: number;
    pooled?: PlaceboHistory;
  };
  /** True when two or more same-weekday references moved the prediction toward their own days' pattern. */
  weekday_adjusted: boolean;
}

/** Fewest reference days for a counterfactual; below it the engine falls back to a single-reference difference-in-differences. */
export const MIN_REFERENCE_DAYS = 3;
/** A reference day whose own change lies this many robust standard deviations from the median is left out (an outage, a missed event). */
const OUTLIER_SDS = 4;
/** Placebo events per day at earlier times: the after window moved back by 1, 2, … times (after end − before end). */
const PLACEBO_OFFSETS = 2;
/**
 * The placebos of one day share most of their pre-event stretch, so they are not independent: on
 * the accuracy bench the spread of the placebo inflation across events matched about half the
 * nominal degrees of freedom (14–17 of 27 with three offsets). A gauge with persistent noise
 * rejected 7.0% of null events (raw p < 0.05, 1,500 events) with three offsets and the nominal
 * df, 5.3% with two offsets and half.
 */
const PLACEBO_DF_SHARE = 0.5;

/**
 * Today's two windows as statistics net of the reference profile. Gauges and latency (log)
 * subtract it bucket by bucket; counts and ratios keep their raw window levels (a log rate, a log
 * ratio of sums: no division by a noisy profile per bucket) and take the profile's own change
 * over today's present buckets as `reference`. The residuals around the profile's shape carry
 * today's noise and the profile's, so their robust variance is that of the whole counterfactual
 * difference.
 */
function adjustedStats(
  kind: MetricKind,
  g: Grid,
  p: Profile,
): { pre: WindowStat; after: WindowStat; reference: number } | null {
  let reference = 0;
  const row = g.rows[0];
  const wrow = g.weights?.[0];
  const side = (from: number, to: number, sign: number): WindowStat | null => {
    const resid = take(to - from);
    const keep = take(to - from);
    let n = 0;
    for (let j = from; j < to; j++) {
      const v = row[j];
      if (v !== v || !(p.wsum[j] > 0)) continue;
      const profile = p.num[j] / p.wsum[j];
      if (kind === 'gauge' || kind === 'quantile') resid[n] = v - profile;
      else if (kind === 'count') {
        if (!(profile > 0)) continue;
        resid[n] = profile;
      } else {
        if (!(p.den[j] > 0 && p.num[j] > 0)) continue;
        resid[n] = p.num[j] / p.den[j];
      }
      keep[n++] = j;
    }
    if (n < 2) return null;
    if (kind === 'gauge' || kind === 'quantile') {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += resid[i];
      mean /= n;
      for (let i = 0; i < n; i++) resid[i] -= mean;
      return { est: mean, resid: resid.subarray(0, n), scale: 1, floor: 0 };
    }
    if (kind === 'count') {
      let ySum = 0;
      let pSum = 0;
      for (let i = 0; i < n; i++) {
        ySum += row[keep[i]];
        pSum += resid[i];
      }
      if (!(ySum > 0)) return null;
      const f = ySum / pSum;
      for (let i = 0; i < n; i++) resid[i] = row[keep[i]] - f * resid[i];
      reference += sign * Math.log(pSum / n);
      const mean = ySum / n;
      return { est: Math.log(mean), resid: resid.subarray(0, n), scale: 1 / (mean * mean), floor: 1 / (mean * n) };
    }
    const q = wrow as Float64Array;
    let eSum = 0;
    let rSum = 0;
    let expected = 0;
    for (let i = 0; i < n; i++) {
      eSum += row[keep[i]];
      rSum += q[keep[i]];
      expected += resid[i] * q[keep[i]];
    }
    if (!(eSum > 0 && rSum > 0 && expected > 0)) return null;
    const f = eSum / expected;
    for (let i = 0; i < n; i++) resid[i] = row[keep[i]] - f * resid[i] * q[keep[i]];
    // The profile's rate over today's buckets, weighted by today's requests.
    reference += sign * Math.log(expected / rSum);
    return { est: Math.log(eSum / rSum), resid: resid.subarray(0, n), scale: (n * n) / (eSum * eSum), floor: 0 };
  };
  const pre = side(0, g.preEnd, -1);
  const after = side(g.afterStart, g.n, 1);
  return pre && after ? { pre, after, reference } : null;
}

/**
 * A day's own change at placebo offset m: m = 0 is the event's clock time (its pre-event stretch
 * against its after window); m ≥ 1 moves the after window back by m × (after end − before end)
 * into the pre-event stretch and ends the placebo's pre-event stretch as far before it, so today's
 * placebos lie wholly before the event. NaN when the placebo's pre-event stretch would be shorter
 * than its after window.
 */
function placeboChange(kind: MetricKind, g: Grid, s: Sums, day: number, m: number): number {
  const back = m * (g.n - g.preEnd);
  const afterLen = g.n - g.afterStart;
  if (g.preEnd - back < afterLen) return NaN;
  return levelIn(kind, s, day, g.afterStart - back, g.n - back) - levelIn(kind, s, day, 0, g.preEnd - back);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Prediction weights of the reference days: equal, or, when at least two references share
 * today's weekday and two do not, shrunk toward the same-weekday days by how clearly their
 * changes differ from the others' (a positive-part James–Stein factor on the difference).
 */
function combination(
  days: readonly number[],
  changes: readonly number[],
  varChange: number,
): { weights: number[]; weekday: boolean } {
  const k = days.length;
  const equal = days.map(() => 1 / k);
  const same = days.map((d) => d % 7 === 0);
  const ks = same.filter(Boolean).length;
  const ko = k - ks;
  if (ks < 2 || ko < 2) return { weights: equal, weekday: false };
  const mean = (pick: boolean) => changes.reduce((s, c, i) => s + (same[i] === pick ? c : 0), 0) / (pick ? ks : ko);
  const delta = mean(true) - mean(false);
  const lambda = delta !== 0 ? Math.max(0, 1 - (varChange * (1 / ks + 1 / ko)) / (delta * delta)) : 0;
  if (lambda === 0) return { weights: equal, weekday: false };
  return { weights: days.map((_, i) => (1 - lambda) / k + (same[i] ? lambda / ks : 0)), weekday: true };
}

/**
 * Placebo spread as a multiple of the noise model: each day's change at each placebo offset (the
 * reference days at the event's clock time and earlier; today only earlier, wholly before the
 * event), centred per offset across days, each offset's squares divided by the variance the model
 * expects of that placebo (its pre-event stretch is shorter), pooled. 1 when the model is right;
 * larger when the days differ more than it allows (persistent noise, shape changes of the rhythm).
 */
function placeboInflation(
  kind: MetricKind,
  g: Grid,
  s: Sums,
  rows: readonly number[],
  model: { before: number; after: number },
  sumSq: number,
): { inflation: number; df: number; placebos: number } {
  let scaled = 0;
  let df = 0;
  let placebos = 0;
  const xs: number[] = [];
  for (let m = 0; m <= PLACEBO_OFFSETS; m++) {
    xs.length = 0;
    // Row 0 is today: its placebos are the earlier ones only.
    for (const d of rows) {
      if (m === 0 && d === 0) continue;
      const c = placeboChange(kind, g, s, d, m);
      if (Number.isFinite(c)) xs.push(c);
    }
    if (xs.length < 2) continue;
    let mean = 0;
    for (const x of xs) mean += x;
    mean /= xs.length;
    let ss = 0;
    for (const x of xs) ss += (x - mean) ** 2;
    // One day's change under the model (today's variance carries the profile's share, 1 + Σc²).
    const preShare = g.preEnd / Math.max(g.preEnd - m * (g.n - g.preEnd), g.n - g.afterStart);
    const expected = (model.after + model.before * preShare) / (1 + sumSq);
    if (!(expected > 0)) continue;
    scaled += ss / expected;
    df += xs.length - 1;
    placebos += xs.length;
  }
  return { inflation: df > 0 ? scaled / df : NaN, df: df * PLACEBO_DF_SHARE, placebos };
}

/**
 * The counterfactual comparison of today's after window against the reference days. Today's
 * buckets are adjusted by the reference profile (so the daily rhythm leaves both the pre-event
 * stretch and the after window), and the change is the adjusted after level against the adjusted
 * pre-event level, with the noise model's robust variance (which carries the references' own
 * noise, about 1/k of a day's). Placebo events — each reference day at the event's clock time,
 * and every day at earlier times — give an empirical null of the same change; where their spread
 * is wider than the noise model's variance (persistent noise the model cannot see in an hour,
 * shape changes of the rhythm), the interval takes the placebo variance and its df instead.
 * `history`: stretches of the reference days reduced to their autocorrelations (the noise is a
 * property of the series: they pin its shape far better than today's hours alone). Returns null
 * when fewer than MIN_REFERENCE_DAYS reference days have a level.
 */
export function compareCounterfactual(
  kind: MetricKind,
  g: Grid,
  references: readonly number[],
  opts: { confLevel: number },
  history: readonly SerialStretch[] = [],
  placeboHistory?: PlaceboHistory,
): Counterfactual | null {
  if (references.length < MIN_REFERENCE_DAYS || g.rows.length !== references.length + 1) return null;
  const k = references.length;
  // Equal weights over the days kept; a day left out weighs 0 (its row stays on the grid).
  const equal = (kept: readonly boolean[]) => {
    const n = kept.filter(Boolean).length;
    return kept.map((x) => (x ? 1 / n : 0));
  };
  const run = (weights: readonly number[]) => {
    const p = profileOf(g, weights);
    const adj = adjustedStats(kind, g, p);
    if (!adj) return null;
    const d = statDifference(adj.pre, adj.after, history);
    const s = sumsOf(kind, g, p, k + 1);
    const changes = references.map((_, i) => placeboChange(kind, g, s, i + 1, 0));
    return { p, s, changes, d: { ...d, diff: d.diff - adj.reference } };
  };
  let kept = references.map(() => true);
  let weights = equal(kept);
  let fit = run(weights);
  if (!fit) return null;
  // The noise model's variance of one day's change: Var(Δ) = Var(change) × (1 + Σc²).
  const modelVarChange = (se: number, c: readonly number[]) => (se * se) / (1 + c.reduce((sum, x) => sum + x * x, 0));
  // Robust combination: a reference day far from the others (an outage, an unlisted event) or
  // without a level is left out. With two or more same-weekday references (and two others) each
  // group is its own centre, so a weekday pattern is not mistaken for outliers.
  const changes0 = fit.changes;
  const same = references.map((d) => d % 7 === 0);
  const bySame = (pick: boolean) => changes0.filter((c, i) => Number.isFinite(c) && same[i] === pick);
  const grouped = bySame(true).length >= 2 && bySame(false).length >= 2;
  const centers = grouped ? [median(bySame(false)), median(bySame(true))] : [median(changes0.filter(Number.isFinite))];
  const centerOf = (i: number) => (grouped && same[i] ? centers[1] : centers[0]);
  const deviations = changes0.map((c, i) => Math.abs(c - centerOf(i))).filter(Number.isFinite);
  if (deviations.length < MIN_REFERENCE_DAYS) return null;
  const spread = Math.max(1.4826 * median(deviations), Math.sqrt(modelVarChange(fit.d.se, weights)));
  const far = changes0.map((c, i) => Math.abs(c - centerOf(i)) > OUTLIER_SDS * spread);
  const missing = changes0.map((c) => !Number.isFinite(c));
  let outliers = references.filter((_, i) => far[i]);
  if (k - outliers.length - missing.filter(Boolean).length < MIN_REFERENCE_DAYS) outliers = [];
  const dropped = references.filter((_, i) => missing[i]);
  if (outliers.length || dropped.length) {
    kept = references.map((d, i) => !missing[i] && !outliers.includes(d));
    weights = equal(kept);
    fit = run(weights);
    if (!fit) return null;
  }
  // Day-of-week structure (two or more weeks of references).
  let weekday = false;
  const used = references.filter((_, i) => kept[i]);
  const combo = combination(
    used,
    fit.changes.filter((_, i) => kept[i]),
    modelVarChange(fit.d.se, weights),
  );
  if (combo.weekday) {
    let u = 0;
    const w2 = kept.map((x) => (x ? combo.weights[u++] : 0));
    const again = run(w2);
    if (again) {
      fit = again;
      weights = w2;
      weekday = true;
    }
  }
  const sumSq = weights.reduce((sum, x) => sum + x * x, 0);
  const wd = fit.d;
  // Placebos over today and the days kept (rows of days left out are skipped).
  const placebo = placeboInflation(
    kind,
    g,
    fit.s,
    [0, ...references.map((_, i) => i + 1).filter((r) => kept[r - 1])],
    wd.variance,
    sumSq,
  );
  const placeboSe = wd.se * Math.sqrt(placebo.inflation);
  const { calibration, se, df, pooled } = calibrate({ se: wd.se, df: wd.df }, placebo, placeboHistory);
  const diff = wd.diff;
  const interval = counterfactualInterval(kind, diff, se, df, afterLevel(kind, g), opts.confLevel);
  return {
    diff,
    se,
    df,
    ...interval,
    autocorrelation: wd.autocorrelation,
    n_eff: wd.n_eff,
    days: references.flatMap((d, i) => (kept[i] ? [{ day: d, weight: weights[i], change: fit!.changes[i] }] : [])),
    outliers: [...outliers, ...dropped].sort((a, b) => a - b),
    calibration,
    placebo: {
      se: placeboSe,
      model_se: wd.se,
      placebos: placebo.placebos,
      df: placebo.df,
      model_df: wd.df,
      ...(pooled ? { pooled } : {}),
    },
    weekday_adjusted: weekday,
  };
}

/**
 * A counterfactual change on the comparison scale with its standard error and df, as the report
 * states it: the p-value, and the relative and absolute change of the observed after level
 * (`observed`, in the metric's units) against the expected one, with their intervals.
 */
export function counterfactualInterval(
  kind: MetricKind,
  diff: number,
  se: number,
  df: number,
  observed: number,
  confLevel: number,
): Pick<Counterfactual, 'p' | 'relative' | 'ci' | 'absolute' | 'ci_absolute' | 'se_relative'> {
  const t = se > 0 ? diff / se : diff === 0 ? 0 : Math.sign(diff) * Infinity;
  const p = se > 0 ? tTwoSided(t, df) : diff === 0 ? 1 : 0;
  const q = tQuantile(1 - (1 - confLevel) / 2, df);
  if (kind !== 'gauge') {
    // Against the expected after level: the observed one over e^Δ.
    const expected = observed / Math.exp(diff);
    const relative = Math.expm1(diff);
    const ci: [number, number] = [Math.expm1(diff - q * se), Math.expm1(diff + q * se)];
    return {
      p,
      relative,
      ci,
      absolute: expected * relative,
      ci_absolute: [expected * ci[0], expected * ci[1]],
      se_relative: se,
    };
  }
  const scale = Math.abs(observed - diff);
  const ciAbsolute: [number, number] = [diff - q * se, diff + q * se];
  return {
    p,
    relative: scale > 0 ? diff / scale : null,
    ci: scale > 0 ? [ciAbsolute[0] / scale, ciAbsolute[1] / scale] : null,
    absolute: diff,
    ci_absolute: ciAbsolute,
    se_relative: scale > 0 ? se / scale : null,
  };
}
