// CloudEvents 1.0 over HTTP: the three content modes (structured, batch, binary)
// and validation per the spec, reporting every failing field of every entry.
import type { CloudEvent } from '../domain/event.js';
import type { FieldError } from './errors.js';

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';
/** Most events one batch may carry. */
export const MAX_BATCH = 1000;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
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

export interface ValidationResult {
  events: CloudEvent[];
  errors: FieldError[];
}

/** Validate one structured event; `index` is its position in a batch. */
export function validateEvent(input: unknown, index?: number): { event?: CloudEvent; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) =>
    errors.push({
      ...(index === undefined ? {} : { index }),
      pointer: `${index === undefined ? '' : `/${index}`}/${field}`,
      field,
      message,
    });
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
  }
  if (e.subject !== undefined && (typeof e.subject !== 'string' || e.subject.length === 0))
    fail('subject', 'must be a non-empty string');
  if (
    e.time !== undefined &&
    (typeof e.time !== 'string' || !RFC3339.test(e.time) || Number.isNaN(Date.parse(e.time)))
  ) {
    fail('time', 'must be an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z');
  }
  if (e.datacontenttype !== undefined && (typeof e.datacontenttype !== 'string' || e.datacontenttype.length === 0)) {
    fail('datacontenttype', 'must be a non-empty string (RFC 2046 media type)');
  }
  if (e.dataschema !== undefined && !isAbsoluteUri(e.dataschema)) fail('dataschema', 'must be an absolute URI');
  if (e.data !== undefined && e.data_base64 !== undefined)
    fail('data_base64', 'data and data_base64 are mutually exclusive');
  if (e.data_base64 !== undefined && (typeof e.data_base64 !== 'string' || !BASE64.test(e.data_base64))) {
    fail('data_base64', 'must be a base64 string');
  }
  for (const [name, value] of Object.entries(e)) {
    if (CONTEXT.has(name)) continue;
    if (!EXTENSION_NAME.test(name)) {
      fail(name, 'extension attribute names must use only lowercase letters a-z and digits 0-9');
      continue;
    }
    if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
      fail(name, 'extension attribute values must be a string, number or boolean');
    } else if (typeof value === 'number' && !Number.isInteger(value)) {
      fail(name, 'numeric extension attributes must be integers (CloudEvents Integer)');
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
