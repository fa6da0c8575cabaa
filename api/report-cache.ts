// What dashboards poll, kept in-process so a repeated poll (a 304, or the same 200) needs
// no store query: per (org, event) the stored report's ETags and bodies, per (org, query)
// the impact timeline's page. A report stored here is dropped at once; one stored or an
// event received by another replica is dropped by the next check of the change feed
// (once a second). When the feed cannot be checked, nothing cached is served.
import type { TimelineChange } from '../store/reports.js';
import { ChangeFeed } from './change-feed.js';
import { Lru } from './lru.js';

/** One stored report as the API answers it (default windows only: ad-hoc windows are never cached). */
export interface CachedReport {
  /** ETag of the JSON answer. */
  etag: string;
  /** ETag of the page (Accept: text/html). */
  htmlEtag: string;
  /** The JSON body as sent. */
  json: string;
  /** The page as sent, once someone asked for it. */
  html?: string;
  /** Retry-After seconds while pending (as stored with the report). */
  retryAfter?: number;
}

/** One page of the impact timeline as answered. */
export interface CachedPage {
  etag: string;
  json: string;
}

/** Bounds of the cache: entries and characters held (JSON and pages). */
export interface ReportCacheLimits {
  /** Default 2,000 reports. */
  maxReports: number;
  /** Default 64 Mi characters of report JSON and pages. */
  maxReportChars: number;
  /** Default 1,000 timeline pages. */
  maxPages: number;
  /** Default 16 Mi characters of timeline JSON. */
  maxPageChars: number;
}

export const REPORT_CACHE_LIMITS: ReportCacheLimits = {
  maxReports: 2_000,
  maxReportChars: 64 * 1024 * 1024,
  maxPages: 1_000,
  maxPageChars: 16 * 1024 * 1024,
};

/** A cached answer is served only while the change feed was checked this recently. */
export const FRESH_MS = 5_000;

/**
 * A timeline page is served from the cache for at most this long: events leave it as they pass
 * the org's retention, which no change announces.
 */
export const PAGE_MAX_AGE_MS = 60_000;

export interface ReportCacheOptions {
  /** Changes written by any replica after a time: ReportRepository.changesSince. */
  changesSince(since: number, limit: number): Promise<TimelineChange[]>;
  /** The app's clock (the one reports and events are stamped with). */
  now: () => number;
  limits?: Partial<ReportCacheLimits>;
  /** A check of the change feed failed (once per run of failures). */
  onError?: (err: unknown) => void;
  /** Feed tuning (tests): check interval, overlap. */
  intervalMs?: number;
  overlapMs?: number;
}

const reportKey = (orgId: string, id: string, source: string | undefined) =>
  `${orgId}\u0000${id}\u0000${source === undefined ? '*' : `=${source}`}`;
const changeKey = (c: TimelineChange) => `${c.kind}\u0000${c.org_id}\u0000${c.source}\u0000${c.id}\u0000${c.at}`;

/**
 * The polling cache. Reads return undefined when there is nothing (trustworthy) cached;
 * writers capture `generation(org)` before reading the store and pass it back, so an answer
 * read before a change that was applied meanwhile is not kept.
 */
export class ReportCache {
  private readonly reports: Lru<string, CachedReport & { eventTime: number }>;
  private readonly pages: Lru<string, CachedPage & { generation: number; at: number }>;
  private readonly now: () => number;
  /** Per org, the tick of its last change; `flushed` is the tick of the last "everything changed". */
  private readonly changedAt = new Map<string, number>();
  private tick = 0;
  private flushed = 0;
  private readonly feed: ChangeFeed<TimelineChange>;

  constructor(opts: ReportCacheOptions) {
    const limits = { ...REPORT_CACHE_LIMITS, ...opts.limits };
    this.now = opts.now;
    this.reports = new Lru({ maxEntries: limits.maxReports, maxWeight: limits.maxReportChars });
    this.pages = new Lru({ maxEntries: limits.maxPages, maxWeight: limits.maxPageChars });
    this.feed = new ChangeFeed<TimelineChange>({
      read: opts.changesSince,
      identify: (c) => ({ key: changeKey(c), at: c.at }),
      apply: (changes, complete) => {
        if (!complete) this.flush();
        for (const c of changes) this.changed(c.org_id, c.source, c.id);
      },
      now: opts.now,
      onError: opts.onError,
      intervalMs: opts.intervalMs,
      overlapMs: opts.overlapMs,
    });
  }

