// Events: CloudEvents 1.0 as teams send them, the event types the engine knows,
// the one rule that matches a type name to an event's type, and the one strict
// RFC 3339 reading of a timestamp (event times and query instants alike).

/** A CloudEvent as accepted (structured form). */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: unknown;
  data_base64?: string;
  [extension: string]: unknown;
}

/** The event types with their own default windows; any other type is stored and shown on the timeline. */
export const KNOWN_EVENT_TYPES = ['deployment', 'rollback', 'data-load', 'incident'] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

/**
 * True when an event's type is `name`, bare or reverse-DNS prefixed: "deployment" matches
 * "deployment" and "dev.opstrails.deployment". (store/events.ts filters with the same rule in SQL.)
 */
export function eventTypeIs(type: string, name: string): boolean {
  return type === name || type.endsWith(`.${name}`);
}

/** The known type an event type names, or null. */
export function knownEventType(type: string): KnownEventType | null {
  return KNOWN_EVENT_TYPES.find((name) => eventTypeIs(type, name)) ?? null;
}

/** Each known type as written loosely: any case, words joined by "-", "_" or nothing ("Data_Load", "dataload"). */
const LOOSE_KNOWN_TYPES = KNOWN_EVENT_TYPES.map(
  (name) => [name, new RegExp(`^${name.split('-').join('[-_]?')}$`, 'i')] as const,
);

/**
 * The type ingest stores: a bare known type written loosely becomes its canonical name
 * ("data_load", "DataLoad", "Data-Load" → "data-load"); any other type, reverse-DNS ones
 * ("dev.opstrails.deployment") included, is kept exactly as sent.
 */
export function normalizeEventType(type: string): string {
  return LOOSE_KNOWN_TYPES.find(([, loose]) => loose.test(type))?.[0] ?? type;
}

/** An event as ingest received it: its time parsed once, with the app's clock; later layers take the numbers. */
export interface ReceivedEvent {
  event: CloudEvent;
  /** The event's `time` (RFC 3339, validated at ingest), or `receivedAt` when it has none; epoch ms. */
  time: number;
  /** When the service received it, epoch ms. */
  receivedAt: number;
}

/** How far ahead of the service's clock an event time may be (a clock off by hours is common; days is a bug). */
export const MAX_FUTURE_MS = 24 * 3600_000;

/**
 * Why an event at `time` is refused at ingest (a phrase), or undefined: older than the org's
 * oldest kept instant `horizon` (it would be deleted at once), or more than MAX_FUTURE_MS ahead of `now`.
 */
export function eventTimeProblem(time: number, now: number, horizon: { at: number; why: string }): string | undefined {
  if (time < horizon.at)
    return `${new Date(time).toISOString()} is older than ${horizon.why}: it would be deleted at once`;
  if (time > now + MAX_FUTURE_MS) {
    return `${new Date(time).toISOString()} is more than 24 hours ahead of the service's clock (${new Date(now).toISOString()})`;
  }
  return undefined;
}

/**
 * An event as received, its type normalized (normalizeEventType: the event is stored with the
 * canonical type); its `time` must have passed validation (api/cloudevents.ts), or this throws.
 */
export function receive(sent: CloudEvent, receivedAt: number): ReceivedEvent {
  const type = normalizeEventType(sent.type);
  const event = type === sent.type ? sent : { ...sent, type };
  if (event.time === undefined) return { event, time: receivedAt, receivedAt };
  const parsed = parseRfc3339(event.time);
  if (!parsed.ok) throw new TypeError(`receive: event time was not validated: ${parsed.reason}`);
  return { event, time: parsed.ms, receivedAt };
}

/**
 * The instants an event time may take: ClickHouse's DateTime64 range (the store's
 * `time` column), 1900-01-01T00:00:00Z to 2299-12-31T23:59:59.999Z. Outside it a
 * ClickHouse server clamps silently, so a time there would be stored shifted.
 */
export const EARLIEST_EVENT_TIME = Date.UTC(1900, 0, 1);
export const LATEST_EVENT_TIME = Date.UTC(2300, 0, 1) - 1;

/** True for a whole number of epoch ms the store keeps exactly (the event time range above). */
export function isStorableTime(ms: unknown): ms is number {
  return Number.isSafeInteger(ms) && (ms as number) >= EARLIEST_EVENT_TIME && (ms as number) <= LATEST_EVENT_TIME;
}

/** A timestamp read by parseRfc3339: epoch ms, or why it is not one. */
export type ParsedTimestamp = { ok: true; ms: number } | { ok: false; reason: string };

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:\d{2})$/;
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/**
 * Read an RFC 3339 date-time strictly: real calendar dates only (no February 30,
 * no hour 24, no year 0000; Date.parse would shift those into another instant).
 * `T`/`Z` may be lowercase, as RFC 3339 allows; fractions past milliseconds are
 * truncated. Second 60 (a leap second) is refused: epoch milliseconds, like
 * POSIX time, have no leap seconds, so it has no instant to map to. With
 * `secondsOptional` (query strings), `2026-11-26T10:00Z` is read as :00.
 */
export function parseRfc3339(text: string, opts: { secondsOptional?: boolean } = {}): ParsedTimestamp {
  const m = TIMESTAMP.exec(text);
  if (!m || (m[6] === undefined && !opts.secondsOptional)) {
    return { ok: false, reason: 'expected an RFC 3339 timestamp, e.g. 2026-11-26T10:00:00Z' };
  }
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (year === 0) return { ok: false, reason: 'year 0000 is not a date (years start at 0001)' };
  if (month < 1 || month > 12) return { ok: false, reason: `month ${m[2]} does not exist (01-12)` };
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) {
    return { ok: false, reason: `day ${m[3]} does not exist: ${MONTHS[month - 1]} ${m[1]} has ${days} days` };
  }
  if (hour > 23) return { ok: false, reason: `hour ${m[4]} does not exist (00-23; midnight is 00:00 of the next day)` };
  if (minute > 59) return { ok: false, reason: `minute ${m[5]} does not exist (00-59)` };
  if (second > 59) return { ok: false, reason: `second ${m[6]} is refused (00-59; leap seconds are not kept)` };
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== 'Z' && zone !== 'z') {
    const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(4, 6))];
    if (oh > 23 || om > 59) return { ok: false, reason: `offset ${zone} does not exist (-23:59 to +23:59)` };
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return { ok: true, ms: date.getTime() - offsetMinutes * 60_000 };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
