// Every table that holds an org's rows, and the instant each row expires by under the org's
// plan retention. Retention (store/retention.ts), the repositories' read filters and org
// deletion read this one list; a test checks it against the tables the migrations create, so a
// new table cannot be forgotten.
import { StoreError } from './backend.js';

export interface OrgTable {
  /** Table name (in the store's database; on a cluster, the Distributed table). */
  name: string;
  /**
   * SQL expression (DateTime64) a row expires by: retention days after it the row is gone.
   * Absent: the row is the org's configuration (keys, connections, metrics), kept while the org is.
   */
  expiresBy?: string;
}

export const ORG_TABLES: readonly OrgTable[] = [
  { name: 'orgs' },
  { name: 'api_keys' },
  { name: 'connections' },
  { name: 'metrics' },
  { name: 'events', expiresBy: 'time' },
  { name: 'metric_points', expiresBy: 'ts' },
  { name: 'fetch_jobs', expiresBy: 'window_to' },
  { name: 'impact_pairs', expiresBy: 'event_time' },
  { name: 'impact_reports', expiresBy: 'event_time' },
  // A month's usage is kept for the retention after the month ends: the quota needs the whole month.
  { name: 'usage', expiresBy: 'period_start + toIntervalMonth(1)' },
  { name: 'org_alerts', expiresBy: 'at' },
];

/**
 * The condition that keeps a table's rows its org still has (their expiry instant at or after
 * the `{horizon:Int64}` parameter, epoch ms; store/retention.ts horizon()), for a query that
 * reads the table without an alias.
 */
export function keptSince(table: string): string {
  const expiresBy = ORG_TABLES.find((t) => t.name === table)?.expiresBy;
  if (!expiresBy) throw new StoreError(`${table} does not expire by retention`);
  return `${expiresBy} >= fromUnixTimestamp64Milli({horizon:Int64})`;
}

/** The oldest instant (epoch ms) an org still keeps (store.retention.horizon), as the repositories get it. */
export type Horizon = (orgId: string) => Promise<number>;
