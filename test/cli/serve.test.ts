// The real service as a process: start-up validation, first-start bootstrap,
// SIGTERM draining accepted writes, and a restart that keeps everything.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../bin/opstrails-impact.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Running {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  base: string;
  exited: Promise<number | null>;
}

async function start(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'serve'], {
    env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info', ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  proc.stdout!.on('data', (d) => stdout.push(String(d)));
  proc.stderr!.on('data', (d) => stderr.push(String(d)));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`service exited: ${stderr.join('')}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { proc, stdout, stderr, base, exited };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`service did not become ready: ${stderr.join('')}`);
}

describe('configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT', 'integer port'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'one of fatal, error'],
    [{ CLICKHOUSE_URL: 'not a url' }, 'CLICKHOUSE_URL', 'http(s) URL'],
    [{ CLICKHOUSE_DATABASE: 'drop table;' }, 'CLICKHOUSE_DATABASE', 'letters, digits'],
  ])('a bad value stops start-up with one line naming the variable (%o)', (env, name, allowed) => {
    const r = spawnSync(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
    expect(lines[0]).toContain(allowed);
  });

  it('never echoes a secret variable in that line', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env.PATH, OPSTRAILS_ROOT_KEY: 'short-secret' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('OPSTRAILS_ROOT_KEY');
    expect(r.stderr).not.toContain('short-secret');
  });
});

describe('the service on the embedded default', () => {
  it('bootstraps a default org once, drains writes on SIGTERM and keeps everything across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-serve-'));
    const first = await start({ DATA_DIR: dataDir });
    // The key is printed once the scheduler has started too, which can be just after /readyz answers.
    for (let i = 0; i < 100 && !/otk_/.test(first.stderr.join('')); i++) await new Promise((r) => setTimeout(r, 50));
    const key = /otk_[A-Za-z0-9_-]+/.exec(first.stderr.join(''))?.[0];
    expect(key, 'first start prints an admin key').toBeDefined();
    expect(first.stdout.join('')).not.toContain(key!); // the log stream never carries it
    const auth = { authorization: `Bearer ${key}` };

    // A burst of writes with SIGTERM in the middle: every 202 must survive.
    const send = (i: number) =>
      fetch(`${first.base}/v1/events`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(
          Array.from({ length: 200 }, (_, j) => ({
            specversion: '1.0',
            id: `e-${i}-${j}`,
            source: 'burst',
            type: 'deployment',
            time: '2026-11-20T10:00:00Z',
          })),
        ),
      }).then(
        async (r) => ({ status: r.status, body: r.status === 202 ? await r.json() : undefined }),
        () => ({ status: 0, body: undefined }),
      );
    const inflight = Array.from({ length: 20 }, (_, i) => send(i));
    await new Promise((r) => setTimeout(r, 30));
    first.proc.kill('SIGTERM');
    const results = await Promise.all(inflight);
    expect(await first.exited).toBe(0);
    const acknowledged = results.filter((r) => r.status === 202).flatMap((r) => r.body.accepted as string[]);
    expect(acknowledged.length).toBeGreaterThan(0);

    const second = await start({ DATA_DIR: dataDir });
    try {
      expect(second.stderr.join('')).not.toMatch(/otk_/); // no second bootstrap
      expect(second.stdout.join('')).toContain('"migrations_applied":[]');
      const stored = new Set<string>();
      let cursor: string | null = null;
      do {
        const page: { items: { id: string }[]; next_cursor: string | null } = await (
          await fetch(`${second.base}/v1/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: auth })
        ).json();
        for (const e of page.items) stored.add(e.id);
        cursor = page.next_cursor;
      } while (cursor);
      for (const id of acknowledged) expect(stored.has(id), id).toBe(true);
    } finally {
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 60_000);
});

describe('the demo', () => {
  it('loads a synthetic week, computes the reports and links a regression, an improvement, a no-change and an insufficient-data case', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-demo-'));
    const port = await freePort();
    const proc = spawn(process.execPath, [BIN, 'demo'], {
      env: { PATH: process.env.PATH, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    const stderr: string[] = [];
    proc.stderr!.on('data', (d) => stderr.push(String(d)));
    proc.stdout!.resume();
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      let ready = false;
      for (let i = 0; i < 900 && !ready; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready =
          stderr.join('').includes('From a terminal') &&
          (await fetch(`${base}/readyz`).then(
            (r) => r.ok,
            () => false,
          ));
      }
      expect(ready, stderr.join('')).toBe(true);
      const out = stderr.join('');
      const key = /export KEY=(otk_[A-Za-z0-9_-]+)/.exec(out)![1];
      const auth = { authorization: `Bearer ${key}` };
      const events = await (await fetch(`${base}/v1/events?limit=100`, { headers: auth })).json();
      expect(events.items).toHaveLength(22);
      const metrics = await (await fetch(`${base}/v1/metrics`, { headers: auth })).json();
      expect(metrics.items.map((m: { kind: string }) => m.kind).sort()).toEqual([
        'count',
        'count',
        'count',
        'quantile',
        'ratio',
      ]);
      // Each linked report really has the verdict its line names.
      for (const [label, verdict] of [
        ['a regression', 'regression'],
        ['an improvement', 'improvement'],
        ['no change', 'no_change'],
      ]) {
        const id = new RegExp(`${label} +${base.replace(/[.]/g, '\\.')}/reports/([^ ]+)`).exec(out)?.[1];
        expect(id, `${label} link`).toBeDefined();
        const report = await (await fetch(`${base}/v1/events/${id}/impact`, { headers: auth })).json();
        expect(report.verdict, label).toBe(verdict);
      }
      const staging = await (await fetch(`${base}/v1/events/demo-staging-1/impact`, { headers: auth })).json();
      expect(staging.metrics.map((m: { verdict: string }) => m.verdict)).toEqual(['insufficient_data']);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  }, 120_000);
});
