// `opstrails-impact report EVENT_ID`: an event's impact report from a running
// service, as a table for people or JSON for scripts.
import { parseArgs } from 'node:util';
import type { ImpactReport, MetricReport } from '../domain/report.js';
import { createClient, OpsTrailsError } from '../sdk/index.js';

const USAGE = `usage: opstrails-impact report EVENT_ID [--json] [--url URL] [--key KEY] [--source SOURCE]

  --url     the service (default $OPSTRAILS_URL or http://127.0.0.1:8080)
  --key     an API key with the read scope (default $OPSTRAILS_API_KEY)
  --source  the event's source, when several sources share the id
  --json    print the report as JSON (for scripts)
`;

const pct = (x: number | null | undefined, signed = true) =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : `${signed && x > 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
const num = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '—'
    : Math.abs(x) >= 100
      ? x.toFixed(0)
      : Math.abs(x) >= 1
        ? x.toFixed(2)
        : x.toPrecision(3);
const VERDICT: Record<string, string> = {
  regression: 'REGRESSION',
  improvement: 'improvement',
  no_change: 'no change',
  inconclusive: 'inconclusive',
  insufficient_data: 'insufficient data',
};

/** The level a metric is compared on: the rate for counts and ratios, the median for quantiles, else the mean. */
function level(m: MetricReport, side: 'before' | 'after'): string {
  const s = m[side];
  if (!s) return '—';
  const v = m.kind === 'count' || m.kind === 'ratio' ? s.rate : m.kind === 'quantile' ? s.median : s.mean;
  return m.kind === 'ratio' ? pct(v, false) : num(v);
}

/** Render a report as a plain-text table. */
export function reportTable(report: ImpactReport): string {
  const e = report.event;
  const lines = [
    `${e.type} ${e.id}${e.subject ? ` on ${e.subject}` : ''}${typeof e.version === 'string' ? ` (${e.version})` : ''} at ${e.time ?? '?'}`,
    `status: ${report.status}   verdict: ${report.verdict ? VERDICT[report.verdict] : 'pending'}`,
    report.explanation,
    ...(report.awaiting?.length ? [`awaiting: ${report.awaiting.join('; ')}`] : []),
    '',
  ];
  const rows = report.metrics.map((m) => [
    `${m.name}${m.critical ? ' *' : ''}`,
    m.verdict ? VERDICT[m.verdict] : m.status,
    level(m, 'before'),
    level(m, 'after'),
    pct(m.change?.relative),
    m.change?.ci ? `${pct(m.change.ci[0])} .. ${pct(m.change.ci[1])}` : '—',
    m.test?.q_value === null || m.test?.q_value === undefined ? '—' : m.test.q_value.toPrecision(2),
  ]);
  const header = ['metric', 'verdict', 'before', 'after', 'change', 'CI', 'q'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt));
  if (report.metrics.some((m) => m.critical)) lines.push('', '* critical metric');
  for (const m of report.metrics) lines.push('', `${m.name}: ${m.explanation}`);
  return lines.join('\n') + '\n';
}

/** Run the command; returns the exit code. */
export async function report(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        url: { type: 'string' },
        key: { type: 'string' },
        source: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    err.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const [eventId] = positionals;
  const key = values.key ?? env.OPSTRAILS_API_KEY;
  if (!eventId || !key) {
    err.write(`${!eventId ? 'missing EVENT_ID' : 'missing API key: --key or OPSTRAILS_API_KEY'}\n\n${USAGE}`);
    return 2;
  }
  const base = (values.url ?? env.OPSTRAILS_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  // One attempt: a person at a terminal reads the error and runs it again.
  const client = createClient({ url: base, apiKey: key, retry: { maxAttempts: 1 } });
  let parsedReport: ImpactReport;
  try {
    parsedReport = await client.getImpact(eventId, { source: values.source });
  } catch (e) {
    if (!(e instanceof OpsTrailsError)) throw e;
    err.write(e.status === null ? `cannot reach ${base}: ${e.detail}\n` : `HTTP ${e.status}: ${e.detail}\n`);
    return 1;
  }
  out.write(values.json ? JSON.stringify(parsedReport, null, 2) + '\n' : reportTable(parsedReport));
  return 0;
}
