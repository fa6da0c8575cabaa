// The scheduler: plans the fetches each stored event needs (planner.ts), runs them through
// one budgeted queue per provider connection with retries (runner.ts), persists every job in
// ClickHouse (a restart resumes them), and marks (event, metric) pairs ready (readiness.ts).
import type { Registry } from 'prom-client';
import type { TemplateVars } from '../connectors/template.js';
import type { Logger } from '../connectors/types.js';
import type { ReceivedEvent } from '../domain/event.js';
import { appliesTo, type Metric } from '../domain/metric.js';
import type { Store } from '../store/index.js';
import type { FetchJob, JobCursor, JobState } from '../store/jobs.js';
import type { ImpactPair, PairWindows } from '../store/pairs.js';
import type { RateLimitState } from './budget.js';
import type { ConnectorFactory } from './connectors.js';
import { EventDiscovery, type DiscoveryOptions } from './discovery.js';
import { Lease } from './lease.js';
import { pairRanges } from './plan.js';
import { Planner, type PlannerOptions, type ReplanOptions, type SchedulerEvent } from './planner.js';
import { PairReadiness } from './readiness.js';
import { JobRunner, type RunnerOptions } from './runner.js';
import { SchedulerTelemetry } from './telemetry.js';

/** The scheduler's dependencies and settings (the planner's and the runner's are documented with them). */
export interface SchedulerOptions extends PlannerOptions, RunnerOptions {
  store: Store;
  connectors: ConnectorFactory;
  logger: Logger;
  /** Clock in epoch ms (tests drive it; production: Date.now). */
  now?: () => number;
  /** Where the Prometheus metrics go (api/routes/telemetry.ts serves it). */
  registry?: Registry;
  /** Told when an (event, metric) pair's windows are all in, and again (revision + 1) when late data changed them. */
  onPairReady?: (pair: ImpactPair) => void | Promise<void>;
  /** Run-loop period with real timers after start() (default 1,000 ms). */
  pollMs?: number;
  /** How long stop() lets in-flight calls finish before cutting them (default 10 s). */
  stopGraceMs?: number;
  /** On start, plan again events received this recently (their missing and pending pairs: a crash during planning; default 48 h, 0 = off). */
  catchUpHours?: number;
  /**
   * Several replicas share the store: run only while this replica holds the scheduler lease
   * (lease.ts), and plan the events other replicas accepted (discovery.ts). Absent: this
   * process is the only one (the embedded store allows no other).
   */
  replicas?: ReplicaOptions;
}

/** How a replica takes part in the scheduler lease. */
export interface ReplicaOptions extends DiscoveryOptions {
  /** This replica's id in the lease (unique per process start). */
  id: string;
  /** How long a lease claim holds (default 15 s): a dead holder's work resumes elsewhere within about this. */
  leaseMs?: number;
  /** How long a claimer waits before reading the claims again (default a sixth of the lease, at least 1 s). */
  settleMs?: number;
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

/** Most stored events a saved metric is planned for at once (the oldest within retention first). */
const METRIC_LOOKBACK_EVENTS = 100_000;

/** The facade the service, the API and the backfill command use: the run loop and the scheduler's queries. */
export class Scheduler {
  private readonly store: Store;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly planner: Planner;
  private readonly runner: JobRunner;
  private readonly lease: Lease | undefined;
  private readonly discovery: EventDiscovery | undefined;
  private ticking: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private active = false;
  private stopping = false;
  private unlisten: (() => void) | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    const { store, connectors, logger } = opts;
    this.store = store;
    this.logger = logger;
    this.now = opts.now ?? Date.now;
    const now = this.now;
    const telemetry = new SchedulerTelemetry(opts.registry, store.jobs);
    const readiness = new PairReadiness({
      jobs: store.jobs,
      pairs: store.pairs,
      logger,
      now,
      telemetry,
      onPairReady: opts.onPairReady,
    });
    this.runner = new JobRunner({ store, connectors, logger, now, telemetry, readiness }, opts);
    this.planner = new Planner(
      { store, connectors, logger, now, readiness, isInFlight: (id) => this.runner.isInFlight(id) },
      opts,
    );
    const { replicas } = opts;
    if (replicas) {
      this.discovery = new EventDiscovery(store, this.now, replicas);
      this.lease = new Lease({
        repo: store.leases,
        name: 'scheduler',
        holder: replicas.id,
        ttlMs: replicas.leaseMs,
        settleMs: replicas.settleMs,
        logger,
        onChange: (holding) => (holding ? this.activate() : this.deactivate(0)),
      });
    }
    this.listen();
  }

