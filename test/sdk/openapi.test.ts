// The SDK against the API's own contract: every request it sends (each function,
// every option set) is a path and method of the app's /openapi.json, with query
// parameters and a body media type that document declares.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, type CloudEvent } from '../../sdk/index.js';
import { testApp, type TestApp } from '../support/app.js';

let t: TestApp;
let base: string;
let key: string;
beforeAll(async () => {
  t = await testApp();
  key = (await t.createOrg()).adminKey;
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => t?.close());

interface Sent {
  method: string;
  url: URL;
  contentType: string | null;
}

it('sends only requests the OpenAPI document declares, with its parameters and media types', async () => {
  const sent: Sent[] = [];
  const recording: typeof fetch = async (input, init) => {
    sent.push({
      method: (init?.method ?? 'GET').toLowerCase(),
      url: new URL(String(input)),
      contentType: new Headers(init?.headers).get('content-type'),
    });
    return fetch(input, init);
  };
  const client = createClient({ url: base, apiKey: key, fetch: recording });
  const event: CloudEvent = {
    specversion: '1.0',
    id: 'contract-1',
    source: 'github.com/acme/shop',
    type: 'deployment',
    subject: 'production',
    version: 'v1.4.2',
    time: '2026-11-14T16:00:00Z',
  };
  // Every function, with every option it has.
  await client.sendEvent(event);
  await client.sendBatch([{ ...event, id: 'contract-2' }]);
  await client.getImpact('contract-1', { source: event.source });
  await client.listImpacts({
    subject: 'production',
    type: 'deployment',
    since: new Date('2026-11-01T00:00:00Z'),
    until: '2026-12-01T00:00:00Z',
    verdict: 'regression',
    limit: 10,
    cursor: undefined,
  });
  const page = await client.listImpacts({ limit: 1 });
  if (page.next_cursor) await client.listImpacts({ limit: 1, cursor: page.next_cursor });
  // No metric applies in this org: the report is final at once.
  await client.waitForReport('contract-1', { timeoutMs: 60_000, source: event.source });
  await client.getImpact('contract-1', { source: event.source, before: '90m', after: '30m', gap: '5m' });
  const events = await client.listEvents({
    subject: 'production',
    type: 'deployment',
    source: event.source,
    since: new Date('2026-11-01T00:00:00Z'),
    until: '2026-12-01T00:00:00Z',
    limit: 1,
  });
  await client.listEvents({ limit: 1, cursor: events.next_cursor ?? undefined });
  await client.getEvent('contract-1', { source: event.source });
  const connection = await t.app.inject({
    method: 'POST',
    url: '/v1/connections',
    headers: { authorization: `Bearer ${key}` },
    payload: { provider: 'testdata', name: 'synthetic' },
  });
  const metric = await t.app.inject({
    method: 'POST',
    url: '/v1/metrics',
    headers: { authorization: `Bearer ${key}` },
    payload: {
      connection_id: connection.json().id,
      name: 'Errors',
      kind: 'count',
      direction: 'increase_is_bad',
      query: { shape: 'count', base: 10 },
    },
  });
  await client.listMetrics();
  await client.listMetrics({ connectionId: connection.json().id });
  await client.getMetric(metric.json().id);
  await client.getMetricSeries(metric.json().id, {
    from: new Date('2026-11-14T15:00:00Z'),
    to: '2026-11-14T16:00:00Z',
    subject: 'production',
    version: 'v1.4.2',
    service: 'shop',
  });
  await client.listConnections();

  const doc = (await t.app.inject({ url: '/openapi.json' })).json();
  const templates = Object.keys(doc.paths).map((path) => ({
    path,
    pattern: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`),
  }));
  const seen = new Set<string>();
  for (const request of sent) {
    const where = `${request.method} ${request.url.pathname}`;
    // The most specific template wins (/v1/events/export over /v1/events/{id}).
    const matches = templates.filter((x) => x.pattern.test(request.url.pathname));
    matches.sort((a, b) => (a.path.match(/\{/g) ?? []).length - (b.path.match(/\{/g) ?? []).length);
    expect(matches, where).not.toHaveLength(0);
    const path = matches[0].path;
    const operation = doc.paths[path][request.method];
    expect(operation, `${request.method} ${path} in /openapi.json`).toBeDefined();
    seen.add(`${request.method} ${path}`);
    const parameters: { name: string; in: string }[] = operation.parameters ?? [];
    for (const name of request.url.searchParams.keys()) {
      expect(
        parameters.some((x) => x.in === 'query' && x.name === name),
        `${request.method} ${path}: query parameter ${name}`,
      ).toBe(true);
    }
    for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
      expect(
        parameters.some((x) => x.in === 'path' && x.name === name),
        `${path}: path parameter ${name}`,
      ).toBe(true);
    }
    if (request.method === 'post') {
      expect(Object.keys(operation.requestBody?.content ?? {}), `${path}: body media types`).toContain(
        request.contentType,
      );
    }
  }
  expect([...seen].sort()).toEqual([
    'get /v1/connections',
    'get /v1/events',
    'get /v1/events/{id}',
    'get /v1/events/{id}/impact',
    'get /v1/impact',
    'get /v1/metrics',
    'get /v1/metrics/{id}',
    'get /v1/metrics/{id}/series',
    'post /v1/events',
  ]);
  // What waitForReport relies on is part of the contract too.
  const impact = doc.paths['/v1/events/{id}/impact'].get.responses;
  expect(Object.keys(impact['200'].headers ?? {})).toEqual(expect.arrayContaining(['ETag', 'Retry-After']));
  expect(impact['304']).toBeDefined();
  expect(doc.paths['/v1/events'].post.responses['202']).toBeDefined();
});
