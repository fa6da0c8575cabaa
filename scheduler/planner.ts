// The planner: turns stored events into (event, metric) pairs and the fetch jobs
// their windows need, folded into the jobs already planned (plan.ts coalesces).
import { eventVars, seriesKey, type TemplateVars } from '../connectors/template.js';
import { ConnectorError, type ConnectorLimits, type Logger } from '../connectors/types.js';
import type { CloudEvent } from '../domain/event.js';
import { appliesTo, type Metric } from '../domain/metric.js';
import type { Store } from '../store/index.js';
import type { FetchJob, JobState } from '../store/jobs.js';
import type { ImpactPair, PairWindows } from '../store/pairs.js';
import type { ConnectorFactory } from './connectors.js';
import { coalesce, needsFor, pairRanges, pairWindows, union } from './plan.js';
import type { PairReadiness } from './readiness.js';

/** What the scheduler needs of a stored event (store/events.ts StoredEvent fits). */
export interface SchedulerEvent {
  source: string;
  id: string;
  type: string;
  subject?: string | null;
  /** Event time, epoch ms. */
  time: number;
  /** The CloudEvent as sent (for {{version}} and {{service}}). */
  event?: CloudEvent;
}

/** How fetches are coalesced (SchedulerOptions carries these). */
export interface PlannerOptions {
  /** Most a first fetch may be delayed so later events share it (default 300 s); late-data passes wait up to max(15 min, settle/4). */
  coalesceSlackSeconds?: number;
  /** Largest hole one job bridges between windows it needs (default 3,600 s). */
  coalesceGapSeconds?: number;
}

/** What the planner is given besides its options. */
export interface PlannerDeps {
  store: Store;
  connectors: ConnectorFactory;
  logger: Logger;
  now: () => number;
  readiness: PairReadiness;
  /** Whether a job is running now (planning never extends it). */
  isInFlight: (jobId: string) => boolean;
}

/** The pairs of one metric series planned together, so they share fetches. */
interface SeriesGroup {
  metric: Metric;
  series: string;
  vars: TemplateVars;
  pairs: ImpactPair[];
}

/** Jobs a new need may fold into: those still to run or done (a failed one is planned anew). */
const OPEN_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'blocked'];

/** Plans events in batches: those stored together share fetches. */
/** How events are planned again (a catch-up, a metric saved, a recompute). */
export interface ReplanOptions {
  /** Plan pending pairs again (a crash may have cut their planning); otherwise only missing pairs are planned. */
  pending?: boolean;
  /** Plan failed pairs anew (new jobs for their windows); otherwise they stay failed. */
  retryFailed?: boolean;
}

export class Planner {
  private pending: { orgId: string; events: SchedulerEvent[]; opts: ReplanOptions }[] = [];

  constructor(
    private readonly deps: PlannerDeps,
    private readonly opts: PlannerOptions,
  ) {}

  /**
   * Keep events for the next plan() (copies: the caller may reuse its objects). Planning an
   * event again is safe at any time: it adds the pairs it lacks and re-plans its pending ones.
   */
  add(orgId: string, events: readonly SchedulerEvent[], opts: ReplanOptions = {}): void {
    this.pending.push({ orgId, events: events.map((e) => ({ ...e })), opts });
  }

  /** Whether events wait to be planned. */
  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Plan every waiting event, one batch per org; an org whose planning failed keeps its events for the next call. */
  async plan(): Promise<void> {
    const batch = this.pending.splice(0);
    for (const { orgId, events, opts } of batch) {
      // Chunks keep each lookup of existing pairs bounded (a catch-up may bring thousands).
      for (let i = 0; i < events.length; i += PLAN_CHUNK) {
        const chunk = events.slice(i, i + PLAN_CHUNK);
        try {
          await this.planOrg(orgId, chunk, opts);
        } catch (err) {
          // The store may be briefly unavailable: keep the events for the next tick.
          this.deps.logger.error(
            { org_id: orgId, events: chunk.length, err: String(err) },
            'planning failed; will retry',
          );
          this.pending.push({ orgId, events: chunk, opts });
        }
      }
    }
  }

  /**
   * Make sure these windows of a metric series get fetched (a report asked for
   * ad-hoc windows): plans jobs like an event's, within the same budgets and
   * coalescing. True while a fetch of them is still outstanding.
   */
  async fetchWindows(orgId: string, metric: Metric, vars: TemplateVars, windows: PairWindows): Promise<boolean> {
    const series = seriesKey(metric.query, vars);
    await this.planGroup(orgId, { metric, series, vars, pairs: [] }, [windows]);
    const open = await this.deps.store.jobs.list(orgId, {
      metricId: metric.id,
      series,
      states: ['queued', 'running', 'blocked'],
      overlapsAny: pairRanges(windows).map((r) => ({ metricId: metric.id, series, ...r })),
    });
    return open.length > 0;
  }

