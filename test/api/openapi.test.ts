// /openapi.json is generated from the routes: the zod schemas Fastify validates with
// and each route's doc. Every route is in it; the same schema validates and documents.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiCollector } from '../../api/openapi.js';
import { zodValidatorCompiler } from '../../api/validation.js';
import { bearer, ROOT_KEY, testApp, type TestApp } from '../support/app.js';

let t: TestApp;
let doc: {
  // A JSON document read by path: any keeps the assertions short.
  paths: Record<string, Record<string, Record<string, any>>>;
  components: { schemas: Record<string, unknown> };
};
beforeAll(async () => {
  t = await testApp();
  const res = await t.app.inject({ url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});
afterAll(async () => t?.close());

/** Every method and path the app serves, from Fastify's own route tree (HEAD left out). */
function servedRoutes(): string[] {
  // printRoutes({ commonPrefix: false }) draws a tree, four columns a level:
  //   └── / (GET, HEAD)
  //       ├── v1/events (POST, GET, HEAD)
  //       │   └── /:id (GET, HEAD)
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of t.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│├└─\s]*)(\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4 - 1;
    const parent = depth > 0 ? stack[depth - 1] : '';
    const path = parent === '/' ? `/${m[2]}` : parent + m[2];
    stack[depth] = path;
    for (const method of m[3].split(', ')) if (method !== 'HEAD') out.push(`${method} ${path}`);
  }
  return out.sort();
}

it('documents every route the app serves, /v1/jobs and the pages included', () => {
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
    .sort();
  expect(servedRoutes().length).toBeGreaterThan(25);
  expect(documented).toEqual(servedRoutes());
  expect(doc.paths['/v1/jobs'].get['x-required-scope']).toBe('read');
  expect(doc.paths['/v1/jobs'].get.responses['200'].content['application/json'].schema.properties.items).toBeDefined();
  expect(doc.paths['/docs'].get.security).toEqual([]);
});

it('refuses, at start-up, a route that does not document itself', async () => {
  const app = Fastify();
  openApiCollector(app, { title: 't', version: '1' });
  expect(() => app.get('/undocumented', async () => 'x')).toThrow(/config\.doc/);
  await app.close();
});

it('documents scopes, parameters and bodies from the validating zod schemas', () => {
  const createMetric = doc.paths['/v1/metrics'].post;
  expect(createMetric['x-required-scope']).toBe('admin');
  const body = createMetric.requestBody.content['application/json'].schema;
  expect(body.properties.kind.enum).toEqual(['count', 'ratio', 'gauge', 'quantile']);
  expect(body.required).toEqual(expect.arrayContaining(['connection_id', 'name', 'kind', 'query', 'direction']));
  expect(body.properties.step_seconds.default).toBe(60);
  const list = doc.paths['/v1/events'].get;
  expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(
    expect.arrayContaining(['subject', 'type', 'since', 'until', 'limit', 'cursor']),
  );
  const jobs = Object.fromEntries(
    doc.paths['/v1/jobs'].get.parameters.map((p: { name: string; schema: unknown }) => [p.name, p.schema]),
  );
  expect(jobs.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
  expect(jobs.state.enum).toEqual(['queued', 'running', 'succeeded', 'failed', 'blocked']);
  expect(doc.paths['/v1/events'].post.requestBody.content).toHaveProperty(['application/cloudevents-batch+json']);
  expect(doc.paths['/v1/events/{id}'].get.responses['404'].content['application/problem+json']).toBeDefined();
  expect(doc.paths['/v1/events/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  expect(doc.paths['/healthz'].get.security).toEqual([]);
});

it('describes the report field by field, and points at nothing outside the document', () => {
  const report = doc.paths['/v1/events/{id}/impact'].get.responses['200'].content;
  expect(report['application/json'].schema).toEqual({ $ref: '#/components/schemas/ImpactReport' });
  expect(report['text/html']).toBeDefined();
  expect(doc.components.schemas).toHaveProperty(['ImpactReport', 'properties', 'metrics']);
  expect(doc.components.schemas).toHaveProperty(['MetricReport', 'properties', 'counterfactual']);
  const text = JSON.stringify(doc);
  for (const ref of text.matchAll(/"\$ref":"([^"]+)"/g)) {
    expect(ref[1]).toMatch(/^#\/components\/schemas\//);
    expect(doc.components.schemas).toHaveProperty([ref[1].split('/').pop()!]);
  }
  // No file names (API.md, domain/report.ts, ...): the document stands on its own.
  expect(text).not.toMatch(/\b[\w/-]+\.(md|ts|js)\b/);
});

describe('the same zod schema validates', () => {
  it('answers what the document says: limit above its maximum is a 400 naming limit', async () => {
    const { adminKey } = await t.createOrg('limits');
    const res = await t.app.inject({ url: '/v1/jobs?limit=1001', headers: bearer(adminKey) });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      detail: 'invalid query parameters: limit: Too big: expected number to be <=1000',
      errors: [{ pointer: '/limit', field: 'limit' }],
    });
    const ok = await t.app.inject({ url: '/v1/jobs?limit=1000', headers: bearer(adminKey) });
    expect(ok.statusCode).toBe(200);
  });

  it('checks the scope before the input: a key without it learns nothing of the body (403, not 400)', async () => {
    const { adminKey } = await t.createOrg('scopes');
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: bearer(adminKey),
      payload: { name: 'reader', scopes: ['read'] },
    });
    const reader = created.json().key as string;
    const bad = { method: 'POST' as const, url: '/v1/metrics', payload: { kind: 'nope' } };
    expect((await t.app.inject({ ...bad, headers: bearer(reader) })).statusCode).toBe(403);
    expect((await t.app.inject({ ...bad, headers: bearer(adminKey) })).statusCode).toBe(400);
    expect((await t.app.inject({ ...bad, url: '/v1/orgs', headers: bearer(adminKey) })).statusCode).toBe(403);
    expect((await t.app.inject({ ...bad, url: '/v1/orgs', headers: bearer(ROOT_KEY) })).statusCode).toBe(400);
    // Without a key at all: 401 before anything else.
    expect((await t.app.inject(bad)).statusCode).toBe(401);
  });

  it('refuses a route schema that is not zod', async () => {
    const app = Fastify();
    app.setValidatorCompiler(zodValidatorCompiler);
    app.get('/x', { schema: { querystring: { type: 'object' } } }, async () => 'x');
    await expect(app.ready()).rejects.toThrow(/must be a zod schema/);
    const ok = Fastify();
    ok.setValidatorCompiler(zodValidatorCompiler);
    ok.get('/y', { schema: { querystring: z.object({ n: z.coerce.number() }) } }, async (req) => req.query);
    expect((await ok.inject({ url: '/y?n=2' })).json()).toEqual({ n: 2 });
    await ok.close();
  });
});