  /** Start checking for other replicas' changes (once a second). */
  start(): void {
    this.feed.start();
  }

  /** Stop checking; waits for a check under way. */
  stop(): Promise<void> {
    return this.feed.stop();
  }

  /** Check for other replicas' changes now (tests; the timer does this every second). */
  check(): Promise<void> {
    return this.feed.poll();
  }

  /** The org's change count: capture it before reading the store, pass it to keep*. */
  generation(orgId: string): number {
    return Math.max(this.changedAt.get(orgId) ?? 0, this.flushed);
  }

  /**
   * The cached answer of GET /v1/events/{id}/impact[?source=] with default windows, unless its
   * event is older than `horizon` (epoch ms): past the org's retention it is gone.
   */
  report(orgId: string, id: string, source: string | undefined, horizon: number): CachedReport | undefined {
    if (!this.feed.isFresh(FRESH_MS)) return undefined;
    const hit = this.reports.get(reportKey(orgId, id, source));
    return hit && hit.eventTime >= horizon ? hit : undefined;
  }

  /** Keep a stored report's answer (of an event at `eventTime`), unless the org changed since `generation` was taken. */
  keepReport(
    orgId: string,
    id: string,
    source: string | undefined,
    entry: CachedReport,
    eventTime: number,
    generation: number,
  ): void {
    if (generation !== this.generation(orgId)) return;
    this.reports.set(
      reportKey(orgId, id, source),
      { ...entry, eventTime },
      entry.json.length + (entry.html?.length ?? 0),
    );
  }

  /** The cached page of GET /v1/impact for this normalized query. */
  page(orgId: string, query: string): CachedPage | undefined {
    if (!this.feed.isFresh(FRESH_MS)) return undefined;
    const hit = this.pages.get(`${orgId}\u0000${query}`);
    const fresh = hit && hit.generation === this.generation(orgId) && this.now() - hit.at < PAGE_MAX_AGE_MS;
    return fresh ? hit : undefined;
  }

  /** Keep a timeline page read at `generation` (it is served only while the org is unchanged). */
  keepPage(orgId: string, query: string, page: CachedPage, generation: number): void {
    if (generation !== this.generation(orgId)) return;
    this.pages.set(`${orgId}\u0000${query}`, { ...page, generation, at: this.now() }, page.json.length);
  }

  /** The org's plan changed (its retention with it) or the org was deleted: no page of it is served again. */
  orgChanged(orgId: string): void {
    this.changedAt.set(orgId, ++this.tick);
  }

  /** A report was stored by this process (ImpactService.onReportStored). */
  reportStored(orgId: string, source: string, id: string, computedAt: number): void {
    this.changed(orgId, source, id);
    this.feed.markReported({ kind: 'report', org_id: orgId, source, id, at: computedAt });
  }

  /** Events were stored by this process (the events route). */
  eventsStored(orgId: string, events: readonly { source: string; id: string; receivedAt: number }[]): void {
    for (const e of events) {
      this.changed(orgId, e.source, e.id);
      this.feed.markReported({ kind: 'event', org_id: orgId, source: e.source, id: e.id, at: e.receivedAt });
    }
  }

  /** How much is held (for tests and diagnostics). */
  get size(): { reports: number; reportChars: number; pages: number; pageChars: number } {
    return {
      reports: this.reports.size,
      reportChars: this.reports.weight,
      pages: this.pages.size,
      pageChars: this.pages.weight,
    };
  }

  /**
   * The event's report changed, or an event arrived: drop its answers (with and without
   * ?source=: a new event may now be the newest of that id) and every timeline page of the org.
   */
  private changed(orgId: string, source: string, id: string): void {
    this.changedAt.set(orgId, ++this.tick);
    this.reports.delete(reportKey(orgId, id, source));
    this.reports.delete(reportKey(orgId, id, undefined));
  }

  /** The feed may have missed changes: drop everything. */
  private flush(): void {
    this.flushed = ++this.tick;
    this.reports.clear();
    this.pages.clear();
  }
}
