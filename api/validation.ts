// Request validation through Fastify's own route schemas, written in zod: a route
// puts its zod schemas under `schema` (body, querystring, params), this compiler runs
// them, and api/openapi.ts documents the same objects. One source, no drift.
import type { FastifySchemaCompiler, FastifyTypeProvider } from 'fastify';
import { z } from 'zod';
import { badRequest, zodFieldErrors } from './errors.js';

/** What a request body is called in a 400's detail ("invalid metric: kind: ..."). */
const bodyNames = z.registry<{ noun: string }>();

/** Name a body schema for error details; returns the schema itself. */
export function named<T extends z.ZodType>(schema: T, noun: string): T {
  bodyNames.add(schema, { noun });
  return schema;
}

const PART_NOUNS: Record<string, string> = {
  body: 'request body',
  querystring: 'query parameters',
  params: 'path parameters',
  headers: 'headers',
};

/** The 400 of a failed parse: every failing field named, with a JSON Pointer. */
export function invalidInput(noun: string, error: z.ZodError) {
  const errors = zodFieldErrors(error);
  return badRequest(`invalid ${noun}: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, errors);
}

/**
 * Fastify's validator compiler for zod schemas: the parsed value (coerced, with
 * defaults) replaces the request part; a failure is a ProblemError the one error
 * handler answers as problem+json.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, method, url, httpPart }) => {
  if (!(schema instanceof z.ZodType)) {
    throw new TypeError(`${method} ${url}: the ${httpPart} schema must be a zod schema`);
  }
  const noun = bodyNames.get(schema)?.noun ?? PART_NOUNS[httpPart ?? ''] ?? String(httpPart);
  return (data: unknown) => {
    const result = schema.safeParse(data);
    return result.success ? { value: result.data } : { error: invalidInput(noun, result.error) };
  };
};

/** Types request parts from their zod schemas (`app.withTypeProvider<ZodTypeProvider>()`). */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}
