// The pull: fetch one metric over a window from its provider and write the
// points to ClickHouse, replacing what that window held. The scheduler and the
// backfill command build on it.
import { alignDown, alignUp } from '../connectors/http.js';
import { renderQuery, seriesKey, type TemplateVars } from '../connectors/template.js';
import {
  ConnectorError,
  type Connector,
  type ConnectorModule,
  type ProviderRequest,
  type Series,
  type SeriesPoint,
} from '../connectors/types.js';
import type { Store } from '../store/index.js';
import type { Metric } from '../domain/metric.js';
import type { ConnectorFactory, LiveConnection } from './connectors.js';

export interface PullRequest {
  orgId: string;
  metric: Metric;
  from: number;
  to: number;
  /** Event values for `{{subject}}`, `{{version}}`, `{{service}}`. */
  vars?: TemplateVars;
  signal?: AbortSignal;
  /** Report which stored buckets the fetch changed (late data); costs one read of the window. */
  detectChanges?: boolean;
  /** Told of every provider call (telemetry). */
  observe?: CallObserver;
}

/** Told of one provider call: its outcome ("ok" or an error code) and duration. */
export type CallObserver = (call: { outcome: string; seconds: number }) => void;

export interface PullResult {
  /** The series the points were stored under ("" unless the query uses event values). */
  series: string;
  /** The step-aligned window written. */
  from: number;
  to: number;
  points: number;
  /** Provider calls made (chunks, and both sides of a ratio). */
  requests: number;
  /** Bucket times whose stored value the fetch changed, added or removed (with detectChanges). */
  changed: number[];
}

/** The provider queries of a metric: one, or numerator and denominator for a two-query ratio. */
export function metricQueries(
  metric: Pick<Metric, 'kind' | 'query'>,
): { single: unknown } | { numerator: unknown; denominator: unknown } {
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
  observe?: CallObserver,
): Promise<{ points: SeriesPoint[]; requests: ProviderRequest[] }> {
  const opts = { from: window.from, to: window.to, stepSeconds: metric.step_seconds, kind: metric.kind, signal };
  const connector = observe ? observed(live.connector, observe) : live.connector;
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

/** The connector with every fetchSeries call timed and reported. */
function observed(connector: Connector, observe: CallObserver): Connector {
  return {
    ...connector,
    limits: connector.limits,
    async fetchSeries(query, opts) {
      const started = performance.now();
      try {
        const series = await connector.fetchSeries(query, opts);
        observe({ outcome: 'ok', seconds: (performance.now() - started) / 1000 });
        return series;
      } catch (err) {
        observe({
          outcome: err instanceof ConnectorError ? err.code : 'error',
          seconds: (performance.now() - started) / 1000,
        });
        throw err;
      }
    },
  };
}

/** Fill a saved query with event values and validate it as the provider's query. */
function prepare(module: ConnectorModule, query: unknown, vars: TemplateVars): unknown {
  const parsed = module.querySchema.safeParse(renderQuery(query, vars));
  if (!parsed.success) {
    throw new ConnectorError(
      'bad_query',
      `the query is not valid for ${module.id}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Buckets present on both sides: value = numerator, weight = denominator. */
function joinRatio(num: Series, den: Series): SeriesPoint[] {
  const denominators = new Map(den.points.map((p) => [p.ts, p.value]));
  return num.points
    .filter((p) => denominators.has(p.ts))
    .map((p) => ({ ts: p.ts, value: p.value, weight: denominators.get(p.ts)! }));
}

/** Pull one metric over [from, to) (aligned outward to its step) and store the points. */
export async function pullMetric(
  deps: { store: Store; connectors: ConnectorFactory; now: () => number },
  req: PullRequest,
): Promise<PullResult> {
  const { store, connectors } = deps;
  const live = await connectors.forConnection(req.orgId, req.metric.connection_id);
  if (!live)
    throw new ConnectorError(
      'invalid_config',
      `connection ${req.metric.connection_id} of metric ${req.metric.id} no longer exists`,
    );
  const org = await store.orgs.get(req.orgId);
  const vars = req.vars ?? {};
  const window = { from: alignDown(req.from, req.metric.step_seconds), to: alignUp(req.to, req.metric.step_seconds) };
  const fetched = await fetchMetricSeries(live, req.metric, window, vars, req.signal, req.observe);
  const series = seriesKey(req.metric.query, vars);
  const changed = req.detectChanges
    ? changedBuckets(
        await store.points.read(req.orgId, req.metric.id, series, window.from, window.to),
        fetched.points,
        window,
      )
    : [];
  await store.points.replaceWindow(req.orgId, req.metric.id, series, window, fetched.points, {
    fetchedAt: deps.now(),
    retentionDays: store.retentionDays(org?.plan ?? 'free'),
  });
  return { series, ...window, points: fetched.points.length, requests: fetched.requests.length, changed };
}

/** Bucket times inside the window whose value or weight differs between what was stored and what was fetched. */
function changedBuckets(
  stored: readonly SeriesPoint[],
  fetched: readonly SeriesPoint[],
  window: { from: number; to: number },
): number[] {
  const before = new Map(stored.map((p) => [p.ts, p]));
  const changed = new Set<number>();
  for (const p of fetched) {
    if (p.ts < window.from || p.ts >= window.to) continue;
    const old = before.get(p.ts);
    if (!old || old.value !== p.value || (old.weight ?? null) !== (p.weight ?? null)) changed.add(p.ts);
    before.delete(p.ts);
  }
  for (const ts of before.keys()) changed.add(ts);
  return [...changed].sort((a, b) => a - b);
}
