// `opstrails-impact report`: a table for people and JSON for scripts, from a running service.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { report } from '../../cli/report.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 14, 16, 0);
let p: Pipeline;
let base: string;

const sink = () => {
  const chunks: string[] = [];
  const stream = new Writable({ write: (c, _e, done) => (chunks.push(String(c)), done()) });
  return { stream, text: () => chunks.join('') };
};

beforeAll(async () => {
  p = await pipeline(T + MIN);
  const connection = (await p.call('POST', '/v1/connections', { provider: 'testdata', name: 'synthetic' })).json();
  await p.call('POST', '/v1/metrics', {
    connection_id: connection.id,
    name: 'Checkout errors',
    kind: 'count',
    direction: 'increase_is_bad',
    critical: true,
    query: { shape: 'count', base: 300, noise: 0.03, changes: [{ at: new Date(T).toISOString(), relative: 0.5 }] },
  });
  await p.call(
    'POST',
    '/v1/events',
    { specversion: '1.0', id: 'd-1', source: 'ci', type: 'deployment', time: new Date(T).toISOString(), version: 'v3' },
    { 'content-type': 'application/cloudevents+json' },
  );
  await p.advanceTo(T + 90 * MIN);
  base = await p.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => p?.close());

it('prints the report as a table', async () => {
  const out = sink();
  const err = sink();
  expect(await report(['d-1', '--url', base, '--key', p.key], out.stream, err.stream)).toBe(0);
  const text = out.text();
  expect(text).toContain('deployment d-1 (v3)');
  expect(text).toContain('verdict: REGRESSION');
  expect(text).toMatch(/Checkout errors \*\s+REGRESSION\s+\d+/);
  expect(text).toMatch(/\+\d+\.\d%/);
  expect(err.text()).toBe('');
});

it('prints JSON for scripts, and fails clearly on a wrong key or event', async () => {
  const out = sink();
  expect(await report(['d-1', '--json', '--url', base, '--key', p.key], out.stream, sink().stream)).toBe(0);
  expect(JSON.parse(out.text())).toMatchObject({ status: 'ready', verdict: 'regression', event: { id: 'd-1' } });
  const err = sink();
  expect(await report(['nope', '--url', base, '--key', p.key], sink().stream, err.stream)).toBe(1);
  expect(err.text()).toContain('HTTP 404');
  const noKey = sink();
  expect(await report(['d-1', '--url', base], sink().stream, noKey.stream, {})).toBe(2);
  expect(noKey.text()).toContain('missing API key');
});
