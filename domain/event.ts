// Events: CloudEvents 1.0 as teams send them, the event types the engine knows,
// and the one rule that matches a type name to an event's type.

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

/** An event as ingest received it: its time parsed once, with the app's clock; later layers take the numbers. */
export interface ReceivedEvent {
  event: CloudEvent;
  /** The event's `time` (RFC 3339, validated at ingest), or `receivedAt` when it has none; epoch ms. */
  time: number;
  /** When the service received it, epoch ms. */
  receivedAt: number;
}

export function receive(event: CloudEvent, receivedAt: number): ReceivedEvent {
  return { event, time: event.time === undefined ? receivedAt : Date.parse(event.time), receivedAt };
}
