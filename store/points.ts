// Metric points: one row per (org, metric, bucket). Writing a window replaces
// what was stored for it: newer versions win, and buckets the provider no longer
// reports get a tombstone (is_deleted = 1), so nothing is duplicated or stale.
import { StoreError, type Backend, type Params } from './backend.js';
import { chTime } from './migrations.js';
import { keptSince, type Horizon } from './org-tables.js';

/** One stored bucket: `ts` epoch ms at the bucket start. */
export interface StoredPoint {
  ts: number;
  value: number;
  weight?: number;
}

/** Points of one series as parallel columns; `weight` is NaN where a point has none. */
export interface PointColumns {
  ts: Float64Array;
  value: Float64Array;
  weight: Float64Array;
}

export class PointRepository {
  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    /** Reads keep to points within the org's retention: the TTL removes them only at a merge. */
    private readonly horizon: Horizon,
    /** Runs a mutation on every replica (Store.mutate). */
    private readonly mutate: (sql: string, params?: Params) => Promise<void>,
  ) {}

  /** Replace the points of [from, to) with `points` (fetched at `fetchedAt`). Returns rows written. */
  async replaceWindow(
    orgId: string,
    metricId: string,
    series: string,
    window: { from: number; to: number },
    points: readonly StoredPoint[],
    opts: { fetchedAt: number; retentionDays: number },
  ): Promise<number> {
    const fresh = new Set(points.map((p) => p.ts));
    const stale = (await this.read(orgId, metricId, series, window.from, window.to)).filter((p) => !fresh.has(p.ts));
    const fetchedAt = chTime(opts.fetchedAt);
    const base = {
      org_id: orgId,
      metric_id: metricId,
      series,
      fetched_at: fetchedAt,
      retention_days: opts.retentionDays,
    };
    const rows = [
      ...points
        .filter((p) => p.ts >= window.from && p.ts < window.to)
        .map((p) => ({ ...base, ts: chTime(p.ts), value: p.value, weight: p.weight ?? null, is_deleted: 0 })),
      ...stale.map((p) => ({ ...base, ts: chTime(p.ts), value: 0, weight: null, is_deleted: 1 })),
    ];
    await this.backend.insert(`${this.db}.metric_points`, rows);
    return rows.length;
  }

  /** Stored points of one series over [from, to), oldest first. */
  async read(orgId: string, metricId: string, series: string, from: number, to: number): Promise<StoredPoint[]> {
    const rows = await this.backend.query<{ t: string; value: number; weight: number | null }>(
      `SELECT toUnixTimestamp64Milli(ts) AS t, value, weight FROM ${this.db}.metric_points FINAL
       WHERE org_id = {org:String} AND metric_id = {metric:String} AND series = {series:String}
         AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
         AND ${keptSince('metric_points')}
       ORDER BY ts`,
      { org: orgId, metric: metricId, series, from, to, horizon: await this.horizon(orgId) },
    );
    return rows.map((r) =>
      r.weight === null ? { ts: Number(r.t), value: r.value } : { ts: Number(r.t), value: r.value, weight: r.weight },
    );
  }

  /**
   * The same points as read(), as columns (the engine's `series` input): ascending bucket starts
   * (epoch ms), values and weights (NaN where none). Read in ClickHouse's RowBinary format, three
   * Float64 per row, with no per-point objects: for bulk analysis.
   */
  async readColumns(orgId: string, metricId: string, series: string, from: number, to: number): Promise<PointColumns> {
    const bytes = await this.backend.queryRowBinary(
      `SELECT toFloat64(toUnixTimestamp64Milli(ts)), value, ifNull(weight, nan) FROM ${this.db}.metric_points FINAL
       WHERE org_id = {org:String} AND metric_id = {metric:String} AND series = {series:String}
         AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
         AND ${keptSince('metric_points')}
       ORDER BY ts`,
      { org: orgId, metric: metricId, series, from, to, horizon: await this.horizon(orgId) },
    );
    if (bytes.length % 24 !== 0)
      throw new StoreError(`RowBinary points: ${bytes.length} bytes is not a whole number of rows`);
    const n = bytes.length / 24;
    // Copy into an aligned buffer (RowBinary is little-endian, as are the platforms Node runs on).
    const rows = new Float64Array(new Uint8Array(bytes).buffer, 0, n * 3);
    const ts = new Float64Array(n);
    const value = new Float64Array(n);
    const weight = new Float64Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      ts[i] = rows[j];
      value[i] = rows[j + 1];
      weight[i] = rows[j + 2];
    }
    return { ts, value, weight };
  }

  /**
   * Re-apply an org's retention to its stored points (after a plan change; store.retention.apply
   * calls it): their TTL reads retention_days. A mutation, applied on every replica before this resolves.
   */
  async setRetention(orgId: string, retentionDays: number): Promise<void> {
    await this.mutate(
      `ALTER TABLE ${this.db}.metric_points UPDATE retention_days = {days:UInt16} WHERE org_id = {org:String}`,
      { org: orgId, days: retentionDays },
    );
  }

  /** Rows physically stored for a metric, versions and tombstones included (tests, diagnostics). */
  async rawCount(orgId: string, metricId: string): Promise<number> {
    const [row] = await this.backend.query<{ n: string }>(
      `SELECT count() AS n FROM ${this.db}.metric_points WHERE org_id = {org:String} AND metric_id = {metric:String}`,
      { org: orgId, metric: metricId },
    );
    return Number(row?.n ?? 0);
  }
}
