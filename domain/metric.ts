// A metric: a saved provider query on a connection, with its kind, what "worse"
// means and which events it applies to. Every layer uses these definitions.
import { eventTypeIs } from './event.js';

/** The kinds of series the engine knows, each with the test that fits it. */
export const METRIC_KINDS = ['count', 'ratio', 'gauge', 'quantile'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

export const DIRECTIONS = ['increase_is_bad', 'decrease_is_bad', 'either'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Which events a metric applies to; an empty or absent list matches all. */
export interface AppliesTo {
  subjects?: string[];
  /** Event types, matched as eventTypeIs does ("deployment" matches "dev.opstrails.deployment"). */
  types?: string[];
}

/** Window overrides as given (ISO 8601 durations or "60m"). */
export interface WindowSpec {
  before?: string;
  after?: string;
  gap?: string;
  /** IANA time zone whose clock the reference days follow (the provider's; default UTC). */
  time_zone?: string;
}

export interface MetricDefinition {
  connection_id: string;
  name: string;
  kind: MetricKind;
  /** The provider query; for kind "ratio": {numerator, denominator}. */
  query: Record<string, unknown>;
  direction: Direction;
  unit: string | null;
  step_seconds: number;
  threshold: number;
  critical: boolean;
  applies_to: AppliesTo;
  windows: WindowSpec;
}

export interface Metric extends MetricDefinition {
  id: string;
  org_id: string;
  created_at: string;
  updated_at: string;
}

/** True when the metric applies to an event of this type and subject. */
export function appliesTo(
  metric: Pick<Metric, 'applies_to'>,
  event: { type: string; subject?: string | null },
): boolean {
  const { subjects, types } = metric.applies_to;
  if (subjects && subjects.length > 0 && !subjects.includes(event.subject ?? '')) return false;
  if (types && types.length > 0 && !types.some((t) => eventTypeIs(event.type, t))) return false;
  return true;
}
