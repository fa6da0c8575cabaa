// The impact report as the API serves it (JSON) and as the pages render it.
// Instants are ISO 8601 strings; the engine's own result types (engine/analyze.ts) are reused where the report carries them as they are.
import type { Confounder, MetricResult } from '../engine/index.js';
import type { CloudEvent } from '../store/events.js';

export type ReportStatus = 'pending' | 'ready' | 'partial' | 'failed';
export type EventVerdict = 'regression' | 'improvement' | 'no_change' | 'inconclusive';
export type MetricVerdict = EventVerdict | 'insufficient_data';

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

/** Another event that overlaps this event's windows, as the engine lists it. */
export type ReportConfounder = Confounder;

export interface MetricReport {
  metric_id: string;
  name: string;
  kind: 'count' | 'ratio' | 'gauge' | 'quantile';
  unit: string | null;
  direction: 'increase_is_bad' | 'decrease_is_bad' | 'either';
  critical: boolean;
  status: 'pending' | 'ready' | 'failed';
  /** null while pending. */
  verdict: MetricVerdict | null;
  windows: { before: IsoWindow; after: IsoWindow };
  before: WindowSummary | null;
  after: WindowSummary | null;
  change: { absolute: number | null; relative: number | null; ci: [number, number] | null; confidence: number } | null;
  test: { method: string; statistic: number | null; p_value: number | null; q_value: number | null } | null;
  /**
   * The engine's baseline (engine/analyze.ts MetricResult: kind, the reference days used and
   * skipped, the calibration, …) with a single-reference window pair as ISO instants.
   */
  baseline:
    (Omit<MetricResult['baseline'], 'reference'> & { reference?: { before: IsoWindow; after: IsoWindow } }) | null;
  /** The observed after level (rate, ratio, median, mean) against the level expected without the event, with the expectation's interval. */
  counterfactual: MetricResult['counterfactual'];
  threshold: number;
  data_quality: {
    expected: { before: number; after: number };
    missing: { before: number; after: number };
    low_counts: boolean;
    late_data_pending: boolean;
    autocorrelation: number | null;
    /** Buckets ahead of the before window that were read: with reference days they set today's level (and its noise model); otherwise they fed the noise model only, never compared. */
    history_buckets?: number;
  } | null;
  minimum_detectable_effect: number | null;
  confounders: ReportConfounder[];
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
