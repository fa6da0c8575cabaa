// `opstrails-impact send --type deployment --subject production --version v1.4.2`:
// one CloudEvent from a CI pipeline, sent with the SDK (retried, idempotent), and
// with --wait its impact report, exiting 3 on a regression so a pipeline can act.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { eventTypeIs } from '../domain/event.js';
import { createClient, OpsTrailsError, type CloudEvent, type ImpactReport } from '../sdk/index.js';
import { reportTable } from './report.js';

export const SEND_USAGE = `usage: opstrails-impact send --type TYPE --subject SUBJECT [--version V] [--service S]
                          [--source SOURCE] [--id ID] [--time RFC3339] [--data @FILE | --data JSON]
                          [--url URL] [--key KEY] [--wait] [--timeout DURATION]

Send one CloudEvent (a deployment, rollback, incident, ...) to OpsTrails Impact.
Sending the same event again (same source and id) stores nothing twice.

  --type      the event type, e.g. deployment, rollback, incident
  --subject   what it happened to, e.g. production (metrics apply by subject)
  --version   the version deployed (required for deployments)
  --service   the service, for {{service}} in metric queries
  --source    where events come from (default: github.com/$GITHUB_REPOSITORY on GitHub
              Actions, $CI_SERVER_HOST/$CI_PROJECT_PATH on GitLab CI)
  --id        the event id (default: from the CI run and job, else a random UUID)
  --time      when it happened, RFC 3339 (default: when the service receives it)
  --data      the event's data: JSON, or @FILE to read it from a file
  --url       the service (default $OPSTRAILS_URL or http://127.0.0.1:8080)
  --key       an API key with the events:write scope, and read for --wait (default
              $OPSTRAILS_API_KEY; prefer the variable: a command line shows in process lists)
  --wait      wait for the impact report and print it; exit 3 on a regression
  --timeout   how long --wait waits, e.g. 90m, 2h, 1h30m (default 2h; a deployment's
              report is final about 70 minutes after it, with the default windows)

exit codes: 0 sent (and, with --wait, no regression), 1 error, 2 usage error, 3 regression
`;

/** Exit code of a report whose verdict is a regression. */
export const EXIT_REGRESSION = 3;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DEFAULT_TIMEOUT_MS = 2 * 3_600_000;

class UsageError extends Error {}

/** Milliseconds of "90m", "2h", "1h30m", "45s", or a number of seconds. */
export function parseTimeout(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') return undefined;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

/** The event source a CI system implies: its host and the repository's path. */
export function ciSource(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITHUB_REPOSITORY) return `${hostOf(env.GITHUB_SERVER_URL) ?? 'github.com'}/${env.GITHUB_REPOSITORY}`;
  if (env.CI_PROJECT_PATH) return `${env.CI_SERVER_HOST || 'gitlab.com'}/${env.CI_PROJECT_PATH}`;
  return undefined;
}

/**
 * An event id from the CI run: the same when the step is run again, new for a re-run of the
 * job. The job, type and subject are part of it, so two events of one run (staging, then
 * production; or two jobs) are not taken for retries of each other.
 */
export function ciEventId(env: NodeJS.ProcessEnv, event: { type: string; subject: string; service?: string }) {
  const tail = [event.type, event.subject, ...(event.service ? [event.service] : [])];
  if (env.GITHUB_RUN_ID) {
    return [env.GITHUB_RUN_ID, env.GITHUB_RUN_ATTEMPT || '1', ...(env.GITHUB_JOB ? [env.GITHUB_JOB] : []), ...tail]
      .join('-')
      .replace(/\s+/g, '_');
  }
  if (env.CI_JOB_ID) return [env.CI_PIPELINE_ID || 'pipeline', env.CI_JOB_ID, ...tail].join('-').replace(/\s+/g, '_');
  return undefined;
}

function hostOf(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).host : undefined;
  } catch {
    return undefined;
  }
}

