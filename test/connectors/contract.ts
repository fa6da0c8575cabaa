// The shared contract suite every connector passes: check, fetch, empty series,
// chunking, each error code, and secret redaction (logs, errors, dry runs).
// A provider test calls `connectorContract(spec)` with replayed responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError, type ConnectorDeps, type ConnectorModule, type Logger } from '../../connectors/types.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';

/** The fixed window the suite fetches: 60 one-minute buckets from 2026-11-01T12:00Z. */
export const CONTRACT_FROM = Date.UTC(2026, 10, 1, 12, 0, 0);
export const CONTRACT_STEP_SECONDS = 60;
export const CONTRACT_TO = CONTRACT_FROM + 60 * CONTRACT_STEP_SECONDS * 1000;

export type Scenario =
  | 'ok' // a documented success with data inside the contract window
  | 'empty' // a documented success with no data
  | 'auth_failed' // the provider's documented answer to a bad credential
  | 'rate_limited' // 429 (or the provider's equivalent) with a retry hint of `RETRY_AFTER_SECONDS`
  | 'bad_query' // the provider's documented answer to an invalid query
  | 'unavailable' // 503 (or the provider's equivalent server error)
  | 'bad_response'; // a 200 whose body is not what the provider documents

export const RETRY_AFTER_SECONDS = 7;

export interface ContractSpec<C, S, Q> {
  module: ConnectorModule<C, S, Q>;
  /** A recognisable secret that appears in `secrets`; it must never leak. */
  secret: string;
  /** A config pointing at the replay server. */
  config(baseUrl: string): C;
  secrets: S;
  /** A valid query for `module.querySchema`. */
  query: Q;
  /**
   * Answer one recorded request in the given scenario. Non-data requests (tokens, metadata)
   * should succeed in every scenario except where they are the failing part.
   */
  respond(scenario: Scenario, req: RecordedRequest): ReplayResponse;
  /** True for requests that fetch series data (counted by the chunking test). */
  isDataRequest(req: RecordedRequest): boolean;
  /** A config whose base URL points at a host that is not official (refused under a strict policy). */
  foreignConfig: C;
}

