// Google Analytics 4 connector: one metric of one property as a UTC series from
// Data API v1beta runReport by dateHourMinute/dateHour in the property's time zone.
import { chunkWindow, resolveBaseUrl } from '../http.js';
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
  type SeriesPoint,
} from '../types.js';
import { isKnownTimeZone, MAX_EAST_OFFSET_MS, MAX_WEST_OFFSET_MS } from '../../domain/time-zone.js';
import { TOKEN_HOSTS, tokenSource } from './auth.js';
import { Ga4Client, quotaInfo, type RunReportRequest, type RunReportResponse } from './client.js';
import {
  localDate,
  mapRows,
  missingRowIsZero,
  timeDimensionFor,
  unitOf,
  utcDate,
  type TimeDimension,
} from './mapping.js';
import { configSchema, querySchema, secretsSchema, type Ga4Config, type Ga4Query, type Ga4Secrets } from './schema.js';

const DEFAULT_URL = 'https://analyticsdata.googleapis.com';
const OFFICIAL_HOSTS = ['analyticsdata.googleapis.com'] as const;
/** Rows asked for per page; the API may return fewer and report the total in rowCount. */
const PAGE_LIMIT = 100_000;
/** A runaway guard: 100 pages of 100k rows is far beyond any chunk. */
const MAX_PAGES = 100;

/**
 * Documented limits (developers.google.com/analytics/devguides/reporting/data/v1/quotas,
 * standard property): 200k tokens/day, 40k/hour, 14k per project per property per
 * hour, 10 concurrent; "most requests consume fewer than 10 tokens".
 */
const LIMITS: ConnectorLimits = {
  // Our chunk size, not an API cap: about a week of minutes keeps a report's token cost modest.
  maxPointsPerCall: 10_000,
  minStepSeconds: 60,
  // Intraday data usually appears 4–8 h after the fact and keeps changing for 24–48 h.
  dataDelaySeconds: 4 * 3600,
  settleSeconds: 48 * 3600,
  // 14,000 tokens per project per property per hour at ~10 tokens per report.
  rateLimit: { requests: 1_400, perSeconds: 3600 },
  concurrency: 10,
  // The client library's own default deadline for runReport.
  timeoutMs: 60_000,
};

/** One report after all its pages. */
interface Report {
  rows: NonNullable<RunReportResponse['rows']>;
  timeZone: string;
  metricType?: string | null;
  currencyCode?: string | null;
}

export const ga4Connector: ConnectorModule<Ga4Config, Ga4Secrets, Ga4Query> = {
  id: 'ga4',
  name: 'Google Analytics 4',
  // The Data API and Google's OAuth token endpoints (service-account grants).
  officialHosts: [...OFFICIAL_HOSTS, ...TOKEN_HOSTS],
  kinds: ['count', 'ratio', 'gauge'],
  configSchema,
  secretsSchema,
  querySchema,
  create: createGa4Connector,
};

