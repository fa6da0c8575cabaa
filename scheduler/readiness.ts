// Pair readiness: marks (event, metric) pairs ready once every window's data is in
// (fetched late enough after the provider's data delay), and again, at revision + 1,
// when late data changed one of their windows.
import type { ConnectorLimits, Logger } from '../connectors/types.js';
import type { Metric } from '../domain/metric.js';
import type { FetchJob, JobRepository } from '../store/jobs.js';
import type { ImpactPair, PairRepository } from '../store/pairs.js';
import { pairComplete, pairRanges, REFERENCE_REACH_MS, touches, union, type PlanJob } from './plan.js';
import type { SchedulerTelemetry } from './telemetry.js';

/** Longest window an override may reasonably ask for; bounds the pair lookups around a job. */
const MAX_WINDOW_MS = 7 * 24 * 3600_000;

/** What pair readiness needs. */
export interface ReadinessDeps {
  jobs: JobRepository;
  pairs: PairRepository;
  logger: Logger;
  now: () => number;
  telemetry: SchedulerTelemetry;
  /** Told when a pair's windows are all in, and again (revision + 1) when late data changed them. */
  onPairReady?: (pair: ImpactPair) => void | Promise<void>;
}

/** Decides when pairs are ready (or ready again) and tells onPairReady. */
export class PairReadiness {
  constructor(private readonly deps: ReadinessDeps) {}

  /** After a job stored its window: pairs it completed become ready; ready ones whose windows it changed get a revision. */
  async afterFetch(job: FetchJob, metric: Metric, changed: number[], limits: ConnectorLimits): Promise<void> {
    await this.refresh(job.org_id, metric, job.series, await this.pairsAround(job), changed, limits);
  }

  /** After a job failed for good: the pending pairs it served fail with its message (a later fetch can still make them ready). */
  async afterFailure(job: FetchJob, message: string): Promise<void> {
    const pending = (await this.pairsAround(job)).filter((p) => p.state === 'pending');
    for (const p of pending) Object.assign(p, { state: 'failed', last_error: message });
    await this.deps.pairs.save(pending);
  }

  /** Mark pairs ready whose windows are all in, and bump the revision of ready ones whose windows the fetch changed. */
  async refresh(
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
      done = await this.deps.jobs.list(orgId, {
        states: ['succeeded'],
        overlapsAny: ranges.map((r) => ({ metricId: metric.id, series, ...r })),
      });
    }
    const now = this.deps.now();
    const first = open.filter((p) =>
      pairComplete(p.windows, done, limits.dataDelaySeconds * 1000, metric.step_seconds * 1000, now),
    );
    const updated = [...first, ...bumped];
    for (const p of updated)
      Object.assign(p, { state: 'ready', revision: p.revision + 1, ready_at: now, last_error: null });
    if (updated.length === 0) return;
    await this.deps.pairs.save(updated);
    for (let i = 0; i < first.length; i++) this.deps.telemetry.pairReady('first');
    for (let i = 0; i < bumped.length; i++) this.deps.telemetry.pairReady('revision');
    for (const p of updated) {
      try {
        await this.deps.onPairReady?.(p);
      } catch (err) {
        this.deps.logger.error(
          { event_id: p.event_id, metric_id: p.metric_id, err: String(err) },
          'onPairReady failed',
        );
      }
    }
  }

  /** The pairs of the job's metric series with a window overlapping the job's. */
  private async pairsAround(job: FetchJob): Promise<ImpactPair[]> {
    const pairs = await this.deps.pairs.forMetric(job.org_id, job.metric_id, {
      series: job.series,
      eventFrom: job.from - MAX_WINDOW_MS,
      eventTo: job.to + REFERENCE_REACH_MS + MAX_WINDOW_MS,
    });
    return pairs.filter((p) => pairRanges(p.windows).some((r) => r.from < job.to && r.to > job.from));
  }
}
