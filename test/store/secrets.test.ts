// Connection secrets under a key ring: sealing with key ids, reading under previous
// keys and the old format, re-encryption on read that never overwrites a newer change,
// key files, and a connection no configured key opens, through the real store and API.
import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createLogger } from '../../api/app.js';
import { createRuntime } from '../../runtime.js';
import type { Backend, Params } from '../../store/backend.js';
import { openStore, type Store } from '../../store/index.js';
import { SecretBox, SecretKeyFileError, SecretUndecryptableError } from '../../store/secrets.js';
import { databaseName, sharedChdb, unclosable } from '../support/store.js';

const K1 = 'first-key-0123456789abcdefghijklmnop';
const K2 = 'second-key-0123456789abcdefghijklmno';
const SECRET = 'SUPERSECRET-5b1e-do-not-leak';

describe('SecretBox', () => {
  const k1 = SecretBox.fromPassphrase(K1, 'OPSTRAILS_SECRET_KEY');
  const k2 = SecretBox.fromPassphrase(K2, 'OPSTRAILS_SECRET_KEY');

  it('seals under the current key and names it by id', () => {
    const sealed = k1.seal({ token: SECRET }, 'org/con');
    expect(sealed.split('.')).toHaveLength(5);
    expect(sealed.startsWith(`v2.${k1.currentKeyId}.`)).toBe(true);
    expect(k1.currentKeyId).toMatch(/^[0-9a-f]{8}$/);
    expect(k1.currentKeyId).not.toBe(k2.currentKeyId);
    expect(sealed).not.toContain(SECRET);
    expect(k1.unseal(sealed, 'org/con')).toEqual({ value: { token: SECRET }, stale: false });
  });

  it('opens what a previous key sealed, marked stale; seals only under the current key', () => {
    const ring = k2.withPrevious(k1);
    const old = k1.seal({ token: SECRET }, 'org/con');
    expect(ring.unseal(old, 'org/con')).toEqual({ value: { token: SECRET }, stale: true });
    expect(ring.seal({}, 'org/con').startsWith(`v2.${k2.currentKeyId}.`)).toBe(true);
    expect(ring.describeKeys()).toEqual([
      { id: k2.currentKeyId, source: 'OPSTRAILS_SECRET_KEY', current: true },
      { id: k1.currentKeyId, source: 'OPSTRAILS_SECRET_KEY', current: false },
    ]);
    // The same key given twice is one key.
    expect(k2.withPrevious(k2, k1).describeKeys()).toHaveLength(2);
  });

  it('without the key, throws a typed error naming the key id, never the value', () => {
    const old = k1.seal({ token: SECRET }, 'org/con');
    let error: unknown;
    try {
      k2.open(old, 'org/con');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SecretUndecryptableError);
    const e = error as SecretUndecryptableError;
    expect(e).toMatchObject({ code: 'secret_undecryptable', retryable: false, keyId: k1.currentKeyId });
    expect(e.message).toContain(`sealed under key ${k1.currentKeyId}, which is not configured`);
    expect(e.message).not.toContain(SECRET);
  });

  it('reads the format without a key id (every key tried) and marks it stale even under the current key', () => {
    // The v1 format, written here independently of SecretBox: scrypt-derived key, "v1.iv.tag.body".
    const key = scryptSync(K1, 'opstrails-impact/secrets/v1', 32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from('org/con'));
    const body = Buffer.concat([cipher.update(JSON.stringify({ token: SECRET }), 'utf8'), cipher.final()]);
    const v1 = ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
    expect(k2.withPrevious(k1).unseal(v1, 'org/con')).toEqual({ value: { token: SECRET }, stale: true });
    expect(k1.unseal(v1, 'org/con')).toEqual({ value: { token: SECRET }, stale: true });
    expect(() => k2.open(v1, 'org/con')).toThrow(/no configured key decrypts it/);
  });

  it('takes the key id as a hint only: a wrong id still opens, an altered body or another row does not', () => {
    const ring = k2.withPrevious(k1);
    const sealed = k1.seal({ token: SECRET }, 'org/con');
    const [v, , iv, tag, body] = sealed.split('.');
    expect(ring.open([v, k2.currentKeyId, iv, tag, body].join('.'), 'org/con')).toEqual({ token: SECRET });
    const flipped = Buffer.from(body, 'base64');
    flipped[0] ^= 1;
    expect(() => ring.open([v, k1.currentKeyId, iv, tag, flipped.toString('base64')].join('.'), 'org/con')).toThrow(
      SecretUndecryptableError,
    );
    expect(() => ring.open(sealed, 'org/other')).toThrow(/names key .* which is configured, but does not decrypt/);
    expect(() => ring.open('plain text', 'org/con')).toThrow(/not a sealed secret/);
  });
});

