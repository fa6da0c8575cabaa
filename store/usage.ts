// An org's events quota usage: events accepted per calendar month (UTC). Each ingest adds a row
// with the count of events it newly stored (duplicates are not counted); the SummingMergeTree
// merges them and a read sums what is not merged yet.
import type { Backend } from './backend.js';
import { chTime } from './migrations.js';

export class UsageRepository {
  constructor(
    private readonly backend: Backend,
    private readonly db: string,
  ) {}

  /** Count `events` newly accepted events in the month starting at `periodStart` (epoch ms). */
  async add(orgId: string, periodStart: number, events: number): Promise<void> {
    if (events <= 0) return;
    await this.backend.insert(`${this.db}.usage`, [{ org_id: orgId, period_start: chTime(periodStart), events }]);
  }

  /** Events the org had accepted in the month starting at `periodStart`. */
  async used(orgId: string, periodStart: number): Promise<number> {
    const [row] = await this.backend.query<{ n: string }>(
      `SELECT sum(events) AS n FROM ${this.db}.usage
       WHERE org_id = {org:String} AND period_start = fromUnixTimestamp64Milli({start:Int64})`,
      { org: orgId, start: periodStart },
    );
    return Number(row?.n ?? 0);
  }
}
