// The real service as a child process (bin/opstrails-impact.js serve) on a free port: its
// JSON log lines and stderr kept for assertions, ready once /readyz answers 200.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '../../bin/opstrails-impact.js');

export interface ServiceProcess {
  proc: ChildProcess;
  base: string;
  /** Log lines (pino JSON) so far. */
  logs: Record<string, unknown>[];
  /** stdout as it came (the log lines' text). */
  stdout: string[];
  /** stderr so far (the first-start key is printed there). */
  stderr: string[];
  exited: Promise<number | null>;
}

/** A port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Start `serve` with this environment (PATH, PORT and LOG_LEVEL=info added) and wait until it is ready. */
export async function startService(
  env: Record<string, string>,
  opts: { timeoutMs?: number; onSpawn?: (proc: ChildProcess) => void } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info', ...env },
  });
  opts.onSpawn?.(proc);
  const logs: Record<string, unknown>[] = [];
  const stdout: string[] = [];
  let partial = '';
  proc.stdout!.on('data', (d) => {
    stdout.push(String(d));
    const lines = (partial + String(d)).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const stderr: string[] = [];
  proc.stderr!.on('data', (d) => stderr.push(String(d)));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + (opts.timeoutMs ?? 240_000);
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`service exited: ${stderr.join('')}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { proc, base, logs, stdout, stderr, exited };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`service did not become ready: ${stderr.join('')}`);
}

/** Kill the process now (no drain) and wait for it to be gone. */
export async function killService(service: ServiceProcess): Promise<void> {
  if (service.proc.exitCode === null && service.proc.signalCode === null) service.proc.kill('SIGKILL');
  await service.exited;
}

/** One JSON API call with a bearer key. */
export async function callJson(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}
