// Adobe Analytics 2.0 connector: one metric (optionally segmented) as a minute or
// hour date-trended report, converted from report-suite local time to UTC buckets.
import { chunkWindow, redactHeaders, resolveBaseUrl } from '../http.js';
import {
  ConnectorError,
  type CheckResult,
  type Connector,
  type ConnectorDeps,
  type ConnectorLimits,
  type ConnectorModule,
  type FetchOptions,
  type FetchWindow,
  type ProviderRequest,
  type Series,
  type SeriesPoint,
} from '../types.js';
import { wallClockOf } from '../../domain/time-zone.js';
import { AdobeClient } from './client.js';
import {
  ADOBE_ROW_LIMIT,
  dimensionForStep,
  localDateRange,
  reportBody,
  rowsToPoints,
  type TimeDimension,
} from './mapping.js';
import {
  adobeConfigSchema,
  adobeQuerySchema,
  adobeSecretsSchema,
  type AdobeConfig,
  type AdobeQuery,
  type AdobeSecrets,
} from './schema.js';

export const ADOBE_ANALYTICS_URL = 'https://analytics.adobe.io';
export const ADOBE_IMS_URL = 'https://ims-na1.adobelogin.com';
const ANALYTICS_HOSTS = ['analytics.adobe.io'];
const IMS_HOSTS = ['ims-na1.adobelogin.com'];

/** A runaway totalPages must not turn one fetch into thousands of calls. */
const MAX_PAGES_PER_CHUNK = 20;

/** What Adobe documents (FAQ: 12 requests / 6 s per user, 60 s timeout; row limit 50,000) plus our choices. */
export const ADOBE_LIMITS: ConnectorLimits = {
  maxPointsPerCall: ADOBE_ROW_LIMIT,
  minStepSeconds: 60,
  // Adobe processes hits with a typical latency of 30-90 minutes.
  dataDelaySeconds: 90 * 60,
  // Late hits (offline / timestamped data, processing backlogs) keep changing recent hours.
  settleSeconds: 6 * 3600,
  rateLimit: { requests: 12, perSeconds: 6 },
  // Not documented; reports are heavy and the budget is per user, so stay modest.
  concurrency: 2,
  timeoutMs: 60_000,
};

interface PlannedReport {
  /** UTC bucket range the rows of this request are kept for. */
  from: number;
  to: number;
  dateRange: string;
  limit: number;
}

function requireDimension(stepSeconds: number): TimeDimension {
  const dimension = dimensionForStep(stepSeconds);
  if (!dimension) {
    throw new ConnectorError(
      'bad_query',
      `Adobe Analytics serves 60 s (minute) and 3600 s (hour) steps, not ${stepSeconds} s`,
    );
  }
  return dimension;
}

