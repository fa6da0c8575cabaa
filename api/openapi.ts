// OpenAPI 3.1 from the routes themselves: each route carries a `doc` in its
// config with the same zod schemas that validate its requests; an onRoute hook
// collects them into one document served at /openapi.json.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/** What a route says about itself. */
export interface RouteDoc {
  summary: string;
  description?: string;
  tag: string;
  /** Scope needed ("root" for the operator key); null for public routes. */
  scope: 'events:write' | 'read' | 'admin' | 'root' | null;
  body?: z.ZodType | JsonSchema;
  /** Media types the body may use (default application/json). */
  bodyTypes?: string[];
  query?: z.ZodObject<z.ZodRawShape>;
  responses: Record<
    number,
    { description: string; schema?: z.ZodType | JsonSchema; type?: string; headers?: Record<string, string> }
  >;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    doc?: RouteDoc;
  }
}

const toSchema = (s: z.ZodType | JsonSchema): JsonSchema => {
  if (s instanceof z.ZodType) {
    const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    return rest;
  }
  return s;
};

/** RFC 9457 problem details as this API sends them. */
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

/** Register the collector (before any route) and return the document builder. */
export function openApiCollector(app: FastifyInstance, info: { title: string; version: string }): () => JsonSchema {
  const routes: { method: string; url: string; doc: RouteDoc }[] = [];
  app.addHook('onRoute', (route) => {
    const doc = route.config?.doc;
    if (!doc) return;
    for (const method of [route.method].flat())
      if (method !== 'HEAD') routes.push({ method: method.toLowerCase(), url: route.url, doc });
  });
  let built: JsonSchema | undefined;
  return () => {
    built ??= build(routes, info);
    return built;
  };
}

function build(
  routes: { method: string; url: string; doc: RouteDoc }[],
  info: { title: string; version: string },
): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { method, url, doc } of routes) {
    const path = url.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [
      ...[...url.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...Object.entries(doc.query?.shape ?? {}).map(([name, s]) => ({
        name,
        in: 'query',
        required: !(s as z.ZodType).safeParse(undefined).success,
        schema: toSchema(s as z.ZodType),
      })),
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
        ...(r.schema ? { content: { [r.type ?? 'application/json']: { schema: toSchema(r.schema) } } } : {}),
      };
    }
    const errors = doc.scope === null ? {} : STANDARD_ERRORS;
    for (const [status, description] of Object.entries(errors)) {
      responses[status] ??= {
        description,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      };
    }
    paths[path] ??= {};
    paths[path][method] = {
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      tags: [doc.tag],
      ...(doc.scope === null ? { security: [] } : { 'x-required-scope': doc.scope }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc.body
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(
                (doc.bodyTypes ?? ['application/json']).map((t) => [t, { schema: toSchema(doc.body!) }]),
              ),
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
      schemas: { Problem: PROBLEM_SCHEMA, CloudEvent: CLOUDEVENT_SCHEMA },
    },
  };
}
