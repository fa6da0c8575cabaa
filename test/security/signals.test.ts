// `npm start`, the documented way to run, stops when only the npm process is signalled: the
// node process itself receives SIGTERM/SIGINT (npm's script execs it), answers the requests in
// flight, and exits; none is left serving.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/service.js';

const ROOT = join(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process id is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of a process's children. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

describe.each(['SIGTERM', 'SIGINT'] as const)('npm start and %s sent to npm only', (signal) => {
  it('the service answers the requests in flight, exits, and leaves no process serving', async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        DATA_DIR: mkdtempSync(join(tmpdir(), 'opstrails-signal-')),
        LOG_LEVEL: 'warn',
        // Answers that each read the store, as real polls do: with the per-key limit on, 429s
        // come back instantly and clients reconnect in a tight loop (see the note in cli/serve.ts).
        OPSTRAILS_RATE_LIMIT_REQUESTS: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    npm.stderr.on('data', (d) => stderr.push(String(d)));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    let key: string | undefined;
    for (let i = 0; i < 2400 && !key; i++) {
      key = /otk_[A-Za-z0-9_-]+/.exec(stderr.join(''))?.[0];
      if (!key) await sleep(100);
    }
    expect(key, stderr.join('')).toBeDefined();
    const service = childrenOf(npm.pid!);
    expect(service.length).toBeGreaterThan(0);

    // Clients polling over keep-alive connections while the signal arrives.
    const outcomes: string[] = [];
    let sending = true;
    const client = async () => {
      while (sending) {
        try {
          const res = await fetch(`${base}/v1/events?limit=5`, { headers: { authorization: `Bearer ${key}` } });
          await res.arrayBuffer();
          outcomes.push(String(res.status));
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause;
          outcomes.push(cause?.code ?? String(err));
          // Refused: the listener is closed, the service is gone or going.
          if (cause?.code === 'ECONNREFUSED') return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await sleep(1_000);
    const before = outcomes.length;
    npm.kill(signal);
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout')]);
    sending = false;
    await Promise.all(clients);

    expect(code).not.toBe('timeout');
    for (const pid of service) expect(alive(pid), `service process ${pid} still running`).toBe(false);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    expect(before).toBeGreaterThan(0);
    // Every request got an answer (200, 503 while closing, 429 from the per-key rate limit) or
    // found the listener closed: none was cut mid-way.
    const unexpected = outcomes.filter((o) => !/^\d{3}$/.test(o) && o !== 'ECONNREFUSED');
    expect(unexpected).toEqual([]);
    expect(outcomes.filter((o) => o === '200').length).toBeGreaterThan(0);
  }, 300_000);
});
