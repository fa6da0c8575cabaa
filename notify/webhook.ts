// Notifications to an org's webhook: a CloudEvent (structured mode) POSTed to the URL the org set
// (PATCH /v1/org {notify_url}), signed as the Standard Webhooks specification says (so its
// libraries verify it), through the connectors' egress policy, retried with backoff.
import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { admitUrl, egressFetch, type EgressFetch } from '../connectors/egress.js';
import { ConnectorError, type HostPolicy, type Logger } from '../connectors/types.js';
import type { CloudEvent } from '../domain/event.js';
import type { NotifyTarget } from '../store/orgs.js';

/** Waits before the 2nd, 3rd and 4th attempts: four attempts within about 5 minutes. */
export const RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 240_000];
/** One attempt's limit: connect, send and the answer's headers. */
const ATTEMPT_TIMEOUT_MS = 10_000;
/** How the egress policy names the webhook in refusals. */
const WHAT = 'notification webhook';

export interface WebhookOptions {
  fetch: typeof globalThis.fetch;
  /** The operator's extra hosts (OPSTRAILS_ALLOWED_PROVIDER_HOSTS), as for provider URLs. */
  hostPolicy: HostPolicy;
  now: () => number;
  logger: Logger;
  /** Waits between attempts (tests shorten them); default RETRY_DELAYS_MS. */
  retryDelaysMs?: readonly number[];
}

/** How a delivery ended. */
export interface DeliveryOutcome {
  delivered: boolean;
  attempts: number;
  /** Why the last attempt failed ('' when delivered). */
  error: string;
}

/**
 * Why `url` cannot be an org's webhook (a phrase naming `field`), or undefined when it can: https
 * to any public host, or a host the operator listed. Its addresses are checked when it is called.
 */
export function webhookUrlProblem(url: string, hostPolicy: HostPolicy, field = 'notify_url'): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${field} is not a URL`;
  }
  try {
    admitUrl(parsed, { ...hostPolicy, officialHosts: [], publicHosts: true }, field);
    return undefined;
  } catch (err) {
    if (err instanceof ConnectorError) return err.message;
    throw err;
  }
}

/**
 * The Standard Webhooks signature of a message: `v1,` + base64 HMAC-SHA256, keyed with the
 * secret's base64 part, over "<id>.<timestamp in seconds>.<body>".
 */
export function signature(secret: string, id: string, timestampS: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

export class WebhookSender {
  private readonly egress: EgressFetch;
  private readonly delays: readonly number[];

  constructor(private readonly opts: WebhookOptions) {
    this.egress = egressFetch(opts.fetch, {
      ...opts.hostPolicy,
      provider: WHAT,
      officialHosts: [],
      publicHosts: true,
    });
    this.delays = opts.retryDelaysMs ?? RETRY_DELAYS_MS;
  }

  /**
   * POST `event` to the target until it answers 2xx, retrying network failures, timeouts, 429 and
   * 5xx after each of the retry delays; any other answer, or a URL the policy refuses, ends it.
   * Every attempt carries the same webhook-id, so the receiver can drop a repeat. An aborted
   * `signal` (the service stopping) ends the retries.
   */
  async deliver(target: NotifyTarget, event: CloudEvent, signal?: AbortSignal): Promise<DeliveryOutcome> {
    const body = JSON.stringify(event);
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attempt(target, id, body);
      if (!failure) return { delivered: true, attempts: attempt, error: '' };
      const delay = failure.retryable ? this.delays[attempt - 1] : undefined;
      this.opts.logger.warn({ attempt, error: failure.error, retry_in_ms: delay }, `${WHAT} delivery failed`);
      if (delay === undefined || signal?.aborted) return { delivered: false, attempts: attempt, error: failure.error };
      // A stop (signal) ends the wait: the attempts so far are what is recorded.
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted)
        return { delivered: false, attempts: attempt, error: `${failure.error}; stopped before retrying` };
    }
  }

  /** Close the connection pool. */
  close(): Promise<void> {
    return this.egress.close();
  }

  /** One POST: undefined when the webhook took it, else why not and whether trying again may help. */
  private async attempt(
    target: NotifyTarget,
    id: string,
    body: string,
  ): Promise<{ error: string; retryable: boolean } | undefined> {
    const timestamp = Math.floor(this.opts.now() / 1000);
    let res: Response;
    try {
      res = await this.egress.fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/cloudevents+json; charset=utf-8',
          'user-agent': 'opstrails-impact',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature(target.secret, id, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
    } catch (err) {
      // A URL or address the egress policy refuses will not change by waiting.
      const refused = err instanceof ConnectorError && err.code === 'invalid_config';
      return { error: describe(err), retryable: !refused };
    }
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return undefined;
    return { error: `HTTP ${res.status}`, retryable: res.status === 408 || res.status === 429 || res.status >= 500 };
  }
}

/** A transport failure in words (the cause's code when there is one: ECONNREFUSED, a timeout). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`;
  const code = (err.cause as { code?: string } | undefined)?.code;
  return code ? `${err.message} (${code})` : err.message;
}
