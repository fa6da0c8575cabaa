// Secret keys end to end: `rotate-secrets` in-process on the server backend (counts,
// exit codes, --reset-unreadable), then the real service and command as processes on
// the embedded store: a key set on an existing data directory, the start-up check,
// key files, and a connection no configured key opens.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSecrets, type CommandOutput } from '../../cli/rotate-secrets.js';
import { openStore, type Store } from '../../store/index.js';
import { SecretBox } from '../../store/secrets.js';
import { startClickHouseHttp, type ClickHouseHttp } from '../support/clickhouse-http.js';
import { BIN, startService, type ServiceProcess } from '../support/service.js';
import { databaseName, sharedChdb } from '../support/store.js';

const K1 = 'first-key-0123456789abcdefghijklmnop';
const K2 = 'second-key-0123456789abcdefghijklmno';
const LOST = 'lost-key-0123456789abcdefghijklmnopq';
const SECRET = 'SUPERSECRET-93c0-do-not-leak';

/** Output of one in-process run. */
function capture(): CommandOutput & { out: string; err: string } {
  const c = {
    out: '',
    err: '',
    stdout: (t: string) => void (c.out += t),
    stderr: (t: string) => void (c.err += t),
  };
  return c;
}

describe('rotate-secrets on a ClickHouse server', () => {
  let endpoint: ClickHouseHttp;
  const database = databaseName('rot');
  const stores: Store[] = [];
  let env: Record<string, string>;
  const ids: Record<string, { org: string; id: string }> = {};
  let hookSecret: string;

  const open = async (passphrase: string) => {
    const store = await openStore({
      clickhouseUrl: endpoint.url,
      database,
      secretBox: SecretBox.fromPassphrase(passphrase),
    });
    stores.push(store);
    return store;
  };
  const run = async (argv: string[], extra: Record<string, string> = {}) => {
    const out = capture();
    const code = await rotateSecrets(argv, { ...env, ...extra }, out);
    for (const text of [out.out, out.err]) {
      expect(text).not.toContain('SUPERSECRET');
      for (const key of [K1, K2, LOST]) expect(text).not.toContain(key);
    }
    return { code, ...out };
  };

  beforeAll(async () => {
    endpoint = await startClickHouseHttp(sharedChdb().session);
    env = { CLICKHOUSE_URL: endpoint.url, CLICKHOUSE_DATABASE: database, LOG_LEVEL: 'silent' };
    const underK1 = await open(K1);
    const orgA = (await underK1.orgs.create('A', 'pro')).id;
    const orgB = (await underK1.orgs.create('B', 'pro')).id;
    const make = async (store: Store, org: string, name: string) => {
      const c = await store.connections.create(org, {
        provider: 'datadog',
        name,
        config: {},
        secrets: { api_key: `${SECRET}-${name}` },
      });
      ids[name] = { org, id: c.id };
    };
    await make(underK1, orgA, 'a');
    await make(underK1, orgB, 'b');
    await make(await open(LOST), orgB, 'lost');
    // Webhook secrets: org A's under K1, org B's under the lost key.
    hookSecret = (await underK1.orgs.setNotify(orgA, 'https://hooks.example.com/a'))!.secret!;
    await (await open(LOST)).orgs.setNotify(orgB, 'https://hooks.example.com/b');
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await endpoint?.close();
  });

  it('re-encrypts what a previous key opens, names the unreadable ones and exits 1', async () => {
    const first = await run([], { OPSTRAILS_SECRET_KEY: K2, OPSTRAILS_SECRET_KEY_PREVIOUS: `${K1}, ${K2}` });
    expect(first.code).toBe(1);
    const k2 = SecretBox.fromPassphrase(K2).currentKeyId;
    const k1 = SecretBox.fromPassphrase(K1).currentKeyId;
    expect(first.out).toContain(
      `keys: current ${k2} (OPSTRAILS_SECRET_KEY); previous ${k1} (OPSTRAILS_SECRET_KEY_PREVIOUS[1])`,
    );
    expect(first.out).toContain('re-encrypted 2, already current 0, unreadable 1');
    expect(first.out).toContain(`unreadable: org ${ids.lost.org} connection ${ids.lost.id}`);
    expect(first.out).toContain(`sealed under key ${SecretBox.fromPassphrase(LOST).currentKeyId}`);
    expect(first.out).not.toContain(ids.a.id);
    expect(first.err).toContain('OPSTRAILS_SECRET_KEY_PREVIOUS');
    expect(first.err).toContain('--reset-unreadable');
    expect(first.out).toContain('webhook secrets: re-encrypted 1, already current 0, unreadable 1');
    expect(first.out).toContain(`unreadable: org ${ids.lost.org} webhook secret`);
    expect(first.out).not.toContain(hookSecret);

    // Nothing left to do for the readable ones, and the current key alone reads them.
    const again = await run([], { OPSTRAILS_SECRET_KEY: K2 });
    expect(again.code).toBe(1);
    expect(again.out).toContain('re-encrypted 0, already current 2, unreadable 1');
    const currentOnly = await open(K2);
    expect(await currentOnly.connections.secrets(ids.a.org, ids.a.id)).toEqual({ api_key: `${SECRET}-a` });
    expect(await currentOnly.connections.secrets(ids.b.org, ids.b.id)).toEqual({ api_key: `${SECRET}-b` });
    expect(await currentOnly.orgs.notifyTarget(ids.a.org)).toEqual({
      url: 'https://hooks.example.com/a',
      secret: hookSecret,
    });
  });

  it('--reset-unreadable empties what no key opens and marks it failing; then every secret is current', async () => {
    const reset = await run(['--reset-unreadable'], { OPSTRAILS_SECRET_KEY: K2 });
    expect(reset.code).toBe(0);
    expect(reset.out).toContain('re-encrypted 0, already current 2, unreadable 1 (reset)');
    expect(reset.err).toContain('enter their secrets again');
    const store = await open(K2);
    expect(await store.connections.get(ids.lost.org, ids.lost.id)).toMatchObject({ status: 'failing' });
    expect(reset.out).toContain('webhook secrets: re-encrypted 0, already current 1, unreadable 1 (webhook removed)');
    expect((await store.orgs.get(ids.lost.org))!.notify_url).toBeNull();

    const clean = await run([], { OPSTRAILS_SECRET_KEY: K2, OPSTRAILS_SECRET_KEY_PREVIOUS: K1 });
    expect(clean.code).toBe(0);
    expect(clean.out).toContain('re-encrypted 0, already current 3, unreadable 0');
    expect(clean.out).toContain('webhook secrets: re-encrypted 0, already current 1, unreadable 0');
    expect(clean.out).toContain('OPSTRAILS_SECRET_KEY_PREVIOUS is no longer needed');
  });

  it('answers usage errors with 2 and a missing key with the configuration error', async () => {
    expect((await run(['--everything'])).code).toBe(2);
    expect((await run(['--help'])).out).toContain('usage: opstrails-impact rotate-secrets');
    await expect(rotateSecrets([], env, capture())).rejects.toThrow(
      /OPSTRAILS_SECRET_KEY \(or OPSTRAILS_SECRET_KEY_FILE\) is required with CLICKHOUSE_URL/,
    );
  });
});