  /** Start the loop: at once when this process is alone, else whenever this replica holds the scheduler lease. */
  async start(): Promise<void> {
    if (this.started) return;
    this.stopping = false;
    this.started = true;
    this.listen();
    if (this.lease) this.lease.start();
    else await this.activate();
  }

  /** Stop taking work; let in-flight calls finish for the grace period, then cut them and keep their jobs queued. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    await this.lease?.stop();
    this.unlisten?.();
    this.unlisten = undefined;
    await this.deactivate(this.opts.stopGraceMs ?? 10_000);
  }

  /** Whether this process runs the scheduler now (always when alone; while it holds the lease among replicas). */
  isActive(): boolean {
    return this.active && (this.lease?.holds() ?? true);
  }

  /** Called after events were stored (202): plans their fetches soon; never waits on a provider. */
  onEventsStored(orgId: string, events: readonly SchedulerEvent[]): void {
    if (events.length === 0 || this.stopping) return;
    // Among replicas only the lease holder plans; it finds these in the store (discovery.ts).
    if (this.lease && !this.isActive()) return;
    this.discovery?.note(orgId, events);
    this.planner.add(orgId, events);
    if (this.started) setImmediate(() => this.tickInBackground());
  }

  /**
   * Plan these stored events again: the pairs they lack (a metric created since, a crash
   * during planning); with `pending` their pending pairs, with `retryFailed` their failed ones
   * (a recompute does both). Safe at any time. Among replicas a standby plans them itself, at once.
   */
  async replan(orgId: string, events: readonly SchedulerEvent[], opts: ReplanOptions = {}): Promise<void> {
    if (events.length === 0) return;
    this.planner.add(orgId, events, opts);
    if (this.lease && !this.isActive()) await this.planner.plan();
    else if (this.started) this.tickInBackground();
  }

  /**
   * A metric was created or changed: plan its pairs for the stored events it applies to whose
   * time is within the org's retention (older events' data is gone). Returns the events looked at.
   */
  async onMetricSaved(orgId: string, metric: Metric): Promise<number> {
    // The events read are those within the org's retention (store/retention.ts): older ones' data is gone.
    const events = (await this.store.events.range(orgId, {}, METRIC_LOOKBACK_EVENTS)).filter((e) =>
      appliesTo(metric, { type: e.type, subject: e.subject }),
    );
    await this.replan(orgId, events);
    return events.length;
  }

  /** Called after a connection check; a successful one puts the connection's blocked jobs back in the queue. */
  async onConnectionChecked(orgId: string, connectionId: string, ok: boolean): Promise<number> {
    if (!ok) return 0;
    const resumed = await this.runner.unblock(orgId, connectionId);
    if (resumed > 0) this.logger.info({ connection_id: connectionId, jobs: resumed }, 'connection fixed: jobs resumed');
    if (this.started) this.tickInBackground();
    return resumed;
  }

  /** Last success, last error, rate-limit state and open jobs of a connection. */
  async health(orgId: string, connectionId: string): Promise<ConnectionHealth> {
    const stats = await this.store.jobs.connectionStats(orgId, connectionId);
    return {
      last_success: stats.lastSuccess === null ? null : new Date(stats.lastSuccess).toISOString(),
      last_error: stats.lastError && {
        at: new Date(stats.lastError.at).toISOString(),
        code: stats.lastError.code,
        message: stats.lastError.message,
      },
      rate_limit: this.runner.rateLimitState(connectionId),
      queued_jobs: stats.open,
    };
  }

