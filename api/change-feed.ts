// A cheap change feed over a table with a time column: once a second, one query for the
// rows newer than a watermark, so in-process caches learn what other replicas wrote. The
// watermark trails the newest row seen by an overlap, so rows that become visible a little
// after later ones (an insert still running, a replica's clock a little behind) are not
// missed; rows already reported are remembered until they fall behind the watermark.

/** How one row of a feed is identified (one version of one thing) and when it changed (epoch ms). */
export interface ChangeIdentity {
  key: string;
  at: number;
}

export interface ChangeFeedOptions<T> {
  /** Rows whose time is after `since` (epoch ms), oldest first, at most `limit`. */
  read(since: number, limit: number): Promise<T[]>;
  identify(row: T): ChangeIdentity;
  /**
   * Rows not reported before. `complete` is false when the read hit its limit: rows may be
   * missing, so the caller must treat everything as changed.
   */
  apply(rows: T[], complete: boolean): void;
  /** The clock the rows' times are written with (the app's), epoch ms. */
  now: () => number;
  /** A failed check (reported once per run of failures; the next success ends it). */
  onError?: (err: unknown) => void;
  /** Time between the end of one check and the start of the next. Default 1,000 ms. */
  intervalMs?: number;
  /** How far behind the newest row seen the next check starts. Default 5,000 ms. */
  overlapMs?: number;
  /** Most rows one check reads. Default 10,000. */
  limit?: number;
  /** A monotonic clock in ms for freshness (default performance.now). */
  monotonic?: () => number;
}

/** Polls one feed on a timer; `isFresh` says whether what it reported can still be trusted. */
export class ChangeFeed<T> {
  private watermark: number;
  private readonly reported = new Map<string, number>();
  private lastSuccessStart: number;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly monotonic: () => number;

  constructor(private readonly opts: ChangeFeedOptions<T>) {
    this.watermark = opts.now();
    this.monotonic = opts.monotonic ?? (() => performance.now());
    // Nothing was cached before the feed existed: it starts fresh.
    this.lastSuccessStart = this.monotonic();
  }

  /** Start checking every intervalMs (the timer does not keep the process alive). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stop the timer and wait for a check under way (so the store can be closed after). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Whether a check that started at most `maxAgeMs` ago has succeeded. */
  isFresh(maxAgeMs: number): boolean {
    return this.monotonic() - this.lastSuccessStart <= maxAgeMs;
  }

  /** Remember a change this process made itself (it was applied when made; a check will not report it). */
  markReported(row: T): void {
    const { key, at } = this.opts.identify(row);
    if (at > this.since()) this.reported.set(key, at);
  }

  /** Check now (one query) and apply what is new; concurrent calls share one check. */
  poll(): Promise<void> {
    this.running ??= this.check().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private since(): number {
    return this.watermark - (this.opts.overlapMs ?? 5_000);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.poll().finally(() => this.schedule());
    }, this.opts.intervalMs ?? 1_000);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const started = this.monotonic();
    const limit = this.opts.limit ?? 10_000;
    let rows: T[];
    try {
      rows = await this.opts.read(this.since(), limit);
    } catch (err) {
      if (!this.failing) this.opts.onError?.(err);
      this.failing = true;
      return;
    }
    this.failing = false;
    const fresh: T[] = [];
    let newest = -Infinity;
    for (const row of rows) {
      const { key, at } = this.opts.identify(row);
      newest = Math.max(newest, at);
      if (this.reported.has(key)) continue;
      this.reported.set(key, at);
      fresh.push(row);
    }
    const complete = rows.length < limit;
    // A row stamped ahead of this clock (a replica whose clock runs fast) must not move the
    // watermark past rows the others are still writing. A read that hit its limit makes the
    // caller treat everything as changed, so the watermark may jump to now: reading the same
    // first `limit` rows again would never get past a burst.
    this.watermark = Math.max(this.watermark, complete ? Math.min(newest, this.opts.now()) : this.opts.now());
    const since = this.since();
    for (const [key, at] of this.reported) if (at <= since) this.reported.delete(key);
    this.opts.apply(fresh, complete);
    this.lastSuccessStart = Math.max(this.lastSuccessStart, started);
  }
}