/** The event's data: inline JSON, or @FILE. */
function readData(value: string): unknown {
  const text = value.startsWith('@') ? readFile(value.slice(1)) : value;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `--data is not valid JSON${value.startsWith('@') ? ` (${value.slice(1)})` : ''}: ${(e as Error).message}`,
    );
  }
}

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--data: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function parse(argv: string[], env: NodeJS.ProcessEnv) {
  let values;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        type: { type: 'string' },
        subject: { type: 'string' },
        version: { type: 'string' },
        service: { type: 'string' },
        source: { type: 'string' },
        id: { type: 'string' },
        time: { type: 'string' },
        data: { type: 'string' },
        url: { type: 'string' },
        key: { type: 'string' },
        wait: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return { help: true as const };
  const { type, subject } = values;
  if (!type) throw new UsageError('missing --type, e.g. --type deployment');
  if (!subject) throw new UsageError('missing --subject, e.g. --subject production');
  if (!values.version && eventTypeIs(type, 'deployment')) throw new UsageError('a deployment needs --version');
  if (values.time !== undefined && (!RFC3339.test(values.time) || Number.isNaN(Date.parse(values.time))))
    throw new UsageError('--time must be an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z');
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseTimeout(values.timeout);
  if (!timeoutMs) throw new UsageError('--timeout must be a duration such as 90m, 2h or 1h30m');
  const source = values.source ?? ciSource(env);
  if (!source) throw new UsageError('missing --source (no GITHUB_REPOSITORY or CI_PROJECT_PATH to derive it from)');
  const key = values.key ?? env.OPSTRAILS_API_KEY;
  if (!key) throw new UsageError('missing API key: set OPSTRAILS_API_KEY (or --key)');
  const url = values.url ?? env.OPSTRAILS_URL ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url must be an http(s) URL, got ${JSON.stringify(url)}`);
  const id = values.id ?? ciEventId(env, { type, subject, service: values.service }) ?? randomUUID();
  const event: CloudEvent = {
    specversion: '1.0',
    id,
    source,
    type,
    subject,
    ...(values.time ? { time: values.time } : {}),
    ...(values.version ? { version: values.version } : {}),
    ...(values.service ? { service: values.service } : {}),
    ...(values.data !== undefined ? { datacontenttype: 'application/json', data: readData(values.data) } : {}),
  };
  return { help: false as const, event, key, url: url.replace(/\/+$/, ''), wait: values.wait ?? false, timeoutMs };
}

/** Run the command; resolves with the exit code. */
export async function send(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let args;
  try {
    args = parse(argv, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`opstrails-impact send: ${e.message}\n\n${SEND_USAGE}`);
    return 2;
  }
  if (args.help) {
    out.write(SEND_USAGE);
    return 0;
  }
  const { event, url, wait, timeoutMs } = args;
  try {
    const client = createClient({
      url,
      apiKey: args.key,
      onRetry: ({ delayMs, error }) => err.write(`${error.message}; retrying in ${(delayMs / 1000).toFixed(1)} s\n`),
    });
    const sent = await client.sendEvent(event);
    const stored = sent.accepted.includes(event.id);
    out.write(
      `sent ${event.type} ${event.id} from ${event.source}: ${stored ? 'stored' : 'already stored (sent before; nothing changed)'}\n`,
    );
    if (!wait) return 0;
    out.write(`report: ${url}/reports/${encodeURIComponent(event.id)}\n`);
    let last = '';
    const report: ImpactReport = await client.waitForReport(event.id, {
      source: event.source,
      timeoutMs,
      onPoll: (r, nextMs) => {
        const line = `report ${r.status}: ${r.awaiting?.join('; ') || r.explanation}`;
        if (line !== last) err.write(`${line} (next look in ${Math.round(nextMs / 1000)} s)\n`);
        last = line;
      },
    });
    out.write('\n' + reportTable(report));
    if (report.status === 'failed') err.write('the report failed: no metric has data; see GET /v1/jobs\n');
    return report.verdict === 'regression' ? EXIT_REGRESSION : 0;
  } catch (e) {
    if (!(e instanceof OpsTrailsError)) throw e;
    err.write(`opstrails-impact send: ${e.message}\n`);
    return 1;
  }
}
