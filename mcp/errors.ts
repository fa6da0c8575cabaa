// How failures reach an MCP client: a tool answers an error result (isError) whose
// text is the API's problem (naming the failing argument) and a resource read a
// JSON-RPC error. The SDK's errors never carry the API key, and neither do these.
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { OpsTrailsError } from '../sdk/index.js';

/** JSON-RPC code for a resource that does not exist (MCP specification, resources). */
export const RESOURCE_NOT_FOUND = -32002;

/** Told about a failure that is not an API answer (a bug): the client gets a generic text, the log the error. */
export type UnexpectedErrorHandler = (err: unknown, where: string) => void;

/** What went wrong, in one line a model can act on. */
export function describeFailure(err: unknown): string {
  if (err instanceof OpsTrailsError) {
    const hint =
      err.code === 'not_found'
        ? ' (no such id in this org)'
        : err.code === 'auth_failed' || err.code === 'forbidden'
          ? ' (check the API key and that it holds the read scope)'
          : '';
    return `${err.message}${hint}`;
  }
  return 'unexpected error (details are in the service’s log)';
}

/** A tool's failure as an MCP tool error result. */
export function toolError(tool: string, err: unknown, onUnexpected?: UnexpectedErrorHandler): CallToolResult {
  if (!(err instanceof OpsTrailsError)) onUnexpected?.(err, tool);
  return { content: [{ type: 'text', text: `${tool}: ${describeFailure(err)}` }], isError: true };
}

/** A resource read's failure as a JSON-RPC error (resource not found for an API 404). */
export function resourceError(uri: string, err: unknown, onUnexpected?: UnexpectedErrorHandler): McpError {
  if (!(err instanceof OpsTrailsError)) onUnexpected?.(err, uri);
  const code =
    err instanceof OpsTrailsError
      ? err.code === 'not_found'
        ? RESOURCE_NOT_FOUND
        : err.code === 'invalid_request'
          ? ErrorCode.InvalidParams
          : ErrorCode.InternalError
      : ErrorCode.InternalError;
  return new McpError(code, `${uri}: ${describeFailure(err)}`, { uri });
}
