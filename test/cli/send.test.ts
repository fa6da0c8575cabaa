// `opstrails-impact send`: the real command as a child process against the whole
// service in-process (its clock driven here), and its flags in-process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ciEventId, ciSource, parseTimeout, send } from '../../cli/send.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';

const BIN = join(import.meta.dirname, '../../bin/opstrails-impact.js');
const MIN = 60_000;
// The deployment: checkout errors jump 50% at T. The service's clock starts after its
// windows closed, so its report waits only for the fetch this test lets run.
const T = Date.UTC(2026, 10, 14, 16, 0);
const iso = (ms: number) => new Date(ms).toISOString();
const GITHUB = { GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '9001', GITHUB_RUN_ATTEMPT: '2', GITHUB_JOB: 'deploy' };

let p: Pipeline;
let base: string;
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a running child printed so far, and whether it is still running. */
interface Progress {
  stdout: string;
  stderr: string;
  exited: boolean;
}

/** The installed command, run to its end without blocking this process (the service lives here). */
function run(args: string[], env: Record<string, string>, whileRunning?: (progress: Progress) => Promise<void>) {
  return new Promise<Run>((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'send', ...args], { env: { PATH: process.env.PATH, ...env } });
    const progress: Progress = { stdout: '', stderr: '', exited: false };
    proc.stdout.on('data', (d) => (progress.stdout += String(d)));
    proc.stderr.on('data', (d) => (progress.stderr += String(d)));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 110_000);
    const during = whileRunning?.(progress).catch((err: unknown) => {
      proc.kill('SIGKILL');
      reject(err as Error);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      progress.exited = true;
      void Promise.resolve(during).then(() => resolve({ code, stdout: progress.stdout, stderr: progress.stderr }));
    });
  });
}

