// The backfill command as a real process against a replayed Datadog: killed with
// SIGKILL mid-run, then rerun: it finishes without re-fetching finished windows
// and without a duplicate point.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplay, type Replay } from '../support/replay.js';
import { askedWindow, baseValue, timeseriesAnswer, V2_PATH } from './support.js';

const CHILD = join(import.meta.dirname, 'backfill-child.ts');
const FROM = '2026-10-01T00:00:00Z';
const TO = '2026-10-11T00:00:00Z';
const MINUTES = 10 * 24 * 60;
// Datadog's 1,500-point cap at 60 s steps: 25 h per window.
const WINDOWS = Math.ceil(MINUTES / 1500);

let replay: Replay;
let dataDir: string;
const env = () => ({
  PATH: process.env.PATH,
  DATA_DIR: dataDir,
  OPSTRAILS_ALLOWED_PROVIDER_HOSTS: '127.0.0.1',
  LOG_LEVEL: 'warn',
});

/** Run the child to its end without blocking this process (the replay server lives here). */
function child(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { env: env() });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += String(d)));
    proc.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`child ${args[0]} exited ${code}: ${stderr}`));
    });
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'opstrails-backfill-'));
  // Each answer takes a moment, so the kill lands mid-run.
  replay = await startReplay((req) => ({ ...timeseriesAnswer(req, baseValue), delayMs: 400 }));
});
afterAll(async () => {
  await replay?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('backfill command', () => {
  it('killed with SIGKILL mid-backfill, a rerun finishes it with no duplicate points', async () => {
    const { orgId, metricId } = JSON.parse((await child(['setup', replay.url])).stdout);
    const args = ['backfill', '--metric', metricId, '--from', FROM, '--to', TO];

    // First run: kill it once two windows are stored.
    const first = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { env: env() });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress: ${stderr}`)), 45_000);
      first.stderr.on('data', (d) => {
        stderr += String(d);
        if ((stderr.match(/ succeeded \(/g) ?? []).length >= 2) {
          clearTimeout(timer);
          first.kill('SIGKILL');
          resolve();
        }
      });
    });
    expect(await exited).toBe(null);
    const doneFirst = [...stderr.matchAll(/window (\S+)\.\.(\S+) succeeded/g)].map((m) => Date.parse(m[1]));
    expect(doneFirst.length).toBeGreaterThanOrEqual(2);
    const requestsFirst = replay.requests.filter((r) => r.path === V2_PATH).length;
    expect(requestsFirst).toBeLessThan(WINDOWS);

    // Second run: continues; finished windows are not fetched again.
    const second = await child(args);
    expect(second.stdout).toMatch(new RegExp(`${WINDOWS}/${WINDOWS} windows, ${MINUTES} points`));
    const secondAsked = replay.requests
      .filter((r) => r.path === V2_PATH)
      .slice(requestsFirst)
      .map(askedWindow);
    expect(secondAsked.length).toBeLessThanOrEqual(WINDOWS - doneFirst.length);
    for (const from of doneFirst) expect(secondAsked.map((w) => w.from)).not.toContain(from);

    const verify = JSON.parse((await child(['verify', orgId, metricId])).stdout);
    expect(verify.points).toBe(MINUTES);
    expect(verify.distinct).toBe(MINUTES);
    expect(verify.jobs).toHaveLength(WINDOWS);
    expect(verify.jobs.every((s: string) => s === 'succeeded')).toBe(true);

    // A third run of the same range has nothing left to fetch.
    const before = replay.requests.length;
    expect((await child(args)).stdout).toMatch(new RegExp(`${WINDOWS}/${WINDOWS} windows`));
    expect(replay.requests.length).toBe(before);
  }, 120_000);

  it('rejects bad arguments with the usage', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', CHILD, 'backfill', '--metric', 'm', '--from', 'yesterday', '--to', TO],
      { env: env(), encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--from must be an RFC 3339 instant');
    expect(r.stderr).toContain('usage: opstrails-impact backfill');
  });
});
