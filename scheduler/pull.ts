// The pull: fetch one metric over a window from its provider and write the
// points to ClickHouse, replacing what that window held. The scheduler and the
// backfill command build on it.
import { alignDown, alignUp } from '../connectors/http.js';
import { renderQuery, seriesKey, type TemplateVars } from '../connectors/template.js';
import { ConnectorError, type ConnectorModule, type ProviderRequest, type Series, type SeriesPoint } from '../connectors/types.js';
import type { Store } from '../store/index.js';
import type { Metric } from '../store/metrics.js';
import { RETENTION_DAYS } from '../store/migrations.js';
import type { ConnectorFactory, LiveConnection } from './connectors.js';

export interface PullRequest {
  orgId: string;
  metric: Metric;
  from: number;
  to: number;
  /** Event values for `{{subject}}`, `{{version}}`, `{{service}}`. */
  vars?: TemplateVars;
  signal?: AbortSignal;
}

export interface PullResult {
  /** The series the points were stored under ("" unless the query uses event values). */
  series: string;
  /** The step-aligned window written. */
  from: number;
  to: number;
  points: number;
  /** Provider calls made (chunks, and both sides of a ratio). */
  requests: number;
}

/** The provider queries of a metric: one, or numerator and denominator for a two-query ratio. */
export function metricQueries(metric: Pick<Metric, 'kind' | 'query'>): { single: unknown } | { numerator: unknown; denominator: unknown } {
  const q = metric.query as { numerator?: unknown; denominator?: unknown };
  if (metric.kind === 'ratio' && q.numerator !== undefined && q.denominator !== undefined) {
    return { numerator: q.numerator, denominator: q.denominator };
  }
  return { single: metric.query };
}

/** Fetch a metric's normalized series live (ratio = numerator as value, denominator as weight). */
export async function fetchMetricSeries(
  live: Pick<LiveConnection, 'connector' | 'module'>,
  metric: Metric,
  window: { from: number; to: number },
  vars: TemplateVars,
  signal?: AbortSignal,
): Promise<{ points: SeriesPoint[]; requests: ProviderRequest[] }> {
  const { connector } = live;
  const opts = { from: window.from, to: window.to, stepSeconds: metric.step_seconds, signal };
  const queries = metricQueries(metric);
  if ('single' in queries) {
    const query = prepare(live.module, queries.single, vars);
    const series = await connector.fetchSeries(query, opts);
    return { points: series.points, requests: connector.describeQuery(query, opts) };
  }
  const numerator = prepare(live.module, queries.numerator, vars);
  const denominator = prepare(live.module, queries.denominator, vars);
  const [num, den] = [await connector.fetchSeries(numerator, opts), await connector.fetchSeries(denominator, opts)];
  return {
    points: joinRatio(num, den),
    requests: [...connector.describeQuery(numerator, opts), ...connector.describeQuery(denominator, opts)],
  };
}

/** Fill a saved query with event values and validate it as the provider's query. */
function prepare(module: ConnectorModule, query: unknown, vars: TemplateVars): unknown {
  const parsed = module.querySchema.safeParse(renderQuery(query, vars));
  if (!parsed.success) {
    throw new ConnectorError('bad_query', `the query is not valid for ${module.id}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Buckets present on both sides: value = numerator, weight = denominator. */
function joinRatio(num: Series, den: Series): SeriesPoint[] {
  const denominators = new Map(den.points.map((p) => [p.ts, p.value]));
  return num.points.filter((p) => denominators.has(p.ts)).map((p) => ({ ts: p.ts, value: p.value, weight: denominators.get(p.ts)! }));
}

/** Pull one metric over [from, to) (aligned outward to its step) and store the points. */
export async function pullMetric(deps: { store: Store; connectors: ConnectorFactory; now: () => number }, req: PullRequest): Promise<PullResult> {
  const { store, connectors } = deps;
  const live = await connectors.forConnection(req.orgId, req.metric.connection_id);
  if (!live) throw new ConnectorError('invalid_config', `connection ${req.metric.connection_id} of metric ${req.metric.id} no longer exists`);
  const org = await store.orgs.get(req.orgId);
  const vars = req.vars ?? {};
  const window = { from: alignDown(req.from, req.metric.step_seconds), to: alignUp(req.to, req.metric.step_seconds) };
  const fetched = await fetchMetricSeries(live, req.metric, window, vars, req.signal);
  const series = seriesKey(req.metric.query, vars);
  await store.points.replaceWindow(req.orgId, req.metric.id, series, window, fetched.points, {
    fetchedAt: deps.now(),
    retentionDays: RETENTION_DAYS[org?.plan ?? 'free'],
  });
  return { series, ...window, points: fetched.points.length, requests: fetched.requests.length };
}
