// GET /v1/jobs: the scheduler's fetch jobs of the caller's org, newest first,
// filtered by state, connection, metric or event, with cursors.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { FetchJob, Scheduler } from '../../scheduler/index.js';
import { JOB_STATES, type JobCursor } from '../../store/jobs.js';
import type { Store } from '../../store/index.js';
import { requireOrg } from '../auth.js';
import { parseOr400 } from '../errors.js';
import { decodeCursor, encodeCursor } from '../params.js';

const listQuery = z.object({
  state: z.enum(JOB_STATES as [string, ...string[]]).optional(),
  connection: z.string().min(1).optional(),
  metric: z.string().min(1).optional(),
  event: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
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

export async function jobRoutes(app: FastifyInstance, opts: { store: Store; scheduler: Scheduler }) {
  const { scheduler } = opts;
  app.get('/v1/jobs', { onRequest: app.authenticate }, async (req) => {
    const orgId = requireOrg(req, 'read');
    const q = parseOr400(listQuery, req.query, 'query parameters');
    const after = q.cursor ? decodeCursor<JobCursor>(q.cursor, isJobCursor) : undefined;
    const rows = await scheduler.listJobs(
      orgId,
      {
        state: q.state as FetchJob['state'] | undefined,
        connection: q.connection,
        metric: q.metric,
        event: q.event,
        source: q.source,
      },
      q.limit + 1,
      after,
    );
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(jobView),
      next_cursor: rows.length > q.limit && last ? encodeCursor({ created_at: last.created_at, id: last.id }) : null,
    };
  });
}

function isJobCursor(v: unknown): v is JobCursor {
  const c = v as JobCursor;
  return typeof c === 'object' && c !== null && Number.isFinite(c.created_at) && typeof c.id === 'string';
}
