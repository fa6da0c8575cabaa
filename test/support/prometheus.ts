// Starts a real Prometheus server (Debian's `prometheus` package) on a free
// loopback port, with samples the test writes itself as OpenMetrics text and
// loads with `promtool tsdb create-blocks-from openmetrics`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One gauge sample to load: labels, value (NaN allowed), time in epoch ms. */
export interface LoadedSample {
  metric: string;
  labels: Record<string, string>;
  value: number;
  ts: number;
}

export interface BasicAuthUser {
  username: string;
  password: string;
  /** bcrypt hash of the password, as Prometheus' --web.config.file wants it. */
  bcrypt: string;
}

/**
 * A fixed test user. Hash made with `htpasswd -nbB -C 5 opstrails 'pr0m-test-pass'`
 * (apache2-utils), kept here so the tests need no bcrypt tool.
 */
export const TEST_BASIC_USER: BasicAuthUser = {
  username: 'opstrails',
  password: 'pr0m-test-pass',
  bcrypt: '$2y$05$boCRCBNZjVfpiUEu46xJgO8RAKB/QCE9fLA.dMGYICMtlVGtAcU8y',
};

export interface RunningPrometheus {
  url: string;
  version: string;
  stop(): Promise<void>;
}

function which(binary: string): string | undefined {
  const out = spawnSync('/bin/sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const path = out.stdout.trim();
  return out.status === 0 && path ? path : undefined;
}

/**
 * Where the binaries are, or why not. Under CI=true a missing binary is an
 * error the tests must report, so CI cannot pass without the real server.
 */
export function prometheusAvailability(): { available: true } | { available: false; reason: string } {
  const missing = ['prometheus', 'promtool'].filter((b) => !which(b));
  if (missing.length === 0) return { available: true };
  return {
    available: false,
    reason: `${missing.join(' and ')} not found on PATH: install Debian's package with \`apt-get install -y prometheus\``,
  };
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** OpenMetrics text for gauges; every metric family is declared once and samples are in time order. */
export function toOpenMetrics(samples: LoadedSample[]): string {
  const families = new Map<string, LoadedSample[]>();
  for (const s of samples) families.set(s.metric, [...(families.get(s.metric) ?? []), s]);
  const lines: string[] = [];
  for (const [metric, list] of families) {
    lines.push(`# TYPE ${metric} gauge`);
    for (const s of [...list].sort((a, b) => a.ts - b.ts)) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v.replace(/["\\]/g, '\\$&')}"`)
        .join(',');
      lines.push(`${metric}{${labels}} ${formatValue(s.value)} ${s.ts / 1000}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${output.slice(-2000)}`)),
    );
  });
}

/** Load the samples into a fresh TSDB and start Prometheus on 127.0.0.1; resolves once /-/ready answers 200. */
export async function startPrometheus(opts: {
  samples: LoadedSample[];
  basicAuth?: BasicAuthUser;
}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'opstrails-prom-'));
  const dataDir = join(dir, 'data');
  const input = join(dir, 'samples.om');
  await writeFile(input, toOpenMetrics(opts.samples));
  await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', input, dataDir]);
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    // Loaded blocks are in the past; never let retention delete them mid-test.
    '--storage.tsdb.retention.time=100y',
  ];
  const headers: Record<string, string> = {};
  if (opts.basicAuth) {
    const webConfig = join(dir, 'web.yml');
    await writeFile(webConfig, `basic_auth_users:\n  ${opts.basicAuth.username}: '${opts.basicAuth.bcrypt}'\n`);
    args.push(`--web.config.file=${webConfig}`);
    headers.authorization = `Basic ${Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64')}`;
  }
  const port = await freePort();
  args.push(`--web.listen-address=127.0.0.1:${port}`);
  let log = '';
  const child: ChildProcess = spawn('prometheus', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  let exited = false;
  child.on('exit', () => (exited = true));

  const stop = async () => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
      if (!exited) child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited before it was ready:\n${log.slice(-3000)}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`, { headers });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const info = (await (await fetch(`${url}/api/v1/status/buildinfo`, { headers })).json()) as {
    data?: { version?: string };
  };
  return { url, version: info.data?.version ?? 'unknown', stop };
}
