// The sentences of a report: numbers formatted for people, one sentence per metric and one per
// event, with the counterfactual's observed and expected levels when reference days were used.
import type { MetricKind } from '../domain/metric.js';
import type { Confounder, EventVerdict, MetricVerdict } from '../domain/report.js';
import type { Comparison } from './compare.js';
import type { WindowSummary } from './summary.js';
import type { MetricResult } from './types.js';

export const pct0 = (x: number) => `${Math.round(x * 100)}%`;

export function fmtPct(x: number, signed = true): string {
  if (!Number.isFinite(x)) return x > 0 ? '+∞%' : '−∞%';
  const v = x * 100;
  const a = Math.abs(v);
  const s = a >= 10 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toFixed(2);
  const sign = v < 0 ? '−' : signed ? '+' : '';
  return `${sign}${s}%`;
}

function fmtNum(x: number | null, kind: MetricKind, unit: string | null): string {
  if (x === null || !Number.isFinite(x)) return 'n/a';
  if (kind === 'ratio') return fmtPct(x, false);
  const a = Math.abs(x);
  const s =
    a === 0
      ? '0'
      : a >= 1000
        ? String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
        : Number(x.toPrecision(3)).toString();
  return unit ? (unit === '%' ? `${s}%` : `${s} ${unit}`) : s;
}

function fmtQ(q: number | null): string {
  if (q === null || !Number.isFinite(q)) return 'q n/a';
  return q < 0.001 ? 'q < 0.001' : `q = ${Number(q.toPrecision(2))}`;
}

/** The headline value of a window summary for the explanation. */
export function headline(kind: MetricKind, s: WindowSummary): number | null {
  if (kind === 'count' || kind === 'ratio') return s.rate;
  if (kind === 'quantile') return s.median;
  return s.mean;
}

export function eventExplanation(verdict: EventVerdict, results: MetricResult[]): string {
  // Critical metrics first, then regressions, so the sentence leads with what matters.
  const order = (r: MetricResult) =>
    (r.critical ? 0 : 1) * 10 + (r.verdict === 'regression' ? 0 : r.verdict === 'improvement' ? 1 : 2);
  const sorted = [...results].sort((a, b) => order(a) - order(b));
  const names = (v: MetricVerdict) =>
    sorted.filter((r) => r.verdict === v).map((r) => (r.critical ? `${r.name} (critical)` : r.name));
  if (results.length === 0) return 'No metrics to analyse.';
  switch (verdict) {
    case 'regression':
      return `Regression in ${names('regression').join(', ')}.`;
    case 'improvement':
      return `Improvement in ${names('improvement').join(', ')}; nothing regressed.`;
    case 'no_change':
      return `All ${results.length} metrics held within their thresholds.`;
    default: {
      const insufficient = names('insufficient_data');
      const missing = insufficient.length ? `; not enough data for ${insufficient.join(', ')}` : '';
      return `Inconclusive: no metric regressed${missing}.`;
    }
  }
}

/** The plain relative change of the headline values, before window to after window. */
export function rawChange(r: MetricResult): number | null {
  const b = headline(r.kind, r.before);
  const a = headline(r.kind, r.after);
  return b !== null && a !== null && b !== 0 ? a / b - 1 : null;
}

/** How large a change the interval leaves possible (the farther end), for "could not rule out". */
function couldNotRuleOut(ci: [number, number] | null): number | null {
  return ci ? Math.max(Math.abs(ci[0]), Math.abs(ci[1])) : null;
}

export function explain(r: MetricResult, cmp: Comparison, typeWord: string): string {
  const b = fmtNum(headline(r.kind, r.before), r.kind, r.unit);
  const a = fmtNum(headline(r.kind, r.after), r.kind, r.unit);
  const what = r.kind === 'quantile' ? `${r.name} (median of buckets)` : r.name;
  const rel = cmp.relative;
  const ciTxt = cmp.ci
    ? `${Math.round(r.change.confidence * 100)}% CI ${fmtPct(cmp.ci[0])} to ${fmtPct(cmp.ci[1])}`
    : 'no interval';
  const relTxt = rel === null ? 'relative change undefined' : fmtPct(rel);
  const base =
    r.baseline.kind === 'before_window'
      ? ''
      : ` compared with the same hours a ${r.baseline.kind === 'seasonal_week' ? 'week' : 'day'} earlier`;
  const q = fmtQ(r.test.q_value);
  const moved =
    rel === null
      ? (cmp.absolute ?? 0) > 0
        ? 'rose'
        : (cmp.absolute ?? 0) < 0
          ? 'fell'
          : 'held'
      : rel > 0
        ? 'rose'
        : rel < 0
          ? 'fell'
          : 'held';
  let s: string;
  if (r.baseline.kind === 'reference_days' && r.counterfactual)
    return explainCounterfactual(r, what, typeWord, ciTxt, relTxt, q);
  switch (r.verdict) {
    case 'regression':
    case 'improvement':
      s = `${cap(what)} ${moved} from ${b} to ${a} (${relTxt}, ${ciTxt}) after the ${typeWord}${base}; ${q}.`;
      break;
    case 'no_change':
      s =
        `${cap(what)} held: ${b} before, ${a} after ` +
        `(${relTxt}, ${ciTxt}, inside the ±${fmtPct(r.threshold, false)} threshold)${base}; ${q}.`;
      break;
    default:
      s = `${cap(what)} went from ${b} to ${a} (${relTxt}, ${ciTxt})${base}; ${q}: ${openChange(cmp.ci, r.reason)}.`;
  }
  if (r.baseline.explains_change)
    s +=
      ` The same hours a ${r.baseline.kind === 'seasonal_week' ? 'week' : 'day'} earlier moved by ` +
      `${fmtPct(r.baseline.reference_change ?? 0)}, which explains the raw before/after difference.`;
  if (r.verdict !== 'no_change') s += onsetSentence(r, typeWord);
  return s;
}

