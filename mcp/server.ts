// The MCP server of OpsTrails Impact: one set of read-only tools and resources
// over an SDK client, whichever transport carries it (stdio in `opstrails-impact
// mcp`, Streamable HTTP at /mcp on the service).
import { createRequire } from 'node:module';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { OpsTrailsClient } from '../sdk/index.js';
import type { UnexpectedErrorHandler } from './errors.js';
import { registerResources } from './resources.js';
import { registerTools } from './tools.js';

// package.json is one folder up from this source file, two from its compiled copy in dist/mcp/.
const PACKAGE_JSON = import.meta.url.endsWith('.ts') ? '../package.json' : '../../package.json';
const { version } = createRequire(import.meta.url)(PACKAGE_JSON) as { version: string };

/** What a model is told about the server when it connects. */
const INSTRUCTIONS =
  'OpsTrails Impact measures what events (deployments, rollbacks, incidents) did to metrics pulled from ' +
  'monitoring providers. list_impacts answers "what regressed?" over a time range; get_impact_report ' +
  'explains one event per metric; list_events, list_metrics, get_metric_series and list_connections show ' +
  'the data behind a report. Everything is read-only. Instants are RFC 3339 (2026-11-26T10:00:00Z).';

export interface McpServerOptions {
  /** The API client every tool and resource reads through (its key decides the org and scopes). */
  client: OpsTrailsClient;
  /** Told about failures that are not API answers (bugs); callers only get a generic text. */
  onUnexpected?: UnexpectedErrorHandler;
}

/** A new MCP server with every tool and resource registered (not connected to a transport). */
export function createMcpServer(options: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'opstrails-impact', version }, { instructions: INSTRUCTIONS });
  registerTools(server, options.client, options.onUnexpected);
  registerResources(server, options.client, options.onUnexpected);
  return server;
}
