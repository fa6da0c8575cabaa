// The MCP resources: an event (opstrails://events/{id}) and its impact report
// (opstrails://reports/{event_id}) as JSON, listable as the most recent ones.
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Variables } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { OpsTrailsClient } from '../sdk/index.js';
import { resourceError, type UnexpectedErrorHandler } from './errors.js';
import { eventLine, summaryLine } from './text.js';

/** How many recent events (and reports) a resource listing names. */
export const RECENT_RESOURCES = 50;

const JSON_TYPE = 'application/json';

/** The resource URI of an event (ids are percent-encoded: they may hold "/" or ":"). */
export const eventUri = (id: string) => `opstrails://events/${encodeURIComponent(id)}`;
/** The resource URI of an event's impact report. */
export const reportUri = (eventId: string) => `opstrails://reports/${encodeURIComponent(eventId)}`;

/** One template variable, decoded (the URI carries it percent-encoded). */
function variable(variables: Variables, name: string): string {
  const value = variables[name];
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  try {
    return decodeURIComponent(raw);
  } catch {
    // Not valid percent-encoding: the text as given is the id to look up (and most likely not found).
    return raw;
  }
}

/** Register the event and report resources on a server, reading through `client`. */
export function registerResources(server: McpServer, client: OpsTrailsClient, onUnexpected?: UnexpectedErrorHandler) {
  /** Read one resource as JSON text; failures become JSON-RPC errors naming the URI. */
  async function readJson(uri: URL, read: () => Promise<unknown>) {
    try {
      return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify(await read(), null, 2) }] };
    } catch (err) {
      throw resourceError(uri.href, err, onUnexpected);
    }
  }

  server.registerResource(
    'event',
    new ResourceTemplate('opstrails://events/{id}', {
      list: async () => {
        try {
          const page = await client.listEvents({ limit: RECENT_RESOURCES });
          // Several sources may share an id: the URI names the newest, as GET /v1/events/{id} does.
          const seen = new Set<string>();
          const events = page.items.filter((e) => !seen.has(e.id) && seen.add(e.id));
          return {
            resources: events.map((e) => ({
              uri: eventUri(e.id),
              name: e.id,
              title: eventLine(e),
              mimeType: JSON_TYPE,
            })),
          };
        } catch (err) {
          throw resourceError('opstrails://events', err, onUnexpected);
        }
      },
    }),
    {
      title: 'Event',
      description: `An event as it was sent (CloudEvents JSON); the listing names the ${RECENT_RESOURCES} most recent.`,
      mimeType: JSON_TYPE,
    },
    (uri, variables) => readJson(uri, () => client.getEvent(variable(variables, 'id'))),
  );

  server.registerResource(
    'impact-report',
    new ResourceTemplate('opstrails://reports/{event_id}', {
      list: async () => {
        try {
          const page = await client.listImpacts({ limit: RECENT_RESOURCES });
          const seen = new Set<string>();
          const items = page.items.filter((i) => !seen.has(i.id) && seen.add(i.id));
          return {
            resources: items.map((i) => ({
              uri: reportUri(i.id),
              name: `report ${i.id}`,
              title: summaryLine(i),
              mimeType: JSON_TYPE,
            })),
          };
        } catch (err) {
          throw resourceError('opstrails://reports', err, onUnexpected);
        }
      },
    }),
    {
      title: 'Impact report',
      description: `An event's impact report (JSON); the listing names the ${RECENT_RESOURCES} most recent events.`,
      mimeType: JSON_TYPE,
    },
    (uri, variables) => readJson(uri, () => client.getImpact(variable(variables, 'event_id'))),
  );
}