// ---------------------------------------------------------------------------
// The real service and command as processes on one embedded data directory.

type Running = ServiceProcess;

/** Every service started, so a failed test leaves none running on the data directory. */
const started: ChildProcess[] = [];

const start = (env: Record<string, string>) => startService(env, { onSpawn: (proc) => started.push(proc) });

async function stop(running: Running): Promise<void> {
  running.proc.kill('SIGTERM');
  expect(await running.exited).toBe(0);
}

/** Run the command to its end (the service must not be running on the same data directory). */
function command(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('secret keys of the service on the embedded default', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-keys-'));
  const keyDir = mkdtempSync(join(tmpdir(), 'opstrails-keyfile-'));
  const keyFile = join(keyDir, 'secret');
  let auth: Record<string, string>;
  const connections: string[] = [];
  const post = (base: string, path: string, body?: object) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: body ? { ...auth, 'content-type': 'application/json' } : auth,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  const check = async (base: string, id: string) => {
    const res = await post(base, `/v1/connections/${id}/check`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  afterAll(() => {
    for (const proc of started) if (proc.exitCode === null) proc.kill('SIGKILL');
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('keeps connections readable when OPSTRAILS_SECRET_KEY is set on an existing data directory', async () => {
    const first = await start({ DATA_DIR: dataDir });
    for (let i = 0; i < 100 && !/otk_/.test(first.stderr.join('')); i++) await new Promise((r) => setTimeout(r, 50));
    auth = { authorization: `Bearer ${/otk_[A-Za-z0-9_-]+/.exec(first.stderr.join(''))![0]}` };
    const created = await post(first.base, '/v1/connections', { provider: 'testdata', name: 'one' });
    expect(created.status).toBe(201);
    connections.push(((await created.json()) as { id: string }).id);
    const checked = await check(first.base, connections[0]);
    expect(checked.status, checked.body).toBe(200);
    await stop(first);
    expect(existsSync(join(dataDir, 'secret.key'))).toBe(true);

    // The key file is now a previous key: the check works, and re-encrypts under the new key.
    const second = await start({ DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY: K1 });
    const c = await check(second.base, connections[0]);
    expect(c.status, c.body).toBe(200);
    expect(JSON.parse(c.body).ok).toBe(true);
    const made = await post(second.base, '/v1/connections', { provider: 'testdata', name: 'two' });
    connections.push(((await made.json()) as { id: string }).id);
    await stop(second);
    expect(second.stdout.join('')).toContain('1 stored connection secret(s) are under a previous key');

    // Both are under K1 already (one re-encrypted on read): the key file is no longer needed.
    const rotated = command(['rotate-secrets'], { DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY: K1 });
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('re-encrypted 0, already current 2, unreadable 0');
    expect(rotated.stdout).toContain('delete the key file');
    rmSync(join(dataDir, 'secret.key'));
  }, 120_000);

  it('refuses to start, in one line naming the variable, when the key decrypts no stored secret', () => {
    const r = spawnSync(process.execPath, [BIN, 'serve'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY: K2, PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^opstrails-impact: OPSTRAILS_SECRET_KEY does not decrypt any of the 2 stored connection secrets \(org org_\w+ connection con_\w+; org org_\w+ connection con_\w+; sealed under key [0-9a-f]{8}\): set OPSTRAILS_SECRET_KEY_PREVIOUS to the key they were stored under/,
    );
    for (const id of connections) expect(lines[0]).toContain(id);
    expect(r.stderr + r.stdout).not.toContain(K2);
    expect(r.stderr + r.stdout).not.toContain(K1);
  }, 60_000);

  it('refuses a key file others can read, in one line naming OPSTRAILS_SECRET_KEY_FILE', () => {
    writeFileSync(keyFile, `${K2}\n`, { mode: 0o644 });
    chmodSync(keyFile, 0o644);
    for (const args of [['serve'], ['rotate-secrets']]) {
      const r = command(args, { DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY_FILE: keyFile, PORT: '0' });
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('invalid OPSTRAILS_SECRET_KEY_FILE');
      expect(lines[0]).toContain(`${keyFile} has mode 0644`);
      expect(lines[0]).not.toContain(K2);
    }
  }, 60_000);

  it('moves to a key file with a previous key; a connection no key opens answers secret_undecryptable', async () => {
    chmodSync(keyFile, 0o600);
    // K2 from the file is current, K1 previous: the service reads both, re-encrypting what it reads.
    const moving = await start({
      DATA_DIR: dataDir,
      OPSTRAILS_SECRET_KEY_FILE: keyFile,
      OPSTRAILS_SECRET_KEY_PREVIOUS: K1,
    });
    expect((await check(moving.base, connections[0])).status).toBe(200);
    await stop(moving);

    // Without K1 the second connection (never read under K2) is unreadable: the service starts,
    // says so in one error line, and that connection alone answers the typed problem.
    const partial = await start({ DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY_FILE: keyFile });
    const errorLine = partial.stdout
      .join('')
      .split('\n')
      .find((l) => l.includes('secret_undecryptable'));
    expect(errorLine).toBeDefined();
    const logged = JSON.parse(errorLine!);
    expect(logged.msg).toContain(
      `OPSTRAILS_SECRET_KEY_FILE does not decrypt 1 of 2 stored connection secrets (org ${logged.connections[0].org_id} connection ${connections[1]}`,
    );
    expect(logged.msg).toContain('OPSTRAILS_SECRET_KEY_PREVIOUS');
    expect((await check(partial.base, connections[0])).status).toBe(200);
    const refused = await check(partial.base, connections[1]);
    expect(refused.status).toBe(409);
    expect(refused.type).toContain('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ status: 409, code: 'secret_undecryptable' });
    expect(JSON.parse(refused.body).detail).toContain('OPSTRAILS_SECRET_KEY_PREVIOUS');
    // The command needs the data directory to itself.
    const busy = command(['rotate-secrets'], { DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY_FILE: keyFile });
    expect(busy.status).toBe(1);
    expect(busy.stderr.trim().split('\n').at(-1)).toBe(
      `opstrails-impact rotate-secrets: ${dataDir} is open in another process: stop the service first (one process owns DATA_DIR)`,
    );
    await stop(partial);
    const everything = partial.stdout.join('') + partial.stderr.join('') + refused.body;
    expect(everything).not.toContain(K1);
    expect(everything).not.toContain(K2);

    const stuck = command(['rotate-secrets'], { DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY_FILE: keyFile });
    expect(stuck.status).toBe(1);
    expect(stuck.stdout).toContain('re-encrypted 0, already current 1, unreadable 1');
    expect(stuck.stdout).toContain(`connection ${connections[1]}`);
    const fixed = command(['rotate-secrets'], {
      DATA_DIR: dataDir,
      OPSTRAILS_SECRET_KEY_FILE: keyFile,
      OPSTRAILS_SECRET_KEY_PREVIOUS: K1,
    });
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('re-encrypted 1, already current 1, unreadable 0');
    const current = command(['rotate-secrets'], { DATA_DIR: dataDir, OPSTRAILS_SECRET_KEY_FILE: keyFile });
    expect(current.status).toBe(0);
    expect(current.stdout).toContain('re-encrypted 0, already current 2, unreadable 0');
  }, 180_000);
});
