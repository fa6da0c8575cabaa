// Usage alerts: when an org has used 80% of its month's events quota it gets one alert for that
// month (usage_80), recorded (GET /v1/org, the console), logged, and sent as a CloudEvent
// `dev.opstrails.usage.alert` to the org's webhook when it has one.
import type { Logger } from 'pino';
import type { CloudEvent } from '../domain/event.js';
import type { Plan } from '../domain/plan.js';
import type { Alert } from '../store/alerts.js';
import type { Store } from '../store/index.js';
import type { Org } from '../store/orgs.js';
import type { WebhookSender } from './webhook.js';

/** The share of the quota at which the alert is raised. */
export const USAGE_ALERT_SHARE = 0.8;
/** The CloudEvent type of a usage alert. */
export const USAGE_ALERT_EVENT_TYPE = 'dev.opstrails.usage.alert';

/** An org's usage of its events quota in one period (epoch ms bounds). */
export interface QuotaUsage {
  events: number;
  used: number;
  period: { start: number; end: number };
}

export interface UsageAlertsOptions {
  store: Store;
  webhook: WebhookSender;
  logger: Logger;
  now: () => number;
}

export class UsageAlerts {
  /** (org, period) pairs known to have their alert: most ingests then cost no query. */
  private readonly raised = new Set<string>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly opts: UsageAlertsOptions) {}

  /** Told after an org's usage grew: raises the period's alert once usage reaches USAGE_ALERT_SHARE of the quota. */
  async usageChanged(org: Org, usage: QuotaUsage): Promise<void> {
    if (usage.used < usage.events * USAGE_ALERT_SHARE) return;
    const key = `${org.id}\u0000${usage.period.start}`;
    if (this.raised.has(key)) return;
    const message = usageMessage(org.plan, usage);
    const alert = await this.opts.store.alerts.raise(
      org.id,
      'usage_80',
      usage.period.start,
      message,
      org.notify_url ? 'pending' : 'none',
      this.opts.now(),
    );
    this.raised.add(key);
    if (!alert) return;
    this.opts.logger.warn({ org_id: org.id, used: usage.used, quota: usage.events }, message);
    if (!org.notify_url) return;
    const delivery = this.deliver(org, alert, usage).finally(() => this.deliveries.delete(delivery));
    this.deliveries.add(delivery);
  }

  /** Wait for the deliveries under way (tests; shutdown after stop()). */
  async idle(): Promise<void> {
    while (this.deliveries.size > 0) await Promise.all([...this.deliveries]);
  }

  /** End retries (their alerts record the attempts made) and wait for the deliveries to settle. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  private async deliver(org: Org, alert: Alert, usage: QuotaUsage): Promise<void> {
    const { store, webhook, logger, now } = this.opts;
    let outcome;
    try {
      const target = await store.orgs.notifyTarget(org.id);
      if (!target) return; // removed since: the alert stays recorded as pending, not sent.
      outcome = await webhook.deliver(target, usageEvent(org, alert, usage), this.stopping.signal);
    } catch (err) {
      // The webhook's secret cannot be read (a lost key): nothing was sent.
      outcome = { delivered: false, attempts: 0, error: (err as Error).message };
    }
    try {
      await store.alerts.delivered(
        alert,
        { delivery: outcome.delivered ? 'delivered' : 'failed', attempts: outcome.attempts, last_error: outcome.error },
        now(),
      );
    } catch (err) {
      logger.warn({ err: String(err), org_id: org.id }, 'recording a usage alert delivery failed');
    }
    if (outcome.delivered) logger.info({ org_id: org.id, attempts: outcome.attempts }, 'usage alert delivered');
    else logger.warn({ org_id: org.id, error: outcome.error }, 'usage alert not delivered');
  }
}

/** The alert in words, e.g. "8,000 of 10,000 events this month (80%, Free plan): ...". */
export function usageMessage(plan: Plan, usage: QuotaUsage): string {
  const pct = Math.floor((usage.used / usage.events) * 100);
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `${n(usage.used)} of ${n(usage.events)} events used this month (${pct}%, ${plan} plan): ` +
    `past ${n(usage.events)} new events are refused until ${new Date(usage.period.end).toISOString().slice(0, 10)}`
  );
}

/** The alert as the CloudEvent its webhook receives. */
function usageEvent(org: Org, alert: Alert, usage: QuotaUsage): CloudEvent {
  return {
    specversion: '1.0',
    id: `${org.id}:${alert.type}:${alert.period_start}`,
    source: 'opstrails-impact',
    type: USAGE_ALERT_EVENT_TYPE,
    subject: org.id,
    time: alert.at,
    datacontenttype: 'application/json',
    data: {
      org_id: org.id,
      org_name: org.name,
      plan: org.plan,
      alert: alert.type,
      message: alert.message,
      quota: {
        events: usage.events,
        used: usage.used,
        period_start: new Date(usage.period.start).toISOString(),
        period_end: new Date(usage.period.end).toISOString(),
      },
    },
  };
}
