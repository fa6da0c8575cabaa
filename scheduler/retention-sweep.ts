// The retention sweep: once at start, then hourly, physically remove the rows every org's plan
// no longer keeps (store/retention.ts sweep()). Reads already hide them; the sweep frees the space.
import type { Logger } from '../connectors/types.js';
import type { Retention } from '../store/retention.js';

/** How often expired rows are removed. */
export const SWEEP_INTERVAL_MS = 3_600_000;

export interface RetentionSweepOptions {
  retention: Pick<Retention, 'sweep'>;
  logger: Logger;
  /** Whether this process should sweep now (among replicas: the scheduler's lease holder); default always. */
  shouldRun?: () => boolean;
  intervalMs?: number;
}

/** Runs the sweep on a timer that never keeps the process alive. */
export class RetentionSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: RetentionSweepOptions) {}

  /** Sweep now (in the background), then every interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.runInBackground(), this.opts.intervalMs ?? SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.runInBackground();
  }

  /** Stop the timer and wait for a sweep under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep, unless this process should not sweep now; a failure is logged, never thrown. */
  async runOnce(): Promise<void> {
    if (this.opts.shouldRun && !this.opts.shouldRun()) return;
    try {
      const deleted = await this.opts.retention.sweep();
      const total = Object.values(deleted).reduce((a, b) => a + b, 0);
      if (total > 0) this.opts.logger.info({ deleted }, 'retention sweep: expired rows deleted');
    } catch (err) {
      // The next sweep retries; until then reads still hide the expired rows.
      this.opts.logger.warn({ err: String(err) }, 'retention sweep failed; retried at the next one');
    }
  }

  private runInBackground(): void {
    this.running ??= this.runOnce().finally(() => (this.running = undefined));
  }
}
