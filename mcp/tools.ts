// The MCP tools: read-only views of events, impact reports, metrics, their
// stored series and connections, each one call of the HTTP API through the SDK
// client (so the caller's key, scopes and org decide what is visible).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { OpsTrailsClient } from '../sdk/index.js';
import { toolError, type UnexpectedErrorHandler } from './errors.js';
import * as s from './schemas.js';
import { connectionText, eventLine, metricText, moreLine, reportText, seriesStats, summaryLine } from './text.js';

/** What every tool here is: it reads the org's data, changes nothing, and talks to no one but the service. */
export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
};

/** Most points get_metric_series returns (the first ones of the window, in time order). */
export const MAX_SERIES_POINTS = 1000;
/** Most events or impact lines one page of a listing tool returns. */
const MAX_PAGE = 100;

type Shape = z.ZodRawShape;

interface ToolSpec<I extends Shape, O extends Shape> {
  title: string;
  description: string;
  input: I;
  output: O;
  /**
   * The answer: a short text for people and models, and the structured content (every key of
   * `output`; its shape is checked against the output schema by the MCP SDK on every call).
   */
  run(args: z.output<z.ZodObject<I>>): Promise<{ text: string; data: { [K in keyof O]: unknown } }>;
}

/** Register the tools on a server, answering through `client`. */
export function registerTools(server: McpServer, client: OpsTrailsClient, onUnexpected?: UnexpectedErrorHandler) {
  function tool<I extends Shape, O extends Shape>(name: string, spec: ToolSpec<I, O>) {
    // Strict: an argument the tool does not know is an error naming it, not silently dropped.
    const inputSchema: z.ZodType = z.strictObject(spec.input);
    const outputSchema: z.ZodType = z.object(spec.output);
    server.registerTool(
      name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema,
        outputSchema,
        annotations: { title: spec.title, ...READ_ONLY },
      },
      async (args) => {
        try {
          // The SDK has parsed the arguments with inputSchema.
          const { text, data } = await spec.run(args as z.output<z.ZodObject<I>>);
          return { content: [{ type: 'text', text }], structuredContent: data };
        } catch (err) {
          return toolError(name, err, onUnexpected);
        }
      },
    );
  }

  tool('list_events', {
    title: 'List events',
    description:
      'Events the service received (deployments, rollbacks, incidents, ...), newest first, with filters. ' +
      'type "deployment" also matches "dev.opstrails.deployment". Page with cursor.',
    input: {
      subject: s.text('the event subject, e.g. an environment such as production').optional(),
      type: s.text('the event type, e.g. deployment').optional(),
      source: s.text('the event source, e.g. github.com/acme/shop').optional(),
      since: s.instant.optional().describe('events at or after this instant (RFC 3339)'),
      until: s.instant.optional().describe('events before this instant (RFC 3339)'),
      limit: s.limit(20, MAX_PAGE),
      cursor: s.cursor.optional(),
    },
    output: { events: z.array(s.cloudEvent), next_cursor: z.string().nullable() },
    async run(args) {
      const page = await client.listEvents(args);
      const lines = page.items.map((e) => `- ${eventLine(e)}`);
      return {
        text: `${page.items.length} event(s), newest first${lines.length ? ':\n' : '.'}${lines.join('\n')}${moreLine(page.next_cursor)}`,
        data: { events: page.items, next_cursor: page.next_cursor },
      };
    },
  });

  tool('get_event', {
    title: 'Get an event',
    description: 'One event as it was sent (CloudEvents JSON), by its id.',
    input: {
      id: s.text('the event id'),
      source: s.text('the event source, when several sources use the id').optional(),
    },
    output: { event: s.cloudEvent },
    async run({ id, source }) {
      const event = await client.getEvent(id, { source });
      return { text: eventLine(event), data: { event } };
    },
  });

  tool('get_impact_report', {
    title: 'Get an impact report',
    description:
      'The impact report of an event (a deployment, ...): per metric the change against what was expected ' +
      'without the event, its confidence interval, the verdict (regression, improvement, no_change, ' +
      'inconclusive, insufficient_data) and a one-sentence explanation. A report may be pending while its ' +
      'data comes in. Optional before/after/gap (e.g. 90m, 2h, PT5M) compute it for other windows on stored ' +
      'data; windows not stored yet are first fetched by the service (the report says pending until then).',
    input: {
      event_id: s.text('the event id'),
      source: s.text('the event source, when several sources use the id').optional(),
      before: s.text('ad-hoc before window, e.g. 90m or PT90M').optional(),
      after: s.text('ad-hoc after window, e.g. 30m').optional(),
      gap: s.text('ad-hoc gap between the event and the after window, e.g. 5m').optional(),
    },
    output: { report: s.impactReport },
    async run({ event_id, ...options }) {
      const report = await client.getImpact(event_id, options);
      return { text: reportText(report), data: { report } };
    },
  });

  tool('list_impacts', {
    title: 'List impacts',
    description:
      'The impact timeline: one line per event with its report status, verdict and worst metric, newest first. ' +
      'E.g. "which deploys to production regressed something this week?": type=deployment, ' +
      'subject=production, verdict=regression, since=<start of the week>. Page with cursor.',
    input: {
      subject: s.text('the event subject, e.g. production').optional(),
      type: s.text('the event type, e.g. deployment').optional(),
      verdict: z
        .enum(['regression', 'improvement', 'no_change', 'inconclusive'])
        .optional()
        .describe('only events with this verdict'),
      since: s.instant.optional().describe('events at or after this instant (RFC 3339)'),
      until: s.instant.optional().describe('events before this instant (RFC 3339)'),
      limit: s.limit(20, MAX_PAGE),
      cursor: s.cursor.optional(),
    },
    output: { impacts: z.array(s.impactSummary), next_cursor: z.string().nullable() },
    async run(args) {
      const page = await client.listImpacts(args);
      const lines = page.items.map((i) => `- ${summaryLine(i)}`);
      return {
        text: `${page.items.length} event(s), newest first${lines.length ? ':\n' : '.'}${lines.join('\n')}${moreLine(page.next_cursor)}`,
        data: { impacts: page.items, next_cursor: page.next_cursor },
      };
    },
  });

  tool('list_metrics', {
    title: 'List metrics',
    description:
      'The metrics reports are computed on: a saved provider query each, with its kind (count, ratio, gauge, ' +
      'quantile), what "worse" means, its threshold and the events it applies to.',
    input: { connection_id: s.text('only the metrics of this connection').optional() },
    output: { metrics: z.array(s.metric) },
    async run({ connection_id }) {
      const metrics = await client.listMetrics({ connectionId: connection_id });
      return {
        text: `${metrics.length} metric(s)${metrics.length ? ':\n' : '.'}${metrics.map(metricText).join('\n')}`,
        data: { metrics },
      };
    },
  });

  tool('get_metric_series', {
    title: 'Get a metric series',
    description:
      'The points stored for a metric in a window (default: the hour before now). ' +
      `At most ${MAX_SERIES_POINTS} points are returned, the first of the window; ` +
      'the service refuses windows over 10,000 buckets of the metric’s step. ' +
      'subject/version/service pick the series when the query uses those template values.',
    input: {
      metric_id: s.text('the metric id (met_...)'),
      from: s.instant.optional().describe('window start (RFC 3339)'),
      to: s.instant.optional().describe('window end, exclusive (RFC 3339)'),
      subject: s.text('the {{subject}} of the series').optional(),
      version: s.text('the {{version}} of the series').optional(),
      service: s.text('the {{service}} of the series').optional(),
    },
    output: {
      metric_id: z.string(),
      series: z.string(),
      from: z.string(),
      to: z.string(),
      points: z.array(s.seriesPoint),
      total_points: z.number().describe('points stored in the window'),
      truncated: z.boolean().describe(`true when more than ${MAX_SERIES_POINTS} points are stored in the window`),
    },
    async run({ metric_id, ...window }) {
      const [metric, stored] = await Promise.all([
        client.getMetric(metric_id),
        client.getMetricSeries(metric_id, window),
      ]);
      const points = stored.points.slice(0, MAX_SERIES_POINTS);
      const truncated = stored.points.length > points.length;
      const cut = truncated
        ? `\nShowing the first ${MAX_SERIES_POINTS} of ${stored.points.length} points: narrow from/to for the rest.`
        : '';
      return {
        text:
          `${metric.name} (${metric.kind}${metric.unit ? `, ${metric.unit}` : ''}, step ${metric.step_seconds} s) ` +
          `from ${stored.from} to ${stored.to}: ${seriesStats(stored.points)}.${cut}`,
        data: {
          metric_id,
          series: stored.series,
          from: stored.from,
          to: stored.to,
          points,
          total_points: stored.points.length,
          truncated,
        },
      };
    },
  });

  tool('list_connections', {
    title: 'List connections',
    description:
      'The provider connections (Prometheus, Datadog, Sentry, ...) metrics are pulled from: config, last ' +
      'check, and fetch health (last success, last error, rate limit, queued jobs). Secrets are never shown.',
    input: {},
    output: { connections: z.array(s.connection) },
    async run() {
      const connections = await client.listConnections();
      return {
        text: `${connections.length} connection(s)${connections.length ? ':\n' : '.'}${connections.map(connectionText).join('\n')}`,
        data: { connections },
      };
    },
  });
}
