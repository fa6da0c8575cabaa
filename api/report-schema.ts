// The impact report as the API documents it: a zod schema of domain/report.ts's
// ImpactReport, field by field with what each means. The compiler holds the two
// together (a difference in either is a type error below); test/api/impact.test.ts
// checks that a real report has no field the schema leaves out.
import { z } from 'zod';
import type { CloudEvent } from '../domain/event.js';
import { DIRECTIONS, METRIC_KINDS } from '../domain/metric.js';
import type { ImpactReport } from '../domain/report.js';

const isoWindow = z.object({
  from: z.string().describe('start, RFC 3339'),
  to: z.string().describe('end (excluded), RFC 3339'),
});
const windowPair = z.object({ before: isoWindow, after: isoWindow });
const interval = z.tuple([z.number(), z.number()]);

const summary = z.object({
  n: z.number().describe('buckets with data'),
  mean: z.number().nullable(),
  median: z.number().nullable(),
  p95: z.number().nullable(),
  rate: z.number().nullable().describe('count: mean per bucket; ratio: Σ numerator / Σ denominator'),
});

const baseline = z.object({
  kind: z
    .enum(['before_window', 'reference_days', 'seasonal_week', 'seasonal_day'])
    .describe('what the change is measured against: reference days, one seasonal reference, or the before window'),
  reference_days: z.number().optional().describe('reference_days: how many earlier days predicted the after window'),
  days: z
    .array(z.object({ day: z.number(), date: z.string(), weight: z.number(), change: z.number() }))
    .optional()
    .describe('each reference day with its weight and its own pre → after change (comparison scale)'),
  skipped_days: z
    .array(z.object({ day: z.number(), reason: z.string() }))
    .optional()
    .describe('days with data that were not used, and why (another event, missing buckets, far from the others)'),
  calibration: z
    .enum(['model', 'placebo', 'pooled'])
    .optional()
    .describe(
      "which variance decided the interval: the noise model, this event's placebo spread (where wider), or the placebo inflation pooled with the metric's earlier events",
    ),
  placebo: z
    .object({
      se: z.number(),
      model_se: z.number(),
      placebos: z.number(),
      df: z.number(),
      model_df: z.number().optional(),
      pooled: z
        .object({ inflation: z.number(), df: z.number(), events: z.number() })
        .optional()
        .describe("the placebo inflation pooled with this many earlier events' of the metric, and its df"),
    })
    .optional()
    .describe(
      'the placebo spread (se, df, from how many placebos) and the noise model (model_se, model_df; reports computed before model_df was added lack it), each as the standard error of the change',
    ),
  weekday_adjusted: z.boolean().optional(),
  reference_change: z.number().nullable().optional().describe('change over the same clock windows in the reference'),
  explains_change: z
    .boolean()
    .optional()
    .describe('true when the plain comparison would have flagged a change that the seasonal reference explains'),
  skipped: z.string().optional().describe('why a seasonal reference was not used, when one was offered'),
  reference: windowPair.optional().describe('the single reference window pair, when one was used'),
});

