// POST/GET /v1/events through the real app and the real embedded ClickHouse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, testApp, type TestApp } from '../support/app.js';

const BATCH = 'application/cloudevents-batch+json';
const STRUCTURED = 'application/cloudevents+json';

const ev = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'github.com/acme/shop/actions',
  type: 'dev.opstrails.deployment',
  subject: 'production',
  time: '2026-11-20T10:00:00Z',
  version: 'v1.0.0',
  ...extra,
});

let t: TestApp;
let key: string;
let orgId: string;

beforeAll(async () => {
  t = await testApp();
  ({ adminKey: key, orgId } = await t.createOrg());
});
afterAll(async () => t?.close());

const post = (payload: unknown, contentType = STRUCTURED, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(key), 'content-type': contentType, ...headers },
    payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
  });

describe('content modes', () => {
  it('accepts structured mode and keeps the event as sent', async () => {
    const sent = ev('s1', { severity: 'low', data: { commit: 'abc123', files: 3 }, team: 'checkout' });
    const res = await post(sent);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: ['s1'], duplicates: [] });
    const got = await t.app.inject({ url: '/v1/events/s1', headers: bearer(key) });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(sent);
  });

  it('accepts plain application/json as structured mode', async () => {
    const res = await post(ev('j1'), 'application/json; charset=utf-8');
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toEqual(['j1']);
  });

  it('accepts binary mode with ce-* headers (percent-decoded) and the body as data', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: {
        ...bearer(key),
        'ce-specversion': '1.0',
        'ce-id': 'b1',
        'ce-source': 'jenkins',
        'ce-type': 'rollback',
        'ce-subject': 'production',
        'ce-time': '2026-11-20T11:00:00Z',
        'ce-version': 'v1.0.1',
        'ce-comment': 'caf%C3%A9 rollback',
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ reason: 'errors' }),
    });
    expect(res.statusCode).toBe(202);
    const got = (await t.app.inject({ url: '/v1/events/b1', headers: bearer(key) })).json();
    expect(got).toEqual({
      specversion: '1.0',
      id: 'b1',
      source: 'jenkins',
      type: 'rollback',
      subject: 'production',
      time: '2026-11-20T11:00:00Z',
      version: 'v1.0.1',
      comment: 'café rollback',
      datacontenttype: 'application/json',
      data: { reason: 'errors' },
    });
  });

  it('keeps binary-mode bodies that are not text as data_base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const res = await post(bytes, 'application/octet-stream', {
      'ce-specversion': '1.0',
      'ce-id': 'bin1',
      'ce-source': 's',
      'ce-type': 'data-load',
    });
    expect(res.statusCode).toBe(202);
    const got = (await t.app.inject({ url: '/v1/events/bin1', headers: bearer(key) })).json();
    expect(Buffer.from(got.data_base64, 'base64')).toEqual(bytes);
  });

  it('refuses other content types with 415', async () => {
    const res = await post('id=1', 'application/x-www-form-urlencoded');
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().detail).toContain('application/cloudevents+json');
  });

  it('refuses a body over 1 MiB with 413 and stores nothing', async () => {
    const before = await t.store.events.count(orgId);
    const res = await post(ev('big', { data: 'x'.repeat(1024 * 1024 + 10) }));
    expect(res.statusCode).toBe(413);
    expect(res.json().status).toBe(413);
    expect(await t.store.events.count(orgId)).toBe(before);
  });
});

