// The impact report: what the engine concludes per metric (verdicts, baseline,
// counterfactual, confounders) and the report the API serves and the pages draw.
// The engine's results and the report share these definitions; instants in the
// report are ISO 8601 strings.
import type { CloudEvent } from './event.js';
import type { Direction, MetricKind } from './metric.js';

export type ReportStatus = 'pending' | 'ready' | 'partial' | 'failed';
export type EventVerdict = 'regression' | 'improvement' | 'no_change' | 'inconclusive';
export type MetricVerdict = EventVerdict | 'insufficient_data';

/** Another event that overlaps this event's windows. */
export interface Confounder {
  id: string;
  type: string;
  time: string;
  subject: string | null;
  /** Which of our windows it falls in. */
  window: 'before' | 'after' | 'gap';
  /** Share of that window after the other event (how much of it the other event can touch). */
  coverage: number;
}

/** Which variance decided a reference-day interval: the noise model, the event's placebo spread where wider, or the placebo inflation pooled with the metric's earlier events'. */
export type Calibration = 'model' | 'placebo' | 'pooled';

/**
 * A metric's placebo inflation over its earlier events: Σ df·inflation / Σ df of their own
 * placebo estimates (each event's placebo variance over its noise model's), Σ df, and how many.
 * The inflation is a property of the series; one event's placebos estimate it on about ten df.
 */
export interface PlaceboHistory {
  inflation: number;
  df: number;
  events: number;
}

/** What a metric's change is measured against (reference days, a single reference, or the before window alone). */
export interface Baseline {
  kind: 'before_window' | 'reference_days' | 'seasonal_week' | 'seasonal_day';
  /** reference_days: how many days predicted the after window, each with its weight and its own pre → after change (comparison scale). */
  reference_days?: number;
  days?: { day: number; date: string; weight: number; change: number }[];
  /** Days with data that were not used, and why (another event, missing buckets, far from the others). */
  skipped_days?: { day: number; reason: string }[];
  /** Which variance decided the interval (reference days): the noise model, the placebo spread, or the placebo inflation pooled with the metric's earlier events. */
  calibration?: Calibration;
  /** The placebo spread and the noise model's, each as the standard error of the change with its degrees of freedom (`model_df` absent in reports stored before it was added); `placebos` = how many. */
  placebo?: {
    se: number;
    model_se: number;
    placebos: number;
    df: number;
    model_df?: number;
    /** The inflation pooled with the metric's earlier events, its df, and how many events (when their history was used). */
    pooled?: PlaceboHistory;
  };
  weekday_adjusted?: boolean;
  /** Change over the same clock windows in the reference (relative), when seasonal. */
  reference_change?: number | null;
  /** True when the plain comparison would have flagged a change that the seasonal reference explains. */
  explains_change?: boolean;
  /** Why a seasonal reference was not used, when one was offered. */
  skipped?: string;
}

/**
 * The observed after level (the kind's headline: rate, ratio, median, mean) against the level
 * expected without the event, with that expectation's interval; observed / expected − 1 is the
 * relative change.
 */
export interface CounterfactualLevels {
  observed: number;
  expected: number;
  expected_ci: [number, number] | null;
  relative: number;
}

export interface IsoWindow {
  from: string;
  to: string;
}

export interface WindowSummary {
  n: number;
  mean: number | null;
  median: number | null;
  p95: number | null;
  /** count: mean per bucket; ratio: Σ numerator / Σ denominator. */
  rate: number | null;
}

export interface MetricReport {
  metric_id: string;
  name: string;
  kind: MetricKind;
  unit: string | null;
  direction: Direction;
  critical: boolean;
  status: 'pending' | 'ready' | 'failed';
  /** null while pending. */
  verdict: MetricVerdict | null;
  windows: { before: IsoWindow; after: IsoWindow };
  before: WindowSummary | null;
  after: WindowSummary | null;
  change: { absolute: number | null; relative: number | null; ci: [number, number] | null; confidence: number } | null;
  test: { method: string; statistic: number | null; p_value: number | null; q_value: number | null } | null;
  /** What the change was measured against, with a single-reference window pair as ISO instants. */
  baseline: (Baseline & { reference?: { before: IsoWindow; after: IsoWindow } }) | null;
  counterfactual: CounterfactualLevels | null;
  threshold: number;
  data_quality: {
    expected: { before: number; after: number };
    missing: { before: number; after: number };
    low_counts: boolean;
    late_data_pending: boolean;
    autocorrelation: number | null;
    /**
     * Buckets ahead of the before window that were read: with reference days they set today's
     * level (and its noise model); otherwise they fed the noise model only, never compared.
     */
    history_buckets?: number;
  } | null;
  minimum_detectable_effect: number | null;
  confounders: Confounder[];
  onset: { ts: string; minutes_from_event: number; before_event: boolean } | null;
  /** Why the verdict is insufficient_data / inconclusive, when there is a specific reason. */
  reason: string | null;
  /** One sentence a person can read, with the numbers. */
  explanation: string;
}

export interface ImpactReport {
  event: CloudEvent;
  status: ReportStatus;
  /** null while pending. */
  verdict: EventVerdict | null;
  computed_at: string | null;
  explanation: string;
  windows: {
    before: IsoWindow;
    after: IsoWindow;
    /** ISO 8601 duration, e.g. "PT5M". */
    gap: string;
    baseline: { week: { before: IsoWindow; after: IsoWindow }; day: { before: IsoWindow; after: IsoWindow } };
  };
  /** While pending: what is still awaited, in words. */
  awaiting?: string[];
  metrics: MetricReport[];
}

/** Points for the charts of one metric: the before/after windows (and the gap) and the seasonal reference shifted onto the same clock. */
export interface MetricChart {
  points: { ts: number; value: number; weight?: number }[];
  /** The reference series (one week or one day earlier), with ts already shifted to this event's clock. */
  baseline?: { ts: number; value: number; weight?: number }[];
  /** The expected after level and its interval (the counterfactual), drawn as a band over the after window. */
  expected?: { from: number; to: number; value: number; lo: number | null; hi: number | null };
}

/** Chart data by metric id. */
export type ReportCharts = Record<string, MetricChart>;
