// GET /v1/jobs: the scheduler's fetch jobs of the caller's org, newest first,
// filtered by state, connection, metric or event, with cursors.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isStorableTime } from '../../domain/event.js';
import type { FetchJob, Scheduler } from '../../scheduler/index.js';
import { JOB_STATES, type JobCursor, type JobState } from '../../store/jobs.js';
import type { Store } from '../../store/index.js';
import { requireOrg } from '../auth.js';
import { cursor, decodeCursor, encodeCursor } from '../params.js';
import { pageSchema } from '../openapi.js';
import type { ZodTypeProvider } from '../validation.js';

const listQuery = z.object({
  state: z.enum(JOB_STATES as [JobState, ...JobState[]]).optional(),
  connection: z.string().min(1).optional().describe('a connection id'),
  metric: z.string().min(1).optional().describe('a metric id'),
  event: z.string().min(1).optional().describe('an event id: jobs whose window overlaps that event’s windows'),
  source: z.string().min(1).optional().describe('with event: the event’s source'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor,
});

/** A job as the API shows it. */
export function jobView(j: FetchJob) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    connection_id: j.connection_id,
    metric_id: j.metric_id,
    series: j.series,
    window: { from: iso(j.from), to: iso(j.to) },
    attempts: j.attempts,
    run_at: iso(j.run_at),
    fetched_at: iso(j.fetched_at),
    points: j.points,
    requests: j.requests,
    last_error: j.last_error_code === null ? null : { code: j.last_error_code, message: j.last_error },
    created_at: iso(j.created_at),
    updated_at: iso(j.updated_at),
  };
}

const nullableTime = { type: ['string', 'null'], description: 'RFC 3339' };
/** A job as jobView shows it. */
const JOB_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: {
      enum: ['window', 'settle', 'backfill'],
      description: 'window: a first fetch for events; settle: a late-data pass; backfill: made by the backfill command',
    },
    state: { enum: JOB_STATES },
    connection_id: { type: 'string' },
    metric_id: { type: 'string' },
    series: { type: 'string', description: 'the metric’s query with the event’s values filled in' },
    window: { type: 'object', properties: { from: nullableTime, to: nullableTime } },
    attempts: { type: 'integer' },
    run_at: { ...nullableTime, description: 'next time it may run' },
    fetched_at: { ...nullableTime, description: 'when the provider last answered' },
    points: { type: 'integer' },
    requests: { type: 'integer', description: 'provider requests made' },
    last_error: {
      anyOf: [
        { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
        { type: 'null' },
      ],
    },
    created_at: nullableTime,
    updated_at: nullableTime,
  },
};

export async function jobRoutes(fastify: FastifyInstance, opts: { store: Store; scheduler: Scheduler }) {
  const { scheduler } = opts;
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get(
    '/v1/jobs',
    {
      onRequest: app.authenticate,
      schema: { querystring: listQuery },
      config: {
        doc: {
          tag: 'jobs',
          scope: 'read',
          summary: 'The scheduler’s fetch jobs, newest first',
          description: 'What is queued, running, done or failing for the org’s metrics, with the last error.',
          responses: {
            200: {
              description: 'one page',
              schema: pageSchema(JOB_SCHEMA),
            },
          },
        },
      },
    },
    async (req) => {
      const orgId = requireOrg(req, 'read');
      const q = req.query;
      const after = q.cursor ? decodeCursor<JobCursor>(q.cursor, isJobCursor) : undefined;
      const { connection, metric, event, source } = q;
      const rows = await scheduler.listJobs(
        orgId,
        { state: q.state, connection, metric, event, source },
        q.limit + 1,
        after,
      );
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(jobView),
        next_cursor: rows.length > q.limit && last ? encodeCursor({ created_at: last.created_at, id: last.id }) : null,
      };
    },
  );
}

function isJobCursor(v: unknown): v is JobCursor {
  const c = v as JobCursor;
  return typeof c === 'object' && c !== null && isStorableTime(c.created_at) && typeof c.id === 'string';
}
