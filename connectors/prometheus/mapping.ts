// Turns a Prometheus range-query answer into our series. A Prometheus sample at
// time t describes the range that ends at t (e.g. increase(x[1m]) at 12:01 counts
// 12:00–12:01), so it becomes the bucket [t − step, t), whose start is our `ts`.
import { z } from 'zod';
import { ConnectorError, type FetchWindow, type SeriesPoint } from '../types.js';

const sampleSchema = z.tuple([z.number(), z.string()]);

/** The documented success envelope of /api/v1/query_range (matrix result). */
const rangeResponseSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.string(),
    result: z.array(
      z.object({
        metric: z.record(z.string(), z.string()).default({}),
        values: z.array(sampleSchema).optional(),
        histograms: z.array(z.unknown()).optional(),
      }),
    ),
  }),
  warnings: z.array(z.string()).optional(),
  infos: z.array(z.string()).optional(),
});

/** Prometheus' documented error body: `{status: "error", errorType, error}`. */
export function describePrometheusError(body: unknown): string | undefined {
  if (body && typeof body === 'object' && 'error' in body) {
    const b = body as { errorType?: unknown; error?: unknown };
    return `${typeof b.errorType === 'string' ? `${b.errorType}: ` : ''}${String(b.error)}`;
  }
  return undefined;
}

export interface MatrixResult {
  points: SeriesPoint[];
  warnings: string[];
}

/**
 * Map one chunk's answer to points inside `window`. Buckets that end after `nowMs`
 * are dropped: Prometheus evaluates future instants with stale samples.
 */
export function mapRangeResponse(body: unknown, window: FetchWindow, nowMs: number): MatrixResult {
  const parsed = rangeResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new ConnectorError(
      'bad_response',
      'Prometheus answered with a body that is not a query_range success response',
    );
  }
  const { data, warnings = [] } = parsed.data;
  if (data.resultType !== 'matrix') {
    throw new ConnectorError(
      'bad_response',
      `Prometheus returned resultType "${data.resultType}" where a range query gives "matrix"`,
    );
  }
  if (data.result.length === 0) return { points: [], warnings };
  if (data.result.length > 1) {
    const examples = data.result
      .slice(0, 3)
      .map(
        (r) =>
          `{${Object.entries(r.metric)
            .map(([k, v]) => `${k}="${v}"`)
            .join(', ')}}`,
      )
      .join(', ');
    throw new ConnectorError(
      'bad_query',
      `the PromQL query returned ${data.result.length} series (${examples}${data.result.length > 3 ? ', …' : ''}); ` +
        'it must return exactly one: aggregate it, e.g. sum(...) or sum by () (...)',
    );
  }
  const series = data.result[0];
  if (!series.values && series.histograms) {
    throw new ConnectorError(
      'bad_query',
      'the PromQL query returned native histograms; use histogram_quantile() or histogram_count() to get numbers',
    );
  }
  const step = window.stepSeconds * 1000;
  const points: SeriesPoint[] = [];
  for (const [seconds, text] of series.values ?? []) {
    // Prometheus writes NaN and ±Inf as strings; they are not measurements.
    const value = Number(text);
    if (!Number.isFinite(value)) continue;
    const ts = Math.round(seconds * 1000) - step;
    if (ts < window.from || ts >= window.to || ts + step > nowMs) continue;
    points.push({ ts, value });
  }
  points.sort((a, b) => a.ts - b.ts);
  return { points, warnings };
}
