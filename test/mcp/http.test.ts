// /mcp over Streamable HTTP: the MCP SDK's own Client against the whole service
// listening on a port (chDB store, reports computed by the real pipeline). Every
// tool is called; keys, scopes, org isolation and Host/Origin are the service's.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_NOT_FOUND } from '../../mcp/errors.js';
import { MAX_SERIES_POINTS, READ_ONLY } from '../../mcp/tools.js';
import {
  call,
  createKey,
  DAY,
  DD_SECRETS,
  HOUR,
  iso,
  mcpService,
  seed,
  T,
  tableDigests,
  toolCases,
  type Seeded,
} from './support.js';

let s: Awaited<ReturnType<typeof mcpService>>;
let ids: Seeded;
let base: string;
const clients: Client[] = [];
/** Every text an MCP answer carried: none may hold a key or a secret. */
const seen: string[] = [];

async function connect(key: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'opstrails-mcp-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${key}`, ...headers } },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function tool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  seen.push(JSON.stringify(result));
  return result;
}
/** The text of a resource read's first content. */
const textContent = (r: ReadResourceResult) => ('text' in r.contents[0] ? r.contents[0].text : '');
const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const data = (r: CallToolResult) => r.structuredContent as any;

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** POST one JSON-RPC message to /mcp over real HTTP. */
const post = (headers: Record<string, string>, body: unknown = INITIALIZE) =>
  fetch(`${base}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(body) });

beforeAll(async () => {
  s = await mcpService(T + 60_000, { allowedHosts: ['impact.example.com', 'https://ops.example.org:8443'] });
  ids = await seed(s);
  base = await s.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await s?.close();
});

describe('tools', () => {
  it('lists every tool, read-only, with an input and an output schema', async () => {
    const { tools } = await (await connect(s.key)).listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [
        'get_event',
        'get_impact_report',
        'get_metric_series',
        'list_connections',
        'list_events',
        'list_impacts',
        'list_metrics',
      ].sort(),
    );
    for (const t of tools) {
      expect(t.annotations, t.name).toMatchObject(READ_ONLY);
      expect(t.description, t.name).toMatch(/\S{10}/);
      expect(t.outputSchema?.type, t.name).toBe('object');
      // Strict input: a misspelt argument is refused by name.
      expect(t.inputSchema.additionalProperties, t.name).toBe(false);
    }
    const series = tools.find((t) => t.name === 'get_metric_series')!;
    expect(series.description).toContain(`At most ${MAX_SERIES_POINTS} points`);
  });

  it('list_impacts answers "which deploys to production regressed this week?"', async () => {
    const client = await connect(s.key);
    const r = await tool(client, 'list_impacts', {
      type: 'deployment',
      subject: 'production',
      verdict: 'regression',
      since: iso(T - 3 * DAY),
    });
    expect(r.isError).toBeFalsy();
    expect(data(r).impacts.map((i: any) => i.id)).toEqual(['deploy-1']);
    expect(data(r).impacts[0]).toMatchObject({ status: 'ready', verdict: 'regression', version: 'v1.4.2' });
    expect(data(r).next_cursor).toBeNull();
    expect(textOf(r)).toContain('deployment deploy-1 on production (v1.4.2): regression');
    expect(textOf(r)).toContain('worst metric: Checkout errors regression +');

    const first = await tool(client, 'list_impacts', { limit: 1 });
    expect(data(first).impacts).toHaveLength(1);
    expect(textOf(first)).toContain(`cursor "${data(first).next_cursor}"`);
    const second = await tool(client, 'list_impacts', { limit: 1, cursor: data(first).next_cursor });
    expect(data(second).impacts[0].id).not.toBe(data(first).impacts[0].id);
  });

  it('get_impact_report: the report with per-metric verdicts, and ad-hoc windows', async () => {
    const client = await connect(s.key);
    const r = await tool(client, 'get_impact_report', { event_id: 'deploy-1' });
    expect(r.isError).toBeFalsy();
    const report = data(r).report;
    expect(report).toMatchObject({ status: 'ready', verdict: 'regression', event: { id: 'deploy-1' } });
    expect(report.metrics[0]).toMatchObject({ name: 'Checkout errors', verdict: 'regression' });
    expect(report.metrics[0].change.relative).toBeGreaterThan(0.3);
    // The text is what the API says, in short: the verdict and each metric's change with its interval.
    const text = textOf(r);
    expect(text).toContain('report ready, verdict regression');
    expect(text).toMatch(
      /- Checkout errors \(critical\): regression, change \+\d+\.\d% \[\+\d+\.\d% \.\. \+\d+\.\d%\]/,
    );
    expect(text).toContain(report.metrics[0].explanation);
    // The same report as the API serves it.
    const api = (await call(s.app, s.key, 'GET', '/v1/events/deploy-1/impact')).json();
    expect(report).toEqual(api);

    const adHoc = await tool(client, 'get_impact_report', {
      event_id: 'deploy-1',
      before: '30m',
      after: '30m',
      gap: '5m',
    });
    expect(adHoc.isError).toBeFalsy();
    const span = (w: { from: string; to: string }) => Date.parse(w.to) - Date.parse(w.from);
    expect(span(data(adHoc).report.windows.after)).toBe(30 * 60_000);
    expect(span(report.windows.after)).toBe(HOUR);
    expect(data(adHoc).report).toEqual(
      (await call(s.app, s.key, 'GET', '/v1/events/deploy-1/impact?before=30m&after=30m&gap=5m')).json(),
    );

    const staging = await tool(client, 'get_impact_report', { event_id: 'deploy-0' });
    expect(data(staging).report.metrics).toEqual([]);
  });

  it('list_events and get_event: the events as sent, filtered and paged', async () => {
    const client = await connect(s.key);
    const all = await tool(client, 'list_events', {});
    expect(data(all).events.map((e: any) => e.id)).toEqual(['deploy-1', 'deploy-0']);
    expect(textOf(all)).toContain('- deployment deploy-1 on production (v1.4.2) at 2026-11-14T16:00:00');
    const staging = await tool(client, 'list_events', { subject: 'staging' });
    expect(data(staging).events.map((e: any) => e.id)).toEqual(['deploy-0']);
    const paged = await tool(client, 'list_events', { limit: 1 });
    expect(data(paged).events).toHaveLength(1);
    expect(data(paged).next_cursor).toEqual(expect.any(String));
    const none = await tool(client, 'list_events', { since: iso(T + DAY) });
    expect(data(none)).toEqual({ events: [], next_cursor: null });
    expect(textOf(none)).toBe('0 event(s), newest first.');

    const one = await tool(client, 'get_event', { id: 'deploy-1' });
    expect(data(one).event).toEqual((await call(s.app, s.key, 'GET', '/v1/events/deploy-1')).json());
    expect(data(one).event.version).toBe('v1.4.2');
    expect(textOf(one)).toBe(
      'deployment deploy-1 on production (v1.4.2) at 2026-11-14T16:00:00.000Z from github.com/acme/shop',
    );
  });

  it('list_metrics, get_metric_series (capped) and list_connections (health, no secrets)', async () => {
    const client = await connect(s.key);
    const metrics = await tool(client, 'list_metrics', {});
    expect(data(metrics).metrics).toEqual([
      expect.objectContaining({ id: ids.metricId, name: 'Checkout errors', kind: 'count', threshold: 0.1 }),
    ]);
    expect(textOf(metrics)).toContain('applies to subjects production');

    const hour = await tool(client, 'get_metric_series', {
      metric_id: ids.metricId,
      from: iso(T - HOUR),
      to: iso(T + HOUR),
    });
    expect(hour.isError).toBeFalsy();
    expect(data(hour)).toMatchObject({ metric_id: ids.metricId, total_points: 120, truncated: false });
    expect(data(hour).points).toHaveLength(120);
    expect(data(hour).points[0].ts).toBe(T - HOUR);
    expect(textOf(hour)).toMatch(/^Checkout errors \(count, step 60 s\) from .* 120 point\(s\): min \d+/);

    const week = await tool(client, 'get_metric_series', {
      metric_id: ids.metricId,
      from: iso(T - 6 * DAY),
      to: iso(T + 2 * HOUR),
    });
    expect(data(week).total_points).toBeGreaterThan(MAX_SERIES_POINTS);
    expect(data(week).points).toHaveLength(MAX_SERIES_POINTS);
    expect(data(week).truncated).toBe(true);
    expect(textOf(week)).toContain(`Showing the first ${MAX_SERIES_POINTS} of ${data(week).total_points} points`);

    const connections = await tool(client, 'list_connections');
    const listed = data(connections).connections;
    expect(listed.map((c: any) => c.id).sort()).toEqual([ids.connectionId, ids.datadogId].sort());
    const synthetic = listed.find((c: any) => c.id === ids.connectionId);
    expect(synthetic.health).toMatchObject({ queued_jobs: 0, last_error: null });
    expect(synthetic.health.last_success).toEqual(expect.any(String));
    expect(textOf(connections)).toContain(`- datadog (${ids.datadogId}): datadog, not checked yet; last success never`);
    for (const secret of Object.values(DD_SECRETS)) expect(JSON.stringify(connections)).not.toContain(secret);
  });

  it('bad input and API problems are tool errors naming the argument or the problem', async () => {
    const client = await connect(s.key);
    for (const [name, cases] of Object.entries(toolCases(ids))) {
      for (const c of cases.filter((x) => !x.ok)) {
        const r = await tool(client, name, c.args);
        expect(r.isError, `${name} ${JSON.stringify(c.args)}`).toBe(true);
        expect(textOf(r), `${name} ${JSON.stringify(c.args)}`).toContain(c.names);
      }
    }
    // The MCP SDK validates the arguments against the tool's schema, and says which one failed.
    const since = await tool(client, 'list_events', { since: 'yesterday' });
    expect(textOf(since)).toMatch(
      /Invalid arguments for tool list_events: expected an RFC 3339 instant such as 2026-11-26T10:00:00Z at since$/,
    );
    // What the API says is passed on: the 400's detail and the field it names.
    const cursor = await tool(client, 'list_events', { cursor: 'not-a-cursor' });
    expect(textOf(cursor)).toBe(
      'list_events: HTTP 400 Invalid request: the cursor is not valid; use next_cursor from the previous page ' +
        '(cursor: not a cursor this API issued)',
    );
    const window = await tool(client, 'get_metric_series', {
      metric_id: ids.metricId,
      from: iso(T - 30 * DAY),
      to: iso(T),
    });
    expect(textOf(window)).toContain('the window spans more than 10000 buckets of 60 s');
  });
});

describe('org isolation', () => {
  it("another org's events, reports, metrics and connections are not found", async () => {
    const client = await connect(s.key);
    for (const [name, args] of [
      ['get_event', { id: ids.other.eventId }],
      ['get_impact_report', { event_id: ids.other.eventId }],
      ['get_metric_series', { metric_id: ids.other.metricId, from: iso(T - HOUR), to: iso(T) }],
    ] as const) {
      const r = await tool(client, name, args);
      expect(r.isError, name).toBe(true);
      expect(textOf(r), name).toMatch(/HTTP 404 .*not found \(no such id in this org\)/);
    }
    const metrics = await tool(client, 'list_metrics', { connection_id: ids.other.connectionId });
    expect(data(metrics).metrics).toEqual([]);
    const events = await tool(client, 'list_events', { limit: 100 });
    expect(data(events).events.map((e: any) => e.id)).not.toContain(ids.other.eventId);
    const connections = await tool(client, 'list_connections');
    expect(data(connections).connections.map((c: any) => c.id)).not.toContain(ids.other.connectionId);
    const read = await client.readResource({ uri: `opstrails://events/${ids.other.eventId}` }).then(
      () => undefined,
      (e: unknown) => e as { code: number; message: string },
    );
    expect(read).toMatchObject({ code: RESOURCE_NOT_FOUND });
    expect(read?.message).toContain('not found');

    // The other org sees its own through the same endpoint.
    const theirs = await tool(await connect(ids.other.key), 'get_event', { id: ids.other.eventId });
    expect(theirs.isError).toBeFalsy();
    expect(data(theirs).event.id).toBe(ids.other.eventId);
  });
});

