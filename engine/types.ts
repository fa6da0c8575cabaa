// The engine's public input and result types: an event (epoch ms), its metrics with the windows
// the caller computed for them, other events, and the per-metric and per-event results.
import type { Direction, MetricKind } from '../domain/metric.js';
import type {
  Baseline,
  Confounder,
  CounterfactualLevels,
  EventVerdict,
  MetricVerdict,
  PlaceboHistory,
} from '../domain/report.js';
import type { Onset } from './onset.js';
import type { WindowSummary } from './summary.js';
import type { EventWindows, TimeWindow } from './windows.js';

/** One bucket: `ts` epoch ms at the bucket start; `weight` = denominator for ratios. */
export interface Point {
  ts: number;
  value: number;
  weight?: number;
}

/** A series as parallel columns: bucket starts (epoch ms), values and, for ratios, weights. */
export interface SeriesColumns {
  ts: ArrayLike<number>;
  value: ArrayLike<number>;
  weight?: ArrayLike<number>;
}

/** An event as the engine needs it. */
export interface EngineEvent {
  id: string;
  type: string;
  /** When it happened, epoch ms (the caller parses any ISO string at its edge). */
  time: number;
  subject?: string | null;
}

/** One metric to analyse; point arrays may cover more than the windows (they are cut here). */
export interface MetricInput {
  id: string;
  name?: string;
  kind: MetricKind;
  direction: Direction;
  /** Practical threshold, relative (default DEFAULT_THRESHOLDS by kind). */
  threshold?: number;
  critical?: boolean;
  step_seconds: number;
  unit?: string | null;
  /**
   * This event's windows for this metric, computed once by the caller with computeWindows() (the
   * event's time and type, this step, the metric's and the request's overrides): the engine cuts
   * them, it does not resolve them again. Their step must be `step_seconds`.
   */
  windows: EventWindows;
  before: Point[];
  after: Point[];
  /**
   * The same points as columns (optional, faster: no point objects). When set, the before and
   * after windows are cut from it and `before` / `after` are ignored. `ts` should be ascending
   * with one point per bucket (as `ORDER BY ts` returns); other orders are handled, more slowly.
   */
  series?: SeriesColumns;
  /**
   * Points of earlier days (any range; the engine reads the same clock windows on each of up to
   * `reference_days` previous days). Ignored when `series` is given: it should cover them.
   */
  references?: Point[];
  /** How many previous days to look for reference windows in (default and at most MAX_REFERENCE_DAYS). */
  reference_days?: number;
  /** IANA time zone in which "the same clock time" is meant (the provider's; default UTC). */
  time_zone?: string | null;
  /** The placebo inflation of this metric's earlier events (their reports'), pooled with this event's when they agree. */
  placebo_history?: PlaceboHistory;
  /** Points around the same clock windows one week / one day earlier (single-reference fallback). */
  seasonal?: { week?: Point[]; day?: Point[] };
}

/** One event and its metrics, as analyzeEvent() takes them. */
export interface AnalyzeInput {
  event: EngineEvent;
  metrics: MetricInput[];
  /** Other events of the org; those near the windows are reported as confounders. */
  otherEvents?: EngineEvent[];
  /** Significance level for q-values and the interval level (default 0.05 → 95%). */
  alpha?: number;
}

/** One metric's result: its verdict, the numbers behind it and the sentence that explains it. */
export interface MetricResult {
  metric_id: string;
  name: string;
  kind: MetricKind;
  unit: string | null;
  direction: Direction;
  critical: boolean;
  verdict: MetricVerdict;
  /** Set for insufficient_data (and for confounded verdicts). */
  reason: string | null;
  windows: { before: TimeWindow; after: TimeWindow };
  before: WindowSummary;
  after: WindowSummary;
  change: {
    absolute: number | null;
    relative: number | null;
    ci: [number, number] | null;
    ci_absolute: [number, number] | null;
    confidence: number;
  };
  test: { method: string; statistic: number | null; p_value: number | null; q_value: number | null; df: number | null };
  baseline: Baseline & {
    reference?: { before: TimeWindow; after: TimeWindow; before_summary: WindowSummary; after_summary: WindowSummary };
  };
  threshold: number;
  data_quality: {
    expected: { before: number; after: number };
    present: { before: number; after: number };
    missing: { before: number; after: number };
    coverage: { before: number; after: number };
    low_counts: boolean;
    autocorrelation: number | null;
    effective_n: { before: number; after: number } | null;
    /**
     * Buckets ahead of the before window that were read: with reference days they set today's
     * level (and its noise model); otherwise they fed the noise model (autocorrelation) only.
     */
    history_buckets: number;
  };
  /** Smallest relative change these windows could detect (80% power at α), when computable. */
  minimum_detectable_effect: number | null;
  counterfactual: CounterfactualLevels | null;
  confounders: Confounder[];
  onset: Onset | null;
  explanation: string;
}

/** One event's result: its verdict across the metrics, with each metric's result. */
export interface EventResult {
  event_id: string;
  verdict: EventVerdict;
  alpha: number;
  explanation: string;
  metrics: MetricResult[];
}
