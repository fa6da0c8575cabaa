// The scheduler: plans the fetches each stored event needs, runs them through one
// budgeted queue per provider connection with retries, persists every job in
// ClickHouse (a restart resumes them), and marks (event, metric) pairs ready.
import type { Registry } from 'prom-client';
import { eventVars, seriesKey, type TemplateVars } from '../connectors/template.js';
import { ConnectorError, type ConnectorLimits, type Logger, type RateLimitInfo } from '../connectors/types.js';
import type { CloudEvent, ReceivedEvent } from '../domain/event.js';
import type { Store } from '../store/index.js';
import {
  type JobRepository,
  type PairRepository,
  type FetchJob,
  type ImpactPair,
  type JobCursor,
  type JobKind,
  type JobState,
  type PairWindows,
  type TimeRange,
} from '../store/jobs.js';
import { appliesTo, type Metric } from '../domain/metric.js';
import { backoffMs, budgetLimits, ConnectionBudget, type BudgetLimits, type RateLimitState } from './budget.js';
import type { ConnectorFactory } from './connectors.js';
import {
  coalesce,
  needsFor,
  pairComplete,
  pairRanges,
  pairWindows,
  REFERENCE_REACH_MS,
  touches,
  union,
  type PlanJob,
} from './plan.js';
import { pullMetric } from './pull.js';
import { SchedulerTelemetry } from './telemetry.js';

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

export interface SchedulerOptions {
  store: Store;
  connectors: ConnectorFactory;
  logger: Logger;
  /** Clock in epoch ms (tests drive it; production: Date.now). */
  now?: () => number;
  /** Where the Prometheus metrics go (api/routes/telemetry.ts serves it). */
  registry?: Registry;
  /** Told when an (event, metric) pair's windows are all in, and again (revision + 1) when late data changed them. */
  onPairReady?: (pair: ImpactPair) => void | Promise<void>;
  /** Told when a job finished (succeeded or failed for good): the backfill command's progress. */
  onJobDone?: (job: FetchJob) => void;
  /** Per-connection overrides of the connector's declared concurrency and request rate. */
  budgets?: (orgId: string, connectionId: string) => Partial<BudgetLimits> | undefined;
  /** Attempts before a retryable failure fails the job (default 6). */
  maxAttempts?: number;
  /** Backoff of retryable failures (default 5 s doubling up to 10 min, with jitter). */
  backoff?: { baseMs: number; maxMs: number };
  /** Jitter source (tests pin it). */
  random?: () => number;
  /** Most a first fetch may be delayed so later events share it (default 300 s); late-data passes wait up to max(15 min, settle/4). */
  coalesceSlackSeconds?: number;
  /** Largest hole one job bridges between windows it needs (default 3,600 s). */
  coalesceGapSeconds?: number;
  /** Run-loop period with real timers after start() (default 1,000 ms). */
  pollMs?: number;
  /** Which jobs this instance runs: the service runs `window` jobs, the backfill command its own. */
  kinds?: JobKind[];
  /** Only run the jobs of this backfill. */
  backfillId?: string;
  /** How long stop() lets in-flight calls finish before cutting them (default 10 s). */
  stopGraceMs?: number;
  /** On start, plan events received this recently that have no pairs yet (a crash before planning; default 48 h, 0 = off). */
  catchUpHours?: number;
}

/** Connection health for GET /v1/connections/{id}. */
export interface ConnectionHealth {
  last_success: string | null;
  last_error: { at: string; code: string; message: string } | null;
  rate_limit: RateLimitState | null;
  queued_jobs: number;
}

/** Filters of GET /v1/jobs. */
export interface JobListFilter {
  state?: JobState;
  connection?: string;
  metric?: string;
  /** An event id: the jobs that fetch its windows. */
  event?: string;
  /** With `event`: its source, when several sources use the id. */
  source?: string;
}

/** Longest window an override may reasonably ask for; bounds the pair lookups around a job. */
const MAX_WINDOW_MS = 7 * 24 * 3600_000;
const OPEN_STATES: readonly JobState[] = ['queued', 'running', 'succeeded', 'blocked'];

