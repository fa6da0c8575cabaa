// /openapi.json is generated from the routes and their validating schemas.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => t?.close());

it('documents every /v1 route with its scope, parameters and bodies', async () => {
  const res = await t.app.inject({ url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  const doc = res.json();
  expect(doc.openapi).toBe('3.1.0');
  // Every registered /v1 route appears in the document.
  const routes = t.app.printRoutes({ commonPrefix: false });
  for (const path of [
    '/v1/events',
    '/v1/events/{id}',
    '/v1/events/export',
    '/v1/orgs',
    '/v1/keys',
    '/v1/keys/{id}',
    '/v1/providers',
    '/v1/connections',
    '/v1/connections/{id}',
    '/v1/connections/{id}/check',
    '/v1/metrics',
    '/v1/metrics/{id}',
    '/v1/metrics/{id}/preview',
    '/v1/metrics/{id}/series',
  ]) {
    expect(doc.paths[path], path).toBeDefined();
    expect(routes).toContain(
      path
        .replace(/\{(\w+)\}/g, ':$1')
        .split('/')
        .pop(),
    );
  }
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
  expect(doc.paths['/v1/events'].post.requestBody.content).toHaveProperty(['application/cloudevents-batch+json']);
  expect(doc.paths['/v1/events/{id}'].get.responses['404'].content['application/problem+json']).toBeDefined();
  expect(doc.paths['/healthz'].get.security).toEqual([]);
});
