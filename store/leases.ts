// Named leases among service replicas that share one ClickHouse: every claim is a row
// (lease, term, holder) and a renewal is a newer version of the holder's row. ClickHouse
// has no compare-and-set, so scheduler/lease.ts decides the winner from what it reads.
import type { Backend } from './backend.js';
import { chTime, fromChTime } from './migrations.js';

/** One replica's claim on a lease for one term. */
export interface LeaseClaim {
  term: number;
  holder: string;
  /** Epoch ms (the holder's clock) after which the claim no longer holds. */
  expiresAt: number;
}

/** The leases table (migration 6): store.leases. */
export class LeaseRepository {
  private lastVersion = 0;

  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The claims of the highest term of a lease (none when it was never claimed). */
  async current(name: string): Promise<LeaseClaim[]> {
    const rows = await this.backend.query<{ term: string; holder: string; expires_at: string }>(
      `SELECT term, holder, expires_at FROM ${this.db}.leases FINAL
       WHERE name = {name:String}
         AND term = (SELECT max(term) FROM ${this.db}.leases WHERE name = {name:String})
       ORDER BY holder`,
      { name },
    );
    return rows.map((r) => ({ term: Number(r.term), holder: r.holder, expiresAt: fromChTime(r.expires_at) }));
  }

  /** Claim (or renew, or with expiresAt = now give up) a term of a lease. */
  async put(name: string, claim: LeaseClaim): Promise<void> {
    this.lastVersion = Math.max(this.now(), this.lastVersion + 1);
    await this.backend.insert(`${this.db}.leases`, [
      {
        name,
        term: claim.term,
        holder: claim.holder,
        expires_at: chTime(claim.expiresAt),
        updated_at: chTime(this.lastVersion),
      },
    ]);
  }
}