  /**
   * Draft the pairs events lack (one per applicable metric), take their pending pairs (`pending`)
   * and failed ones (`retryFailed`) along, group them by metric series, and plan each group. A
   * pair planned again folds into the jobs already planned for it, so a crash at any point
   * converges when the events are planned again.
   */
  private async planOrg(orgId: string, events: SchedulerEvent[], opts: ReplanOptions): Promise<void> {
    const { store } = this.deps;
    const metrics = await store.metrics.list(orgId);
    if (metrics.length === 0) return;
    const existing = new Map(
      (await store.pairs.forEvents(orgId, events)).map((p) => [pairKey(p.event_source, p.event_id, p.metric_id), p]),
    );
    const seen = new Set<string>();
    const groups = new Map<string, SeriesGroup>();
    for (const event of events) {
      const vars = eventVars(event.event ?? { subject: event.subject ?? undefined });
      for (const metric of metrics) {
        if (!appliesTo(metric, { type: event.type, subject: event.subject ?? '' })) continue;
        const key = pairKey(event.source, event.id, metric.id);
        if (seen.has(key)) continue;
        seen.add(key);
        const series = seriesKey(metric.query, vars);
        const known = existing.get(key);
        if (known) {
          // Ready pairs are done; a pending one is planned again (its jobs may have finished
          // or failed unseen when a crash cut planning); a failed one only on request.
          if (known.state === 'ready') continue;
          if (known.state === 'pending' && !opts.pending) continue;
          if (known.state === 'failed' && !opts.retryFailed) continue;
          if (known.series !== series) continue; // planned under an older query: its own series
          Object.assign(known, { state: 'pending', last_error: null });
          addToGroup(groups, { metric, series, vars, pair: known });
          continue;
        }
        const pair = store.pairs.draft({
          org_id: orgId,
          event_source: event.source,
          event_id: event.id,
          metric_id: metric.id,
          connection_id: metric.connection_id,
          series,
          event_type: event.type,
          event_time: event.time,
          windows: pairWindows(event, metric),
        });
        addToGroup(groups, { metric, series, vars, pair });
      }
    }
    for (const group of groups.values()) await this.planGroup(orgId, group);
  }

  /** Plan the jobs of many pairs of one metric series at once (and any extra windows), so they share fetches. */
  private async planGroup(orgId: string, group: SeriesGroup, extraWindows: PairWindows[] = []): Promise<void> {
    const { store, logger } = this.deps;
    const { metric, series, pairs } = group;
    let limits: ConnectorLimits;
    try {
      const live = await this.deps.connectors.forConnection(orgId, metric.connection_id);
      if (!live) throw new ConnectorError('invalid_config', `connection ${metric.connection_id} no longer exists`);
      limits = live.connector.limits;
    } catch (err) {
      // The pairs fail with the reason (their last_error); the log keeps what an internal error hides.
      logger.warn(
        { org_id: orgId, metric_id: metric.id, connection_id: metric.connection_id, err: String(err) },
        'no connector for the metric: its new pairs failed',
      );
      for (const p of pairs) Object.assign(p, { state: 'failed', last_error: errorText(err) });
      await store.pairs.save(pairs);
      return;
    }
    const now = this.deps.now();
    const stepMs = metric.step_seconds * 1000;
    const maxJobMs = Math.max(1, limits.maxPointsPerCall) * stepMs;
    const gapMs = (this.opts.coalesceGapSeconds ?? 3600) * 1000;
    const slackMs = (this.opts.coalesceSlackSeconds ?? 300) * 1000;
    const needs = [...pairs.map((p) => p.windows), ...extraWindows].flatMap((w) => needsFor(w, limits));
    const covered = union(needs.map((n) => n.range));
    const margin = gapMs + maxJobMs;
    const known = (
      await store.jobs.list(orgId, {
        metricId: metric.id,
        series,
        states: OPEN_STATES,
        overlapsAny: covered.map((r) => ({ metricId: metric.id, series, from: r.from - margin, to: r.to + margin })),
      })
    ).filter((j) => j.kind !== 'backfill' || j.state === 'succeeded'); // an unfinished backfill runs only when its command does
    const vars = Object.fromEntries(Object.entries(group.vars).filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >;
    const { created, changed } = coalesce<FetchJob>(
      known,
      needs,
      {
        now,
        stepMs,
        maxJobMs,
        slackMs,
        settleSlackMs: Math.max(slackMs, 900_000, limits.settleSeconds * 250),
        gapMs,
        mergeable: (j) => !this.deps.isInFlight((j as FetchJob).id),
      },
      (range, dueAt, final) =>
        store.jobs.draft({
          org_id: orgId,
          connection_id: metric.connection_id,
          metric_id: metric.id,
          series,
          vars,
          kind: final ? 'settle' : 'window',
          from: range.from,
          to: range.to,
          due_at: dueAt,
          run_at: dueAt,
        }),
    );
    // Jobs before pairs: a crash in between leaves pairs to re-plan, never pairs without jobs.
    await store.jobs.save([...created, ...changed]);
    if (pairs.length === 0) return;
    await store.pairs.save(pairs);
    logger.debug(
      {
        org_id: orgId,
        metric_id: metric.id,
        pairs: pairs.length,
        jobs_created: created.length,
        jobs_extended: changed.length,
      },
      'planned fetches',
    );
    await this.deps.readiness.refresh(orgId, metric, series, pairs, [], limits);
  }
}

/** Events planned per lookup of their existing pairs. */
const PLAN_CHUNK = 1_000;

function addToGroup(
  groups: Map<string, SeriesGroup>,
  { metric, series, vars, pair }: { metric: Metric; series: string; vars: TemplateVars; pair: ImpactPair },
): void {
  const groupKey = `${metric.id}\u0000${series}`;
  const group = groups.get(groupKey) ?? { metric, series, vars, pairs: [] };
  group.pairs.push(pair);
  groups.set(groupKey, group);
}

function pairKey(source: string, id: string, metricId: string): string {
  return JSON.stringify([source, id, metricId]);
}

/** A pair's last_error: a connector's own message, nothing internal. */
function errorText(err: unknown): string {
  return err instanceof ConnectorError ? err.message : 'internal error (see the service log)';
}