const metricReport = z.object({
  metric_id: z.string(),
  name: z.string(),
  kind: z.enum(METRIC_KINDS),
  unit: z.string().nullable(),
  direction: z.enum(DIRECTIONS),
  critical: z.boolean(),
  status: z.enum(['pending', 'ready', 'failed']),
  verdict: z
    .enum(['regression', 'improvement', 'no_change', 'inconclusive', 'insufficient_data'])
    .nullable()
    .describe('null while pending'),
  windows: windowPair,
  before: summary.nullable(),
  after: summary.nullable(),
  change: z
    .object({
      absolute: z.number().nullable().describe('in the metric’s units'),
      relative: z.number().nullable().describe('a fraction (0.25 = +25%); null when the before level is zero'),
      ci: interval.nullable().describe('interval of the relative change, as fractions ([0.9, 1.9] = +90% to +190%)'),
      confidence: z.number().describe('level of the interval, e.g. 0.95'),
    })
    .nullable(),
  test: z
    .object({
      method: z.string(),
      statistic: z.number().nullable(),
      p_value: z.number().nullable(),
      q_value: z.number().nullable().describe('Benjamini–Hochberg across the event’s metrics'),
    })
    .nullable(),
  baseline: baseline.nullable(),
  counterfactual: z
    .object({
      observed: z.number().describe('the after level (the kind’s headline: rate, ratio, median, mean)'),
      expected: z.number().describe('the level expected without the event'),
      expected_ci: interval.nullable(),
      relative: z.number().describe('observed / expected − 1'),
    })
    .nullable(),
  threshold: z.number().describe('smallest relative change that counts'),
  data_quality: z
    .object({
      expected: z.object({ before: z.number(), after: z.number() }).describe('buckets each window should hold'),
      missing: z.object({ before: z.number(), after: z.number() }),
      low_counts: z.boolean(),
      late_data_pending: z.boolean(),
      autocorrelation: z.number().nullable(),
      history_buckets: z
        .number()
        .optional()
        .describe('buckets ahead of the before window that were read (today’s level, the noise model)'),
    })
    .nullable(),
  minimum_detectable_effect: z.number().nullable(),
  confounders: z
    .array(
      z.object({
        id: z.string(),
        type: z.string(),
        time: z.string(),
        subject: z.string().nullable(),
        window: z.enum(['before', 'after', 'gap']).describe('which of this event’s windows it falls in'),
        coverage: z.number().describe('share of that window after the other event'),
      }),
    )
    .describe('other events that overlap this event’s windows'),
  onset: z
    .object({ ts: z.string(), minutes_from_event: z.number(), before_event: z.boolean() })
    .nullable()
    .describe('when the change began, when it can be placed'),
  reason: z.string().nullable().describe('why the verdict is insufficient_data / inconclusive, when specific'),
  explanation: z.string().describe('one sentence a person can read, with the numbers'),
});

/** A CloudEvent as sent (documented once, as the CloudEvent component). */
const cloudEvent = z.custom<CloudEvent>((v) => typeof v === 'object' && v !== null && !Array.isArray(v));

const impactReport = z.object({
  event: cloudEvent,
  status: z.enum(['pending', 'ready', 'partial', 'failed']),
  verdict: z.enum(['regression', 'improvement', 'no_change', 'inconclusive']).nullable().describe('null while pending'),
  computed_at: z.string().nullable().describe('when it was computed; not part of the ETag'),
  explanation: z.string(),
  windows: z.object({
    before: isoWindow,
    after: isoWindow,
    gap: z.string().describe('ISO 8601 duration, e.g. PT5M'),
    baseline: z.object({ week: windowPair, day: windowPair }).describe('the week- and day-earlier copies'),
  }),
  awaiting: z.array(z.string()).optional().describe('while pending: what is still awaited, in words'),
  metrics: z.array(metricReport),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time: the documented report is domain/report.ts's ImpactReport, no more, no less. */
const sameAsDomain: Same<z.output<typeof impactReport>, ImpactReport> = true;
void sameAsDomain;

/** The zod schema of a report (tests parse real reports with it). */
export const impactReportSchema = impactReport;

type JsonSchema = Record<string, unknown>;

/** JSON Schemas of the report and its parts, for components.schemas (refs point there). */
export const REPORT_COMPONENTS: Record<string, JsonSchema> = (() => {
  const components = z.registry<{ id: string }>();
  components.add(impactReport, { id: 'ImpactReport' });
  components.add(metricReport, { id: 'MetricReport' });
  components.add(isoWindow, { id: 'IsoWindow' });
  const { schemas } = z.toJSONSchema(components, {
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
    override: (ctx) => {
      if (ctx.zodSchema === cloudEvent) ctx.jsonSchema.$ref = '#/components/schemas/CloudEvent';
    },
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _drop, $id: _id, ...schema }]) => [id, schema as JsonSchema]),
  );
})();

/** One line of the impact timeline. */
export const IMPACT_SUMMARY_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['id', 'source', 'type', 'subject', 'version', 'time', 'status', 'verdict', 'worst_metric'],
  properties: {
    id: { type: 'string' },
    source: { type: 'string' },
    type: { type: 'string' },
    subject: { type: ['string', 'null'] },
    version: { type: ['string', 'null'] },
    time: { type: 'string', description: 'the event’s time, RFC 3339' },
    status: { enum: ['pending', 'ready', 'partial', 'failed'], description: 'pending until a report is stored' },
    verdict: { enum: ['regression', 'improvement', 'no_change', 'inconclusive', null] },
    worst_metric: {
      description: 'the metric that decided the verdict, or null',
      anyOf: [
        {
          type: 'object',
          properties: {
            metric_id: { type: 'string' },
            name: { type: 'string' },
            verdict: { type: 'string' },
            relative: { type: ['number', 'null'] },
          },
        },
        { type: 'null' },
      ],
    },
  },
};