describe('key files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opstrails-keys-'));

  it('OPSTRAILS_SECRET_KEY_FILE: mode 0600 or stricter, content trimmed, the same key as the variable', () => {
    const path = join(dir, 'key');
    writeFileSync(path, `  ${K1}\n`, { mode: 0o600 });
    const fromFile = SecretBox.fromPassphraseFile(path, 'OPSTRAILS_SECRET_KEY_FILE');
    expect(fromFile.currentKeyId).toBe(SecretBox.fromPassphrase(K1).currentKeyId);
    chmodSync(path, 0o400);
    expect(SecretBox.fromPassphraseFile(path, 'f').currentKeyId).toBe(fromFile.currentKeyId);
  });

  it.each([
    [0o644, /mode 0644, readable by other users: chmod 600/],
    [0o640, /mode 0640/],
    [0o604, /mode 0604/],
  ])('refuses a key file of mode %o', (mode, message) => {
    const path = join(dir, `key-${mode.toString(8)}`);
    writeFileSync(path, K1, { mode });
    chmodSync(path, mode); // the umask may have narrowed it
    expect(() => SecretBox.fromPassphraseFile(path, 'f')).toThrow(SecretKeyFileError);
    expect(() => SecretBox.fromPassphraseFile(path, 'f')).toThrow(message);
    expect(() => SecretBox.fromPassphraseFile(path, 'f')).not.toThrow(K1);
  });

  it('refuses a missing file and a short key, without showing the key', () => {
    expect(() => SecretBox.fromPassphraseFile(join(dir, 'absent'), 'f')).toThrow(/cannot read .*absent \(ENOENT\)/);
    const path = join(dir, 'short');
    writeFileSync(path, 'too-short-key\n', { mode: 0o600 });
    expect(() => SecretBox.fromPassphraseFile(path, 'f')).toThrow(/has 13 characters; at least 24/);
    expect(() => SecretBox.fromPassphraseFile(path, 'f')).not.toThrow(/too-short-key/);
  });

  it('DATA_DIR/secret.key: made with mode 0600 on first use, read (never made) as a previous key', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-data-'));
    expect(SecretBox.existingKeyFile(dataDir)).toBeUndefined();
    expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
    const made = SecretBox.fromKeyFile(dataDir);
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(SecretBox.existingKeyFile(dataDir)?.currentKeyId).toBe(made.currentKeyId);
    expect(made.currentKeySource).toBe(`key file ${join(dataDir, 'secret.key')}`);
  });
});