/** Resolves once `done()` holds; rejects if the child exits first. */
async function until(progress: Progress, done: () => boolean): Promise<void> {
  while (!done()) {
    if (progress.exited) throw new Error(`the command exited early: ${progress.stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sink = () => {
  const chunks: string[] = [];
  const stream = new Writable({ write: (c, _e, done) => (chunks.push(String(c)), done()) });
  return { stream, text: () => chunks.join('') };
};

/** The command in-process: exit code and what it printed. */
async function sendHere(args: string[], env: Record<string, string | undefined> = {}) {
  const out = sink();
  const err = sink();
  const code = await send(args, out.stream, err.stream, env);
  return { code, stdout: out.text(), stderr: err.text() };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'opstrails-send-'));
  p = await pipeline(T + 90 * MIN);
  const connection = (await p.call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic' })).json();
  const metric = await p.call('POST', '/v1/metrics', {
    connection_id: connection.id,
    name: 'Checkout errors',
    kind: 'count',
    direction: 'increase_is_bad',
    critical: true,
    applies_to: { subjects: ['production'] },
    query: { shape: 'count', base: 300, noise: 0.03, changes: [{ at: iso(T), relative: 0.5 }] },
  });
  expect(metric.statusCode, metric.body).toBe(201);
  base = await p.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await p?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('send as a process', () => {
  it('--wait prints the report and exits 3 on a regression; the same step again is a duplicate', async () => {
    const env = { ...GITHUB, OPSTRAILS_URL: base, OPSTRAILS_API_KEY: p.key };
    const id = '9001-2-deploy-deployment-production';
    const waited = await run(
      [
        '--type',
        'deployment',
        '--subject',
        'production',
        '--version',
        'v1.4.2',
        '--time',
        iso(T),
        '--wait',
        '--timeout',
        '10m',
      ],
      env,
      async (progress) => {
        // Once the command has seen the report pending, let the scheduler fetch the windows.
        await until(progress, () => progress.stderr.includes('report pending'));
        await p.advanceTo(T + 100 * MIN);
      },
    );
    expect(waited.stderr).toContain('report pending: Checkout errors: fetching its windows');
    expect(waited.code, waited.stderr).toBe(3);
    expect(waited.stdout).toContain(`sent deployment ${id} from github.com/acme/shop: stored`);
    expect(waited.stdout).toContain(`report: ${base}/reports/${id}`);
    expect(waited.stdout).toContain('status: ready   verdict: REGRESSION');
    // The per-metric sentence, as the report has it.
    const report = (await p.call('GET', `/v1/events/${id}/impact`)).json();
    expect(report.event).toMatchObject({ source: 'github.com/acme/shop', version: 'v1.4.2', time: iso(T) });
    expect(waited.stdout).toContain(`Checkout errors: ${report.metrics[0].explanation}`);
    expect(waited.stdout + waited.stderr).not.toContain(p.key);

    // The same step again (a retried job step): the same id, nothing stored twice.
    const again = await sendHere(['--type', 'deployment', '--subject', 'production', '--version', 'v1.4.2'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`sent deployment ${id} from github.com/acme/shop: already stored`);
  }, 120_000);

  it('exits 1 on a refused key without printing it, and 2 on a usage error', async () => {
    const wrongKey = 'otk_not_a_key_of_this_service_0123456789';
    const [refused, usage] = await Promise.all([
      run(['--type', 'incident', '--subject', 'production', '--source', 'pager'], {
        OPSTRAILS_URL: base,
        OPSTRAILS_API_KEY: wrongKey,
      }),
      run(['--type', 'deployment', '--subject', 'production', '--version', 'v1'], { OPSTRAILS_API_KEY: p.key }),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('HTTP 401');
    expect(refused.stdout + refused.stderr).not.toContain(wrongKey);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing --source (no GITHUB_REPOSITORY or CI_PROJECT_PATH');
  }, 120_000);
});

describe('send flags (in-process)', () => {
  const auth = () => ({ OPSTRAILS_URL: base, OPSTRAILS_API_KEY: p.key });

  it('sends --data from a file or inline, with --id, --source and --service', async () => {
    const file = join(dir, 'data.json');
    writeFileSync(file, JSON.stringify({ commit: 'abc123', changes: ['checkout'] }));
    const fromFile = await sendHere(
      [
        '--type',
        'rollback',
        '--subject',
        'staging',
        '--source',
        'ci',
        '--id',
        'rb-1',
        '--service',
        'api',
        '--data',
        `@${file}`,
      ],
      auth(),
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const inline = await sendHere(
      [
        '--type',
        'feature-flag',
        '--subject',
        'staging',
        '--source',
        'ci',
        '--id',
        'ff-1',
        '--data',
        '{"flag":"new-cart"}',
      ],
      auth(),
    );
    expect(inline.code, inline.stderr).toBe(0);
    const stored = (id: string) => p.call('GET', `/v1/events/${id}?source=ci`).then((r) => r.json());
    expect(await stored('rb-1')).toEqual({
      specversion: '1.0',
      id: 'rb-1',
      source: 'ci',
      type: 'rollback',
      subject: 'staging',
      service: 'api',
      datacontenttype: 'application/json',
      data: { commit: 'abc123', changes: ['checkout'] },
    });
    expect((await stored('ff-1')).data).toEqual({ flag: 'new-cart' });
  });

  it('--wait exits 0 when the report is final and not a regression', async () => {
    // No metric applies to staging: the report is final (with no metric) at once.
    const r = await sendHere(
      ['--type', 'deployment', '--subject', 'staging', '--version', 'v2', '--source', 'ci', '--wait'],
      auth(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('status: ready');
    expect(r.stdout).toContain('No metric applies to this event');
  });

  it.each([
    [['--subject', 'production'], 'missing --type'],
    [['--type', 'deployment'], 'missing --subject'],
    [['--type', 'deployment', '--subject', 'production'], 'a deployment needs --version'],
    [['--type', 'incident', '--subject', 'p', '--source', 's', '--time', 'yesterday'], '--time must be an RFC 3339'],
    [['--type', 'incident', '--subject', 'p', '--source', 's', '--data', '{oops'], '--data is not valid JSON'],
    [['--type', 'incident', '--subject', 'p', '--source', 's', '--data', '@/nonexistent.json'], 'cannot read'],
    [['--type', 'incident', '--subject', 'p', '--source', 's', '--timeout', 'soon'], '--timeout must be a duration'],
    [['--type', 'incident', '--subject', 'p', '--source', 's', '--url', 'ftp://x'], '--url must be an http(s) URL'],
    [['--type', 'incident', '--subject', 'p', '--source', 's', '--bogus'], "Unknown option '--bogus'"],
  ])('usage error %j → exit 2 naming it', async (args, message) => {
    const r = await sendHere(args, { OPSTRAILS_API_KEY: 'k' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('usage: opstrails-impact send');
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await sendHere(['--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('usage: opstrails-impact send --type TYPE');
  });

  it('asks for a key when none is given', async () => {
    const r = await sendHere(['--type', 'incident', '--subject', 'p', '--source', 's'], {});
    expect(r).toMatchObject({ code: 2, stderr: expect.stringContaining('missing API key') });
  });

  it('derives source and id from GitHub Actions and GitLab CI, else a UUID', () => {
    const e = { type: 'deployment', subject: 'production' };
    expect(ciSource(GITHUB)).toBe('github.com/acme/shop');
    expect(ciSource({ ...GITHUB, GITHUB_SERVER_URL: 'https://github.example.com' })).toBe(
      'github.example.com/acme/shop',
    );
    expect(ciSource({ CI_PROJECT_PATH: 'group/shop' })).toBe('gitlab.com/group/shop');
    expect(ciSource({ CI_PROJECT_PATH: 'group/shop', CI_SERVER_HOST: 'git.example.com' })).toBe(
      'git.example.com/group/shop',
    );
    expect(ciSource({})).toBeUndefined();
    expect(ciEventId(GITHUB, e)).toBe('9001-2-deploy-deployment-production');
    expect(ciEventId(GITHUB, { ...e, subject: 'staging', service: 'api' })).toBe(
      '9001-2-deploy-deployment-staging-api',
    );
    expect(ciEventId({ CI_PIPELINE_ID: '77', CI_JOB_ID: '1234' }, e)).toBe('77-1234-deployment-production');
    expect(ciEventId({}, e)).toBeUndefined();
  });

  it('reads timeouts as 90m, 2h, 1h30m, 45s or seconds', () => {
    expect([
      parseTimeout('90m'),
      parseTimeout('2h'),
      parseTimeout('1h30m'),
      parseTimeout('45s'),
      parseTimeout('120'),
    ]).toEqual([90 * MIN, 120 * MIN, 90 * MIN, 45_000, 120_000]);
    expect(parseTimeout('')).toBeUndefined();
    expect(parseTimeout('5 min')).toBeUndefined();
  });
});
