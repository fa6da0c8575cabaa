// The connector contract: what every provider module exports and what its
// instances offer. Connectors know nothing about ClickHouse; they return
// normalized series and typed errors.
import type { MetricKind } from '../domain/metric.js';
import type { z } from 'zod';

/** Kinds of metric the engine understands (engine/README.md, "Methods per kind"). */

/** One bucket of a normalized series: `ts` is epoch ms at the bucket start, aligned to the step. */
export interface SeriesPoint {
  ts: number;
  value: number;
  /** Denominator where the provider returns one (e.g. requests behind an error rate). */
  weight?: number;
}

/** A normalized series. No data is `points: []`, never zeros. */
export interface Series {
  stepSeconds: number;
  points: SeriesPoint[];
  /** Provider's unit when it reports one (e.g. "millisecond"). */
  unit?: string | null;
  /** True when values may still change (e.g. GA4 realtime / intraday data). */
  provisional?: boolean;
}

/** A half-open window [from, to) in epoch ms at a step. */
export interface FetchWindow {
  from: number;
  to: number;
  stepSeconds: number;
  /** The metric's kind, for providers whose aggregation depends on it (e.g. Datadog sums counts, averages gauges). */
  kind?: MetricKind;
}

export interface FetchOptions extends FetchWindow {
  signal?: AbortSignal;
}

/** The exact request a connector sends (dry run); secrets are replaced by "[redacted]". */
export interface ProviderRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** What a connector declares so the scheduler can plan and budget. */
export interface ConnectorLimits {
  /** Most points one call may return (the connector chunks longer windows itself). */
  maxPointsPerCall: number;
  /** Finest step the provider serves. */
  minStepSeconds: number;
  /** How long after a bucket closes its data is usually available. */
  dataDelaySeconds: number;
  /** How long after a bucket closes its value may still change (late data). */
  settleSeconds: number;
  /** Provider's documented request budget. */
  rateLimit: { requests: number; perSeconds: number };
  /** Concurrent requests allowed per credential. */
  concurrency: number;
  /** Timeout of one provider call. */
  timeoutMs: number;
}

/** Rate-limit state as the provider reported it on its last answer. */
export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  /** Seconds until the budget resets. */
  resetSeconds?: number;
  /** Seconds the provider asked us to wait (429 / Retry-After). */
  retryAfterSeconds?: number;
}

export type ConnectorErrorCode =
  'auth_failed' | 'rate_limited' | 'bad_query' | 'bad_response' | 'unavailable' | 'timeout' | 'invalid_config';

const RETRYABLE: Record<ConnectorErrorCode, boolean> = {
  auth_failed: false,
  rate_limited: true,
  bad_query: false,
  bad_response: false,
  unavailable: true,
  timeout: true,
  invalid_config: false,
};

/** A typed connector failure with a stable code. Messages never contain secrets. */
export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly retryable: boolean;
  /** For `rate_limited`: seconds to wait before the next call, when known. */
  readonly retryAfterSeconds?: number;
  /** HTTP status of the provider's answer, when there was one. */
  readonly status?: number;

  constructor(
    code: ConnectorErrorCode,
    message: string,
    opts: { cause?: unknown; retryAfterSeconds?: number; status?: number; retryable?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = opts.retryable ?? RETRYABLE[code];
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.status = opts.status;
  }
}

/** Result of `check()`: never a thrown error. */
export type CheckResult =
  { ok: true; details: Record<string, unknown> } | { ok: false; error: { code: ConnectorErrorCode; message: string } };

/** The narrow logger connectors get (pino-compatible). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Which hosts a connection's base URL may point at beyond the provider's official ones. */
export interface HostPolicy {
  /** Extra hosts the operator allowed (OPSTRAILS_ALLOWED_PROVIDER_HOSTS). */
  allowedHosts: readonly string[];
  /** Tests only: any host (e.g. 127.0.0.1 replay servers). */
  allowAnyHost?: boolean;
  /** Tests only: the name resolver (default the system's), e.g. to make a name resolve to a private address. */
  resolve?: (hostname: string) => Promise<readonly { address: string; family: 4 | 6 }[]>;
}

/** Dependencies injected into every connector instance. */
export interface ConnectorDeps {
  fetch: typeof globalThis.fetch;
  /** Clock in epoch ms. */
  now: () => number;
  logger: Logger;
  hostPolicy: HostPolicy;
  /** Called with the provider's rate-limit headers after each answer. */
  onRateLimit?: (info: RateLimitInfo) => void;
  /** Per-connection override of `limits.timeoutMs`. */
  timeoutMs?: number;
}

/** A live connector for one connection. */
export interface Connector<Q = unknown> {
  readonly limits: ConnectorLimits;
  /** Verifies credentials and reachability; never throws. */
  check(): Promise<CheckResult>;
  /** One normalized series over [from, to) at the step; throws ConnectorError. */
  fetchSeries(query: Q, opts: FetchOptions): Promise<Series>;
  /** The provider requests fetchSeries would send for this window (one per chunk), secrets left out. */
  describeQuery(query: Q, window: FetchWindow): ProviderRequest[];
}

/** What a provider module exports; `connectors/registry.ts` lists them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds modules of every config, secrets and query type
export interface ConnectorModule<C = any, S = any, Q = any> {
  id: string;
  /** Human name, e.g. "Datadog". */
  name: string;
  /** Metric kinds this provider can serve. */
  kinds: readonly MetricKind[];
  /** Hosts this provider is always allowed to call (https on the default port only); "." starts a subdomain suffix. */
  officialHosts: readonly string[];
  /** Non-secret connection settings; every provider accepts `base_url`. */
  configSchema: z.ZodType<C>;
  /** Secret fields: encrypted at rest, never returned or logged. */
  secretsSchema: z.ZodType<S>;
  /** One series query. */
  querySchema: z.ZodType<Q>;
  create(config: C, secrets: S, deps: ConnectorDeps): Connector<Q>;
}