describe('connection secrets in the store', () => {
  const database = databaseName('sec');
  const k1 = SecretBox.fromPassphrase(K1, 'OPSTRAILS_SECRET_KEY');
  const k2 = SecretBox.fromPassphrase(K2, 'OPSTRAILS_SECRET_KEY');
  let before: Store;
  let orgA: string;
  let orgB: string;
  const open = (secretBox: SecretBox, backend: Backend = unclosable(sharedChdb())) =>
    openStore({ backend, database, secretBox });
  const rawSecrets = async (store: Store, id: string) =>
    (
      await store.backend.query<{ secrets: string; updated_at: string }>(
        `SELECT secrets, updated_at FROM ${database}.connections FINAL WHERE connection_id = {id:String}`,
        { id },
      )
    )[0];

  beforeAll(async () => {
    before = await open(k1);
    orgA = (await before.orgs.create('A', 'pro')).id;
    orgB = (await before.orgs.create('B', 'pro')).id;
  });
  afterAll(async () => {
    await before?.close();
  });

  const create = (store: Store, org: string, name: string) =>
    store.connections.create(org, { provider: 'datadog', name, config: {}, secrets: { api_key: `${SECRET}-${name}` } });

  it('reads secrets under a previous key and writes them back under the current one, same version', async () => {
    const con = await create(before, orgA, 'a');
    const sealed = await rawSecrets(before, con.id);
    expect(sealed.secrets.startsWith(`v2.${k1.currentKeyId}.`)).toBe(true);

    const rotated = await open(k2.withPrevious(k1));
    expect(await rotated.connections.secrets(orgA, con.id)).toEqual({ api_key: `${SECRET}-a` });
    const after = await rawSecrets(rotated, con.id);
    expect(after.secrets.startsWith(`v2.${k2.currentKeyId}.`)).toBe(true);
    expect(after.updated_at).toBe(sealed.updated_at); // not a change: the connection's version stays

    // Now the current key alone reads it.
    const currentOnly = await open(k2);
    expect(await currentOnly.connections.secrets(orgA, con.id)).toEqual({ api_key: `${SECRET}-a` });
    expect((await rawSecrets(currentOnly, con.id)).secrets).toBe(after.secrets); // nothing to write back
  });

  it('a write-back landing after a newer change of the row does not undo that change', async () => {
    const con = await create(before, orgA, 'raced');
    // The backend of the rotated store lets another writer rename the connection right
    // after the row is read, before its re-encrypted secrets are written back.
    const shared = unclosable(sharedChdb());
    let raced = false;
    const racing: Backend = {
      ...shared,
      async query<T>(sql: string, params?: Params): Promise<T[]> {
        const rows = await shared.query<T>(sql, params);
        if (!raced && sql.includes('.connections FINAL') && params?.k0 === con.id) {
          raced = true;
          await before.connections.update(orgA, con.id, { name: 'renamed meanwhile' });
        }
        return rows;
      },
    };
    const rotated = await open(k2.withPrevious(k1), racing);
    expect(await rotated.connections.secrets(orgA, con.id)).toEqual({ api_key: `${SECRET}-raced` });
    expect(raced).toBe(true);
    expect((await rotated.connections.get(orgA, con.id))?.name).toBe('renamed meanwhile');
    // The newer version kept its secrets (under the old key): still readable, and re-encrypted on this read.
    expect(await rotated.connections.secrets(orgA, con.id)).toEqual({ api_key: `${SECRET}-raced` });
    expect((await rawSecrets(rotated, con.id)).secrets.startsWith(`v2.${k2.currentKeyId}.`)).toBe(true);
  });

  it('names the connection and the fix when no configured key opens its secrets', async () => {
    const con = await create(before, orgB, 'b');
    const stranger = await open(SecretBox.fromPassphrase('unrelated-key-0123456789abcdef'));
    const error = await stranger.connections.secrets(orgB, con.id).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SecretUndecryptableError);
    expect(error).toMatchObject({ code: 'secret_undecryptable', orgId: orgB, connectionId: con.id });
    const message = (error as Error).message;
    expect(message).toContain(`connection ${con.id}`);
    expect(message).toContain('OPSTRAILS_SECRET_KEY_PREVIOUS');
    expect(message).not.toContain(SECRET);
    // Everything but the secrets still reads.
    expect((await stranger.connections.get(orgB, con.id))?.name).toBe('b');
  });

  it('scans every org: current, stale (re-encrypted with reseal) and unreadable', async () => {
    const db = databaseName('scan');
    const s1 = await openStore({ backend: unclosable(sharedChdb()), database: db, secretBox: k1 });
    const org1 = (await s1.orgs.create('one', 'pro')).id;
    const org2 = (await s1.orgs.create('two', 'pro')).id;
    const a = await create(s1, org1, 'a');
    const b = await create(s1, org2, 'b');
    const gone = await create(s1, org2, 'deleted');
    await s1.connections.delete(org2, gone.id);
    const s0 = await openStore({
      backend: unclosable(sharedChdb()),
      database: db,
      secretBox: SecretBox.fromPassphrase('lost-key-0123456789abcdefghij'),
    });
    const lost = await create(s0, org2, 'lost');
    const s2 = await openStore({ backend: unclosable(sharedChdb()), database: db, secretBox: k2.withPrevious(k1) });
    const c = await create(s2, org1, 'c');

    const ids = (refs: { connection_id: string }[]) => refs.map((r) => r.connection_id).sort();
    const first = await s2.connections.scanSecrets();
    expect(ids(first.current)).toEqual([c.id]);
    expect(ids(first.stale)).toEqual([a.id, b.id].sort());
    expect(first.unreadable).toEqual([
      {
        org_id: org2,
        connection_id: lost.id,
        key_id: SecretBox.fromPassphrase('lost-key-0123456789abcdefghij').currentKeyId,
        reason: expect.stringContaining('which is not configured'),
      },
    ]);
    expect(JSON.stringify(first)).not.toContain(SECRET);
    // A scan without reseal wrote nothing.
    expect(ids((await s2.connections.scanSecrets()).stale)).toEqual([a.id, b.id].sort());

    const resealed = await s2.connections.scanSecrets({ reseal: true });
    expect(ids(resealed.stale)).toEqual([a.id, b.id].sort());
    const s3 = await openStore({ backend: unclosable(sharedChdb()), database: db, secretBox: k2 });
    const after = await s3.connections.scanSecrets();
    expect(ids(after.current)).toEqual([a.id, b.id, c.id].sort());
    expect(after.stale).toEqual([]);
    expect(ids(after.unreadable)).toEqual([lost.id]);

    const reset = await s3.connections.scanSecrets({ resetUnreadable: true });
    expect(ids(reset.unreadable)).toEqual([lost.id]);
    expect(await s3.connections.secrets(org2, lost.id)).toEqual({});
    expect(await s3.connections.get(org2, lost.id)).toMatchObject({
      status: 'failing',
      status_message: expect.stringContaining('enter them again'),
    });
    expect((await s3.connections.scanSecrets()).unreadable).toEqual([]);
  });
});

