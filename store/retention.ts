// Retention by plan for every org-owned table (ORG_TABLES): the horizon reads filter by, so
// queries never return expired rows; a plan change applied at once; and the sweep that
// physically removes what has expired since (scheduler/retention-sweep.ts runs it hourly).
//
// Why not a ClickHouse TTL on every table: a TTL reads only the row's own columns, while an
// org's retention is its plan's and changes with it (and with the operator's OPSTRAILS_PLANS).
// Each table would need a retention column rewritten by a mutation at every plan change, and a
// TTL still acts only at merges (hours later), so reads would need the filter anyway. The filter
// and the sweep do the whole job from one expiry expression per table. metric_points keeps its
// TTL on a per-row retention_days column (set at write, re-set by apply()): the largest table,
// where a merge dropping expired rows costs nothing extra.
import { PLANS, type PlanTable } from '../domain/plan.js';
import type { Backend, Params } from './backend.js';
import type { OrgCache } from './org-cache.js';
import { ORG_TABLES } from './org-tables.js';
import type { OrgRepository } from './orgs.js';
import type { PointRepository } from './points.js';

const DAY = 86_400_000;

/** The tables whose rows expire, with the expression they expire by. */
const EXPIRING = ORG_TABLES.flatMap((t) => (t.expiresBy ? [{ name: t.name, expiresBy: t.expiresBy }] : []));

/** What retention needs of the store (the Store itself). */
export interface RetentionDeps {
  backend: Backend;
  database: string;
  now: () => number;
  plans: PlanTable;
  orgs: Pick<OrgRepository, 'get' | 'list'>;
  /** Orgs read at most every few seconds (a plan change on another replica shows within that). */
  orgCache: Pick<OrgCache, 'get' | 'forget'>;
  points: Pick<PointRepository, 'setRetention'>;
  mutate(sql: string, params?: Params): Promise<void>;
}

/** Plan retention of every org table (store.retention). */
export class Retention {
  constructor(private readonly deps: RetentionDeps) {}

  /** The oldest instant (epoch ms) the org still keeps at the store's clock; now for an unknown org (nothing kept). */
  async horizon(orgId: string): Promise<number> {
    const org = await this.deps.orgCache.get(orgId);
    const now = this.deps.now();
    return org ? now - this.deps.plans[org.plan].retention_days * DAY : now;
  }

  /** Drop the org's cached plan (its plan changed). */
  forget(orgId: string): void {
    this.deps.orgCache.forget(orgId);
  }

  /**
   * Apply the org's current plan after a change: its points' TTL reads the new retention, and
   * rows past it are deleted now, so a downgrade takes effect at once.
   */
  async apply(orgId: string): Promise<void> {
    this.forget(orgId);
    const org = await this.deps.orgs.get(orgId);
    if (!org) return;
    const days = this.deps.plans[org.plan].retention_days;
    await this.deps.points.setRetention(orgId, days);
    const params = { org: orgId, horizon: this.deps.now() - days * DAY };
    for (const t of EXPIRING) {
      await this.deleteExpired(
        t.name,
        `org_id = {org:String} AND ${t.expiresBy} < fromUnixTimestamp64Milli({horizon:Int64})`,
        params,
      );
    }
  }

  /**
   * Physically remove every org's expired rows: one mutation per table that has any. Rows of an
   * org not in the list read at the start (one created since, or leftovers of a deleted one) are
   * kept for the longest retention of any plan: a new org's rows are never taken for a deleted
   * one's. Returns the rows deleted per table.
   */
  async sweep(): Promise<Record<string, number>> {
    const orgs = await this.deps.orgs.list();
    const params = {
      now: this.deps.now(),
      orgs: orgs.map((o) => o.id),
      days: orgs.map((o) => this.deps.plans[o.plan].retention_days),
      longest: Math.max(...PLANS.map((p) => this.deps.plans[p].retention_days)),
    };
    const deleted: Record<string, number> = {};
    for (const t of EXPIRING) {
      deleted[t.name] = await this.deleteExpired(
        t.name,
        `${t.expiresBy} < fromUnixTimestamp64Milli({now:Int64})
           - toIntervalDay(transform(org_id, {orgs:Array(String)}, {days:Array(UInt16)}, {longest:UInt16}))`,
        params,
      );
    }
    return deleted;
  }

  /** Delete the rows of `table` matching `where` if there are any (a mutation rewrites parts: skip it when idle); returns their count. */
  private async deleteExpired(table: string, where: string, params: Params): Promise<number> {
    const name = `${this.deps.database}.${table}`;
    const [row] = await this.deps.backend.query<{ n: string }>(
      `SELECT count() AS n FROM ${name} WHERE ${where}`,
      params,
    );
    const n = Number(row?.n ?? 0);
    if (n > 0) await this.deps.mutate(`ALTER TABLE ${name} DELETE WHERE ${where}`, params);
    return n;
  }
}