export class Scheduler {
  private readonly jobs: JobRepository;
  private readonly pairs: PairRepository;
  private readonly store: Store;
  private readonly connectors: ConnectorFactory;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly telemetry: SchedulerTelemetry;
  private readonly kinds: JobKind[];
  private readonly budgets = new Map<string, ConnectionBudget>();
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  /** Per dispatched job: whether its queue slot has started it yet. */
  private readonly slots = new Map<Promise<void>, { jobId: string; started: boolean }>();
  private readonly controllers = new Set<AbortController>();
  private pendingEvents: { orgId: string; events: SchedulerEvent[] }[] = [];
  private ticking: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping = false;
  private unlisten: (() => void) | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    this.store = opts.store;
    this.connectors = opts.connectors;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.jobs = opts.store.jobs;
    this.pairs = opts.store.pairs;
    this.telemetry = new SchedulerTelemetry(opts.registry, this.jobs);
    this.kinds = opts.kinds ?? ['window', 'settle'];
    this.listen();
  }

  /** Take the connections' rate-limit headers into this scheduler's budgets (until stop()). */
  private listen(): void {
    this.unlisten ??= this.connectors.listenRateLimits((id, info) => this.onRateLimit(id, info));
  }

  /** Resume persisted jobs (running ones were cut by a crash or stop), plan events a crash left unplanned, start the loop. */
  async start(): Promise<void> {
    if (this.started) return;
    this.stopping = false;
    this.listen();
    await this.resume();
    const hours = this.opts.catchUpHours ?? 48;
    if (hours > 0 && this.kinds.includes('window')) {
      for (const { orgId, events } of await this.pairs.unplannedEvents(this.now() - hours * 3600_000))
        this.onEventsStored(orgId, events);
    }
    this.started = true;
    this.timer = setInterval(
      () => void this.tick().catch((err) => this.logger.error({ err: String(err) }, 'scheduler tick failed')),
      this.opts.pollMs ?? 1000,
    );
    this.timer.unref();
    void this.tick();
  }

  /** Stop taking work; let in-flight calls finish for the grace period, then cut them and keep their jobs queued. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    this.unlisten?.();
    this.unlisten = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking?.catch(() => undefined);
    // Jobs still waiting for a queue slot never started: they stay queued in the store.
    for (const budget of this.budgets.values()) budget.queue.clear();
    for (const [run, slot] of this.slots) {
      if (slot.started) continue;
      this.running.delete(run);
      this.slots.delete(run);
      this.inFlight.delete(slot.jobId);
    }
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.opts.stopGraceMs ?? 10_000).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    for (const c of this.controllers) c.abort(new Error('scheduler stopping'));
    await Promise.allSettled([...this.running]);
  }

  /** Called after events were stored (202): plans their fetches soon; never waits on a provider. */
  onEventsStored(orgId: string, events: readonly SchedulerEvent[]): void {
    if (events.length === 0 || this.stopping) return;
    this.pendingEvents.push({ orgId, events: events.map((e) => ({ ...e })) });
    if (this.started)
      setImmediate(
        () => void this.tick().catch((err) => this.logger.error({ err: String(err) }, 'scheduler tick failed')),
      );
  }

  /** Called after a connection check; a successful one puts the connection's blocked jobs back in the queue. */
  async onConnectionChecked(orgId: string, connectionId: string, ok: boolean): Promise<number> {
    if (!ok) return 0;
    const blocked = await this.jobs.list(orgId, { connectionId, states: ['blocked'] });
    const now = this.now();
    for (const job of blocked) Object.assign(job, { state: 'queued', run_at: now, attempts: 0 });
    await this.jobs.save(blocked);
    if (blocked.length > 0)
      this.logger.info({ connection_id: connectionId, jobs: blocked.length }, 'connection fixed: jobs resumed');
    if (this.started) void this.tick();
    return blocked.length;
  }

  /** Rate-limit headers of a connection's last answer (the connector factory tells every listening scheduler). */
  private onRateLimit(connectionId: string, info: RateLimitInfo): void {
    this.budgets.get(connectionId)?.observe(info);
  }

  /** Last success, last error, rate-limit state and open jobs of a connection. */
  async health(orgId: string, connectionId: string): Promise<ConnectionHealth> {
    const stats = await this.jobs.connectionStats(orgId, connectionId);
    return {
      last_success: stats.lastSuccess === null ? null : new Date(stats.lastSuccess).toISOString(),
      last_error: stats.lastError && {
        at: new Date(stats.lastError.at).toISOString(),
        code: stats.lastError.code,
        message: stats.lastError.message,
      },
      rate_limit: this.budgets.get(connectionId)?.state() ?? null,
      queued_jobs: stats.open,
    };
  }

  /** One page of an org's jobs, newest first (GET /v1/jobs). */
  async listJobs(orgId: string, filter: JobListFilter, limit: number, after?: JobCursor): Promise<FetchJob[]> {
    let overlapsAny: { metricId: string; series: string; from: number; to: number }[] | undefined;
    if (filter.event !== undefined) {
      const pairs = await this.pairs.forEventId(orgId, filter.event, filter.source);
      overlapsAny = pairs.flatMap((p) =>
        pairRanges(p.windows).map((r) => ({ metricId: p.metric_id, series: p.series, ...r })),
      );
    }
    return this.jobs.list(
      orgId,
      { states: filter.state && [filter.state], connectionId: filter.connection, metricId: filter.metric, overlapsAny },
      limit,
      after,
    );
  }

  /** Ready pairs of an org (oldest ready first; `since` = the last ready_at seen, exclusive). */
  async readyPairs(orgId: string, opts: { since?: number; limit?: number } = {}): Promise<ImpactPair[]> {
    return this.pairs.ready(orgId, opts);
  }

  /** The pairs of one event (pending, ready or failed). */
  async pairsOfEvent(orgId: string, eventId: string, source?: string): Promise<ImpactPair[]> {
    return this.pairs.forEventId(orgId, eventId, source);
  }

  /** One pass of the loop: plan new events, hand due jobs to their connection's queue. Returns jobs dispatched. */
  tick(): Promise<number> {
    this.ticking ??= (async () => {
      try {
        await this.planPending();
        return this.stopping ? 0 : await this.dispatch();
      } finally {
        this.ticking = undefined;
      }
    })();
    return this.ticking;
  }

  /** Run everything due now to completion (tests and the backfill command drive the clock through this). */
  async runDue(): Promise<void> {
    for (;;) {
      const dispatched = await this.tick();
      await this.idle();
      if (dispatched === 0 && this.pendingEvents.length === 0) return;
    }
  }

  /** Resolves when no job is in flight. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  // ---- planning ----

  private async planPending(): Promise<void> {
    const batch = this.pendingEvents.splice(0);
    const byOrg = new Map<string, SchedulerEvent[]>();
    for (const b of batch) byOrg.set(b.orgId, [...(byOrg.get(b.orgId) ?? []), ...b.events]);
    for (const [orgId, events] of byOrg) {
      try {
        await this.planOrg(orgId, events);
      } catch (err) {
        // The store may be briefly unavailable: keep the events for the next tick.
        this.logger.error({ org_id: orgId, events: events.length, err: String(err) }, 'planning failed; will retry');
        this.pendingEvents.push({ orgId, events });
      }
    }
  }

  private async planOrg(orgId: string, events: SchedulerEvent[]): Promise<void> {
    const metrics = await this.store.metrics.list(orgId);
    if (metrics.length === 0) return;
    const existing = await this.pairs.forEvents(orgId, events);
    const seen = new Set(existing.map((p) => pairKey(p.event_source, p.event_id, p.metric_id)));
    const groups = new Map<string, { metric: Metric; series: string; vars: TemplateVars; pairs: ImpactPair[] }>();
    for (const event of events) {
      const vars = eventVars(event.event ?? { subject: event.subject ?? undefined });
      for (const metric of metrics) {
        if (!appliesTo(metric, { type: event.type, subject: event.subject ?? '' })) continue;
        const key = pairKey(event.source, event.id, metric.id);
        if (seen.has(key)) continue;
        seen.add(key);
        const series = seriesKey(metric.query, vars);
        const pair = this.pairs.draft({
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
        const groupKey = `${metric.id}\u0000${series}`;
        const group = groups.get(groupKey) ?? { metric, series, vars, pairs: [] };
        group.pairs.push(pair);
        groups.set(groupKey, group);
      }
    }
    for (const group of groups.values()) await this.planGroup(orgId, group);
  }

  /**
   * Make sure these windows of a metric series get fetched (a report asked for
   * ad-hoc windows): plans jobs like an event's, within the same budgets and
   * coalescing. True while a fetch of them is still outstanding.
   */
  async fetchWindows(orgId: string, metric: Metric, vars: TemplateVars, windows: PairWindows): Promise<boolean> {
    const series = seriesKey(metric.query, vars);
    await this.planGroup(orgId, { metric, series, vars, pairs: [] }, [windows]);
    const open = await this.jobs.list(orgId, {
      metricId: metric.id,
      series,
      states: ['queued', 'running', 'blocked'],
      overlapsAny: pairRanges(windows).map((r) => ({ metricId: metric.id, series, ...r })),
    });
    return open.length > 0;
  }

  /** Plan the jobs of many pairs of one metric series at once (and any extra windows), so they share fetches. */
  private async planGroup(
    orgId: string,
    group: { metric: Metric; series: string; vars: TemplateVars; pairs: ImpactPair[] },
    extraWindows: PairWindows[] = [],
  ): Promise<void> {
    const { metric, series, pairs } = group;
    let limits: ConnectorLimits;
    try {
      const live = await this.connectors.forConnection(orgId, metric.connection_id);
      if (!live) throw new ConnectorError('invalid_config', `connection ${metric.connection_id} no longer exists`);
      limits = live.connector.limits;
    } catch (err) {
      for (const p of pairs) Object.assign(p, { state: 'failed', last_error: errorText(err) });
      await this.pairs.save(pairs);
      return;
    }
    const now = this.now();
    const stepMs = metric.step_seconds * 1000;
    const maxJobMs = Math.max(1, limits.maxPointsPerCall) * stepMs;
    const gapMs = (this.opts.coalesceGapSeconds ?? 3600) * 1000;
    const needs = [...pairs.map((p) => p.windows), ...extraWindows].flatMap((w) => needsFor(w, limits));
    const covered = union(needs.map((n) => n.range));
    const margin = gapMs + maxJobMs;
    const known = (
      await this.jobs.list(orgId, {
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
        slackMs: (this.opts.coalesceSlackSeconds ?? 300) * 1000,
        settleSlackMs: Math.max((this.opts.coalesceSlackSeconds ?? 300) * 1000, 900_000, limits.settleSeconds * 250),
        gapMs,
        mergeable: (j) => !this.inFlight.has((j as FetchJob).id),
      },
      (range, dueAt, final) =>
        this.jobs.draft({
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
    await this.jobs.save([...created, ...changed]);
    if (pairs.length === 0) return;
    await this.pairs.save(pairs);
    this.logger.debug(
      {
        org_id: orgId,
        metric_id: metric.id,
        pairs: pairs.length,
        jobs_created: created.length,
        jobs_extended: changed.length,
      },
      'planned fetches',
    );
    await this.refreshPairs(orgId, metric, series, pairs, [], limits);
  }

  // ---- running ----

  private async dispatch(): Promise<number> {
    const due = await this.jobs.due(this.now(), this.kinds, 1000, this.opts.backfillId);
    let dispatched = 0;
    for (const job of due) {
      if (this.inFlight.has(job.id)) continue;
      let budget: ConnectionBudget | undefined;
      try {
        budget = await this.budgetFor(job.org_id, job.connection_id);
      } catch (err) {
        await this.failFor(job, err);
        continue;
      }
      if (!budget) {
        await this.failFor(
          job,
          new ConnectorError('invalid_config', `connection ${job.connection_id} no longer exists`),
        );
        continue;
      }
      const blockedUntil = budget.blockedUntil();
      if (blockedUntil > 0) {
        if (job.run_at < blockedUntil) {
          job.run_at = blockedUntil;
          await this.jobs.save([job]);
        }
        continue;
      }
      this.inFlight.add(job.id);
      dispatched++;
      const b = budget;
      const slot = { jobId: job.id, started: false };
      const run: Promise<void> = b.queue
        .add(() => {
          slot.started = true;
          return this.execute(job, b);
        })
        .catch((err) => this.logger.error({ job_id: job.id, err: String(err) }, 'job crashed'))
        .finally(() => {
          this.inFlight.delete(job.id);
          this.running.delete(run);
          this.slots.delete(run);
        });
      this.running.add(run);
      this.slots.set(run, slot);
    }
    return dispatched;
  }

  private async budgetFor(orgId: string, connectionId: string): Promise<ConnectionBudget | undefined> {
    const hit = this.budgets.get(connectionId);
    if (hit) return hit;
    const live = await this.connectors.forConnection(orgId, connectionId);
    if (!live) return undefined;
    const budget = new ConnectionBudget(
      budgetLimits(live.connector.limits, this.opts.budgets?.(orgId, connectionId)),
      this.now,
    );
    this.budgets.set(connectionId, budget);
    return budget;
  }

  private async execute(job: FetchJob, budget: ConnectionBudget): Promise<void> {
    if (this.stopping) return; // still queued in the store: the next start runs it
    const blockedUntil = budget.blockedUntil();
    if (blockedUntil > 0) {
      job.run_at = Math.max(job.run_at, blockedUntil);
      await this.jobs.save([job]);
      return;
    }
    const connection = await this.store.connections.get(job.org_id, job.connection_id);
    if (!connection)
      return this.failFor(
        job,
        new ConnectorError('invalid_config', `connection ${job.connection_id} no longer exists`),
      );
    if (connection.status === 'failing') {
      // Auth is broken: no call until a successful check resumes the job.
      Object.assign(job, {
        state: 'blocked',
        last_error: connection.status_message ?? 'connection is failing',
        last_error_code: 'auth_failed',
      });
      await this.jobs.save([job]);
      return;
    }
    const metric = await this.store.metrics.get(job.org_id, job.metric_id);
    if (!metric)
      return this.failFor(job, new ConnectorError('invalid_config', `metric ${job.metric_id} no longer exists`));
    const live = await this.connectors.forConnection(job.org_id, job.connection_id);
    const limits = live!.connector.limits;

    Object.assign(job, { state: 'running', attempts: job.attempts + 1 });
    await this.jobs.save([job]);
    const askedAt = this.now();
    const controller = new AbortController();
    this.controllers.add(controller);
    // The connector cuts each call at its timeout; this cuts the job (both sides of a ratio) as a safety net.
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(limits.timeoutMs * 2 + 5_000)]);
    try {
      const result = await pullMetric(
        { store: this.store, connectors: this.connectors, now: this.now },
        {
          orgId: job.org_id,
          metric,
          from: job.from,
          to: job.to,
          vars: job.vars,
          signal,
          detectChanges: true,
          observe: (call) => this.telemetry.call(connection.provider, call.outcome, call.seconds),
        },
      );
      Object.assign(job, {
        state: 'succeeded',
        fetched_at: askedAt,
        points: result.points,
        requests: job.requests + result.requests,
        last_error: null,
        last_error_code: null,
      });
      await this.jobs.save([job]);
      this.telemetry.pointsWritten(connection.provider, result.points);
      this.opts.onJobDone?.(job);
      await this.refreshPairsAround(job, metric, result.changed, limits);
    } catch (err) {
      await this.afterFailure(job, err, budget, controller);
    } finally {
      this.controllers.delete(controller);
    }
  }

  private async afterFailure(
    job: FetchJob,
    err: unknown,
    budget: ConnectionBudget,
    controller: AbortController,
  ): Promise<void> {
    const now = this.now();
    if (controller.signal.aborted) {
      // Cut by stop(): not the provider's fault; the next start runs it again.
      Object.assign(job, { state: 'queued', attempts: Math.max(0, job.attempts - 1), run_at: now });
      await this.jobs.save([job]);
      return;
    }
    const error = toConnectorError(err);
    if (!(err instanceof ConnectorError)) this.logger.warn({ job_id: job.id, err: String(err) }, 'fetch job failed');
    job.last_error = error.message;
    job.last_error_code = error.code;
    if (error.code === 'auth_failed') {
      // Not retried: the connection is failing until someone fixes it and a check passes.
      await this.store.connections.update(job.org_id, job.connection_id, {
        status: 'failing',
        status_message: error.message,
      });
      job.state = 'blocked';
      await this.jobs.save([job]);
      this.logger.warn(
        { connection_id: job.connection_id, code: error.code },
        'connection failing: its jobs wait for a successful check',
      );
      return;
    }
    if (!error.retryable || job.attempts >= (this.opts.maxAttempts ?? 6)) return this.failFor(job, error);
    let wait = backoffMs(job.attempts, this.opts.backoff ?? { baseMs: 5_000, maxMs: 600_000 }, this.opts.random);
    if (error.code === 'rate_limited') {
      // After a 429, wait what the provider said, for every job of the connection.
      if (error.retryAfterSeconds !== undefined) wait = error.retryAfterSeconds * 1000;
      budget.pause(now + wait);
    }
    Object.assign(job, { state: 'queued', run_at: now + wait });
    await this.jobs.save([job]);
  }

  private async failFor(job: FetchJob, err: unknown): Promise<void> {
    const error = toConnectorError(err);
    Object.assign(job, { state: 'failed', last_error: error.message, last_error_code: error.code });
    await this.jobs.save([job]);
    this.opts.onJobDone?.(job);
    const pending = (await this.pairsAround(job)).filter((p) => p.state === 'pending');
    for (const p of pending) Object.assign(p, { state: 'failed', last_error: error.message });
    await this.pairs.save(pending);
  }

  // ---- pair readiness ----

  private async pairsAround(job: FetchJob): Promise<ImpactPair[]> {
    const pairs = await this.pairs.forMetric(job.org_id, job.metric_id, {
      series: job.series,
      eventFrom: job.from - MAX_WINDOW_MS,
      eventTo: job.to + REFERENCE_REACH_MS + MAX_WINDOW_MS,
    });
    return pairs.filter((p) => pairRanges(p.windows).some((r) => r.from < job.to && r.to > job.from));
  }

  private async refreshPairsAround(
    job: FetchJob,
    metric: Metric,
    changed: number[],
    limits: ConnectorLimits,
  ): Promise<void> {
    await this.refreshPairs(job.org_id, metric, job.series, await this.pairsAround(job), changed, limits);
  }

  /** Mark pairs ready whose windows are all in, and bump the revision of ready ones whose windows the fetch changed. */
  private async refreshPairs(
    orgId: string,
    metric: Metric,
    series: string,
    candidates: ImpactPair[],
    changed: number[],
    limits: ConnectorLimits,
  ): Promise<void> {
    const open = candidates.filter((p) => p.state !== 'ready');
    const bumped = candidates.filter(
      (p) => p.state === 'ready' && changed.length > 0 && pairRanges(p.windows).some((r) => touches(r, changed)),
    );
    let done: PlanJob[] = [];
    if (open.length > 0) {
      const ranges = union(open.flatMap((p) => pairRanges(p.windows)));
      done = await this.jobs.list(orgId, {
        states: ['succeeded'],
        overlapsAny: ranges.map((r: TimeRange) => ({ metricId: metric.id, series, ...r })),
      });
    }
    const now = this.now();
    const first = open.filter((p) =>
      pairComplete(p.windows, done, limits.dataDelaySeconds * 1000, metric.step_seconds * 1000, now),
    );
    for (const p of [...first, ...bumped])
      Object.assign(p, { state: 'ready', revision: p.revision + 1, ready_at: now, last_error: null });
    const updated = [...first, ...bumped];
    if (updated.length === 0) return;
    await this.pairs.save(updated);
    for (let i = 0; i < first.length; i++) this.telemetry.pairReady('first');
    for (let i = 0; i < bumped.length; i++) this.telemetry.pairReady('revision');
    for (const p of updated) {
      try {
        await this.opts.onPairReady?.(p);
      } catch (err) {
        this.logger.error({ event_id: p.event_id, metric_id: p.metric_id, err: String(err) }, 'onPairReady failed');
      }
    }
  }

  // ---- recovery ----

  /** Put jobs a crash or stop left "running" back in the queue (start() does this; the backfill command calls it directly). */
  async resume(): Promise<void> {
    const cut = await this.jobs.inStates(['running'], this.kinds);
    const mine = this.opts.backfillId === undefined ? cut : cut.filter((j) => j.backfill_id === this.opts.backfillId);
    // Their run time stays: a job only ran once it was due, and must not run earlier than planned.
    for (const job of mine) job.state = 'queued';
    await this.jobs.save(mine);
    if (mine.length > 0) this.logger.info({ jobs: mine.length }, 'resumed jobs cut by the last stop or crash');
  }
}

/**
 * The scheduler's view of just-ingested CloudEvents: those whose id was accepted
 * (not duplicates), with the times ingest parsed.
 * For the events route: `scheduler.onEventsStored(orgId, schedulerEvents(received, result.accepted))`.
 */
export function schedulerEvents(events: readonly ReceivedEvent[], accepted: readonly string[]): SchedulerEvent[] {
  const ids = new Set(accepted);
  return events
    .filter((r) => ids.has(r.event.id))
    .map(({ event: e, time }) => ({
      source: e.source,
      id: e.id,
      type: e.type,
      subject: e.subject ?? '',
      time,
      event: e,
    }));
}

function pairKey(source: string, id: string, metricId: string): string {
  return JSON.stringify([source, id, metricId]);
}

function toConnectorError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new ConnectorError('timeout', 'the provider call took longer than the job timeout', { cause: err });
  }
  // Store hiccups and the unexpected: retried like an outage, but their text stays in the logs.
  return new ConnectorError('unavailable', 'internal error while fetching (see the service log)', { cause: err });
}

function errorText(err: unknown): string {
  return err instanceof ConnectorError ? err.message : 'internal error (see the service log)';
}

export type { FetchJob, ImpactPair, JobKind, JobState } from '../store/jobs.js';
export type { BudgetLimits, RateLimitState } from './budget.js';
