// The runner: hands due jobs to their connection's budgeted queue, pulls them, and
// records how it went: success, retry with backoff, blocked on auth, or failed.
import { ConnectorError, type Logger, type RateLimitInfo } from '../connectors/types.js';
import type { Store } from '../store/index.js';
import { SecretUndecryptableError } from '../store/secrets.js';
import type { FetchJob, JobKind } from '../store/jobs.js';
import { backoffMs, budgetLimits, ConnectionBudget, type BudgetLimits, type RateLimitState } from './budget.js';
import type { ConnectorFactory } from './connectors.js';
import { pullMetric } from './pull.js';
import type { PairReadiness } from './readiness.js';
import type { SchedulerTelemetry } from './telemetry.js';

/** How jobs are run (SchedulerOptions carries these). */
export interface RunnerOptions {
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
  /** Which jobs this instance runs: the service runs `window` jobs, the backfill command its own. */
  kinds?: JobKind[];
  /** Only run the jobs of this backfill. */
  backfillId?: string;
}

/** What the runner is given besides its options. */
export interface RunnerDeps {
  store: Store;
  connectors: ConnectorFactory;
  logger: Logger;
  now: () => number;
  telemetry: SchedulerTelemetry;
  readiness: PairReadiness;
}

/** Runs due jobs within each connection's budget; one runner per scheduler. */
export class JobRunner {
  /** The job kinds this runner runs. */
  readonly kinds: JobKind[];
  private readonly budgets = new Map<string, ConnectionBudget>();
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  /** Per dispatched job: whether its queue slot has started it yet. */
  private readonly slots = new Map<Promise<void>, { jobId: string; started: boolean }>();
  private readonly controllers = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly opts: RunnerOptions,
  ) {
    this.kinds = opts.kinds ?? ['window', 'settle'];
  }

  /** Whether a job is dispatched and not finished (planning must not extend it). */
  isInFlight(jobId: string): boolean {
    return this.inFlight.has(jobId);
  }

  /** Hand the due jobs to their connection's queue; returns how many were dispatched. */
  async dispatch(): Promise<number> {
    const due = await this.deps.store.jobs.due(this.deps.now(), this.kinds, 1000, this.opts.backfillId);
    let dispatched = 0;
    for (const job of due) {
      if (this.inFlight.has(job.id)) continue;
      let budget: ConnectionBudget | undefined;
      try {
        budget = await this.budgetFor(job.org_id, job.connection_id);
      } catch (err) {
        if (err instanceof SecretUndecryptableError) {
          // No configured key opens the connection's secrets: its jobs wait, like on failed
          // auth, until the key is configured and a check passes (the message names the fix).
          Object.assign(job, { state: 'blocked', last_error: err.message, last_error_code: 'auth_failed' });
          await this.deps.store.jobs.save([job]);
          continue;
        }
        await this.fail(job, err);
        continue;
      }
      if (!budget) {
        await this.fail(job, gone(`connection ${job.connection_id}`));
        continue;
      }
      const blockedUntil = budget.blockedUntil();
      if (blockedUntil > 0) {
        if (job.run_at < blockedUntil) {
          job.run_at = blockedUntil;
          await this.deps.store.jobs.save([job]);
        }
        continue;
      }
      this.inFlight.add(job.id);
      dispatched++;
      this.enqueue(job, budget);
    }
    return dispatched;
  }

  /** Resolves when no job is in flight. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Rate-limit headers of a connection's last answer. */
  observeRateLimit(connectionId: string, info: RateLimitInfo): void {
    this.budgets.get(connectionId)?.observe(info);
  }

  /** The rate-limit state of a connection this runner has called (null before its first call). */
  rateLimitState(connectionId: string): RateLimitState | null {
    return this.budgets.get(connectionId)?.state() ?? null;
  }

  /** Start jobs again (after close()). */
  open(): void {
    this.closed = false;
  }

  /** Start no more jobs; a job not yet started stays queued in the store. */
  close(): void {
    this.closed = true;
  }

  /** After close(): let started jobs finish for `graceMs`, then cut their calls (they stay queued for the next start). */
  async drain(graceMs: number): Promise<void> {
    // Jobs still waiting for a queue slot never started: they stay queued in the store.
    for (const budget of this.budgets.values()) budget.queue.clear();
    for (const [run, slot] of this.slots) {
      if (slot.started) continue;
      this.running.delete(run);
      this.slots.delete(run);
      this.inFlight.delete(slot.jobId);
    }
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    for (const c of this.controllers) c.abort(new Error('scheduler stopping'));
    await Promise.allSettled([...this.running]);
  }

  /** Put a connection's blocked jobs back in the queue (its check passed); returns how many. */
  async unblock(orgId: string, connectionId: string): Promise<number> {
    const blocked = await this.deps.store.jobs.list(orgId, { connectionId, states: ['blocked'] });
    const now = this.deps.now();
    for (const job of blocked) Object.assign(job, { state: 'queued', run_at: now, attempts: 0 });
    await this.deps.store.jobs.save(blocked);
    return blocked.length;
  }

  /** Put this runner's jobs a crash or stop left "running" back in the queue; returns how many. */
  async requeueCut(): Promise<number> {
    const cut = await this.deps.store.jobs.inStates(['running'], this.kinds);
    const { backfillId } = this.opts;
    const mine = backfillId === undefined ? cut : cut.filter((j) => j.backfill_id === backfillId);
    // Their run time stays: a job only ran once it was due, and must not run earlier than planned.
    for (const job of mine) job.state = 'queued';
    await this.deps.store.jobs.save(mine);
    return mine.length;
  }

  private enqueue(job: FetchJob, budget: ConnectionBudget): void {
    const slot = { jobId: job.id, started: false };
    const run: Promise<void> = budget.queue
      .add(() => {
        slot.started = true;
        return this.execute(job, budget);
      })
      .catch((err) => this.deps.logger.error({ job_id: job.id, err: String(err) }, 'job crashed'))
      .finally(() => {
        this.inFlight.delete(job.id);
        this.running.delete(run);
        this.slots.delete(run);
      });
    this.running.add(run);
    this.slots.set(run, slot);
  }

  private async budgetFor(orgId: string, connectionId: string): Promise<ConnectionBudget | undefined> {
    const hit = this.budgets.get(connectionId);
    if (hit) return hit;
    const live = await this.deps.connectors.forConnection(orgId, connectionId);
    if (!live) return undefined;
    const limits = budgetLimits(live.connector.limits, this.opts.budgets?.(orgId, connectionId));
    const budget = new ConnectionBudget(limits, this.deps.now);
    this.budgets.set(connectionId, budget);
    return budget;
  }

  private async execute(job: FetchJob, budget: ConnectionBudget): Promise<void> {
    if (this.closed) return; // still queued in the store: the next start runs it
    const { store, connectors, telemetry } = this.deps;
    const blockedUntil = budget.blockedUntil();
    if (blockedUntil > 0) {
      job.run_at = Math.max(job.run_at, blockedUntil);
      await store.jobs.save([job]);
      return;
    }
    const connection = await store.connections.get(job.org_id, job.connection_id);
    if (!connection) return this.fail(job, gone(`connection ${job.connection_id}`));
    if (connection.status === 'failing') {
      // Auth is broken: no call until a successful check resumes the job.
      Object.assign(job, {
        state: 'blocked',
        last_error: connection.status_message ?? 'connection is failing',
        last_error_code: 'auth_failed',
      });
      await store.jobs.save([job]);
      return;
    }
    const metric = await store.metrics.get(job.org_id, job.metric_id);
    if (!metric) return this.fail(job, gone(`metric ${job.metric_id}`));
    const live = await connectors.forConnection(job.org_id, job.connection_id);
    const limits = live!.connector.limits;

    Object.assign(job, { state: 'running', attempts: job.attempts + 1 });
    await store.jobs.save([job]);
    const askedAt = this.deps.now();
    const controller = new AbortController();
    this.controllers.add(controller);
    // The connector cuts each call at its timeout; this cuts the job (both sides of a ratio) as a safety net.
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(limits.timeoutMs * 2 + 5_000)]);
    try {
      const result = await pullMetric(
        { store, connectors, now: this.deps.now },
        {
          orgId: job.org_id,
          metric,
          from: job.from,
          to: job.to,
          vars: job.vars,
          signal,
          detectChanges: true,
          observe: (call) => telemetry.call(connection.provider, call.outcome, call.seconds),
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
      await store.jobs.save([job]);
      telemetry.pointsWritten(connection.provider, result.points);
      this.opts.onJobDone?.(job);
      await this.deps.readiness.afterFetch(job, metric, result.changed, limits);
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
    const { store, logger } = this.deps;
    const now = this.deps.now();
    if (controller.signal.aborted) {
      // Cut by stop(): not the provider's fault; the next start runs it again.
      Object.assign(job, { state: 'queued', attempts: Math.max(0, job.attempts - 1), run_at: now });
      await store.jobs.save([job]);
      return;
    }
    const error = toConnectorError(err);
    if (!(err instanceof ConnectorError)) logger.warn({ job_id: job.id, err: String(err) }, 'fetch job failed');
    job.last_error = error.message;
    job.last_error_code = error.code;
    if (error.code === 'auth_failed') {
      // Not retried: the connection is failing until someone fixes it and a check passes.
      await store.connections.update(job.org_id, job.connection_id, {
        status: 'failing',
        status_message: error.message,
      });
      job.state = 'blocked';
      await store.jobs.save([job]);
      logger.warn(
        { connection_id: job.connection_id, code: error.code },
        'connection failing: its jobs wait for a successful check',
      );
      return;
    }
    if (!error.retryable || job.attempts >= (this.opts.maxAttempts ?? 6)) return this.fail(job, error);
    let wait = backoffMs(job.attempts, this.opts.backoff ?? { baseMs: 5_000, maxMs: 600_000 }, this.opts.random);
    if (error.code === 'rate_limited') {
      // After a 429, wait what the provider said, for every job of the connection.
      if (error.retryAfterSeconds !== undefined) wait = error.retryAfterSeconds * 1000;
      budget.pause(now + wait);
    }
    Object.assign(job, { state: 'queued', run_at: now + wait });
    await store.jobs.save([job]);
  }

  /** Fail a job for good, and the pending pairs it served. */
  private async fail(job: FetchJob, err: unknown): Promise<void> {
    const error = toConnectorError(err);
    Object.assign(job, { state: 'failed', last_error: error.message, last_error_code: error.code });
    await this.deps.store.jobs.save([job]);
    this.opts.onJobDone?.(job);
    await this.deps.readiness.afterFailure(job, error.message);
  }
}

/** The error of a job whose connection or metric was deleted. */
function gone(what: string): ConnectorError {
  return new ConnectorError('invalid_config', `${what} no longer exists`);
}

function toConnectorError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof SecretUndecryptableError) return new ConnectorError('auth_failed', err.message, { cause: err });
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new ConnectorError('timeout', 'the provider call took longer than the job timeout', { cause: err });
  }
  // Store hiccups and the unexpected: retried like an outage, but their text stays in the logs.
  return new ConnectorError('unavailable', 'internal error while fetching (see the service log)', { cause: err });
}