/** The explanation against the reference days' prediction: observed after level against the expected one. */
function explainCounterfactual(
  r: MetricResult,
  what: string,
  typeWord: string,
  ciTxt: string,
  relTxt: string,
  q: string,
): string {
  const cf = r.counterfactual!;
  const obs = fmtNum(cf.observed, r.kind, r.unit);
  const exp = fmtNum(cf.expected, r.kind, r.unit);
  const pooled = r.baseline.placebo?.pooled;
  const widened =
    r.baseline.calibration === 'placebo'
      ? ', interval widened to their placebo spread'
      : r.baseline.calibration === 'pooled' && pooled
        ? `, interval widened to the placebo spread of this and ${pooled.events} earlier events`
        : '';
  const days = `${r.baseline.reference_days} reference days${widened}`;
  const vs = `${obs} after the ${typeWord} against ${exp} expected from ${days}`;
  let s: string;
  switch (r.verdict) {
    case 'regression':
    case 'improvement':
      s = `${cap(what)} ${cf.relative > 0 ? 'rose' : 'fell'}: ${vs} (${relTxt}, ${ciTxt}); ${q}.`;
      break;
    case 'no_change':
      s = `${cap(what)} held: ${vs} (${relTxt}, ${ciTxt}, inside the ±${fmtPct(r.threshold, false)} threshold); ${q}.`;
      break;
    default:
      s = `${cap(what)}: ${vs} (${relTxt}, ${ciTxt}); ${q}: ${openChange(r.change.ci, r.reason)}.`;
  }
  if (r.baseline.explains_change)
    s += ` The raw before/after change (${fmtPct(r.baseline.reference_change ?? 0)}) is the usual pattern of these hours.`;
  if (r.verdict !== 'no_change') s += onsetSentence(r, typeWord);
  return s;
}

/** What an inconclusive interval leaves open (the largest change it allows), then the reason if there is one. */
function openChange(ci: [number, number] | null, reason: string | null): string {
  const open = couldNotRuleOut(ci);
  const allows =
    open !== null
      ? `could not rule out a change of up to ±${fmtPct(open, false)}`
      : 'not enough evidence to call it a change or no change';
  return `${allows}${reason ? ` — ${reason}` : ''}`;
}

/** The explanation of an insufficient_data metric, with the change its windows could have detected when known. */
export function insufficientExplanation(r: MetricResult): string {
  const detectable =
    r.minimum_detectable_effect !== null
      ? `; these windows could only detect a change of about ±${fmtPct(r.minimum_detectable_effect, false)}.`
      : '.';
  return `Not enough data to judge ${r.name}: ${r.reason}${detectable}`;
}

/**
 * Why a window lacks data when it starts before the org's retention horizon (`from`, epoch ms):
 * its data has been deleted, which a bare "no data" would hide.
 */
export function pastRetention(window: string, from: number, retention: { days: number; plan: string }): string {
  const day = new Date(from).toISOString().slice(0, 10);
  const plan = retention.plan.charAt(0).toUpperCase() + retention.plan.slice(1);
  return `the ${window} starts on ${day}, past this org's ${retention.days}-day retention (${plan} plan): its data has been deleted`;
}

/** Why a change is not put down to this event when another event covers much of a window. */
export function confoundedReason(heavy: Confounder, typeWord: string): string {
  return (
    `another event (${heavy.type} ${heavy.id} at ${heavy.time}) covers ${pct0(heavy.coverage)} of the ` +
    `${heavy.window === 'before' ? 'before' : 'after'} window, so the change cannot be attributed to this ${typeWord}`
  );
}

/** Why a comparison cannot be judged when autocorrelation leaves too few effective samples. */
export function fewEffectiveSamples(nEff: { before: number; after: number }, minimum: number): string {
  return (
    `too few effective samples after autocorrelation ` +
    `(${nEff.before.toFixed(1)} before, ${nEff.after.toFixed(1)} after; minimum ${minimum})`
  );
}

/** Says out loud that a level shift began before the event, when the change point is clear. */
export function onsetSentence(r: MetricResult, typeWord: string): string {
  if (!r.onset || !r.onset.before_event) return '';
  return ` The level shifted about ${Math.round(-r.onset.minutes_from_event)} minutes before the ${typeWord}.`;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