  /** One page of an org's jobs, newest first (GET /v1/jobs). */
  async listJobs(orgId: string, filter: JobListFilter, limit: number, after?: JobCursor): Promise<FetchJob[]> {
    let overlapsAny: { metricId: string; series: string; from: number; to: number }[] | undefined;
    if (filter.event !== undefined) {
      const pairs = await this.store.pairs.forEventId(orgId, filter.event, filter.source);
      overlapsAny = pairs.flatMap((p) =>
        pairRanges(p.windows).map((r) => ({ metricId: p.metric_id, series: p.series, ...r })),
      );
    }
    return this.store.jobs.list(
      orgId,
      { states: filter.state && [filter.state], connectionId: filter.connection, metricId: filter.metric, overlapsAny },
      limit,
      after,
    );
  }

  /** Ready pairs of an org (oldest ready first; `since` = the last ready_at seen, exclusive). */
  async readyPairs(orgId: string, opts: { since?: number; limit?: number } = {}): Promise<ImpactPair[]> {
    return this.store.pairs.ready(orgId, opts);
  }

  /** The pairs of one event (pending, ready or failed). */
  async pairsOfEvent(orgId: string, eventId: string, source?: string): Promise<ImpactPair[]> {
    return this.store.pairs.forEventId(orgId, eventId, source);
  }

  /**
   * Make sure these windows of a metric series get fetched (a report asked for
   * ad-hoc windows): plans jobs like an event's, within the same budgets and
   * coalescing. True while a fetch of them is still outstanding.
   */
  fetchWindows(orgId: string, metric: Metric, vars: TemplateVars, windows: PairWindows): Promise<boolean> {
    return this.planner.fetchWindows(orgId, metric, vars, windows);
  }

  /** One pass of the loop: plan new events, hand due jobs to their connection's queue. Returns jobs dispatched. */
  tick(): Promise<number> {
    if (this.lease && !this.isActive()) return Promise.resolve(0);
    this.ticking ??= (async () => {
      try {
        if (this.discovery)
          for (const { orgId, events } of await this.discovery.scan()) this.planner.add(orgId, events);
        await this.planner.plan();
        return this.stopping ? 0 : await this.runner.dispatch();
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
      if (dispatched === 0 && !this.planner.hasPending()) return;
    }
  }

  /** Resolves when no job is in flight. */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  /** Put jobs a crash or stop left "running" back in the queue (start() does this; the backfill command calls it directly). */
  async resume(): Promise<void> {
    const resumed = await this.runner.requeueCut();
    if (resumed > 0) this.logger.info({ jobs: resumed }, 'resumed jobs cut by the last stop or crash');
  }

  /** Resume persisted jobs (running ones were cut by a crash, a stop or a lost lease), plan events a crash left unplanned, start the loop. */
  private async activate(): Promise<void> {
    if (this.active || this.stopping) return;
    this.runner.open();
    await this.resume();
    this.discovery?.reset();
    // Every event of the last hours is planned again, not only those with no pair: a crash
    // during planning may have left some of an event's pairs unplanned or never refreshed.
    const hours = this.opts.catchUpHours ?? 48;
    if (hours > 0 && this.runner.kinds.includes('window')) {
      for (const { orgId, events } of await this.store.pairs.receivedSince(this.now() - hours * 3600_000)) {
        this.discovery?.note(orgId, events);
        this.planner.add(orgId, events, { pending: true });
      }
    }
    this.active = true;
    this.timer = setInterval(() => this.tickInBackground(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.tickInBackground();
  }

  /** Start no more jobs; let started ones finish for `graceMs`, then cut them (they stay queued). */
  private async deactivate(graceMs: number): Promise<void> {
    this.active = false;
    this.runner.close();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Only waits for the tick: whoever started it logs its failure (tickInBackground).
    await this.ticking?.catch(() => undefined);
    await this.runner.drain(graceMs);
  }

  /** A tick nobody awaits: its failure (the store unreachable) is logged, and the next tick tries again. */
  private tickInBackground(): void {
    this.tick().catch((err) => this.logger.error({ err: String(err) }, 'scheduler tick failed'));
  }

  /** Take the connections' rate-limit headers into this scheduler's budgets (until stop()). */
  private listen(): void {
    this.unlisten ??= this.opts.connectors.listenRateLimits((id, info) => this.runner.observeRateLimit(id, info));
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

export type { SchedulerEvent } from './planner.js';
export type { FetchJob, JobKind, JobState } from '../store/jobs.js';
export type { ImpactPair } from '../store/pairs.js';
export type { BudgetLimits, RateLimitState } from './budget.js';
