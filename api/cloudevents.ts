// CloudEvents 1.0 over HTTP: the three content modes (structured, batch, binary)
// and validation per the spec, reporting every failing field of every entry.
// Everything the store would refuse or change is refused here, before a row is
// queued: one org's bad event must never reach the insert it shares with others.
/// <reference lib="es2024.string" />
import { EARLIEST_EVENT_TIME, LATEST_EVENT_TIME, parseRfc3339, type CloudEvent } from '../domain/event.js';
import type { FieldError } from './errors.js';

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';
/** Most events one batch may carry. */
export const MAX_BATCH = 1000;

const EXTENSION_NAME = /^[a-z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const CONTEXT = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);
const MAX_ID = 1024;
/** Deepest nesting of objects and arrays in `data` (`{"a":{}}` is 2 deep): deeper is refused, not stored. */
export const MAX_DATA_DEPTH = 64;
/** The CloudEvents Integer type: a signed 32-bit integer. */
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const ILL_FORMED = 'must be well-formed Unicode (it holds a lone surrogate)';

export interface ValidationResult {
  events: CloudEvent[];
  errors: FieldError[];
}

/** Validate one structured event; `index` is its position in a batch. */
export function validateEvent(input: unknown, index?: number): { event?: CloudEvent; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const base = index === undefined ? '' : `/${index}`;
  const fail = (field: string, message: string, pointer = `${base}/${escapePointer(field)}`) =>
    errors.push({ ...(index === undefined ? {} : { index }), pointer, field, message });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    errors.push({
      ...(index === undefined ? {} : { index }),
      pointer: index === undefined ? '/' : `/${index}`,
      field: '(event)',
      message: 'expected a JSON object',
    });
    return { errors };
  }
  const e = input as Record<string, unknown>;
  if (e.specversion !== '1.0') fail('specversion', 'must be "1.0"');
  for (const field of ['id', 'source', 'type'] as const) {
    const v = e[field];
    if (typeof v !== 'string' || v.length === 0) fail(field, 'required: a non-empty string');
    else if (v.length > MAX_ID) fail(field, `at most ${MAX_ID} characters`);
    else if (!v.isWellFormed()) fail(field, ILL_FORMED);
  }
  if (e.subject !== undefined && (typeof e.subject !== 'string' || e.subject.length === 0))
    fail('subject', 'must be a non-empty string');
  else if (typeof e.subject === 'string' && !e.subject.isWellFormed()) fail('subject', ILL_FORMED);
  if (e.time !== undefined) {
    const problem = timeProblem(e.time);
    if (problem) fail('time', problem);
  }
  if (e.datacontenttype !== undefined && (typeof e.datacontenttype !== 'string' || e.datacontenttype.length === 0)) {
    fail('datacontenttype', 'must be a non-empty string (RFC 2046 media type)');
  } else if (typeof e.datacontenttype === 'string' && !e.datacontenttype.isWellFormed()) {
    fail('datacontenttype', ILL_FORMED);
  }
  if (e.dataschema !== undefined && !isAbsoluteUri(e.dataschema)) fail('dataschema', 'must be an absolute URI');
  if (e.data !== undefined) {
    const problem = dataProblem(e.data);
    if (problem) fail('data', problem.message, `${base}/data${problem.pointer}`);
  }
  if (e.data !== undefined && e.data_base64 !== undefined)
    fail('data_base64', 'data and data_base64 are mutually exclusive');
  if (e.data_base64 !== undefined && (typeof e.data_base64 !== 'string' || !BASE64.test(e.data_base64))) {
    fail('data_base64', 'must be a base64 string');
  }
  for (const [name, value] of Object.entries(e)) {
    if (CONTEXT.has(name)) continue;
    if (!EXTENSION_NAME.test(name)) {
      // The name is echoed back: made well-formed so the answer itself is valid Unicode.
      fail(name.toWellFormed(), 'extension attribute names must use only lowercase letters a-z and digits 0-9');
      continue;
    }
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      fail(name, 'extension attribute values must be a string, number or boolean');
    } else if (typeof value === 'number' && (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX)) {
      fail(
        name,
        `numeric extension attributes must be integers from ${INT32_MIN} to ${INT32_MAX} (CloudEvents Integer)`,
      );
    } else if (typeof value === 'string' && !value.isWellFormed()) {
      fail(name, ILL_FORMED);
    }
  }
  for (const field of ['version', 'severity']) {
    if (e[field] !== undefined && typeof e[field] !== 'string') fail(field, 'must be a string');
  }
  return errors.length > 0 ? { errors } : { event: e as CloudEvent, errors };
}

