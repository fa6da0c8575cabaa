// Short texts for people and models: one line per event, summary, metric or
// connection, with the numbers that answer "what changed" (the full data goes in
// the tools' structured content).
import type {
  CloudEvent,
  Connection,
  ImpactReport,
  ImpactSummary,
  Metric,
  MetricReport,
  SeriesPoint,
} from '../sdk/index.js';

/** A relative change as a signed percentage ("+12.3%"); "—" when unknown. */
export function percent(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

/** A number to a few significant digits. */
export function number(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

const version = (e: CloudEvent) => (typeof e.version === 'string' && e.version ? ` (${e.version})` : '');

/** "deployment deploy-42 on production (v1.4.2) at 2026-11-26T10:00:00Z from github.com/acme/shop". */
export function eventLine(e: CloudEvent): string {
  return `${e.type} ${e.id}${e.subject ? ` on ${e.subject}` : ''}${version(e)} at ${e.time ?? '?'} from ${e.source}`;
}

/** One line of the impact timeline. */
export function summaryLine(s: ImpactSummary): string {
  const worst = s.worst_metric
    ? `; worst metric: ${String(s.worst_metric.name)} ${String(s.worst_metric.verdict)} ${percent(s.worst_metric.relative as number | null)}`
    : '';
  return (
    `${s.time} ${s.type} ${s.id}${s.subject ? ` on ${s.subject}` : ''}${s.version ? ` (${s.version})` : ''}: ` +
    `${s.verdict ?? 'no verdict'} (report ${s.status})${worst}`
  );
}

function metricLine(m: MetricReport): string {
  const ci = m.change?.ci ? ` [${percent(m.change.ci[0])} .. ${percent(m.change.ci[1])}]` : '';
  const q = m.test?.q_value === null || m.test?.q_value === undefined ? '' : `, q ${m.test.q_value.toPrecision(2)}`;
  const change = m.change ? `, change ${percent(m.change.relative)}${ci}${q}` : '';
  return `- ${m.name}${m.critical ? ' (critical)' : ''}: ${m.verdict ?? m.status}${change}. ${m.explanation}`;
}

/** A report in a few lines: the event, status and verdict, the explanation, one line per metric. */
export function reportText(r: ImpactReport): string {
  const lines = [
    eventLine(r.event),
    `report ${r.status}, verdict ${r.verdict ?? 'none yet'}. ${r.explanation}`,
    ...(r.awaiting?.length ? [`awaiting: ${r.awaiting.join('; ')}`] : []),
    ...r.metrics.map(metricLine),
  ];
  return lines.join('\n');
}

/** One metric: what it measures, where from, and when it counts. */
export function metricText(m: Metric): string {
  const applies = [
    m.applies_to.subjects?.length ? `subjects ${m.applies_to.subjects.join(', ')}` : '',
    m.applies_to.types?.length ? `types ${m.applies_to.types.join(', ')}` : '',
  ].filter(Boolean);
  return (
    `- ${m.name} (${m.id}): ${m.kind}${m.unit ? ` in ${m.unit}` : ''}, ${m.direction}, step ${m.step_seconds} s, ` +
    `threshold ${(m.threshold * 100).toFixed(0)}%${m.critical ? ', critical' : ''}, connection ${m.connection_id}; ` +
    `applies to ${applies.length ? applies.join(' and ') : 'every event'}`
  );
}

/** One connection with its health. */
export function connectionText(c: Connection): string {
  const h = c.health;
  const health = h
    ? [
        `last success ${h.last_success ?? 'never'}`,
        h.last_error ? `last error ${h.last_error.code} at ${h.last_error.at}: ${h.last_error.message}` : '',
        `${h.queued_jobs} queued job(s)`,
        h.rate_limit?.paused_until ? `rate-limited until ${h.rate_limit.paused_until}` : '',
      ]
        .filter(Boolean)
        .join('; ')
    : 'health unknown';
  const check =
    c.status === 'unchecked'
      ? 'not checked yet'
      : `last check ${c.status}${c.status_message ? ` (${c.status_message})` : ''}`;
  return `- ${c.name} (${c.id}): ${c.provider}, ${check}; ${health}`;
}

/** Count, range and last value of a series' points. */
export function seriesStats(points: SeriesPoint[]): string {
  const values = points.map((p) => p.value).filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return 'no points stored';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const last = points[points.length - 1];
  return (
    `${points.length} point(s): min ${number(Math.min(...values))}, mean ${number(mean)}, ` +
    `max ${number(Math.max(...values))}, last ${number(last.value)} at ${new Date(last.ts).toISOString()}`
  );
}

/** The line that says how to get the next page, when there is one. */
export function moreLine(nextCursor: string | null): string {
  return nextCursor ? `\nMore: call again with cursor "${nextCursor}".` : '';
}