describe('resources', () => {
  it('lists recent events and reports, and reads them as JSON', async () => {
    const client = await connect(s.key);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'opstrails://events/{id}',
      'opstrails://reports/{event_id}',
    ]);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual([
      'opstrails://events/deploy-0',
      'opstrails://events/deploy-1',
      'opstrails://reports/deploy-0',
      'opstrails://reports/deploy-1',
    ]);
    expect(resources.every((r) => r.mimeType === 'application/json')).toBe(true);

    const event = await client.readResource({ uri: 'opstrails://events/deploy-1' });
    expect(event.contents[0]).toMatchObject({ uri: 'opstrails://events/deploy-1', mimeType: 'application/json' });
    expect(JSON.parse(textContent(event))).toMatchObject({ id: 'deploy-1', version: 'v1.4.2' });
    const report = await client.readResource({ uri: 'opstrails://reports/deploy-1' });
    expect(JSON.parse(textContent(report))).toMatchObject({ status: 'ready', verdict: 'regression' });
    seen.push(JSON.stringify([resources, event, report]));
  });
});

describe('access to /mcp', () => {
  it('refuses a missing, a wrong and a revoked key with 401 and WWW-Authenticate: Bearer', async () => {
    const { id, key: revoked } = await createKey(s, ['read']);
    // Valid until revoked.
    expect((await post({ authorization: `Bearer ${revoked}` })).status).toBe(200);
    expect((await call(s.app, s.key, 'DELETE', `/v1/keys/${id}`)).statusCode).toBe(204);
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Bearer otk_not_a_key_0123456789abcdef0123' },
      { authorization: `Bearer ${revoked}` },
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    ]) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = await res.text();
      expect(body).not.toContain(revoked);
    }
    await expect(connect(revoked)).rejects.toThrow(/401/);
  });

  it('refuses a key without the read scope, and the operator key, with 403', async () => {
    const { key: writer } = await createKey(s, ['events:write']);
    const res = await post({ authorization: `Bearer ${writer}` });
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toBe('this API key lacks the "read" scope');
    expect((await post({ authorization: 'Bearer root-key-for-mcp-tests-0123456789abcdef' })).status).toBe(403);
    const { key: reader } = await createKey(s, ['read']);
    const r = await tool(await connect(reader), 'list_impacts', {});
    expect(r.isError).toBeFalsy();
  });

  it('refuses a Host or an Origin the service does not answer to (DNS rebinding), before the key', async () => {
    const inject = (headers: Record<string, string>) =>
      s.app.inject({
        method: 'POST',
        url: '/mcp',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${s.key}`, ...headers },
        payload: INITIALIZE,
      });
    for (const headers of <Record<string, string>[]>[
      { host: 'evil.example' },
      { host: 'evil.example:8080' },
      { host: '127.0.0.1.evil.example' },
      { host: 'localhost', origin: 'http://evil.example' },
      { host: 'localhost', origin: 'null' },
    ]) {
      const res = await inject(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json().detail).toContain('DNS rebinding protection');
    }
    // Without a key a foreign host is still 403: the host is checked first.
    const anonymous = await s.app.inject({ method: 'POST', url: '/mcp', headers: { host: 'evil.example' } });
    expect(anonymous.statusCode).toBe(403);
    for (const headers of <Record<string, string>[]>[
      { host: 'localhost' },
      { host: 'localhost:9999', origin: 'http://localhost:3000' },
      { host: '[::1]:8080' },
      { host: 'impact.example.com' },
      { host: 'ops.example.org:8443', origin: 'https://ops.example.org:8443' },
    ]) {
      expect((await inject(headers)).statusCode, JSON.stringify(headers)).toBe(200);
    }
  });

  it('is stateless: no session id, any request stands alone; GET and DELETE answer 405', async () => {
    const init = await post({ authorization: `Bearer ${s.key}` });
    expect(init.status).toBe(200);
    expect(init.headers.get('mcp-session-id')).toBeNull();
    // A tools/call with no initialize before it, as a request reaching another replica would be.
    const res = await post(
      { authorization: `Bearer ${s.key}`, 'mcp-protocol-version': '2025-06-18' },
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get_event', arguments: { id: 'deploy-1' } } },
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 7, result: { structuredContent: { event: { id: 'deploy-1' } } } });
    for (const method of ['GET', 'DELETE']) {
      const other = await fetch(`${base}/mcp`, { method, headers: { authorization: `Bearer ${s.key}` } });
      expect(other.status, method).toBe(405);
      expect(other.headers.get('allow')).toBe('POST');
    }
    expect((await fetch(`${base}/mcp`, { method: 'GET' })).status).toBe(401);
  });
});

describe('read-only', () => {
  it('every registered tool is annotated read-only and leaves every table unchanged, valid input or not', async () => {
    const client = await connect(s.key);
    const { tools } = await client.listTools();
    const cases = toolCases(ids);
    // The table must cover every tool: a new tool needs its cases here.
    expect(Object.keys(cases).sort()).toEqual(tools.map((t) => t.name).sort());
    for (const t of tools) expect(t.annotations, t.name).toEqual({ title: t.title, ...READ_ONLY });

    // Authentication records a key's last use at most once a minute: this call did it already.
    const before = await tableDigests(s.store);
    for (const [name, list] of Object.entries(cases)) {
      for (const c of list) {
        const r = await tool(client, name, c.args);
        expect(Boolean(r.isError), `${name} ${JSON.stringify(c.args)}: ${textOf(r)}`).toBe(!c.ok);
      }
    }
    await client.listResources();
    await client.readResource({ uri: 'opstrails://events/deploy-1' });
    await client.readResource({ uri: 'opstrails://reports/deploy-1' });
    await client.readResource({ uri: 'opstrails://reports/no-such-event' }).catch(() => undefined);
    await s.runtime.scheduler.runDue();
    await s.runtime.impact.idle();
    expect(await tableDigests(s.store)).toEqual(before);
  });

  it('ad-hoc windows not stored yet: pending while the service fetches them, as the API does', async () => {
    const client = await connect(s.key);
    const args = { event_id: 'deploy-1', before: '12h', after: '60m', gap: '5m' };
    const pending = await tool(client, 'get_impact_report', args);
    expect(pending.isError).toBeFalsy();
    expect(data(pending).report.status).toBe('pending');
    expect(textOf(pending)).toContain('awaiting: Checkout errors: fetching the requested windows');
    // The service's own fetch (the one write a tool can set off, with GET /v1/events/{id}/impact).
    await s.runtime.scheduler.runDue();
    await s.runtime.impact.idle();
    const ready = await tool(client, 'get_impact_report', args);
    expect(data(ready).report).toMatchObject({ status: 'ready', verdict: 'regression' });
  });

  it('no answer ever carried an API key or a connection secret', () => {
    expect(seen.length).toBeGreaterThan(40);
    const all = seen.join('\n');
    for (const secret of [s.key, ids.other.key, ...Object.values(DD_SECRETS)]) expect(all).not.toContain(secret);
  });
});