/** Validate a batch: every entry, all errors listed by index. */
export function validateBatch(input: unknown): ValidationResult {
  if (!Array.isArray(input)) {
    return {
      events: [],
      errors: [{ pointer: '/', field: '(body)', message: 'a batch must be a JSON array of CloudEvents' }],
    };
  }
  if (input.length === 0)
    return { events: [], errors: [{ pointer: '/', field: '(body)', message: 'the batch is empty' }] };
  if (input.length > MAX_BATCH) {
    return {
      events: [],
      errors: [
        { pointer: '/', field: '(body)', message: `a batch holds at most ${MAX_BATCH} events; got ${input.length}` },
      ],
    };
  }
  const events: CloudEvent[] = [];
  const errors: FieldError[] = [];
  input.forEach((entry, i) => {
    const r = validateEvent(entry, i);
    if (r.event) events.push(r.event);
    errors.push(...r.errors);
  });
  return { events, errors };
}

/**
 * Build a structured event from binary mode: context attributes in `ce-*`
 * headers (percent-encoded per the HTTP binding), the body as data.
 */
export function fromBinary(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer | undefined,
): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    event[name.slice(3)] = percentDecode(value);
  }
  const contentType = headers['content-type'];
  if (typeof contentType === 'string' && contentType.length > 0) event.datacontenttype = contentType;
  if (body && body.length > 0) {
    const type = String(contentType ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (type === 'application/json' || type.endsWith('+json')) {
      try {
        event.data = JSON.parse(body.toString('utf8'));
      } catch {
        // Declared JSON but not parseable: kept as the text sent, so the event still says what arrived.
        event.data = body.toString('utf8');
      }
    } else if (type.startsWith('text/') || type === 'application/xml' || type.endsWith('+xml')) {
      event.data = body.toString('utf8');
    } else {
      event.data_base64 = body.toString('base64');
    }
  }
  return event;
}

/** Why `time` is not an event time the store keeps exactly, or undefined when it is. */
function timeProblem(time: unknown): string | undefined {
  if (typeof time !== 'string') return 'must be an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z';
  const parsed = parseRfc3339(time);
  if (!parsed.ok) return `must be an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z: ${parsed.reason}`;
  if (parsed.ms < EARLIEST_EVENT_TIME || parsed.ms > LATEST_EVENT_TIME) {
    return 'must be from 1900-01-01T00:00:00Z to 2299-12-31T23:59:59.999Z (the range the store keeps)';
  }
  return undefined;
}

/**
 * The first thing in `data` the store could not keep as sent: a string or key
 * that is not well-formed Unicode, a number JSON cannot write (1e400 parses as
 * Infinity), or nesting deeper than MAX_DATA_DEPTH. Walked with an explicit
 * stack: a 1 MiB body can nest far deeper than the call stack goes.
 */
function dataProblem(data: unknown): { pointer: string; message: string } | undefined {
  interface Step {
    value: unknown;
    depth: number;
    parent?: Step;
    key?: string;
  }
  // Pointers are built only for the one problem reported, from the parent links.
  const pointerOf = (step: Step): string => {
    const keys: string[] = [];
    for (let s: Step | undefined = step; s?.key !== undefined; s = s.parent) keys.push(escapePointer(s.key));
    return keys
      .reverse()
      .map((k) => `/${k}`)
      .join('');
  };
  const stack: Step[] = [{ value: data, depth: 0 }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const { value } = step;
    if (typeof value === 'string') {
      if (!value.isWellFormed()) return { pointer: pointerOf(step), message: `this string ${ILL_FORMED}` };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { pointer: pointerOf(step), message: 'numbers must be finite' };
    } else if (typeof value === 'object' && value !== null) {
      const depth = step.depth + 1;
      if (depth > MAX_DATA_DEPTH) {
        return { pointer: '', message: `objects and arrays may nest at most ${MAX_DATA_DEPTH} levels deep` };
      }
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i--)
          stack.push({ value: value[i], depth, parent: step, key: String(i) });
      } else {
        for (const [key, child] of Object.entries(value)) {
          if (!key.isWellFormed()) return { pointer: pointerOf(step), message: `a key here ${ILL_FORMED}` };
          stack.push({ value: child, depth, parent: step, key });
        }
      }
    }
  }
  return undefined;
}

/** One JSON Pointer reference token (RFC 6901). */
function escapePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // Not valid percent-encoding: the header value is kept exactly as sent.
    return value;
  }
}

function isAbsoluteUri(v: unknown): boolean {
  if (typeof v !== 'string' || v.length === 0) return false;
  try {
    return new URL(v).protocol.length > 0;
  } catch {
    // URL throws on anything that is not an absolute URI: that is the answer, reported as a field error.
    return false;
  }
}