/** A live connector for one GA4 property. */
export function createGa4Connector(config: Ga4Config, secrets: Ga4Secrets, deps: ConnectorDeps): Connector<Ga4Query> {
  const endpoint = resolveBaseUrl(config.base_url, DEFAULT_URL, OFFICIAL_HOSTS, deps.hostPolicy);
  if (endpoint.pathname !== '' && endpoint.pathname !== '/') {
    throw new ConnectorError(
      'invalid_config',
      'base_url must be an origin without a path (the client adds /v1beta/...)',
    );
  }
  const limits: ConnectorLimits = { ...LIMITS, timeoutMs: deps.timeoutMs ?? LIMITS.timeoutMs };
  const tokens = tokenSource(secrets, deps, () => limits.timeoutMs);
  const client = new Ga4Client({ endpoint, propertyId: config.property_id, tokens, deps, timeoutMs: limits.timeoutMs });
  // Learned from the first report; until then date ranges cover every UTC offset.
  let propertyTimeZone: string | undefined;

  /** The runReport body for one chunk: the local dates that cover it. */
  function reportRequest(
    query: Ga4Query,
    chunk: FetchWindow,
    dimension: TimeDimension,
    timeZone?: string,
  ): RunReportRequest {
    const [startDate, endDate] = timeZone
      ? [localDate(chunk.from, timeZone), localDate(chunk.to - 1, timeZone)]
      : [utcDate(chunk.from - MAX_WEST_OFFSET_MS), utcDate(chunk.to - 1 + MAX_EAST_OFFSET_MS)];
    return {
      dateRanges: [{ startDate, endDate }],
      dimensions: [{ name: dimension }],
      metrics: [{ name: query.metric }],
      ...(query.dimension_filter ? { dimensionFilter: query.dimension_filter } : {}),
      orderBys: [{ dimension: { dimensionName: dimension } }],
      keepEmptyRows: true,
      limit: PAGE_LIMIT,
      offset: 0,
      returnPropertyQuota: true,
    };
  }

  /** All pages of one report (GA4 pages by limit/offset against rowCount). */
  async function runReport(request: RunReportRequest, signal?: AbortSignal): Promise<Report> {
    const rows: Report['rows'] = [];
    let first: RunReportResponse | undefined;
    for (let page = 0, offset = 0; page < MAX_PAGES; page++) {
      const res = await client.runReport({ ...request, offset }, signal);
      const quota = quotaInfo(res.propertyQuota);
      if (quota) deps.onRateLimit?.(quota);
      const timeZone = res.metadata?.timeZone;
      if (!timeZone || !isKnownTimeZone(timeZone)) {
        throw new ConnectorError('bad_response', 'GA4 report carries no known metadata.timeZone');
      }
      if (first && timeZone !== first.metadata?.timeZone) {
        throw new ConnectorError('bad_response', 'GA4 report pages disagree on the time zone');
      }
      first ??= res;
      const pageRows = res.rows ?? [];
      rows.push(...pageRows);
      offset += pageRows.length;
      if (pageRows.length === 0 || offset >= (res.rowCount ?? 0)) break;
    }
    const meta = first!.metadata!;
    if (meta.subjectToThresholding || (meta.samplingMetadatas?.length ?? 0) > 0) {
      deps.logger.warn(
        { property_id: config.property_id, thresholded: !!meta.subjectToThresholding },
        'GA4 report is sampled or thresholded',
      );
    }
    return {
      rows,
      timeZone: meta.timeZone!,
      metricType: first!.metricHeaders?.[0]?.type,
      currencyCode: meta.currencyCode,
    };
  }

  /** One chunk's report, re-asked once if the property's time zone was not what we assumed. */
  async function fetchChunk(
    query: Ga4Query,
    chunk: FetchWindow,
    dimension: TimeDimension,
    signal?: AbortSignal,
  ): Promise<Report> {
    const assumed = propertyTimeZone;
    let report = await runReport(reportRequest(query, chunk, dimension, assumed), signal);
    if (assumed && report.timeZone !== assumed) {
      // The property's zone changed since we learned it: the dates asked for may be off by one.
      report = await runReport(reportRequest(query, chunk, dimension, report.timeZone), signal);
    }
    propertyTimeZone = report.timeZone;
    deps.logger.debug(
      { property_id: config.property_id, from: chunk.from, to: chunk.to, rows: report.rows.length },
      'GA4 report',
    );
    return report;
  }

  return {
    limits,

    async check(): Promise<CheckResult> {
      try {
        const metadata = await client.getMetadata();
        const dimensions = new Set((metadata.dimensions ?? []).map((d) => d.apiName));
        // A one-row report proves Data API access and tells the time zone and quota.
        const report = await runReport({
          dateRanges: [{ startDate: 'today', endDate: 'today' }],
          dimensions: [],
          metrics: [{ name: 'activeUsers' }],
          orderBys: [],
          keepEmptyRows: false,
          limit: 1,
          offset: 0,
          returnPropertyQuota: true,
        });
        propertyTimeZone = report.timeZone;
        return {
          ok: true,
          details: {
            property_id: config.property_id,
            time_zone: report.timeZone,
            currency_code: report.currencyCode ?? null,
            dimensions: dimensions.size,
            metrics: metadata.metrics?.length ?? 0,
            minute_dimension: dimensions.has('dateHourMinute'),
            hour_dimension: dimensions.has('dateHour'),
          },
        };
      } catch (err) {
        if (err instanceof ConnectorError) return { ok: false, error: { code: err.code, message: err.message } };
        return { ok: false, error: { code: 'unavailable', message: 'GA4 check failed unexpectedly' } };
      }
    },

    async fetchSeries(query: Ga4Query, opts: FetchOptions) {
      const { stepSeconds, signal } = opts;
      const dimension = timeDimensionFor(stepSeconds);
      const stepMs = stepSeconds * 1000;
      const placed = new Set<string>();
      const points: SeriesPoint[] = [];
      let unit: string | null = null;
      for (const chunk of chunkWindow(opts, limits.maxPointsPerCall)) {
        const report = await fetchChunk(query, chunk, dimension, signal);
        unit = unitOf(report.metricType, report.currencyCode) ?? unit;
        const zeroFill = missingRowIsZero(query.metric, report.metricType);
        points.push(
          ...mapRows({ rows: report.rows, dimension, timeZone: report.timeZone, window: chunk, zeroFill, placed }),
        );
      }
      const now = deps.now();
      // GA4 reports the running minute/hour too: keep only closed buckets inside [from, to).
      const kept = points.filter((p) => p.ts >= opts.from && p.ts < opts.to && p.ts + stepMs <= now);
      const settledBefore = now - limits.settleSeconds * 1000;
      return { stepSeconds, points: kept, unit, provisional: kept.some((p) => p.ts + stepMs > settledBefore) };
    },

    describeQuery(query: Ga4Query, window: FetchWindow): ProviderRequest[] {
      const dimension = timeDimensionFor(window.stepSeconds);
      return chunkWindow(window, limits.maxPointsPerCall).map((chunk) => ({
        method: 'POST',
        url: client.url('runReport'),
        headers: { authorization: '[redacted]', 'content-type': 'application/json' },
        body: reportRequest(query, chunk, dimension, propertyTimeZone),
      }));
    },
  };
}
