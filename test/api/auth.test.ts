// Orgs, keys, scopes and tenant isolation through the real app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, ROOT_KEY, testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t?.close());

const event = (id: string) =>
  JSON.stringify({ specversion: '1.0', id, source: 'ci', type: 'deployment', time: '2026-11-20T10:00:00Z' });
const postEvent = (key: string, id: string) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(key), 'content-type': 'application/cloudevents+json' },
    payload: event(id),
  });

describe('orgs (operator key)', () => {
  it('creates an org with a plan and returns its first admin key once', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: bearer(ROOT_KEY),
      payload: { name: 'Acme', plan: 'starter' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.org).toMatchObject({ name: 'Acme', plan: 'starter', id: expect.stringMatching(/^org_/) });
    expect(body.admin_key).toMatch(/^otk_/);
    const keys = await t.app.inject({ url: '/v1/keys', headers: bearer(body.admin_key) });
    expect(keys.json().items).toHaveLength(1);
    expect(keys.body).not.toContain(body.admin_key);
  });

  it('validates the org body naming the field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: bearer(ROOT_KEY),
      payload: { name: 'X', plan: 'gold' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ field: 'plan', pointer: '/plan' });
  });

  it('allows only the operator key to create orgs, and the operator key only that', async () => {
    const { adminKey } = await t.createOrg('other');
    expect(
      (await t.app.inject({ method: 'POST', url: '/v1/orgs', headers: bearer(adminKey), payload: { name: 'n' } }))
        .statusCode,
    ).toBe(403);
    expect((await t.app.inject({ url: '/v1/events', headers: bearer(ROOT_KEY) })).statusCode).toBe(403);
  });
});

describe('keys and scopes', () => {
  let admin: string;
  beforeAll(async () => {
    admin = (await t.createOrg('scoped')).adminKey;
  });

  it('401 without a key, with a malformed header, with an unknown key', async () => {
    for (const headers of [
      {},
      { authorization: 'Basic abc' },
      bearer('otk_AAAAAAAAAAAA_' + 'A'.repeat(43)),
      bearer('nope'),
    ]) {
      const res = await t.app.inject({ url: '/v1/events', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
  });

  it('enforces scopes: events:write cannot read, read cannot write, neither manages keys', async () => {
    const writer = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/keys',
        headers: bearer(admin),
        payload: { name: 'ci', scopes: ['events:write'] },
      })
    ).json();
    const reader = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/keys',
        headers: bearer(admin),
        payload: { name: 'dash', scopes: ['read'] },
      })
    ).json();
    expect(writer.key).toMatch(/^otk_/);
    expect((await postEvent(writer.key, 'w1')).statusCode).toBe(202);
    expect((await t.app.inject({ url: '/v1/events', headers: bearer(writer.key) })).statusCode).toBe(403);
    expect((await postEvent(reader.key, 'r1')).statusCode).toBe(403);
    expect((await t.app.inject({ url: '/v1/events', headers: bearer(reader.key) })).statusCode).toBe(200);
    const forbidden = await t.app.inject({ url: '/v1/keys', headers: bearer(reader.key) });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().detail).toContain('admin');
  });

  it('lists keys without secrets and revokes them at once', async () => {
    const created = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/keys',
        headers: bearer(admin),
        payload: { name: 'temp', scopes: ['read'] },
      })
    ).json();
    expect((await t.app.inject({ url: '/v1/events', headers: bearer(created.key) })).statusCode).toBe(200);
    const list = (await t.app.inject({ url: '/v1/keys', headers: bearer(admin) })).json();
    const item = list.items.find((k: { id: string }) => k.id === created.id);
    expect(item).toMatchObject({ name: 'temp', scopes: ['read'], prefix: created.key.slice(4, 16) });
    expect(item.key).toBeUndefined();
    expect(JSON.stringify(list)).not.toContain(created.key);
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/v1/keys/${created.id}`, headers: bearer(admin) })).statusCode,
    ).toBe(204);
    expect((await t.app.inject({ url: '/v1/events', headers: bearer(created.key) })).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/v1/keys/${created.id}`, headers: bearer(admin) })).statusCode,
    ).toBe(404);
  });

  it('validates key bodies naming the field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(admin),
      payload: { name: 'x', scopes: ['write-all'] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe('scopes.0');
  });
});

describe('tenant isolation', () => {
  it("org A's key cannot read, list or export org B's events, nor revoke B's keys", async () => {
    const a = await t.createOrg('tenant-a');
    const b = await t.createOrg('tenant-b');
    expect((await postEvent(b.adminKey, 'secret-deploy')).statusCode).toBe(202);
    expect((await postEvent(a.adminKey, 'a-deploy')).statusCode).toBe(202);

    const get = await t.app.inject({ url: '/v1/events/secret-deploy', headers: bearer(a.adminKey) });
    expect(get.statusCode).toBe(404); // not 403: never reveal that it exists
    const list = (await t.app.inject({ url: '/v1/events?limit=1000', headers: bearer(a.adminKey) })).json();
    expect(list.items.map((e: { id: string }) => e.id)).toEqual(['a-deploy']);
    const exported = (await t.app.inject({ url: '/v1/events/export', headers: bearer(a.adminKey) })).json();
    expect(exported.map((e: { id: string }) => e.id)).toEqual(['a-deploy']);
    // B still sees its own.
    expect((await t.app.inject({ url: '/v1/events/secret-deploy', headers: bearer(b.adminKey) })).statusCode).toBe(200);

    const bKeys = (await t.app.inject({ url: '/v1/keys', headers: bearer(b.adminKey) })).json().items;
    expect(
      (await t.app.inject({ method: 'DELETE', url: `/v1/keys/${bKeys[0].id}`, headers: bearer(a.adminKey) }))
        .statusCode,
    ).toBe(404);
    expect((await t.app.inject({ url: '/v1/keys', headers: bearer(b.adminKey) })).statusCode).toBe(200);
  });
});

describe('health, errors and logs', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('answers unknown routes with problem+json 404 and echoes a request id', async () => {
    const res = await t.app.inject({ url: '/v1/nothing', headers: { 'x-request-id': 'req-123' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['x-request-id']).toBe('req-123');
  });

  it('never logs keys or the Authorization header', async () => {
    const { adminKey } = await t.createOrg('logged');
    await t.app.inject({ url: '/v1/events', headers: bearer(adminKey) });
    await t.app.inject({ url: '/v1/events', headers: bearer(adminKey + 'x') });
    const all = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(10);
    expect(all).toContain('request completed');
    expect(all).not.toContain(adminKey);
    expect(all).not.toContain(ROOT_KEY);
  });
});
