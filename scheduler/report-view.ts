// The report's view of the engine's results: each metric's result (or its pending
// state) as the report shows it, ISO instants and durations, the worst metric.
import type { Metric } from '../domain/metric.js';
import type { ImpactReport, IsoWindow, MetricReport } from '../domain/report.js';
import type { EventWindows, MetricResult } from '../engine/index.js';
import type { PairState } from '../store/jobs.js';

export const iso = (ms: number) => new Date(ms).toISOString();
export const isoWindow = (w: { from: number; to: number }): IsoWindow => ({ from: iso(w.from), to: iso(w.to) });
const finite = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

/** What a report computed without fetching its ad-hoc windows says (the org spent its budget of them). */
export function storedOnlyNote(perMinute: number): string {
  return (
    `Computed from stored data only: this org has had ${perMinute} ad-hoc window sets fetched in the ` +
    'last minute, so what these windows lack was not fetched (ask again in a minute).'
  );
}

/** ISO 8601 duration of a whole number of seconds (e.g. PT5M). */
export function isoDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${sec || s === 0 ? `${sec}S` : ''}`;
}

/** The fields that name a metric in its report, in the report's order. */
function metricIdentity(
  m: Metric,
): Pick<MetricReport, 'metric_id' | 'name' | 'kind' | 'unit' | 'direction' | 'critical'> {
  return { metric_id: m.id, name: m.name, kind: m.kind, unit: m.unit, direction: m.direction, critical: m.critical };
}

/** A metric with no result yet (pending or failed data), with the windows computed for it. */
export function pendingMetric(m: Metric, w: EventWindows, state: PairState): MetricReport {
  return {
    ...metricIdentity(m),
    status: state === 'failed' ? 'failed' : 'pending',
    verdict: null,
    windows: { before: isoWindow(w.before), after: isoWindow(w.after) },
    before: null,
    after: null,
    change: null,
    test: null,
    baseline: null,
    counterfactual: null,
    threshold: m.threshold,
    data_quality: null,
    minimum_detectable_effect: null,
    confounders: [],
    onset: null,
    reason: state === 'failed' ? 'fetching its data failed; see GET /v1/jobs?metric=' + m.id : null,
    explanation: state === 'failed' ? `${m.name}: its data could not be fetched.` : `${m.name}: waiting for data.`,
  };
}

/** The baseline of a metric's result as the report carries it (windows as ISO instants; fields present only when set). */
export function reportBaseline(b: MetricResult['baseline']): NonNullable<MetricReport['baseline']> {
  return {
    kind: b.kind,
    ...(b.reference_change !== undefined ? { reference_change: finite(b.reference_change) } : {}),
    ...(b.explains_change !== undefined ? { explains_change: b.explains_change } : {}),
    ...(b.reference
      ? { reference: { before: isoWindow(b.reference.before), after: isoWindow(b.reference.after) } }
      : {}),
    ...(b.reference_days !== undefined ? { reference_days: b.reference_days } : {}),
    ...(b.days ? { days: b.days } : {}),
    ...(b.skipped_days ? { skipped_days: b.skipped_days } : {}),
    ...(b.calibration ? { calibration: b.calibration } : {}),
    ...(b.placebo ? { placebo: b.placebo } : {}),
    ...(b.weekday_adjusted !== undefined ? { weekday_adjusted: b.weekday_adjusted } : {}),
  };
}

export function toMetricReport(m: Metric, r: MetricResult, latePending: boolean): MetricReport {
  const summary = (s: MetricResult['before']) => ({
    n: s.n,
    mean: finite(s.mean),
    median: finite(s.median),
    p95: finite(s.p95),
    rate: finite(s.rate),
  });
  return {
    ...metricIdentity(m),
    status: 'ready',
    verdict: r.verdict,
    windows: { before: isoWindow(r.windows.before), after: isoWindow(r.windows.after) },
    before: summary(r.before),
    after: summary(r.after),
    change: {
      absolute: finite(r.change.absolute),
      relative: finite(r.change.relative),
      ci: r.change.ci && [finite(r.change.ci[0]), finite(r.change.ci[1])].every((x) => x !== null) ? r.change.ci : null,
      confidence: r.change.confidence,
    },
    test: {
      method: r.test.method,
      statistic: finite(r.test.statistic),
      p_value: finite(r.test.p_value),
      q_value: finite(r.test.q_value),
    },
    baseline: reportBaseline(r.baseline),
    counterfactual: r.counterfactual,
    threshold: r.threshold,
    data_quality: {
      expected: r.data_quality.expected,
      missing: r.data_quality.missing,
      low_counts: r.data_quality.low_counts,
      late_data_pending: latePending,
      autocorrelation: finite(r.data_quality.autocorrelation),
      history_buckets: r.data_quality.history_buckets,
    },
    minimum_detectable_effect: finite(r.minimum_detectable_effect),
    confounders: r.confounders,
    onset: r.onset && {
      ts: r.onset.ts,
      minutes_from_event: r.onset.minutes_from_event,
      before_event: r.onset.before_event,
    },
    reason: r.reason,
    explanation: r.explanation,
  };
}

const SEVERITY: Record<string, number> = {
  regression: 0,
  improvement: 1,
  inconclusive: 2,
  insufficient_data: 3,
  no_change: 4,
};

/** The metric a timeline line names: critical regressions first, then the largest change. */
export function worstMetric(
  metrics: MetricReport[],
): { metric_id: string; name: string; verdict: string; relative: number | null } | null {
  const ranked = metrics
    .filter((m) => m.verdict)
    .sort(
      (a, b) =>
        SEVERITY[a.verdict!] - SEVERITY[b.verdict!] ||
        Number(b.critical) - Number(a.critical) ||
        Math.abs(b.change?.relative ?? 0) - Math.abs(a.change?.relative ?? 0),
    );
  const w = ranked[0];
  return w ? { metric_id: w.metric_id, name: w.name, verdict: w.verdict!, relative: w.change?.relative ?? null } : null;
}

/**
 * Each metric's own placebo estimate in a report (its placebo variance over the noise model's, and
 * the placebos' df), saved with it for later reports of the metric to pool (store.reports.placeboHistory).
 */
export function placeboEstimates(report: ImpactReport): Record<string, { inflation: number; df: number }> {
  const out: Record<string, { inflation: number; df: number }> = {};
  for (const m of report.metrics) {
    const p = m.baseline?.placebo;
    const inflation = p ? (p.se / p.model_se) ** 2 : NaN;
    if (p && p.df > 0 && inflation > 0 && Number.isFinite(inflation)) out[m.metric_id] = { inflation, df: p.df };
  }
  return out;
}
