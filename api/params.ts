// Shared query-parameter parsing: instants and opaque cursors.
/// <reference lib="es2024.string" />
import { z } from 'zod';
import { isStorableTime, parseRfc3339 } from '../domain/event.js';
import { badRequest } from './errors.js';

/**
 * An RFC 3339 instant in a query string, as epoch ms: read by the same strict
 * parser as event times (real calendar dates only), seconds optional. The
 * pattern is the shape the API documents; parseRfc3339 decides what is a date.
 */
export const instant = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/,
    'expected an RFC 3339 instant, e.g. 2026-11-26T10:00:00Z',
  )
  .transform((text, ctx) => {
    const parsed = parseRfc3339(text, { secondsOptional: true });
    if (parsed.ok) return parsed.ms;
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  })
  .describe('an RFC 3339 instant, e.g. 2026-11-26T10:00:00Z');

/** The cursor query parameter of a listing. */
export const cursor = z.string().optional().describe('next_cursor of the previous page');

/** An opaque cursor for the next page. */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/**
 * Decode a cursor made by encodeCursor, or answer 400 naming `cursor`. A cursor
 * we issue is a flat object of well-formed strings and safe integers; anything
 * else (1.5, 1e300, nested values) is refused here, whatever `check` says, so
 * no hand-made cursor reaches the store as a value it cannot bind.
 */
export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Not base64url JSON, so not a cursor we issued: value stays undefined and the 400 below says so.
  }
  if (isFlatPosition(value) && check(value)) return value;
  throw badRequest('the cursor is not valid; use next_cursor from the previous page', [
    { field: 'cursor', message: 'not a cursor this API issued' },
  ]);
}

/** A listing's position by (time, source, id), as the events and impact listings issue it. */
export interface TimeCursor {
  /** Epoch ms, a time the store can hold. */
  time: number;
  source: string;
  id: string;
}

/** Cursor guard for (time, source, id) positions: `time` a whole number of ms in the store's range. */
export function isTimeCursor(v: unknown): v is TimeCursor {
  const c = v as TimeCursor;
  return (
    typeof c === 'object' &&
    c !== null &&
    isStorableTime(c.time) &&
    typeof c.source === 'string' &&
    typeof c.id === 'string'
  );
}

function isFlatPosition(v: unknown): v is Record<string, string | number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((x) => (typeof x === 'string' ? x.isWellFormed() : Number.isSafeInteger(x)));
}

/** Path parameters of a route on one resource. */
export const idParams = z.object({ id: z.string().min(1) });
