// Shared query-parameter parsing: instants and opaque cursors.
import { z } from 'zod';
import { badRequest } from './errors.js';

/** An RFC 3339 instant in a query string, as epoch ms. */
export const instant = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/,
    'expected an RFC 3339 instant, e.g. 2026-11-26T10:00:00Z',
  )
  .transform((s) => Date.parse(s))
  .refine((ms) => Number.isFinite(ms), 'not a valid date')
  .describe('an RFC 3339 instant, e.g. 2026-11-26T10:00:00Z');

/** The cursor query parameter of a listing. */
export const cursor = z.string().optional().describe('next_cursor of the previous page');

/** An opaque cursor for the next page. */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Decode a cursor made by encodeCursor, or answer 400 naming `cursor`. */
export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Not base64url JSON, so not a cursor we issued: value stays undefined and the 400 below says so.
  }
  if (check(value)) return value;
  throw badRequest('the cursor is not valid; use next_cursor from the previous page', [
    { field: 'cursor', message: 'not a cursor this API issued' },
  ]);
}

/** Path parameters of a route on one resource. */
export const idParams = z.object({ id: z.string().min(1) });