describe('validation', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['specversion', { specversion: '0.3' }, 'specversion'],
    ['missing id', { id: undefined }, 'id'],
    ['empty id', { id: '' }, 'id'],
    ['missing source', { source: undefined }, 'source'],
    ['empty type', { type: '' }, 'type'],
    ['time not RFC 3339', { time: '2026-11-20 10:00' }, 'time'],
    ['impossible time', { time: '2026-13-45T10:00:00Z' }, 'time'],
    ['uppercase extension', { BuildId: '1' }, 'BuildId'],
    ['extension with a dash', { 'build-id': '1' }, 'build-id'],
    ['object extension value', { team: { name: 'x' } }, 'team'],
    ['empty subject', { subject: '' }, 'subject'],
    ['version not a string', { version: 3 }, 'version'],
    ['data and data_base64', { data: 1, data_base64: 'AA==' }, 'data_base64'],
  ];

  it.each(cases)('rejects %s naming the field, storing nothing', async (_name, patch, field) => {
    const before = await t.store.events.count(orgId);
    const bad = { ...ev(`bad-${field}`), ...patch };
    const res = await post(bad);
    expect(res.statusCode).toBe(400);
    const problem = res.json();
    expect(problem).toMatchObject({ status: 400, title: 'Invalid request' });
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(problem.detail).toContain(field);
    expect(await t.store.events.count(orgId)).toBe(before);
  });

  it('rejects a whole batch when any entry is invalid, listing every bad entry by index', async () => {
    const before = await t.store.events.count(orgId);
    const batch = [
      ev('ok-1'),
      { ...ev('x'), specversion: '2.0' },
      ev('ok-2'),
      { ...ev('y'), time: 'yesterday', Bad: 1 },
    ];
    const res = await post(batch, BATCH);
    expect(res.statusCode).toBe(400);
    const errors = res.json().errors as { index: number; field: string; pointer: string }[];
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ index: 1, field: 'specversion', pointer: '/1/specversion' }),
        expect.objectContaining({ index: 3, field: 'time' }),
        expect.objectContaining({ index: 3, field: 'Bad' }),
      ]),
    );
    expect(errors.every((e) => e.index === 1 || e.index === 3)).toBe(true);
    expect(await t.store.events.count(orgId)).toBe(before);
    expect((await t.app.inject({ url: '/v1/events/ok-1', headers: bearer(key) })).statusCode).toBe(404);
  });

  it('rejects batches over 1,000 events, empty batches, non-arrays and broken JSON', async () => {
    const big = Array.from({ length: 1001 }, (_, i) => ev(`over-${i}`));
    expect((await post(big, BATCH)).statusCode).toBe(400);
    expect((await post([], BATCH)).statusCode).toBe(400);
    expect((await post(ev('single'), BATCH)).json().errors[0].field).toBe('(body)');
    const broken = await post('{"specversion": "1.0",', STRUCTURED);
    expect(broken.statusCode).toBe(400);
    expect(broken.json().detail).toContain('not valid JSON');
    const arrayAsStructured = await post([ev('a')], STRUCTURED);
    expect(arrayAsStructured.statusCode).toBe(400);
    expect(arrayAsStructured.json().detail).toContain(BATCH);
  });
});

describe('10,000 events in 10 batches', () => {
  const org = { key: '', id: '' };
  const events = Array.from({ length: 10_000 }, (_, i) =>
    ev(`bulk-${i}`, {
      time: new Date(Date.UTC(2026, 9, 1) + i * 60_000).toISOString(),
      subject: i % 3 === 0 ? 'staging' : 'production',
    }),
  );
  const batches = Array.from({ length: 10 }, (_, b) => events.slice(b * 1000, (b + 1) * 1000));

  beforeAll(async () => {
    const created = await t.createOrg('bulk');
    org.key = created.adminKey;
    org.id = created.orgId;
  });

  const send = (batch: unknown[]) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(org.key), 'content-type': BATCH },
      payload: JSON.stringify(batch),
    });

  it('accepts all, lists all through cursors and exports all unchanged; resending leaves 10,000', async () => {
    for (const batch of batches) {
      const res = await send(batch);
      expect(res.statusCode).toBe(202);
      expect(res.json().accepted).toHaveLength(1000);
    }
    const again = await Promise.all(batches.map(send));
    for (const res of again) expect(res.json()).toMatchObject({ accepted: [], duplicates: expect.any(Array) });
    expect(again.reduce((n, r) => n + r.json().duplicates.length, 0)).toBe(10_000);
    expect(await t.store.events.count(org.id)).toBe(10_000);

    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await t.app.inject({ url, headers: bearer(org.key) })).json();
      listed.push(...page.items.map((e: { id: string }) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(listed).toHaveLength(10_000);
    expect(listed[0]).toBe('bulk-9999'); // newest first
    expect(new Set(listed).size).toBe(10_000);

    const exported = await t.app.inject({
      url: '/v1/events/export?since=2026-10-01T00:00:00Z&until=2026-11-01T00:00:00Z',
      headers: bearer(org.key),
    });
    expect(exported.headers['content-type']).toContain(BATCH);
    expect(exported.json()).toEqual(events);
  });

  it('filters by subject, type, source and time range', async () => {
    const q = (qs: string) => t.app.inject({ url: `/v1/events?${qs}`, headers: bearer(org.key) }).then((r) => r.json());
    const staging = await q('subject=staging&limit=1000');
    expect(staging.items.every((e: { subject: string }) => e.subject === 'staging')).toBe(true);
    expect(staging.items).toHaveLength(1000);
    const window = await q('since=2026-10-01T00:10:00Z&until=2026-10-01T00:15:00Z');
    expect(window.items.map((e: { id: string }) => e.id)).toEqual([
      'bulk-14',
      'bulk-13',
      'bulk-12',
      'bulk-11',
      'bulk-10',
    ]);
    expect((await q('type=deployment&limit=1')).items[0].type).toBe('dev.opstrails.deployment');
    expect((await q('source=nope')).items).toEqual([]);
  });

  it('rejects bad query parameters naming the field', async () => {
    for (const [qs, field] of [
      ['since=yesterday', 'since'],
      ['limit=0', 'limit'],
      ['limit=5000', 'limit'],
      ['cursor=garbage', 'cursor'],
    ]) {
      const res = await t.app.inject({ url: `/v1/events?${qs}`, headers: bearer(org.key) });
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().errors[0].field).toBe(field);
    }
  });
});
