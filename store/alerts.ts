// An org's alerts (usage_80: 80% of the month's events quota reached), one per type and period,
// and how their delivery to the org's webhook went. A delivery attempt is a newer version of the
// alert's row (ReplacingMergeTree(updated_at)).
import type { Backend } from './backend.js';
import { chTime } from './migrations.js';
import { keptSince } from './org-tables.js';
import { isoTime } from './versioned.js';

export const ALERT_TYPES = ['usage_80'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/**
 * Where an alert's notification stands: `none` (the org has no webhook), `pending` (being
 * delivered or retried), `delivered`, or `failed` (every attempt failed; `last_error` says why).
 */
export type AlertDelivery = 'none' | 'pending' | 'delivered' | 'failed';

export interface Alert {
  org_id: string;
  type: AlertType;
  /** Start of the quota period it belongs to (ISO 8601). */
  period_start: string;
  /** When it was raised (ISO 8601). */
  at: string;
  message: string;
  delivery: AlertDelivery;
  attempts: number;
  last_error: string;
}

/** A row of org_alerts (migration 7): an Alert with its times as ClickHouse text, and its version. */
interface Row extends Alert {
  updated_at: string;
}

export class AlertRepository {
  constructor(
    private readonly backend: Backend,
    private readonly db: string,
  ) {}

  /**
   * Raise an alert unless one of this type was raised for the period already: returns the new
   * alert, or undefined when it existed (two processes racing may both write it; the newer
   * version wins and both may notify).
   */
  async raise(
    orgId: string,
    type: AlertType,
    periodStart: number,
    message: string,
    delivery: AlertDelivery,
    now: number,
  ): Promise<Alert | undefined> {
    const existing = await this.backend.query<{ n: string }>(
      `SELECT count() AS n FROM ${this.db}.org_alerts
       WHERE org_id = {org:String} AND type = {type:String} AND period_start = fromUnixTimestamp64Milli({start:Int64})`,
      { org: orgId, type, start: periodStart },
    );
    if (Number(existing[0]?.n ?? 0) > 0) return undefined;
    const row: Row = {
      org_id: orgId,
      type,
      period_start: chTime(periodStart),
      at: chTime(now),
      message,
      delivery,
      attempts: 0,
      last_error: '',
      updated_at: chTime(now),
    };
    await this.backend.insert(`${this.db}.org_alerts`, [row]);
    return toAlert(row);
  }

  /** Record a delivery attempt's outcome (a newer version of the alert, stamped `now`). */
  async delivered(
    alert: Alert,
    outcome: { delivery: AlertDelivery; attempts: number; last_error: string },
    now: number,
  ): Promise<void> {
    const row: Row = {
      org_id: alert.org_id,
      type: alert.type,
      period_start: chTime(Date.parse(alert.period_start)),
      at: chTime(Date.parse(alert.at)),
      message: alert.message,
      ...outcome,
      updated_at: chTime(now),
    };
    await this.backend.insert(`${this.db}.org_alerts`, [row]);
  }

  /** The org's alerts still within its retention (`horizon`, epoch ms: store.retention.horizon), newest first. */
  async list(orgId: string, horizon: number): Promise<Alert[]> {
    const rows = await this.backend.query<Row>(
      `SELECT org_id, type, period_start, at, message, delivery, attempts, last_error, updated_at
       FROM ${this.db}.org_alerts FINAL
       WHERE org_id = {org:String} AND ${keptSince('org_alerts')}
       ORDER BY at DESC`,
      { org: orgId, horizon },
    );
    return rows.map(toAlert);
  }
}

function toAlert(r: Row): Alert {
  return {
    org_id: r.org_id,
    type: r.type,
    period_start: isoTime(r.period_start),
    at: isoTime(r.at),
    message: r.message,
    delivery: r.delivery,
    attempts: Number(r.attempts),
    last_error: r.last_error,
  };
}