/** Create a live Adobe Analytics connector for one connection. */
export function createAdobeConnector(
  config: AdobeConfig,
  secrets: AdobeSecrets,
  deps: ConnectorDeps,
): Connector<AdobeQuery> {
  const analyticsUrl = resolveBaseUrl(config.base_url, ADOBE_ANALYTICS_URL, ANALYTICS_HOSTS, deps.hostPolicy);
  const imsUrl = resolveBaseUrl(config.ims_url, ADOBE_IMS_URL, IMS_HOSTS, deps.hostPolicy, 'ims_url');
  const limits: ConnectorLimits = { ...ADOBE_LIMITS, timeoutMs: deps.timeoutMs ?? ADOBE_LIMITS.timeoutMs };
  const client = new AdobeClient({ analyticsUrl, imsUrl, config, secrets, deps, timeoutMs: limits.timeoutMs });

  /** One report request per chunk; with the suite's zone unknown the range is shown as a placeholder. */
  function plan(window: FetchWindow, timeZone: string | undefined): PlannedReport[] {
    const stepMs = window.stepSeconds * 1000;
    const planned: PlannedReport[] = [];
    for (const chunk of chunkWindow(window, limits.maxPointsPerCall)) {
      const { from, to } = chunk;
      if (!timeZone) {
        const iso = (t: number) => new Date(t).toISOString();
        planned.push({
          from,
          to,
          dateRange: `{suite-local time of ${iso(from)}}/{suite-local time of ${iso(to)}}`,
          limit: Math.min(ADOBE_ROW_LIMIT, Math.ceil((to - from) / stepMs)),
        });
        continue;
      }
      const localStart = wallClockOf(from, timeZone);
      const localEnd = wallClockOf(to, timeZone);
      // A chunk lying wholly inside a repeated (fall-back) hour has no local range of its own.
      if (localEnd <= localStart) continue;
      planned.push({
        from,
        to,
        dateRange: localDateRange(localStart, localEnd),
        // Local spans differ from UTC spans by the DST shift; paging covers any excess.
        limit: Math.min(ADOBE_ROW_LIMIT, Math.ceil((localEnd - localStart) / stepMs)),
      });
    }
    return planned;
  }

  return {
    limits,

    async check(): Promise<CheckResult> {
      try {
        // Re-read the suite so a check always proves token, company and rsid against Adobe.
        client.knownSuite = undefined;
        const company = await client.companyId();
        const suite = await client.reportSuite();
        return {
          ok: true,
          details: {
            global_company_id: company,
            rsid: suite.rsid,
            report_suite_name: suite.name ?? null,
            time_zone: suite.timeZone,
          },
        };
      } catch (err) {
        if (err instanceof ConnectorError)
          return { ok: false, error: { code: err.code, message: client.scrub(err.message) } };
        deps.logger.error(
          { provider: 'adobe', err: err instanceof Error ? client.scrub(err.message) : 'unknown' },
          'adobe: check failed',
        );
        return { ok: false, error: { code: 'unavailable', message: 'Adobe Analytics check failed unexpectedly' } };
      }
    },

    async fetchSeries(query: AdobeQuery, opts: FetchOptions): Promise<Series> {
      const dimension = requireDimension(opts.stepSeconds);
      if (opts.to <= opts.from) return { stepSeconds: opts.stepSeconds, points: [] };
      const company = await client.companyId(opts.signal);
      const suite = await client.reportSuite(opts.signal);
      if (dimension === 'variables/daterangehour') {
        for (const t of [opts.from, opts.to]) {
          if ((wallClockOf(t, suite.timeZone) - t) % 3_600_000 !== 0) {
            throw new ConnectorError(
              'bad_query',
              `report suite time zone ${suite.timeZone} is not a whole number of hours from UTC, so its hours are not UTC hours; use a 60 s step`,
            );
          }
        }
      }
      const now = deps.now();
      const byTs = new Map<number, SeriesPoint>();
      let ambiguous = 0;
      let nonexistent = 0;
      for (const req of plan(opts, suite.timeZone)) {
        for (let page = 0; ; page += 1) {
          const body = reportBody({
            rsid: config.rsid,
            metric: query.metric,
            segment: query.segment,
            dimension,
            dateRange: req.dateRange,
            limit: req.limit,
            page,
          });
          deps.logger.debug(
            { provider: 'adobe', rsid: config.rsid, dateRange: req.dateRange, page },
            'adobe: report request',
          );
          const report = await client.report(company, body, opts.signal);
          let mapped;
          try {
            mapped = rowsToPoints(report.rows, {
              dimension,
              timeZone: suite.timeZone,
              stepSeconds: opts.stepSeconds,
              from: Math.max(req.from, opts.from),
              to: Math.min(req.to, opts.to),
              now,
            });
          } catch (err) {
            throw new ConnectorError('bad_response', `Adobe Analytics report: ${(err as Error).message}`, {
              cause: err,
            });
          }
          if (mapped.misaligned > 0) {
            throw new ConnectorError(
              'bad_response',
              `Adobe Analytics returned ${mapped.misaligned} time items that do not start on a ${opts.stepSeconds} s boundary`,
            );
          }
          ambiguous += mapped.ambiguous;
          nonexistent += mapped.nonexistent;
          for (const p of mapped.points) if (!byTs.has(p.ts)) byTs.set(p.ts, p);
          if (page + 1 >= report.totalPages || report.rows.length === 0) break;
          if (page + 1 >= MAX_PAGES_PER_CHUNK) {
            throw new ConnectorError(
              'bad_response',
              `Adobe Analytics report claims ${report.totalPages} pages for ${req.limit} rows a page`,
            );
          }
        }
      }
      if (ambiguous + nonexistent > 0) {
        deps.logger.debug(
          { provider: 'adobe', timeZone: suite.timeZone, ambiguous, nonexistent },
          'adobe: dropped time items at a daylight-saving change (repeated or skipped local time)',
        );
      }
      const points = [...byTs.values()].sort((a, b) => a.ts - b.ts);
      return {
        stepSeconds: opts.stepSeconds,
        points,
        // Within the settle time late hits may still change recent buckets.
        provisional: opts.to > now - limits.settleSeconds * 1000,
      };
    },

    describeQuery(query: AdobeQuery, window: FetchWindow): ProviderRequest[] {
      const dimension = requireDimension(window.stepSeconds);
      const company = client.knownCompanyId;
      const url = company ? client.reportsUrl(company) : `${client.apiUrl('/api')}/{globalCompanyId}/reports`;
      const headers = redactHeaders(
        { ...client.apiHeaders('[redacted]', company ?? '{globalCompanyId}'), 'content-type': 'application/json' },
        ['authorization', 'x-api-key'],
      );
      return plan(window, client.knownSuite?.timeZone).map((req) => ({
        method: 'POST' as const,
        url,
        headers,
        body: reportBody({
          rsid: config.rsid,
          metric: query.metric,
          segment: query.segment,
          dimension,
          dateRange: req.dateRange,
          limit: req.limit,
          page: 0,
        }),
      }));
    },
  };
}

/** The Adobe Analytics provider module. */
export const adobeConnector: ConnectorModule<AdobeConfig, AdobeSecrets, AdobeQuery> = {
  id: 'adobe',
  name: 'Adobe Analytics',
  officialHosts: [...ANALYTICS_HOSTS, ...IMS_HOSTS],
  // Counts (e.g. metrics/pageviews, events) and gauges (calculated metrics, rates per bucket);
  // ratios are built from two count queries. Adobe has no latency quantiles.
  kinds: ['count', 'ratio', 'gauge'],
  configSchema: adobeConfigSchema,
  secretsSchema: adobeSecretsSchema,
  querySchema: adobeQuerySchema,
  create: createAdobeConnector,
};
