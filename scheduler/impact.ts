// Impact reports: when an event's (event, metric) pairs are ready, read their
// stored points, run the engine over all of the event's metrics at once (q-values
// are across them), and store the report the API serves (how each result reads in
// it: report-view.ts). Ad-hoc windows are computed the same way, without storing,
// within caps (length, retention) and a per-org budget of the fetches they plan.
import type { ImpactReport, ReportCharts, ReportStatus } from '../domain/report.js';
import { eventVars, seriesKey, type TemplateVars } from '../connectors/template.js';
import type { Logger } from '../connectors/types.js';
import {
  analyzeEvent,
  computeWindows,
  type EventWindows,
  type MetricInput,
  MAX_REFERENCE_DAYS,
  type WindowOverrides,
} from '../engine/index.js';
import { notePastRetention } from './past-retention.js';
import type { StoredEvent } from '../store/events.js';
import type { Store } from '../store/index.js';
import type { ImpactPair, PairState, PairWindows } from '../store/jobs.js';
import { appliesTo, type Metric } from '../domain/metric.js';
import type { StoredReport } from '../store/reports.js';
import type { ConnectorFactory } from './connectors.js';
import { pullMetric } from './pull.js';
import { adHocProblem, AdHocBudget, clipToRetention, retentionOf, type AdHocProblem } from './ad-hoc.js';
import { toPairWindows } from './plan.js';
import {
  iso,
  isoDuration,
  isoWindow,
  pendingMetric,
  placeboEstimates,
  storedOnlyNote,
  toMetricReport,
  worstMetric,
} from './report-view.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** How far before the pre-event stretch a report reads: every reference day the engine may use, and an hour for a DST change. */
const REFERENCE_READ_MS = MAX_REFERENCE_DAYS * DAY + 3_600_000;

type ChartPoint = { ts: number; value: number; weight?: number };

/** Stored columns inside [from, to) as chart points (ratios keep their weight). */
function pointsIn(
  c: { ts: Float64Array; value: Float64Array; weight: Float64Array },
  kind: Metric['kind'],
  from: number,
  to: number,
): ChartPoint[] {
  const out: ChartPoint[] = [];
  for (let i = 0; i < c.ts.length; i++) {
    if (c.ts[i] < from || c.ts[i] >= to) continue;
    out.push(
      kind === 'ratio' && !Number.isNaN(c.weight[i])
        ? { ts: c.ts[i], value: c.value[i], weight: c.weight[i] }
        : { ts: c.ts[i], value: c.value[i] },
    );
  }
  return out;
}

/** Most other events one report reads (28 days of 300 deployments a day). */
const OTHER_EVENTS_LIMIT = 10_000;

/** How far around its windows other events are looked up as confounders. */
const CONFOUNDER_MARGIN = 6 * 3_600_000;

/** The stored form of an event's report plus what the API needs to answer. */
export interface ComputedReport {
  report: ImpactReport;
  charts: ReportCharts;
  retryAfterSeconds: number;
}

/** A report this service just stored: its event and the version it was stored under (epoch ms). */
export interface StoredReportNotice {
  orgId: string;
  source: string;
  id: string;
  computedAt: number;
}

export interface ImpactServiceOptions {
  store: Store;
  connectors: ConnectorFactory;
  /** Ask the scheduler to fetch ad-hoc windows; resolves true while a fetch is still outstanding. */
  fetchWindows?: (orgId: string, metric: Metric, vars: TemplateVars, windows: PairWindows) => Promise<boolean>;
  now?: () => number;
  alpha?: number;
  /** Distinct ad-hoc window sets an org may have fetched per rolling minute; beyond it reports use stored data only. */
  adHocFetchesPerMinute?: number;
  /** Where a background recompute that failed is reported (the stored report stays as it was). */
  logger?: Logger;
}

export class ImpactService {
  private readonly now: () => number;
  private readonly queued = new Map<string, { orgId: string; source: string; id: string }>();
  private draining: Promise<void> | undefined;
  /** Per org, the ad-hoc window sets granted a fetch in the last minute (key → when). */
  private readonly adHocBudget: AdHocBudget;

  constructor(private readonly opts: ImpactServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.adHocBudget = new AdHocBudget(opts.adHocFetchesPerMinute);
  }

  /** Scheduler hook: a pair became ready (or late data changed it); recompute its event soon, once per burst. */
  onPairReady = (pair: ImpactPair): void => {
    this.queued.set(`${pair.org_id}\u0000${pair.event_source}\u0000${pair.event_id}`, {
      orgId: pair.org_id,
      source: pair.event_source,
      id: pair.event_id,
    });
    this.draining ??= this.drain();
  };

