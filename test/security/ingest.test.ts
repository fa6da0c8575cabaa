// Bulkheads at ingest: one org's bad input is refused at the edge (400 naming
// the field) and never fails another org's concurrent writes; if the store still
// refuses a coalesced INSERT, only the offending request fails. Also strict
// times, cursor guards and framework errors as problem+json. Real chDB throughout.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createLogger } from '../../api/app.js';
import { parseRfc3339, receive, type CloudEvent } from '../../domain/event.js';
import { createRuntime } from '../../runtime.js';
import { StoreError, type Backend } from '../../store/backend.js';
import type { Store } from '../../store/index.js';
import { bearer, ROOT_KEY, testApp, type TestApp } from '../support/app.js';
import { sharedChdb, testStore, unclosable } from '../support/store.js';

const BATCH = 'application/cloudevents-batch+json';
const STRUCTURED = 'application/cloudevents+json';
const PROBLEM = 'application/problem+json';
const LONE = 'x\ud800y';

const ev = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  specversion: '1.0',
  id,
  source: 'github.com/acme/shop/actions',
  type: 'dev.opstrails.deployment',
  subject: 'production',
  time: '2026-11-20T10:00:00Z',
  version: 'v1.0.0',
  severity: 'low',
  ...extra,
});

/** `data` nested `depth` levels deep, as JSON text (JSON.stringify itself overflows on deep values). */
const deepJson = (depth: number, kind: 'object' | 'array') =>
  kind === 'object' ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + '1' + ']'.repeat(depth);

/** An event whose data is `dataJson` verbatim. */
const withRawData = (event: Record<string, unknown>, dataJson: string) =>
  JSON.stringify({ ...event, data: '@DATA@' }).replace('"@DATA@"', dataJson);

/** Poison entries: what makes each bad, the field the 400 must name, and the pointer it must give. */
const POISON: { name: string; json: (id: string) => string; field: string; pointer?: string }[] = [
  ...(['id', 'source', 'type', 'subject', 'version', 'severity'] as const).map((field) => ({
    name: `lone surrogate in ${field}`,
    json: (id: string) => JSON.stringify(ev(id, { [field]: field === 'id' ? `${id}${LONE}` : LONE })),
    field,
  })),
  {
    name: 'lone low surrogate in an extension',
    json: (id) => JSON.stringify(ev(id, { team: 'check\udc00out' })),
    field: 'team',
  },
  {
    name: 'lone surrogate in a data value',
    json: (id) => JSON.stringify(ev(id, { data: { commit: 'abc', notes: ['ok', LONE] } })),
    field: 'data',
    pointer: '/data/notes/1',
  },
  {
    name: 'lone surrogate in a data key',
    json: (id) => JSON.stringify(ev(id, { data: { files: { ['k\udfff']: 1 } } })),
    field: 'data',
    pointer: '/data/files',
  },
  { name: 'data 5,000 objects deep', json: (id) => withRawData(ev(id), deepJson(5000, 'object')), field: 'data' },
  { name: 'data 50,000 arrays deep', json: (id) => withRawData(ev(id), deepJson(50_000, 'array')), field: 'data' },
  {
    name: 'an infinite number in data',
    json: (id) => withRawData(ev(id), '{"n":1e400}'),
    field: 'data',
    pointer: '/data/n',
  },
  { name: 'February 30', json: (id) => JSON.stringify(ev(id, { time: '2026-02-30T10:00:00Z' })), field: 'time' },
  { name: 'a 2^31 extension', json: (id) => JSON.stringify(ev(id, { buildno: 2 ** 31 })), field: 'buildno' },
];

/** A batch of three with the poison in the middle: the 400 must name index 1. */
const poisonBatch = (p: (typeof POISON)[number], id: string) =>
  `[${JSON.stringify(ev(`${id}-a`))},${p.json(id)},${JSON.stringify(ev(`${id}-b`))}]`;

interface FieldErrorBody {
  index?: number;
  field: string;
  pointer?: string;
}

let t: TestApp;
let orgA: { orgId: string; adminKey: string };
let orgB: { orgId: string; adminKey: string };

