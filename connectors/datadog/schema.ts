// Zod schemas of a Datadog connection: the site (or a base URL), the API and
// application keys, and one metrics query (v2 timeseries by default, or v1).
import { METRIC_KINDS } from '../../domain/metric.js';
import { z } from 'zod';

/** Every Datadog site; the API lives at https://api.{site}. */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'uk1.datadoghq.com',
  'datadoghq.eu',
  'ddog-gov.com',
  'us2.ddog-gov.com',
] as const;
export type DatadogSite = (typeof DATADOG_SITES)[number];

/** Non-secret settings: the site, and an optional base URL override (proxies, tests). */
export const datadogConfigSchema = z.strictObject({
  site: z.enum(DATADOG_SITES, { message: `site must be one of ${DATADOG_SITES.join(', ')}` }).default('datadoghq.com'),
  base_url: z.url({ message: 'base_url must be a URL, e.g. https://api.datadoghq.eu' }).optional(),
});
export type DatadogConfig = z.infer<typeof datadogConfigSchema>;

/** An API key (identifies the org) and an application key with the timeseries_query permission. */
export const datadogSecretsSchema = z.strictObject({
  api_key: z.string().trim().min(1, 'api_key is required (Organization Settings → API Keys)'),
  app_key: z.string().trim().min(1, 'app_key is required (Organization Settings → Application Keys)'),
});
export type DatadogSecrets = z.infer<typeof datadogSecretsSchema>;

/** One series query: a Datadog metrics query that returns one series. */
export const datadogQuerySchema = z.strictObject({
  query: z
    .string()
    .trim()
    .min(1, 'query must be a Datadog metrics query, e.g. sum:trace.http.request.errors{env:production}.as_count()'),
  /** v2 = POST /api/v2/query/timeseries (default); v1 = GET /api/v1/query. */
  api: z.enum(['v1', 'v2'], { message: 'api must be "v1" or "v2"' }).default('v2'),
  /**
   * The metric's kind, which picks the rollup appended when the query has none:
   * sums for count and ratio parts, averages otherwise. Filled from the metric.
   */
  kind: z.enum(METRIC_KINDS, { message: `kind must be one of ${METRIC_KINDS.join(', ')}` }).optional(),
});
export type DatadogQuery = z.infer<typeof datadogQuerySchema>;
