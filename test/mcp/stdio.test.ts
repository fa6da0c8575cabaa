// `opstrails-impact mcp` over stdio: the MCP SDK's own Client spawns the real
// command (bin/opstrails-impact.js), which reads the running service (the whole
// pipeline on chDB, listening on a port) through its HTTP API with the SDK client.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_NOT_FOUND } from '../../mcp/errors.js';
import { READ_ONLY } from '../../mcp/tools.js';
import { pipeline, type Pipeline } from '../support/pipeline.js';
import { DD_SECRETS, iso, seed, T, toolCases, type Seeded } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = 'bin/opstrails-impact.js';

let p: Pipeline;
let ids: Seeded;
let base: string;
const running: { client: Client; stderr: string[]; errors: Error[] }[] = [];

/** Spawn `opstrails-impact mcp` for a service and key, connected through the SDK's stdio client. */
async function spawnMcp(env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    cwd: ROOT,
    env: { ...getDefaultEnvironment(), ...env },
    stderr: 'pipe',
  });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const client = new Client({ name: 'opstrails-mcp-test', version: '1.0.0' });
  const errors: Error[] = [];
  // Anything on stdout that is not an MCP message lands here (the client keeps this handler and adds its own).
  transport.onerror = (err) => errors.push(err);
  await client.connect(transport);
  const one = { client, stderr, errors };
  running.push(one);
  return one;
}

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/** Run the command to completion (no MCP client): its exit code and output. */
function runCommand(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'mcp', ...args], {
      cwd: ROOT,
      env: { ...getDefaultEnvironment(), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end();
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  p = await pipeline(T + 60_000);
  ids = await seed(p);
  base = await p.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  for (const r of running) await r.client.close();
  await p?.close();
});

describe('opstrails-impact mcp (stdio)', () => {
  it('serves every tool, read-only, and answers them from the running service', async () => {
    const { client, stderr, errors } = await spawnMcp({ OPSTRAILS_URL: base, OPSTRAILS_API_KEY: p.key });
    const { tools } = await client.listTools();
    const cases = toolCases(ids);
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(cases).sort());
    for (const t of tools) expect(t.annotations, t.name).toMatchObject(READ_ONLY);

    const outputs: string[] = [];
    for (const [name, list] of Object.entries(cases)) {
      for (const c of list) {
        const r = (await client.callTool({ name, arguments: c.args })) as CallToolResult;
        outputs.push(JSON.stringify(r));
        expect(Boolean(r.isError), `${name} ${JSON.stringify(c.args)}: ${textOf(r)}`).toBe(!c.ok);
        if (!c.ok) expect(textOf(r), `${name} ${JSON.stringify(c.args)}`).toContain(c.names);
      }
    }
    const regressions = (await client.callTool({
      name: 'list_impacts',
      arguments: { type: 'deployment', subject: 'production', verdict: 'regression', since: iso(T - 86_400_000) },
    })) as CallToolResult;
    expect((regressions.structuredContent as any).impacts.map((i: any) => i.id)).toEqual(['deploy-1']);
    const report = (await client.callTool({
      name: 'get_impact_report',
      arguments: { event_id: 'deploy-1' },
    })) as CallToolResult;
    expect(report.structuredContent).toEqual({ report: (await p.call('GET', '/v1/events/deploy-1/impact')).json() });
    expect(textOf(report)).toContain('report ready, verdict regression');

    const theirs = (await client.callTool({
      name: 'get_event',
      arguments: { id: ids.other.eventId },
    })) as CallToolResult;
    expect(theirs.isError).toBe(true);
    expect(textOf(theirs)).toContain('HTTP 404');

    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('opstrails://reports/deploy-1');
    const event = await client.readResource({ uri: 'opstrails://events/deploy-1' });
    expect(JSON.parse('text' in event.contents[0] ? event.contents[0].text : '')).toMatchObject({ id: 'deploy-1' });
    await expect(client.readResource({ uri: `opstrails://events/${ids.other.eventId}` })).rejects.toMatchObject({
      code: RESOURCE_NOT_FOUND,
    });

    // stdout carried MCP messages only; the log went to stderr, without the key.
    expect(errors).toEqual([]);
    expect(stderr.join('')).toContain(`serving MCP over stdio for ${base}`);
    const everything = [...outputs, stderr.join('')].join('\n');
    for (const secret of [p.key, ...Object.values(DD_SECRETS)]) expect(everything).not.toContain(secret);
  });

  it('a wrong key or an unreachable service is a tool error, never a crash, never the key', async () => {
    const wrong = 'otk_wrong_key_0123456789abcdef0123456789';
    const { client, stderr } = await spawnMcp({ OPSTRAILS_URL: base, OPSTRAILS_API_KEY: wrong });
    const refused = (await client.callTool({ name: 'list_impacts', arguments: {} })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('list_impacts: HTTP 401');
    expect(textOf(refused)).toContain('the API key is not valid or has been revoked');
    expect(JSON.stringify(refused) + stderr.join('')).not.toContain(wrong);

    const down = await spawnMcp({ OPSTRAILS_URL: 'http://127.0.0.1:9', OPSTRAILS_API_KEY: wrong });
    const unreachable = (await down.client.callTool({ name: 'list_connections', arguments: {} })) as CallToolResult;
    expect(unreachable.isError).toBe(true);
    expect(textOf(unreachable)).toContain('cannot reach http://127.0.0.1:9');
    expect(JSON.stringify(unreachable)).not.toContain(wrong);
    // Still serving after the failures.
    expect((await down.client.listTools()).tools).toHaveLength(7);
  });

  it('without OPSTRAILS_API_KEY it says so on stderr and exits 2, writing nothing to stdout', async () => {
    const run = await runCommand({ OPSTRAILS_URL: base });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('set OPSTRAILS_API_KEY');
    const bad = await runCommand({ OPSTRAILS_URL: 'ftp://example.com', OPSTRAILS_API_KEY: 'otk_x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('OPSTRAILS_URL: the service URL must use http or https');
    // stdin closed at once: the server stops cleanly.
    const ended = await runCommand({ OPSTRAILS_URL: base, OPSTRAILS_API_KEY: p.key });
    expect(ended).toMatchObject({ code: 0, stdout: '' });
  });
});