/** The service's clock: the day after the events' time (ingest refuses times past retention or a day ahead). */
let clock = Date.parse('2026-11-21T00:00:00Z');

beforeAll(async () => {
  t = await testApp({ now: () => clock });
  orgA = await t.createOrg('poisoner');
  orgB = await t.createOrg('bystander');
});
afterAll(async () => t?.close());

const post = (key: string, payload: string, contentType = STRUCTURED, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(key), 'content-type': contentType, ...headers },
    payload,
  });

describe('poison next to good batches from another org', () => {
  it.each(POISON)('refuses $name with 400 naming $field, alone and in a batch', async (p) => {
    const alone = await post(orgA.adminKey, p.json(`alone-${p.name}`));
    expect(alone.statusCode).toBe(400);
    expect(alone.headers['content-type']).toContain(PROBLEM);
    const aloneErrors = alone.json().errors as FieldErrorBody[];
    expect(aloneErrors.map((e) => e.field)).toContain(p.field);
    if (p.pointer) expect(aloneErrors).toContainEqual(expect.objectContaining({ pointer: p.pointer }));

    const batch = await post(orgA.adminKey, poisonBatch(p, `batch-${p.name}`), BATCH);
    expect(batch.statusCode).toBe(400);
    const problem = batch.json();
    expect(problem.detail).toContain(`[1] ${p.field}`);
    expect(problem.errors).toContainEqual(
      expect.objectContaining({ index: 1, field: p.field, pointer: `/1${p.pointer ?? `/${p.field}`}` }),
    );
  });

  it('refuses a binary-mode body holding a lone surrogate', async () => {
    const res = await post(orgA.adminKey, JSON.stringify({ note: LONE }), 'application/json', {
      'ce-specversion': '1.0',
      'ce-id': 'binary-poison',
      'ce-source': 's',
      'ce-type': 'deployment',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatchObject({ field: 'data', pointer: '/data/note' });
  });

  it('accepts data exactly 64 levels deep and stores it whole', async () => {
    const res = await post(orgB.adminKey, withRawData(ev('deep-64'), deepJson(64, 'object')));
    expect(res.statusCode).toBe(202);
    const got = await t.app.inject({ url: '/v1/events/deep-64', headers: bearer(orgB.adminKey) });
    expect(JSON.stringify(got.json().data)).toBe(deepJson(64, 'object'));
    const over = await post(orgB.adminKey, withRawData(ev('deep-65'), deepJson(65, 'array')));
    expect(over.statusCode).toBe(400);
    expect(over.json().errors[0]).toMatchObject({ field: 'data', pointer: '/data' });
    expect(over.json().errors[0].message).toContain('64');
  });

  it('stores and acknowledges every good batch of both orgs while poison is sent; no 500', async () => {
    const beforeA = await t.store.events.count(orgA.orgId);
    const beforeB = await t.store.events.count(orgB.orgId);
    const goodBatch = (prefix: string) => JSON.stringify(Array.from({ length: 20 }, (_, i) => ev(`${prefix}-${i}`)));
    const requests: { kind: 'good' | 'poison'; org: string; ids?: string[]; field?: string; sent: Promise<unknown> }[] =
      [];
    for (let round = 0; round < 3; round++) {
      POISON.forEach((p, i) => {
        requests.push({
          kind: 'poison',
          org: 'A',
          field: p.field,
          sent: post(orgA.adminKey, poisonBatch(p, `mix-${round}-${i}`), BATCH),
        });
        const prefixB = `good-b-${round}-${i}`;
        requests.push({ kind: 'good', org: 'B', sent: post(orgB.adminKey, goodBatch(prefixB), BATCH) });
        if (i % 3 === 0) {
          const prefixA = `good-a-${round}-${i}`;
          requests.push({ kind: 'good', org: 'A', sent: post(orgA.adminKey, goodBatch(prefixA), BATCH) });
        }
      });
    }
    const answers = (await Promise.all(requests.map((r) => r.sent))) as Awaited<ReturnType<typeof post>>[];
    let goodA = 0;
    let goodB = 0;
    answers.forEach((res, i) => {
      const r = requests[i];
      expect(res.statusCode, `${r.kind} ${r.org} #${i}: ${res.body.slice(0, 200)}`).not.toBe(500);
      if (r.kind === 'good') {
        expect(res.statusCode).toBe(202);
        expect(res.json().accepted).toHaveLength(20);
        if (r.org === 'A') goodA += 20;
        else goodB += 20;
      } else {
        expect(res.statusCode).toBe(400);
        expect(res.json().errors).toContainEqual(expect.objectContaining({ index: 1, field: r.field }));
      }
    });
    expect(goodB).toBe(3 * POISON.length * 20);
    expect(await t.store.events.count(orgA.orgId)).toBe(beforeA + goodA);
    expect(await t.store.events.count(orgB.orgId)).toBe(beforeB + goodB);
    const one = await t.app.inject({ url: '/v1/events/good-b-2-3-19', headers: bearer(orgB.adminKey) });
    expect(one.statusCode).toBe(200);
  });
});

describe('strict RFC 3339 times', () => {
  const refused = [
    ['2026-02-30T10:00:00Z', 'February 2026 has 28 days'],
    ['2025-02-29T10:00:00Z', 'February 2025 has 28 days'],
    ['2026-04-31T10:00:00Z', 'April 2026 has 30 days'],
    ['2026-01-01T24:00:00Z', 'hour 24'],
    ['0000-01-01T00:00:00Z', 'year 0000'],
    ['2026-13-01T00:00:00Z', 'month 13'],
    ['2026-01-01T10:60:00Z', 'minute 60'],
    ['2026-12-31T23:59:60Z', 'second 60'],
    ['2026-01-01T10:00:00+24:00', 'offset +24:00'],
    ['2026-01-01T10:00Z', 'RFC 3339'],
    ['2026-01-01 10:00:00Z', 'RFC 3339'],
  ] as const;

  it.each(refused)('the parser refuses %s (%s)', (text, reason) => {
    const parsed = parseRfc3339(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  it.each([
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T23:59:59.999Z', Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
    ['2026-01-01t10:00:00.123456789z', Date.UTC(2026, 0, 1, 10, 0, 0, 123)],
    ['2026-01-01T10:00:00.5+05:30', Date.UTC(2026, 0, 1, 4, 30, 0, 500)],
    ['2026-01-01T00:30:00-01:00', Date.UTC(2026, 0, 1, 1, 30)],
    ['2026-01-01T10:00:00-00:00', Date.UTC(2026, 0, 1, 10)],
    ['0001-01-01T00:00:00Z', -62135596800000],
    ['9999-12-31T23:59:59Z', 253402300799000],
  ])('the parser reads %s exactly', (text, ms) => {
    expect(parseRfc3339(text)).toEqual({ ok: true, ms });
  });

  it('query instants may leave out seconds, nothing else', () => {
    expect(parseRfc3339('2026-01-01T10:00Z', { secondsOptional: true })).toEqual({
      ok: true,
      ms: Date.UTC(2026, 0, 1, 10),
    });
    expect(parseRfc3339('2026-02-30T10:00Z', { secondsOptional: true }).ok).toBe(false);
  });

  it.each([
    ...refused.filter(([text]) => text !== '2026-01-01T10:00Z').map(([text]) => text),
    '1899-12-31T23:59:59Z',
    '2300-01-01T00:00:00Z',
  ])('ingest refuses time %s with 400 naming time, storing nothing', async (time) => {
    const before = await t.store.events.count(orgA.orgId);
    const res = await post(orgA.adminKey, JSON.stringify(ev(`time-${time}`, { time })));
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: FieldErrorBody) => e.field)).toEqual(['time']);
    expect(await t.store.events.count(orgA.orgId)).toBe(before);
  });

  it('ingest stores a valid time as the instant it names', async () => {
    const saved = clock;
    clock = Date.UTC(2028, 2, 1, 2, 0);
    const res = await post(orgA.adminKey, JSON.stringify(ev('leap-day', { time: '2028-02-29T23:30:00-01:00' })));
    clock = saved;
    expect(res.statusCode).toBe(202);
    const [stored] = await t.store.events.byId(orgA.orgId, 'leap-day');
    expect(stored.time).toBe(Date.UTC(2028, 2, 1, 0, 30));
  });

  it.each([
    ['since=2026-02-30T00:00:00Z', 'since'],
    ['until=2026-01-01T24:00Z', 'until'],
    ['since=0000-01-01T00:00:00Z', 'since'],
  ])('GET /v1/events?%s is a 400 naming %s', async (qs, field) => {
    const res = await t.app.inject({ url: `/v1/events?${qs}`, headers: bearer(orgA.adminKey) });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe(field);
  });
});

describe('CloudEvents Integer extensions', () => {
  it.each([2 ** 31, -(2 ** 31) - 1, 1e20, 2.5])('refuses %d with 400 naming the extension', async (value) => {
    const res = await post(orgA.adminKey, JSON.stringify(ev(`int-${value}`, { buildno: value })));
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toContainEqual(expect.objectContaining({ field: 'buildno' }));
  });

  it('accepts the ends of the signed 32-bit range', async () => {
    const res = await post(orgA.adminKey, JSON.stringify(ev('int-ends', { high: 2 ** 31 - 1, low: -(2 ** 31) })));
    expect(res.statusCode).toBe(202);
  });
});

describe('cursors', () => {
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  const timeCursors = [
    ['a fractional time', '{"time":1.5,"source":"s","id":"i"}'],
    ['a huge time', '{"time":1e300,"source":"s","id":"i"}'],
    ['an overflowing time', '{"time":1e400,"source":"s","id":"i"}'],
    ['a time past the store range', '{"time":9000000000000000,"source":"s","id":"i"}'],
    ['a time as text', '{"time":"1","source":"s","id":"i"}'],
    ['a lone surrogate', '{"time":0,"source":"\\ud800","id":"i"}'],
    ['a nested value', '{"time":0,"source":{"s":1},"id":"i"}'],
  ];
  const jobCursors = [
    ['a fractional time', '{"created_at":1.5,"id":"i"}'],
    ['a huge time', '{"created_at":1e300,"id":"i"}'],
    ['a time past the store range', '{"created_at":-9000000000000000,"id":"i"}'],
    ['a missing time', '{"id":"i"}'],
  ];
  const cases = [
    ...timeCursors.map(([name, json]) => ['/v1/events', name, json]),
    ...timeCursors.map(([name, json]) => ['/v1/impact', name, json]),
    ...jobCursors.map(([name, json]) => ['/v1/jobs', name, json]),
  ];

  it.each(cases)('%s refuses a cursor with %s: 400 naming cursor', async (path, _name, json) => {
    const res = await t.app.inject({ url: `${path}?cursor=${encode(json)}`, headers: bearer(orgA.adminKey) });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain(PROBLEM);
    expect(res.json().errors[0].field).toBe('cursor');
  });

  it.each([
    ['/v1/events', `{"time":${Date.UTC(2026, 0, 1)},"source":"s","id":"i"}`],
    ['/v1/impact', `{"time":${Date.UTC(2026, 0, 1)},"source":"s","id":"i"}`],
    ['/v1/jobs', `{"created_at":${Date.UTC(2026, 0, 1)},"id":"i"}`],
  ])('%s still takes a well-formed cursor', async (path, json) => {
    const res = await t.app.inject({ url: `${path}?cursor=${encode(json)}`, headers: bearer(orgA.adminKey) });
    expect(res.statusCode).toBe(200);
  });
});

describe('framework errors are problem+json', () => {
  const expectProblem = (
    res: { statusCode: number; headers: Record<string, unknown>; body: string },
    status: number,
  ) => {
    expect(res.statusCode, res.body.slice(0, 200)).toBe(status);
    expect(String(res.headers['content-type'])).toContain(PROBLEM);
    expect(JSON.parse(res.body)).toMatchObject({ status, type: `https://opstrails.dev/problems/${status}` });
  };
  const root = { ...bearer(ROOT_KEY), 'content-type': 'application/json' };

  it('404 for an unknown route', async () => {
    expectProblem(await t.app.inject({ url: '/v1/nothing-here' }), 404);
  });

  it('400 for malformed JSON, on a JSON route and on /v1/events', async () => {
    const orgs = await t.app.inject({ method: 'POST', url: '/v1/orgs', headers: root, payload: '{"name":' });
    expectProblem(orgs, 400);
    expect(orgs.json().errors[0].field).toBe('(body)');
    expectProblem(await post(orgA.adminKey, '{"specversion":'), 400);
  });

  it('413 for a body over 1 MiB, on a JSON route and on /v1/events', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 1) });
    expectProblem(await t.app.inject({ method: 'POST', url: '/v1/orgs', headers: root, payload: big }), 413);
    expectProblem(await post(orgA.adminKey, big), 413);
  });

  it('415 for a content type a JSON route does not take', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { ...root, 'content-type': 'application/xml' },
      payload: '<org/>',
    });
    expectProblem(res, 415);
  });

  it('400 for a path that is not valid percent-encoding', async () => {
    for (const url of ['/v1/events/%E0%A4%A', '/v1/events/%ZZ']) {
      expectProblem(await t.app.inject({ url, headers: bearer(orgA.adminKey) }), 400);
    }
  });

  it('an event id of the longest allowed length can be read back; a longer path parameter is a 414', async () => {
    const id = 'i'.repeat(1024);
    expect((await post(orgA.adminKey, JSON.stringify(ev(id)))).statusCode).toBe(202);
    const got = await t.app.inject({ url: `/v1/events/${id}`, headers: bearer(orgA.adminKey) });
    expect(got.statusCode, got.body.slice(0, 200)).toBe(200);
    expectProblem(await t.app.inject({ url: `/v1/events/${'i'.repeat(10_000)}`, headers: bearer(orgA.adminKey) }), 414);
  });

  describe("over a socket: Node's HTTP parser", () => {
    let port = 0;
    beforeAll(async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as { port: number }).port;
    });

    /** Send raw bytes, read the answer until the server closes. */
    const raw = (request: string) =>
      new Promise<{ statusCode: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', () => {}); // the server closes right after answering; the answer is what counts
        socket.on('close', () => {
          const [head, ...rest] = text.split('\r\n\r\n');
          const [status, ...lines] = head.split('\r\n');
          const match = /^HTTP\/1\.1 (\d{3})/.exec(status);
          if (!match) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
          const headers = Object.fromEntries(
            lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
          );
          resolve({ statusCode: Number(match[1]), headers, body: rest.join('\r\n\r\n') });
        });
        socket.write(request);
      });

    it('431 for a URL over the header limit (Node answers 431, not 414, for a long request line)', async () => {
      const res = await raw(`GET /v1/events?subject=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      expectProblem(res, 431);
    });

    it('431 for headers over the limit', async () => {
      const res = await raw(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expectProblem(res, 431);
    });

    it('400 for bytes that are not HTTP', async () => {
      expectProblem(await raw('HELLO THERE\r\n\r\n'), 400);
    });
  });
});

describe('bulkhead: a coalesced INSERT the store refuses fails only the request that caused it', () => {
  const MARKER = 'refused-by-the-store-in-this-test';
  /** The id lists of every INSERT into the events table, in order. */
  const inserts: string[][] = [];
  /** The real chDB backend, except that it refuses event rows holding MARKER (as a store refusing a row would). */
  const refusing = (base: Backend): Backend => ({
    ...base,
    async insert(table, rows) {
      if (table.endsWith('.events')) {
        inserts.push(rows.map((r) => (r as { id: string }).id));
        if (rows.some((r) => JSON.stringify(r).includes(MARKER))) {
          throw new StoreError(`refused a row holding ${MARKER}`);
        }
      }
      return base.insert(table, rows);
    },
  });
  let store: Store;
  let close: () => Promise<void>;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    const now = () => clock;
    const runtime = await createRuntime({
      store: await testStore({ backend: refusing(unclosable(sharedChdb())), now }),
      logger: createLogger('silent'),
      now,
    });
    store = runtime.store;
    app = await buildApp(runtime, { rootKey: ROOT_KEY });
    close = async () => {
      await app.close();
      await runtime.close();
    };
  });
  afterAll(async () => close?.());

  const received = (events: CloudEvent[]) => events.map((e) => receive(e, Date.now()));
  const event = (id: string, extra: Record<string, unknown> = {}) => ev(id, extra) as CloudEvent;

  it('with chDB itself refusing (a lone surrogate in source that bypassed validation) and a marker row', async () => {
    inserts.length = 0;
    // The first ingest is flushed alone; the next four queue meanwhile and are coalesced into one INSERT.
    const first = store.events.ingest('org-1', received([event('first')]));
    const surrogate = store.events.ingest('org-1', received([event('bad-source', { source: LONE })]));
    const good1 = store.events.ingest('org-2', received([event('good-1'), event('good-2')]));
    const marked = store.events.ingest('org-1', received([event('marked', { subject: MARKER })]));
    const good2 = store.events.ingest('org-3', received([event('good-3')]));
    const outcomes = await Promise.allSettled([first, surrogate, good1, marked, good2]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toContain('surrogate');
    expect((outcomes[3] as PromiseRejectedResult).reason.message).toContain(MARKER);
    expect((outcomes[2] as PromiseFulfilledResult<unknown>).value).toEqual({
      accepted: ['good-1', 'good-2'],
      duplicates: [],
    });
    // The coalesced INSERT was tried (and failed) before each request went alone.
    expect(inserts).toEqual([
      ['first'],
      ['bad-source', 'good-1', 'good-2', 'marked', 'good-3'],
      ['bad-source'],
      ['good-1', 'good-2'],
      ['marked'],
      ['good-3'],
    ]);
    expect(await store.events.count('org-2')).toBe(2);
    expect(await store.events.count('org-3')).toBe(1);
    expect((await store.events.byId('org-1', 'marked')).length).toBe(0);
    expect((await store.events.byId('org-1', 'bad-source')).length).toBe(0);
  });

  it('with data too deep to serialize (the same bulkhead catches a failure before the INSERT)', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const first = store.events.ingest('org-4', received([event('first-4')]));
    const tooDeep = store.events.ingest('org-4', received([event('too-deep', { data: deep })]));
    const good = store.events.ingest('org-5', received([event('good-5')]));
    const outcomes = await Promise.allSettled([first, tooDeep, good]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.events.count('org-5')).toBe(1);
  });

  it('over HTTP: concurrent requests of other orgs get 202 and are stored; the refused one alone fails', async () => {
    const org = async (name: string) => {
      const res = await app.inject({ method: 'POST', url: '/v1/orgs', headers: bearer(ROOT_KEY), payload: { name } });
      return { id: res.json().org.id as string, key: res.json().admin_key as string };
    };
    const [poisoner, bystander] = [await org('poisoner'), await org('bystander')];
    inserts.length = 0;
    const send = (key: string, events: unknown[]) =>
      app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...bearer(key), 'content-type': BATCH },
        payload: JSON.stringify(events),
      });
    const sends = Array.from({ length: 12 }, (_, i) =>
      i % 4 === 1
        ? send(poisoner.key, [ev(`p-${i}`), ev(`p-${i}-marked`, { subject: MARKER })])
        : send(bystander.key, [ev(`b-${i}-1`), ev(`b-${i}-2`)]),
    );
    const answers = await Promise.all(sends);
    answers.forEach((res, i) => {
      if (i % 4 === 1) {
        expect(res.statusCode).toBe(500);
        expect(res.json().detail).not.toContain(MARKER); // store details stay in the log
      } else {
        expect(res.statusCode, res.body).toBe(202);
        expect(res.json().accepted).toEqual([`b-${i}-1`, `b-${i}-2`]);
      }
    });
    expect(await store.events.count(bystander.id)).toBe(18);
    expect(await store.events.count(poisoner.id)).toBe(0);
    // At least one refused row shared an INSERT with others' rows, so the bulkhead, not luck, kept them apart.
    expect(
      inserts.some((ids) => ids.some((id) => id.endsWith('-marked')) && ids.some((id) => id.startsWith('b-'))),
    ).toBe(true);
  });
});
