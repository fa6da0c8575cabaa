// OpenAPI 3.1 from the routes themselves: the zod schemas Fastify validates a
// route's input with (its `schema`: body, querystring, params) and what the route
// says about itself in `config.doc` (summary, scope, responses). An onRoute hook
// collects both into one document served at /openapi.json; a route without a doc
// is refused at start-up, so none goes missing.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { REPORT_COMPONENTS } from './report-schema.js';

type JsonSchema = Record<string, unknown>;

/** Who may call a route: a key scope, "root" for the operator key, null for public routes. */
export type RouteScope = 'events:write' | 'read' | 'admin' | 'root' | null;

/** What a route says about itself beyond its input schemas. */
export interface RouteDoc {
  summary: string;
  description?: string;
  tag: string;
  scope: RouteScope;
  /**
   * A body the route reads as bytes and validates itself (CloudEvents in three modes): its
   * schema per media type. JSON bodies belong in the route's `schema.body` (validated there).
   */
  rawBody?: Record<string, JsonSchema>;
  responses: Record<number, RouteResponse>;
}

/** One documented answer: its body in `type` (default application/json), other media types, headers. */
export interface RouteResponse {
  description: string;
  schema?: z.ZodType | JsonSchema;
  type?: string;
  /** The same answer in other media types (e.g. a report as text/html). */
  otherTypes?: Record<string, JsonSchema>;
  headers?: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    doc?: RouteDoc;
  }
}

/** JSON Schema of a zod schema as a request carries it (defaults optional, transforms before). */
export const toSchema = (s: z.ZodType | JsonSchema): JsonSchema => {
  if (s instanceof z.ZodType) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    return rest;
  }
  return s;
};

/** A reference to one of the document's shared schemas (components.schemas). */
export const schemaRef = (name: 'Problem' | 'CloudEvent' | 'ImpactReport') => ({
  $ref: `#/components/schemas/${name}`,
});

/** RFC 9457 problem details as this API sends them. */
/** One page of a cursor-paged list. */
export const pageSchema = (items: JsonSchema): JsonSchema => ({
  type: 'object',
  required: ['items', 'next_cursor'],
  properties: {
    items: { type: 'array', items },
    next_cursor: { type: ['string', 'null'], description: 'pass as cursor for the next page' },
  },
});

export const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'provider error code, for provider failures' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          pointer: { type: 'string' },
          index: { type: 'integer' },
          field: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
};

/** A CloudEvent 1.0 in structured form. */
export const CLOUDEVENT_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['specversion', 'id', 'source', 'type'],
  properties: {
    specversion: { const: '1.0' },
    id: { type: 'string', minLength: 1 },
    source: { type: 'string', minLength: 1 },
    type: { type: 'string', minLength: 1, examples: ['deployment', 'dev.opstrails.rollback'] },
    subject: { type: 'string', description: 'the environment, e.g. production' },
    time: { type: 'string', format: 'date-time' },
    version: { type: 'string', description: 'extension: the version deployed' },
    severity: { type: 'string', description: 'extension' },
    datacontenttype: { type: 'string' },
    dataschema: { type: 'string', format: 'uri' },
    data: {},
    data_base64: { type: 'string', contentEncoding: 'base64' },
  },
  additionalProperties: {
    type: ['string', 'integer', 'boolean'],
    description: 'extension attributes: lowercase a-z0-9 names',
  },
};

const STANDARD_ERRORS: Record<number, string> = {
  400: 'invalid request (fields named)',
  401: 'no or bad API key',
  403: 'the key lacks the scope',
  404: 'not found (also another org’s resource)',
};

interface CollectedRoute {
  method: string;
  url: string;
  doc: RouteDoc;
  body?: z.ZodType;
  query?: z.ZodObject;
  params?: z.ZodObject;
}

/**
 * Register the collector (before any route) and return the document builder. A route
 * without `config.doc` throws here, at start-up: every route appears in the document.
 */
export function openApiCollector(app: FastifyInstance, info: { title: string; version: string }): () => JsonSchema {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    if (methods.length === 0) return;
    const doc = route.config?.doc;
    if (!doc) throw new Error(`${methods.join(',')} ${route.url}: every route needs config.doc (api/openapi.ts)`);
    const inputs = routeInputs(route);
    if (inputs.body && doc.rawBody) throw new Error(`${route.url}: a schema.body and a doc.rawBody exclude each other`);
    for (const method of methods) routes.push({ method: method.toLowerCase(), url: route.url, doc, ...inputs });
  });
  let built: JsonSchema | undefined;
  return () => {
    built ??= build(routes, info);
    return built;
  };
}

/** The zod schemas Fastify validates the route's input with. */
function routeInputs(route: RouteOptions): Pick<CollectedRoute, 'body' | 'query' | 'params'> {
  const { body, querystring, params } = (route.schema ?? {}) as Record<string, unknown>;
  const object = (part: string, s: unknown): z.ZodObject | undefined => {
    if (s === undefined) return undefined;
    if (!(s instanceof z.ZodObject)) throw new Error(`${route.url}: schema.${part} must be a zod object`);
    return s;
  };
  if (body !== undefined && !(body instanceof z.ZodType)) throw new Error(`${route.url}: schema.body must be zod`);
  return {
    body: body as z.ZodType | undefined,
    query: object('querystring', querystring),
    params: object('params', params),
  };
}

/** One OpenAPI parameter from a zod field (required when undefined does not parse). */
function parameter(name: string, where: 'path' | 'query', s: z.ZodType) {
  const { description, ...schema } = toSchema(s);
  return {
    name,
    in: where,
    required: where === 'path' || !s.safeParse(undefined).success,
    ...(typeof description === 'string' ? { description } : {}),
    schema,
  };
}

function build(routes: CollectedRoute[], info: { title: string; version: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, url, doc, body, query, params } of routes) {
    const path = url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [
      ...[...url.matchAll(/:([A-Za-z_]+)/g)].map((m) => parameter(m[1], 'path', params?.shape[m[1]] ?? z.string())),
      ...Object.entries(query?.shape ?? {}).map(([name, s]) => parameter(name, 'query', s as z.ZodType)),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(doc.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }]),
              ),
            }
          : {}),
        ...(r.schema || r.otherTypes
          ? {
              content: {
                ...(r.schema ? { [r.type ?? 'application/json']: { schema: toSchema(r.schema) } } : {}),
                ...Object.fromEntries(Object.entries(r.otherTypes ?? {}).map(([t, schema]) => [t, { schema }])),
              },
            }
          : {}),
      };
    }
    const errors = doc.scope === null ? {} : STANDARD_ERRORS;
    for (const [status, description] of Object.entries(errors)) {
      responses[status] ??= {
        description,
        content: { 'application/problem+json': { schema: schemaRef('Problem') } },
      };
    }
    paths[path] ??= {};
    paths[path][method] = {
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      tags: [doc.tag],
      ...(doc.scope === null ? { security: [] } : { 'x-required-scope': doc.scope }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body
        ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(body) } } } }
        : doc.rawBody
          ? {
              requestBody: {
                required: true,
                content: Object.fromEntries(Object.entries(doc.rawBody).map(([t, schema]) => [t, { schema }])),
              },
            }
          : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      description:
        'OpsTrails Impact: CloudEvents in, provider metrics pulled into ClickHouse, before/after statistics out.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an API key (otk_...) or the operator key' },
      },
      schemas: { Problem: PROBLEM_SCHEMA, CloudEvent: CLOUDEVENT_SCHEMA, ...REPORT_COMPONENTS },
    },
  };
}
