// `opstrails-impact backfill --metric ID --from ISO --to ISO [--connection ID] [--org ID]`:
// pull a metric's history into the store with the scheduler's budgets, a progress
// bar, and resumable progress (Ctrl-C, or a crash, then the same command continues).
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { destination, pino } from 'pino';
import { runBackfill, type BackfillProgress } from '../scheduler/backfill.js';
import type { Store } from '../store/index.js';
import type { Metric } from '../domain/metric.js';
import { loadConfig } from './config.js';
import { configuredRuntime } from './serve.js';

export const BACKFILL_USAGE = `usage: opstrails-impact backfill --metric ID --from ISO --to ISO [--connection ID] [--org ID]
                                [--subject S] [--version V] [--service S]

Pull a metric's points over [from, to) into the store, in chunks of the provider's
point cap, within the connection's request budget. Interrupt it at any time: the
same command continues where it stopped, and no point is stored twice.

  --metric ID       the metric (or --connection alone: every metric of that connection)
  --from, --to      RFC 3339 instants, e.g. 2026-10-01T00:00:00Z
  --connection ID   the metric's connection (checked), or all its metrics
  --org ID          the org (optional when the store holds one org)
  --subject, --version, --service   values for {{subject}}, {{version}}, {{service}} in the query
`;

/** Run the backfill command; resolves with the exit code. */
export async function backfill(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        metric: { type: 'string' },
        connection: { type: 'string' },
        org: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        subject: { type: 'string' },
        version: { type: 'string' },
        service: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (args.help) {
    process.stdout.write(BACKFILL_USAGE);
    return 0;
  }
  if (!args.metric && !args.connection) return usageError('give --metric (or --connection for all its metrics)');
  const from = instant(args.from);
  const to = instant(args.to);
  if (from === undefined) return usageError('--from must be an RFC 3339 instant, e.g. 2026-10-01T00:00:00Z');
  if (to === undefined) return usageError('--to must be an RFC 3339 instant, e.g. 2026-10-08T00:00:00Z');
  if (to <= from) return usageError('--to must be after --from');

  const config = loadConfig(env);
  const logger = pino({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL }, destination(2));
  const runtime = await configuredRuntime(config, { logger });
  const { store } = runtime;
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const orgId = args.org ?? (await onlyOrg(store));
    if (!orgId) return fail('the store holds several orgs (or none): give --org ID');
    const metrics = await pickMetrics(store, orgId, args.metric, args.connection);
    if (typeof metrics === 'string') return fail(metrics);

    let failed = 0;
    for (const metric of metrics) {
      const bar = progressBar(metric);
      const result = await runBackfill(
        { ...runtime, onProgress: bar.update, signal: interrupted.signal },
        { orgId, metric, from, to, vars: { subject: args.subject, version: args.version, service: args.service } },
      );
      bar.stop();
      if (interrupted.signal.aborted) {
        process.stderr.write(
          `\ninterrupted: ${result.succeeded}/${result.total} windows stored; run the same command again to continue\n`,
        );
        return 130;
      }
      failed += result.failed;
      process.stdout.write(
        `backfill ${metric.name} (${metric.id}): ${result.succeeded}/${result.total} windows, ${result.points} points` +
          (result.failed > 0 ? `, ${result.failed} failed (see GET /v1/jobs?state=failed; rerun to retry them)` : '') +
          '\n',
      );
    }
    return failed > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runtime.close();
  }
}

/** A progress bar on a terminal; one line per finished window otherwise (logs, CI). */
function progressBar(metric: Metric): { update: (p: BackfillProgress) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${metric.name} |{bar}| {value}/{total} windows | {points} points | ETA {eta_formatted}`,
        stream: process.stderr,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        if (!started) {
          bar.start(p.total, p.succeeded, { points: p.points });
          started = true;
        } else bar.update(p.succeeded, { points: p.points });
      },
      stop: () => bar.stop(),
    };
  }
  return {
    update(p) {
      if (!p.job) {
        process.stderr.write(`backfill ${metric.name}: ${p.succeeded}/${p.total} windows already stored\n`);
        return;
      }
      const window = `${new Date(p.job.from).toISOString()}..${new Date(p.job.to).toISOString()}`;
      process.stderr.write(
        `window ${window} ${p.job.state} (${p.job.points} points; ${p.succeeded}/${p.total} done)\n`,
      );
    },
    stop() {},
  };
}

async function onlyOrg(store: Store): Promise<string | undefined> {
  const rows = await store.backend.query<{ org_id: string }>(`SELECT org_id FROM ${store.database}.orgs FINAL LIMIT 2`);
  return rows.length === 1 ? rows[0].org_id : undefined;
}

async function pickMetrics(
  store: Store,
  orgId: string,
  metricId?: string,
  connectionId?: string,
): Promise<Metric[] | string> {
  if (metricId) {
    const metric = await store.metrics.get(orgId, metricId);
    if (!metric) return `metric ${metricId} not found in org ${orgId}`;
    if (connectionId && metric.connection_id !== connectionId)
      return `metric ${metricId} belongs to connection ${metric.connection_id}, not ${connectionId}`;
    return [metric];
  }
  const metrics = await store.metrics.list(orgId, { connectionId });
  return metrics.length > 0 ? metrics : `connection ${connectionId} has no metrics`;
}

function instant(value: string | undefined): number | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/.test(value))
    return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function usageError(message: string): number {
  process.stderr.write(`opstrails-impact backfill: ${message}\n\n${BACKFILL_USAGE}`);
  return 2;
}

function fail(message: string): number {
  process.stderr.write(`opstrails-impact backfill: ${message}\n`);
  return 1;
}