describe('a connection whose secrets no configured key opens, through the API', () => {
  const ROOT = 'root-key-for-secret-tests-0123456789';
  const database = databaseName('secapi');
  const logs: string[] = [];
  let apps: { close(): Promise<void> }[] = [];

  afterAll(async () => {
    for (const app of apps) await app.close();
    apps = [];
  });

  async function appWith(secretBox: SecretBox) {
    const store = await openStore({ backend: unclosable(sharedChdb()), database, secretBox });
    const runtime = await createRuntime({
      store,
      logger: createLogger('debug', { write: (l) => void logs.push(l) }),
      hostPolicy: { allowedHosts: [], allowAnyHost: true },
    });
    const app = await buildApp(runtime, { rootKey: ROOT });
    apps.push(app);
    return Object.assign(app, { store });
  }

  it('answers check and preview with 409 secret_undecryptable naming the fix; readable connections still work', async () => {
    const before = await appWith(SecretBox.fromPassphrase(K1));
    const org = await before.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { authorization: `Bearer ${ROOT}` },
      payload: { name: 'keys', plan: 'pro' },
    });
    const auth = { authorization: `Bearer ${org.json().admin_key}` };
    const post = (app: typeof before, url: string, payload?: object) =>
      app.inject({ method: 'POST', url, headers: auth, ...(payload ? { payload } : {}) });
    const datadog = (
      await post(before, '/v1/connections', {
        provider: 'datadog',
        name: 'dd',
        config: { base_url: 'http://127.0.0.1:9' },
        secrets: { api_key: SECRET, app_key: `${SECRET}-app` },
      })
    ).json();
    expect(datadog.id).toBeDefined();
    const synthetic = (await post(before, '/v1/connections', { provider: 'testdata', name: 'synthetic' })).json();
    const metric = await post(before, '/v1/metrics', {
      connection_id: synthetic.id,
      name: 'm',
      kind: 'gauge',
      query: { shape: 'gauge' },
      direction: 'either',
    });
    expect(metric.statusCode, metric.body).toBe(201);

    // The service comes back with another key and no previous one.
    const after = await appWith(SecretBox.fromPassphrase(K2));
    const check = await post(after, `/v1/connections/${datadog.id}/check`);
    expect(check.statusCode).toBe(409);
    expect(check.headers['content-type']).toContain('application/problem+json');
    expect(check.json()).toMatchObject({ status: 409, code: 'secret_undecryptable' });
    expect(check.json().detail).toContain(`connection ${datadog.id}`);
    expect(check.json().detail).toContain('OPSTRAILS_SECRET_KEY_PREVIOUS');
    const preview = await post(
      after,
      `/v1/metrics/${metric.json().id}/preview?from=2026-11-01T10:00:00Z&to=2026-11-01T11:00:00Z`,
    );
    expect(preview.statusCode).toBe(409);
    expect(preview.json().code).toBe('secret_undecryptable');
    // The connection itself still reads; the failed check changed nothing.
    const shown = await after.inject({ method: 'GET', url: `/v1/connections/${datadog.id}`, headers: auth });
    expect(shown.json()).toMatchObject({ id: datadog.id, status: 'unchecked' });

    // A connection made under the new key works beside them.
    const fresh = (await post(after, '/v1/connections', { provider: 'testdata', name: 'fresh' })).json();
    const ok = await post(after, `/v1/connections/${fresh.id}/check`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().ok).toBe(true);

    // With the key lost for good: emptied and marked failing, then an admin enters the secrets again.
    const reset = await after.store.connections.scanSecrets({ resetUnreadable: true });
    expect(reset.unreadable.map((u) => u.connection_id).sort()).toEqual([datadog.id, synthetic.id].sort());
    expect(
      (await after.inject({ method: 'GET', url: `/v1/connections/${datadog.id}`, headers: auth })).json(),
    ).toMatchObject({ status: 'failing' });
    const reentered = await after.inject({
      method: 'PATCH',
      url: `/v1/connections/${datadog.id}`,
      headers: auth,
      payload: { secrets: { api_key: SECRET, app_key: `${SECRET}-app` } },
    });
    expect(reentered.statusCode, reentered.body).toBe(200);
    expect(reentered.json().status).toBe('unchecked');
    expect(await after.store.connections.secrets(org.json().org.id, datadog.id)).toEqual({
      api_key: SECRET,
      app_key: `${SECRET}-app`,
    });

    for (const body of [check.body, preview.body, shown.body, reentered.body]) {
      expect(body).not.toContain('SUPERSECRET');
      expect(body).not.toContain(K1);
      expect(body).not.toContain(K2);
    }
    const log = logs.join('\n');
    expect(log).toContain('secret_undecryptable');
    expect(log).not.toContain('SUPERSECRET');
    expect(log).not.toContain(K1);
  });
});
