// /mcp: the MCP server over Streamable HTTP on the running service. Stateless
// (no session: any replica answers any request), JSON answers (no SSE stream),
// `Authorization: Bearer <API key>` with the read scope, Host/Origin checked
// against DNS rebinding. The tools read through the HTTP API in-process with the
// caller's own key (mcp/inject.ts), so they see exactly what the API shows it.
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError } from '../errors.js';
import type { RouteDoc } from '../openapi.js';
import { createClient } from '../../sdk/index.js';
import { allowedHostnames, hostRefusal } from '../../mcp/hosts.js';
import { injectFetch } from '../../mcp/inject.js';
import { createMcpServer } from '../../mcp/server.js';

export interface McpRouteOptions {
  /**
   * The service's own names besides localhost, 127.0.0.1 and [::1] (e.g. impact.example.com, or
   * https://impact.example.com; ports are ignored): a request whose Host or Origin is another name is refused.
   */
  allowedHosts?: readonly string[];
}

/** The path of the MCP endpoint. */
export const MCP_PATH = '/mcp';

/** Headers the transport sets that Fastify computes itself. */
const OWN_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);

// The read scope is checked by the auth plugin from the doc's scope, as on every API route.
const POST_DOC: RouteDoc = {
  tag: 'mcp',
  scope: 'read',
  summary: 'MCP (Model Context Protocol) over Streamable HTTP: read-only tools for AI assistants',
  description:
    'Stateless: no session, so any replica answers any request. Tools: list_events, get_event, ' +
    'get_impact_report, list_impacts, list_metrics, get_metric_series, list_connections; resources ' +
    'opstrails://events/{id} and opstrails://reports/{event_id}. They read through this API with the caller’s key.',
  rawBody: { 'application/json': { type: 'object', description: 'one JSON-RPC 2.0 message (MCP)' } },
  responses: {
    200: { description: 'the JSON-RPC response (application/json; no SSE stream)', schema: { type: 'object' } },
    202: { description: 'a notification or a response from the client: accepted, no body' },
    400: { description: 'not a JSON-RPC message' },
    403: {
      description:
        'the key lacks the read scope, or the Host or Origin is not one of the service’s names (DNS rebinding protection)',
    },
    406: { description: 'Accept must list application/json and text/event-stream' },
  },
};

const statelessDoc = (what: string): RouteDoc => ({
  tag: 'mcp',
  scope: 'read',
  summary: `MCP: no ${what} (the endpoint is stateless)`,
  responses: { 405: { description: 'method not allowed: POST JSON-RPC messages', headers: { Allow: 'POST' } } },
});

/** The API key of an authenticated request (app.authenticate has checked the header's form). */
function apiKeyOf(req: FastifyRequest): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
}

/** The MCP endpoint as a Fastify plugin; needs the app's auth plugin (app.authenticate) and error handler. */
export async function mcpRoutes(app: FastifyInstance, opts: McpRouteOptions = {}) {
  if (!app.hasDecorator('authenticate')) {
    throw new Error('mcpRoutes needs the auth plugin (api/auth.ts) registered first: it authenticates /mcp');
  }
  const allowed = allowedHostnames(opts.allowedHosts);
  // Host first: a refused name learns nothing about keys.
  const checkHost = async (req: FastifyRequest) => {
    const refusal = hostRefusal(req.headers, allowed);
    if (refusal) throw new ProblemError(403, refusal);
  };
  const onRequest = [checkHost, app.authenticate];

  app.post(MCP_PATH, { onRequest, config: { doc: POST_DOC } }, async (req, reply) => {
    const client = createClient({
      url: 'http://localhost',
      apiKey: apiKeyOf(req),
      fetch: injectFetch(app, String(req.id)),
      // In-process: nothing a retry could fix.
      retry: { maxAttempts: 1 },
    });
    const server = createMcpServer({
      client,
      onUnexpected: (err, where) =>
        req.log.error({ err: err instanceof Error ? err.message : String(err), where }, 'mcp: unexpected failure'),
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, {
        method: 'POST',
        headers: webHeaders(req),
      });
      const response = await transport.handleRequest(request, { parsedBody: req.body });
      const body = await response.text();
      reply.code(response.status);
      response.headers.forEach((value, name) => {
        if (!OWN_HEADERS.has(name)) reply.header(name, value);
      });
      return reply.send(body.length > 0 ? body : undefined);
    } finally {
      await server.close();
    }
  });

  // Stateless: no stream to open (GET) and no session to end (DELETE).
  const notAllowed = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .send({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; POST JSON-RPC to /mcp' },
        id: null,
      });
  app.get(MCP_PATH, { onRequest, config: { doc: statelessDoc('server-sent event stream') } }, notAllowed);
  app.delete(MCP_PATH, { onRequest, config: { doc: statelessDoc('session to end') } }, notAllowed);
}

/** The request's headers as web Headers (repeated headers joined, as Node does). */
function webHeaders(req: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}