  private readonly background = new Set<Promise<unknown>>();
  private readonly storedListeners = new Set<(notice: StoredReportNotice) => void>();

  /** Be told of every report this service stores (the API drops its cached copy); returns the unsubscribe. */
  onReportStored(listener: (notice: StoredReportNotice) => void): () => void {
    this.storedListeners.add(listener);
    return () => void this.storedListeners.delete(listener);
  }

  /** Keep background work (a recompute) so idle() and shutdown wait for it. */
  track(work: Promise<unknown>): void {
    this.background.add(work);
    const done = () => void this.background.delete(work);
    work.then(done, done);
  }

  /** Wait until queued recomputations and background work are done. */
  async idle(): Promise<void> {
    while (this.draining || this.background.size > 0) {
      await this.draining;
      await Promise.all([...this.background]);
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.size > 0) {
        const [key, job] = this.queued.entries().next().value!;
        this.queued.delete(key);
        try {
          await this.refresh(job.orgId, job.source, job.id);
        } catch (err) {
          // The next readiness (or a recompute) retries; the stored report stays as it was.
          this.opts.logger?.error(
            { org_id: job.orgId, event_source: job.source, event_id: job.id, err: String(err) },
            'impact report recompute failed; the stored report is kept',
          );
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** Compute an event's report with its default windows and store it. */
  async refresh(orgId: string, source: string, id: string): Promise<ComputedReport | undefined> {
    const [event] = await this.opts.store.events.byId(orgId, id, source);
    if (!event) return undefined;
    const computed = await this.compute(orgId, event);
    const computedAt = await this.opts.store.reports.save({
      org_id: orgId,
      event_source: event.source,
      event_id: event.id,
      event_time: event.time,
      status: computed.report.status,
      verdict: computed.report.verdict,
      worst_metric: worstMetric(computed.report.metrics),
      report: computed.report,
      charts: computed.charts,
      retry_after_s: computed.retryAfterSeconds,
      computed_at: this.now(),
      placebos: placeboEstimates(computed.report),
    });
    for (const listener of this.storedListeners) {
      try {
        listener({ orgId, source: event.source, id: event.id, computedAt });
      } catch (err) {
        // The report is stored; a listener that failed only delays what it caches.
        this.opts.logger?.error(
          { org_id: orgId, event_id: event.id, err: String(err) },
          'report-stored listener failed',
        );
      }
    }
    return computed;
  }

  /** The stored report, as computed (undefined when none was computed yet). */
  async stored(orgId: string, event: StoredEvent): Promise<ComputedReport | undefined> {
    const row = (await this.opts.store.reports.get(orgId, event.source, event.id)) as
      StoredReport<ImpactReport, ReportCharts> | undefined;
    return row && { report: row.report, charts: row.charts, retryAfterSeconds: row.retry_after_s };
  }

  /** Why ad-hoc windows cannot be computed for this event, if they cannot (ad-hoc.ts). */
  adHocProblem(orgId: string, event: StoredEvent, request: WindowOverrides): Promise<AdHocProblem | undefined> {
    return adHocProblem(this.opts.store, orgId, event, request, this.now());
  }

  /** Compute a report on stored data (default windows, or the request's); nothing is stored. */
  async compute(orgId: string, event: StoredEvent, request?: WindowOverrides): Promise<ComputedReport> {
    const { store } = this.opts;
    const now = this.now();
    const metrics = (await store.metrics.list(orgId)).filter((m) =>
      appliesTo(m, { type: event.type, subject: event.subject }),
    );
    const pairs = new Map(
      (await this.opts.store.pairs.forEventId(orgId, event.id, event.source)).map((p) => [p.metric_id, p]),
    );
    const vars = eventVars(event.event);
    const eventWindows = computeWindows({ time: event.time, type: event.type, stepSeconds: 60, request });
    // Ad-hoc windows: one grant of the org's fetch budget covers every metric of this request.
    const fetchKey = JSON.stringify([
      event.source,
      event.id,
      eventWindows.before_ms,
      eventWindows.after_ms,
      eventWindows.gap_ms,
    ]);
    let mayFetch: boolean | undefined;
    let retentionHorizon: number | undefined;

    const inputs: MetricInput[] = [];
    const charts: ReportCharts = {};
    const states = new Map<string, { state: PairState; latePending: boolean; awaiting?: string }>();
    // Each metric's windows, computed once here: the engine and the pending entries take them as they are.
    const windowsOf = new Map<string, EventWindows>();
    let retryAt = Infinity;
    for (const metric of metrics) {
      const w = computeWindows({
        time: event.time,
        type: event.type,
        stepSeconds: metric.step_seconds,
        metric: metric.windows,
        request,
      });
      windowsOf.set(metric.id, w);
      const limits = await this.limits(orgId, metric);
      const closedAt = w.after.to + limits.dataDelaySeconds * 1000;
      const pair = pairs.get(metric.id);
      // With the default windows the scheduler's pair says whether the data is in;
      // ad-hoc windows are ready once closed and stored.
      let state: PairState = request ? (now >= closedAt ? 'ready' : 'pending') : (pair?.state ?? 'pending');
      let awaiting: string | undefined;
      if (state === 'pending') {
        awaiting =
          now < closedAt
            ? `${metric.name}: the after window closes at ${iso(w.after.to)} (+${limits.dataDelaySeconds}s provider delay)`
            : `${metric.name}: fetching its windows`;
        retryAt = Math.min(retryAt, Math.max(closedAt, now + 5_000));
      }
      // Ad-hoc windows: what is not stored yet is fetched through the scheduler (its budgets, its
      // coalescing), within the org's retention and its ad-hoc budget; beyond that, stored data only.
      if (request && state === 'ready' && this.opts.fetchWindows) {
        mayFetch ??= this.adHocBudget.take(orgId, fetchKey, now);
        retentionHorizon ??= (await retentionOf(this.opts.store, orgId, now)).horizon;
        const wanted = clipToRetention(toPairWindows(w, event.time, metric.windows.time_zone), retentionHorizon);
        if (mayFetch && (await this.opts.fetchWindows(orgId, metric, vars, wanted))) {
          state = 'pending';
          awaiting = `${metric.name}: fetching the requested windows`;
          retryAt = Math.min(retryAt, now + 15_000);
        }
      }
      if (state !== 'ready') {
        // Nothing to compute or draw yet: a pending report costs no point reads.
        states.set(metric.id, { state, latePending: false, awaiting });
        charts[metric.id] = { points: [] };
        continue;
      }
      const series = seriesKey(metric.query, vars);
      // One read, as columns: today's range and every reference day the store still holds (the
      // engine cuts the same clock windows from it; points past the retention are gone already).
      const columns = await store.points.readColumns(
        orgId,
        metric.id,
        series,
        w.pre.from - REFERENCE_READ_MS,
        w.after.to,
      );
      states.set(metric.id, { state, latePending: now < w.after.to + limits.settleSeconds * 1000, awaiting });
      // The history ahead of the before window feeds the engine; the chart starts at the before window.
      charts[metric.id] = { points: pointsIn(columns, metric.kind, w.before.from, w.after.to) };
      inputs.push({
        id: metric.id,
        name: metric.name,
        kind: metric.kind,
        direction: metric.direction,
        threshold: metric.threshold,
        critical: metric.critical,
        step_seconds: metric.step_seconds,
        unit: metric.unit,
        before: [],
        after: [],
        series: columns,
        time_zone: metric.windows.time_zone ?? null,
        windows: w,
      });
      const week = pointsIn(columns, metric.kind, w.seasonal.week.before.from, w.seasonal.week.after.to);
      const day = pointsIn(columns, metric.kind, w.seasonal.day.before.from, w.seasonal.day.after.to);
      const baseline = (shift: number, pts: ChartPoint[]) => pts.map((p) => ({ ...p, ts: p.ts + shift }));
      charts[metric.id].baseline =
        week.length > 0 ? baseline(WEEK, week) : day.length > 0 ? baseline(DAY, day) : undefined;
    }

    // Other events around today's windows (confounders), and back over the reference days (a day
    // holding another event is not a reference); read apart so a busy month cannot crowd out today.
    const near = {
      since: eventWindows.before.from - CONFOUNDER_MARGIN,
      until: eventWindows.after.to + CONFOUNDER_MARGIN,
    };
    const [around, earlier] = await Promise.all([
      store.events.range(orgId, near, 1000),
      store.events.range(
        orgId,
        { since: eventWindows.pre.from - REFERENCE_READ_MS, until: near.since },
        OTHER_EVENTS_LIMIT,
      ),
    ]);
    const others = [...earlier, ...around]
      .filter((e) => !(e.source === event.source && e.id === event.id))
      .map((e) => ({ id: e.id, type: e.type, time: e.time, subject: e.subject || null }));
    // Each metric's placebo estimates saved with its earlier events' reports: pooled with this
    // event's, they calibrate the interval on far more than one event's placebos.
    const histories = await store.reports.placeboHistory(
      orgId,
      inputs.map((i) => i.id),
      event,
    );
    for (const input of inputs) input.placebo_history = histories.get(input.id);
    const engineEvent = { id: event.id, type: event.type, time: event.time, subject: event.subject || null };
    const result = analyzeEvent({
      event: engineEvent,
      metrics: inputs,
      otherEvents: others,
      alpha: this.opts.alpha,
    });
    if (result.metrics.length > 0) {
      const retention = await retentionOf(store, orgId, now);
      for (const r of result.metrics) notePastRetention(r, retention);
    }
    const byId = new Map(result.metrics.map((r) => [r.metric_id, r]));
    for (const r of result.metrics) {
      const cf = r.counterfactual;
      if (cf && charts[r.metric_id])
        charts[r.metric_id].expected = {
          from: r.windows.after.from,
          to: r.windows.after.to,
          value: cf.expected,
          lo: cf.expected_ci?.[0] ?? null,
          hi: cf.expected_ci?.[1] ?? null,
        };
    }

    const metricReports = metrics.map((m) => {
      const s = states.get(m.id)!;
      const r = byId.get(m.id);
      return r ? toMetricReport(m, r, s.latePending) : pendingMetric(m, windowsOf.get(m.id)!, s.state);
    });
    const ready = metricReports.filter((m) => m.status === 'ready').length;
    const failed = metricReports.filter((m) => m.status === 'failed').length;
    const pending = metricReports.length - ready - failed;
    const status: ReportStatus =
      ready === metricReports.length ? 'ready' : ready > 0 ? 'partial' : pending > 0 ? 'pending' : 'failed';
    const awaiting = [...states.values()].flatMap((s) => (s.awaiting ? [s.awaiting] : []));
    const report: ImpactReport = {
      event: event.event,
      status,
      verdict: status === 'pending' || status === 'failed' ? null : result.verdict,
      computed_at: iso(now),
      explanation:
        (metricReports.length === 0
          ? 'No metric applies to this event (check the metrics’ applies_to subjects and types).'
          : status === 'pending'
            ? `Waiting for data: ${awaiting.length} of ${metricReports.length} metrics still pending.`
            : status === 'failed'
              ? 'The data of every metric failed to arrive; see the metrics and GET /v1/jobs.'
              : result.explanation) + (mayFetch === false ? ` ${storedOnlyNote(this.adHocBudget.perMinute)}` : ''),
      windows: {
        before: isoWindow(eventWindows.before),
        after: isoWindow(eventWindows.after),
        gap: isoDuration(eventWindows.gap_ms),
        baseline: {
          week: {
            before: isoWindow(eventWindows.seasonal.week.before),
            after: isoWindow(eventWindows.seasonal.week.after),
          },
          day: {
            before: isoWindow(eventWindows.seasonal.day.before),
            after: isoWindow(eventWindows.seasonal.day.after),
          },
        },
      },
      ...(awaiting.length > 0 ? { awaiting } : {}),
      metrics: metricReports,
    };
    const retryAfterSeconds = Number.isFinite(retryAt) ? Math.max(5, Math.ceil((retryAt - now) / 1000)) : 0;
    return { report, charts, retryAfterSeconds };
  }

  /** Fetch an event's windows again from the providers (POST .../recompute), replacing stored points. */
  async refetch(orgId: string, event: StoredEvent): Promise<void> {
    const { store, connectors } = this.opts;
    const vars = eventVars(event.event);
    const metrics = (await store.metrics.list(orgId)).filter((m) =>
      appliesTo(m, { type: event.type, subject: event.subject }),
    );
    for (const metric of metrics) {
      const w = computeWindows({
        time: event.time,
        type: event.type,
        stepSeconds: metric.step_seconds,
        metric: metric.windows,
      });
      const deps = { store, connectors, now: this.now };
      const to = Math.min(w.after.to, this.now());
      if (to > w.history.from) await pullMetric(deps, { orgId, metric, from: w.history.from, to, vars });
      for (const r of toPairWindows(w, event.time, metric.windows.time_zone).references)
        await pullMetric(deps, { orgId, metric, from: r.from, to: r.to, vars });
    }
  }

  private async limits(orgId: string, metric: Metric): Promise<{ dataDelaySeconds: number; settleSeconds: number }> {
    try {
      const live = await this.opts.connectors.forConnection(orgId, metric.connection_id);
      if (live) return live.connector.limits;
    } catch {
      // A connection that cannot be built has no data coming; treat it as without delay.
    }
    return { dataDelaySeconds: 0, settleSeconds: 0 };
  }
}
