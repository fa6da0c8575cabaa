// Backfill: pull one metric over a long range in chunks of the connector's point
// cap, as persisted jobs of their own. A rerun of the same range finds its jobs
// and finishes what is left; re-fetching a chunk replaces its points.
import { createHash } from 'node:crypto';
import { alignDown, alignUp } from '../connectors/http.js';
import { seriesKey, type TemplateVars } from '../connectors/template.js';
import { ConnectorError, type Logger } from '../connectors/types.js';
import type { Store } from '../store/index.js';
import type { FetchJob } from '../store/jobs.js';
import type { Metric } from '../domain/metric.js';
import type { BudgetLimits } from './budget.js';
import type { ConnectorFactory } from './connectors.js';
import { Scheduler } from './index.js';

export interface BackfillRequest {
  orgId: string;
  metric: Metric;
  from: number;
  to: number;
  vars?: TemplateVars;
}

export interface BackfillProgress {
  id: string;
  total: number;
  succeeded: number;
  failed: number;
  points: number;
  /** The job that just finished (absent on the first report). */
  job?: FetchJob;
}

export interface BackfillDeps {
  store: Store;
  connectors: ConnectorFactory;
  logger: Logger;
  now?: () => number;
  budgets?: (orgId: string, connectionId: string) => Partial<BudgetLimits> | undefined;
  onProgress?: (progress: BackfillProgress) => void;
  /** Aborting stops the backfill; unfinished chunks stay queued for a rerun. */
  signal?: AbortSignal;
}

/** Stable id of a backfill: the same metric, series and range is the same backfill. */
export function backfillId(orgId: string, metricId: string, series: string, from: number, to: number): string {
  return `bf_${createHash('sha256')
    .update(JSON.stringify([orgId, metricId, series, from, to]))
    .digest('hex')
    .slice(0, 20)}`;
}

/** Run (or continue) a backfill to the end; resolves with the final progress. */
export async function runBackfill(deps: BackfillDeps, req: BackfillRequest): Promise<BackfillProgress> {
  const now = deps.now ?? Date.now;
  const live = await deps.connectors.forConnection(req.orgId, req.metric.connection_id);
  if (!live)
    throw new ConnectorError(
      'invalid_config',
      `connection ${req.metric.connection_id} of metric ${req.metric.id} no longer exists`,
    );
  const vars = Object.fromEntries(Object.entries(req.vars ?? {}).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
  const series = seriesKey(req.metric.query, vars);
  const from = alignDown(req.from, req.metric.step_seconds);
  const to = alignUp(req.to, req.metric.step_seconds);
  const id = backfillId(req.orgId, req.metric.id, series, from, to);

  const scheduler = new Scheduler({
    store: deps.store,
    connectors: deps.connectors,
    logger: deps.logger,
    now,
    budgets: deps.budgets,
    kinds: ['backfill'],
    backfillId: id,
    catchUpHours: 0,
    onJobDone: (job) => {
      if (job.state === 'succeeded') {
        progress.succeeded++;
        progress.points += job.points;
      } else if (job.state === 'failed') progress.failed++;
      deps.onProgress?.({ ...progress, job });
    },
  });

  let jobs = await deps.store.jobs.list(req.orgId, { backfillId: id });
  if (jobs.length === 0) {
    // Chunks of the connector's point cap: one provider call each (two for a ratio).
    const chunkMs = Math.max(1, live.connector.limits.maxPointsPerCall) * req.metric.step_seconds * 1000;
    const at = now();
    for (let start = from; start < to; start += chunkMs) {
      jobs.push(
        deps.store.jobs.draft({
          org_id: req.orgId,
          connection_id: req.metric.connection_id,
          metric_id: req.metric.id,
          series,
          vars,
          kind: 'backfill',
          backfill_id: id,
          from: start,
          to: Math.min(to, start + chunkMs),
          due_at: at,
          run_at: at,
        }),
      );
    }
    await deps.store.jobs.save(jobs);
  } else {
    // A rerun: chunks that failed or waited on a broken connection get a fresh start.
    const retry = jobs.filter((j) => j.state === 'failed' || j.state === 'blocked');
    for (const j of retry) Object.assign(j, { state: 'queued', attempts: 0, run_at: now() });
    await deps.store.jobs.save(retry);
    await scheduler.resume();
    jobs = await deps.store.jobs.list(req.orgId, { backfillId: id });
  }
  const progress: BackfillProgress = {
    id,
    total: jobs.length,
    succeeded: jobs.filter((j) => j.state === 'succeeded').length,
    failed: 0,
    points: jobs.filter((j) => j.state === 'succeeded').reduce((n, j) => n + j.points, 0),
  };
  deps.onProgress?.({ ...progress });

  const stopped = new Promise<void>((resolve) =>
    deps.signal?.addEventListener('abort', () => resolve(), { once: true }),
  );
  while (!deps.signal?.aborted) {
    await Promise.race([scheduler.runDue(), stopped]);
    if (deps.signal?.aborted) break;
    const open = await deps.store.jobs.list(req.orgId, { backfillId: id, states: ['queued', 'running'] });
    if (open.length === 0) break;
    // Waiting on a backoff or a provider's rate limit.
    const wait = Math.max(50, Math.min(...open.map((j) => j.run_at)) - now());
    await Promise.race([new Promise((r) => setTimeout(r, Math.min(wait, 60_000))), stopped]);
  }
  await scheduler.stop();
  const final = await deps.store.jobs.list(req.orgId, { backfillId: id });
  progress.failed = final.filter((j) => j.state === 'failed' || j.state === 'blocked').length;
  return progress;
}
