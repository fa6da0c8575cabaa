// `opstrails-impact mcp`: the MCP server over stdio for AI assistants (Claude
// Desktop, Cursor, VS Code), reading a running service through its HTTP API.
// stdout carries MCP messages only; everything else goes to stderr.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Readable, Writable } from 'node:stream';
import { createMcpServer } from '../mcp/server.js';
import { createClient, OpsTrailsError } from '../sdk/index.js';

export const MCP_USAGE = `usage: opstrails-impact mcp

Serve OpsTrails Impact's read-only MCP tools over stdio (for Claude Desktop,
Cursor, VS Code, ...), reading a running service through its HTTP API.

environment:
  OPSTRAILS_URL      the service (default http://127.0.0.1:8080)
  OPSTRAILS_API_KEY  an API key with the read scope (required)
`;

const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface McpIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Run the stdio server until stdin ends; returns the exit code. */
export async function mcp(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: McpIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(MCP_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    io.stderr.write(`opstrails-impact mcp takes no arguments (got ${argv.join(' ')})\n\n${MCP_USAGE}`);
    return 2;
  }
  const url = env.OPSTRAILS_URL || DEFAULT_URL;
  const apiKey = env.OPSTRAILS_API_KEY;
  if (!apiKey) {
    io.stderr.write(`opstrails-impact mcp: set OPSTRAILS_API_KEY to an API key with the read scope\n\n${MCP_USAGE}`);
    return 2;
  }
  let client;
  try {
    client = createClient({
      url,
      apiKey,
      // An assistant waits on each call: a few quick retries, never a long Retry-After.
      retry: { maxAttempts: 3, maxRetryAfterMs: 10_000 },
      requestTimeoutMs: 20_000,
    });
  } catch (err) {
    if (!(err instanceof OpsTrailsError)) throw err;
    io.stderr.write(`opstrails-impact mcp: OPSTRAILS_URL: ${err.detail}\n`);
    return 2;
  }
  // A stray console.log (ours or a dependency's) would corrupt the MCP stream on stdout.
  console.log = console.info = console.debug = console.error;
  const log = (line: string) => io.stderr.write(`opstrails-impact mcp: ${line}\n`);
  const server = createMcpServer({
    client,
    onUnexpected: (err, where) => log(`${where} failed: ${err instanceof Error ? err.stack : String(err)}`),
  });
  const transport = new StdioServerTransport(io.stdin, io.stdout);
  transport.onerror = (err) => log(`stdio: ${err.message}`);
  const ended = new Promise<void>((resolve) => {
    io.stdin.once('end', resolve);
    io.stdin.once('close', resolve);
  });
  await server.connect(transport);
  log(`serving MCP over stdio for ${new URL(url).origin}`);
  await ended;
  await server.close();
  return 0;
}
