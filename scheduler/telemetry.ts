// Prometheus metrics of the scheduler: jobs by state (read from the store at
// scrape time), provider calls and their latency by provider and outcome, points written.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { JOB_STATES, type JobRepository } from '../store/jobs.js';

export class SchedulerTelemetry {
  private readonly calls?: Counter<'provider' | 'outcome'>;
  private readonly latency?: Histogram<'provider' | 'outcome'>;
  private readonly points?: Counter<'provider'>;
  private readonly pairsReady?: Counter<'kind'>;

  constructor(registry: Registry | undefined, jobs: JobRepository) {
    if (!registry) return;
    new Gauge({
      name: 'opstrails_scheduler_jobs',
      help: 'Fetch jobs by state (all orgs).',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const counts = await jobs.countByState();
        for (const state of JOB_STATES) this.set({ state }, counts[state]);
      },
    });
    this.calls = new Counter({
      name: 'opstrails_provider_calls_total',
      help: 'Provider calls by provider and outcome ("ok" or an error code such as rate_limited).',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'opstrails_provider_call_duration_seconds',
      help: 'Duration of provider calls by provider and outcome.',
      labelNames: ['provider', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.points = new Counter({
      name: 'opstrails_points_written_total',
      help: 'Metric points written to the store by provider.',
      labelNames: ['provider'],
      registers: [registry],
    });
    this.pairsReady = new Counter({
      name: 'opstrails_scheduler_pairs_ready_total',
      help: 'Event x metric pairs marked ready for the engine ("first"), or again after late data ("revision").',
      labelNames: ['kind'],
      registers: [registry],
    });
  }

  call(provider: string, outcome: string, seconds: number): void {
    this.calls?.inc({ provider, outcome });
    this.latency?.observe({ provider, outcome }, seconds);
  }

  pointsWritten(provider: string, n: number): void {
    this.points?.inc({ provider }, n);
  }

  pairReady(kind: 'first' | 'revision'): void {
    this.pairsReady?.inc({ kind });
  }
}
