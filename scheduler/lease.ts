// The scheduler lease: when several service replicas share one ClickHouse, exactly one of
// them (the holder) plans fetches, runs jobs and computes reports; the others serve the API.
//
// ClickHouse has no compare-and-set, so a claim is a row and the winner is decided from
// what every replica reads: the claims of the highest term, the smallest holder id first.
// A claimer reads, inserts its claim for the next term, waits `settleMs`, then reads again;
// a rival whose claim lands later must have read before ours was visible, and gives up if
// its own read-to-insert took longer than the settle time, so the second read of every
// claimer that goes on sees the same set of claims. The holder acts only until
// `ttlMs - skewMs` after the start of its last successful renewal, and a rival takes over
// only `skewMs` after the claim's expiry, so clocks may disagree by up to `skewMs`.
import type { Logger } from '../connectors/types.js';
import type { LeaseClaim, LeaseRepository } from '../store/leases.js';

export interface LeaseOptions {
  repo: LeaseRepository;
  /** The lease's name (one per kind of work). */
  name: string;
  /** This replica's id (unique per process start). */
  holder: string;
  /** How long a claim or renewal holds (default 15 s); renewed every third of it. */
  ttlMs?: number;
  /** How long a claimer waits before reading the claims again (default a sixth of the TTL, at least 1 s). */
  settleMs?: number;
  /** The clock disagreement tolerated between replicas (default 2 s; less than ttlMs / 3). */
  skewMs?: number;
  now?: () => number;
  logger: Logger;
  /** Told when this replica starts or stops holding the lease. */
  onChange: (holding: boolean) => void | Promise<void>;
}

/** The winning claim among the claims of one term: the smallest holder id. */
export function winnerOf(claims: readonly LeaseClaim[]): LeaseClaim | undefined {
  let best: LeaseClaim | undefined;
  for (const c of claims) if (!best || c.holder < best.holder) best = c;
  return best;
}

export class Lease {
  readonly ttlMs: number;
  private readonly settleMs: number;
  private readonly skewMs: number;
  private readonly now: () => number;
  private term = 0;
  /** Until when (this replica's clock) it may act as the holder. */
  private deadline = 0;
  private holding = false;
  private timer: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private round_: Promise<boolean> | undefined;

  constructor(private readonly opts: LeaseOptions) {
    this.ttlMs = opts.ttlMs ?? 15_000;
    this.settleMs = opts.settleMs ?? Math.max(1_000, Math.floor(this.ttlMs / 6));
    this.skewMs = Math.min(opts.skewMs ?? 2_000, Math.floor(this.ttlMs / 3));
    this.now = opts.now ?? Date.now;
  }

  /** Whether this replica holds the lease now. */
  holds(): boolean {
    return this.now() < this.deadline;
  }

  /** Claim or renew now, then every third of the TTL until stop(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.roundInBackground(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
    this.roundInBackground();
  }

  /** Stop renewing and give the lease up, so another replica takes over without waiting for the TTL. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.round_?.catch(() => false);
    if (!this.holding) return;
    await this.lose();
    try {
      await this.opts.repo.put(this.opts.name, { term: this.term, holder: this.opts.holder, expiresAt: this.now() });
    } catch (err) {
      // The claim then simply expires at its TTL; the next holder waits that long.
      this.opts.logger.warn({ lease: this.opts.name, err: String(err) }, 'could not give the lease up');
    }
  }

  /** One round: renew the lease this replica holds, or claim it when its holder's claim expired. Returns holds(). */
  round(): Promise<boolean> {
    this.round_ ??= this.claimOrRenew().finally(() => (this.round_ = undefined));
    return this.round_;
  }

  private async claimOrRenew(): Promise<boolean> {
    const { repo, name, holder } = this.opts;
    const started = this.now();
    const current = winnerOf(await repo.current(name));
    if (current?.holder === holder && current.term === this.term && current.expiresAt > started) {
      await repo.put(name, { term: this.term, holder, expiresAt: started + this.ttlMs });
      await this.hold(started);
      return true;
    }
    if (current && current.expiresAt + this.skewMs > started) {
      // Another replica holds it (or won the term this one lost).
      if (this.holding) await this.lose();
      return false;
    }
    if (this.holding) await this.lose();
    const term = (current?.term ?? 0) + 1;
    await repo.put(name, { term, holder, expiresAt: started + this.ttlMs });
    // Too slow to be sure every rival's second read sees this claim: let it expire unused.
    if (this.now() - started >= this.settleMs) return false;
    await new Promise((resolve) => setTimeout(resolve, this.settleMs));
    const won = winnerOf(await repo.current(name));
    if (won?.term !== term || won.holder !== holder) return false;
    this.term = term;
    await this.hold(started);
    return true;
  }

  /** Act as the holder until ttl - skew after `since` (the start of the round that renewed). */
  private async hold(since: number): Promise<void> {
    this.deadline = since + this.ttlMs - this.skewMs;
    if (this.expiry) clearTimeout(this.expiry);
    // Renewals failing (the store unreachable) must not leave this replica acting past its claim.
    this.expiry = setTimeout(() => void this.expire(), Math.max(0, this.deadline - this.now()));
    this.expiry.unref();
    if (this.holding) return;
    this.holding = true;
    this.opts.logger.info({ lease: this.opts.name, holder: this.opts.holder, term: this.term }, 'lease acquired');
    await this.opts.onChange(true);
  }

  private async expire(): Promise<void> {
    if (this.holding && !this.holds()) {
      this.opts.logger.warn({ lease: this.opts.name, term: this.term }, 'lease not renewed in time: standing by');
      await this.lose();
    }
  }

  private async lose(): Promise<void> {
    this.deadline = 0;
    if (this.expiry) clearTimeout(this.expiry);
    this.expiry = undefined;
    if (!this.holding) return;
    this.holding = false;
    this.opts.logger.info({ lease: this.opts.name, holder: this.opts.holder, term: this.term }, 'lease lost');
    await this.opts.onChange(false);
  }

  private roundInBackground(): void {
    this.round().catch((err) =>
      this.opts.logger.warn({ lease: this.opts.name, err: String(err) }, 'lease round failed; will retry'),
    );
  }
}