/** A logger that keeps every line, to prove secrets never reach it. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg?: string) => {
    lines.push(
      JSON.stringify({ level, ...obj, msg }, (_k, v) =>
        v instanceof Error ? { message: v.message, stack: v.stack } : v,
      ),
    );
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export function connectorContract<C, S, Q>(spec: ContractSpec<C, S, Q>): void {
  describe(`connector contract: ${spec.module.id}`, () => {
    let replay: Replay;
    let scenario: Scenario = 'ok';
    const logger = capturingLogger();
    const seen: string[] = [];

    const deps = (overrides: Partial<ConnectorDeps> = {}): ConnectorDeps => ({
      fetch: globalThis.fetch,
      now: () => CONTRACT_TO + 3_600_000,
      logger,
      hostPolicy: { allowedHosts: [], allowAnyHost: true },
      ...overrides,
    });
    const connector = (overrides: Partial<ConnectorDeps> = {}) =>
      spec.module.create(
        spec.module.configSchema.parse(spec.config(replay.url)),
        spec.module.secretsSchema.parse(spec.secrets),
        deps(overrides),
      );
    const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: CONTRACT_STEP_SECONDS };
    const query = () => spec.module.querySchema.parse(spec.query);
    const remember = (x: unknown) =>
      seen.push(typeof x === 'string' ? x : JSON.stringify(x, Object.getOwnPropertyNames(x ?? {})));

    async function failure(s: Scenario): Promise<ConnectorError> {
      scenario = s;
      const err = await connector()
        .fetchSeries(query(), window)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err, `scenario ${s} must fail`).toBeInstanceOf(ConnectorError);
      remember((err as Error).message);
      remember(err);
      return err as ConnectorError;
    }

    beforeAll(async () => {
      replay = await startReplay((req) => spec.respond(scenario, req));
    });
    afterAll(async () => {
      await replay?.close();
    });

    it('declares sane limits', () => {
      const { limits } = connector();
      expect(limits.maxPointsPerCall).toBeGreaterThan(0);
      expect(limits.minStepSeconds).toBeGreaterThan(0);
      expect(limits.dataDelaySeconds).toBeGreaterThanOrEqual(0);
      expect(limits.settleSeconds).toBeGreaterThanOrEqual(limits.dataDelaySeconds);
      expect(limits.rateLimit.requests).toBeGreaterThan(0);
      expect(limits.concurrency).toBeGreaterThan(0);
      expect(limits.timeoutMs).toBeGreaterThan(0);
    });

    it('check() succeeds against a healthy provider and sends the credential', async () => {
      scenario = 'ok';
      replay.requests.length = 0;
      const result = await connector().check();
      remember(result);
      expect(result).toMatchObject({ ok: true });
      expect(replay.requests.length).toBeGreaterThan(0);
      const sent = replay.requests.map((r) => JSON.stringify(r.headers) + r.body + r.query.toString()).join('\n');
      expect(sent, 'the secret must actually be used on the wire').toContain(spec.secret);
    });

    it('check() returns auth_failed instead of throwing', async () => {
      scenario = 'auth_failed';
      const result = await connector().check();
      remember(result);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('auth_failed');
    });

    it('fetchSeries returns step-aligned, ordered points inside the window', async () => {
      scenario = 'ok';
      const series = await connector().fetchSeries(query(), window);
      expect(series.stepSeconds).toBe(CONTRACT_STEP_SECONDS);
      expect(series.points.length).toBeGreaterThan(0);
      let last = -Infinity;
      for (const p of series.points) {
        expect(p.ts % (CONTRACT_STEP_SECONDS * 1000)).toBe(0);
        expect(p.ts).toBeGreaterThanOrEqual(CONTRACT_FROM);
        expect(p.ts).toBeLessThan(CONTRACT_TO);
        expect(p.ts).toBeGreaterThan(last);
        expect(Number.isFinite(p.value)).toBe(true);
        if (p.weight !== undefined) expect(Number.isFinite(p.weight)).toBe(true);
        last = p.ts;
      }
    });

    it('no data is an explicit empty series, never zeros', async () => {
      scenario = 'empty';
      const series = await connector().fetchSeries(query(), window);
      expect(series.points).toEqual([]);
    });

    it('chunks a window longer than its point cap, one call per chunk as describeQuery says', async () => {
      scenario = 'ok';
      const c = connector();
      const long = {
        ...window,
        to: CONTRACT_FROM + (c.limits.maxPointsPerCall * 2 + 1) * CONTRACT_STEP_SECONDS * 1000,
      };
      const described = c.describeQuery(query(), long);
      expect(described.length).toBeGreaterThanOrEqual(3);
      replay.requests.length = 0;
      await c.fetchSeries(query(), long);
      expect(replay.requests.filter(spec.isDataRequest).length).toBe(described.length);
    });

    it('describeQuery shows the exact request without secrets', () => {
      const described = connector().describeQuery(query(), window);
      expect(described.length).toBe(1);
      remember(described);
      expect(JSON.stringify(described)).not.toContain(spec.secret);
    });

    it('maps auth failures to auth_failed (not retryable)', async () => {
      const err = await failure('auth_failed');
      expect(err.code).toBe('auth_failed');
      expect(err.retryable).toBe(false);
    });

    it('maps rate limiting to rate_limited with the retry hint', async () => {
      const err = await failure('rate_limited');
      expect(err.code).toBe('rate_limited');
      expect(err.retryable).toBe(true);
      expect(err.retryAfterSeconds).toBe(RETRY_AFTER_SECONDS);
    });

    it('maps an invalid query to bad_query (not retryable)', async () => {
      const err = await failure('bad_query');
      expect(err.code).toBe('bad_query');
      expect(err.retryable).toBe(false);
    });

    it('maps a server error to unavailable (retryable)', async () => {
      const err = await failure('unavailable');
      expect(err.code).toBe('unavailable');
      expect(err.retryable).toBe(true);
    });

    it('maps an undocumented body to bad_response', async () => {
      const err = await failure('bad_response');
      expect(err.code).toBe('bad_response');
    });

    it('cuts a slow call with timeout', async () => {
      scenario = 'ok';
      replay.setHandler(async (req) => ({ ...spec.respond('ok', req), delayMs: spec.isDataRequest(req) ? 1_000 : 0 }));
      try {
        const err = await connector({ timeoutMs: 150 })
          .fetchSeries(query(), window)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err).toBeInstanceOf(ConnectorError);
        expect((err as ConnectorError).code).toBe('timeout');
        expect((err as ConnectorError).retryable).toBe(true);
      } finally {
        replay.setHandler((req) => spec.respond(scenario, req));
      }
    });

    it('refuses a base URL on a host that is neither official nor allowed (invalid_config)', () => {
      const create = () =>
        spec.module.create(
          spec.module.configSchema.parse(spec.foreignConfig),
          spec.module.secretsSchema.parse(spec.secrets),
          deps({ hostPolicy: { allowedHosts: [] } }),
        );
      expect(create).toThrow(ConnectorError);
      try {
        create();
      } catch (err) {
        expect((err as ConnectorError).code).toBe('invalid_config');
      }
    });

    it('never puts the secret in logs, errors, check results or dry runs', () => {
      expect(seen.length).toBeGreaterThan(5);
      for (const text of [...seen, ...logger.lines]) expect(text).not.toContain(spec.secret);
    });
  });
}
