// GA4 connector: the shared contract (OAuth access-token mode, where the secret is
// what goes on the wire) plus GA4's own cases — time zones and DST, zero-fill,
// pagination, quotas, service-account JWT exchange — over real HTTP.
import { generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ga4Connector } from '../../connectors/ga4/index.js';
import { mapRows } from '../../connectors/ga4/mapping.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../../connectors/types.js';
import {
  startReplay,
  type RecordedRequest,
  type Replay,
  type ReplayHandler,
  type ReplayResponse,
} from '../support/replay.js';
import { capturingLogger, CONTRACT_FROM, CONTRACT_TO, connectorContract } from './contract.js';

const PROPERTY = '123456789';
const ACCESS_TOKEN = 'ya29.a0-contract-oauth-access-token-7f3c';
const REPORT_PATH = `/v1beta/properties/${PROPERTY}:runReport`;
const METADATA_PATH = `/v1beta/properties/${PROPERTY}/metadata`;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** A clock after every fixture's data (for windows past the contract day). */
const LATER = Date.UTC(2026, 10, 5);

/** A fixture body as the provider sends it (the `_source` note stripped). */
function fixture(name: string): any {
  const body = JSON.parse(readFileSync(new URL(`../fixtures/ga4/${name}.json`, import.meta.url), 'utf8'));
  delete body._source;
  return body;
}

const isReport = (req: RecordedRequest) => req.method === 'POST' && req.path === REPORT_PATH;
const isMetadata = (req: RecordedRequest) => req.method === 'GET' && req.path === METADATA_PATH;

connectorContract({
  module: ga4Connector,
  secret: ACCESS_TOKEN,
  config: (baseUrl) => ({ property_id: PROPERTY, base_url: baseUrl }),
  secrets: { access_token: ACCESS_TOKEN },
  query: {
    metric: 'activeUsers',
    dimension_filter: { filter: { fieldName: 'platform', stringFilter: { matchType: 'EXACT', value: 'web' } } },
  },
  respond(scenario, req): ReplayResponse {
    if (isMetadata(req)) {
      return scenario === 'auth_failed'
        ? { status: 401, body: fixture('error-unauthenticated') }
        : { body: fixture('metadata') };
    }
    if (!isReport(req))
      return { status: 404, body: { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } } };
    switch (scenario) {
      case 'ok':
        return { body: fixture('run-report-minutes') };
      case 'empty':
        return { body: fixture('run-report-empty') };
      case 'auth_failed':
        return { status: 401, body: fixture('error-unauthenticated') };
      case 'rate_limited':
        return { status: 429, body: fixture('error-resource-exhausted') };
      case 'bad_query':
        return { status: 400, body: fixture('error-invalid-argument') };
      case 'unavailable':
        return { status: 503, body: fixture('error-unavailable') };
      case 'bad_response':
        // A captive portal or proxy page answering 200 in place of the API.
        return {
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '<html><body>Sign in to continue</body></html>',
        };
    }
  },
  isDataRequest: isReport,
  foreignConfig: { property_id: PROPERTY, base_url: 'https://analytics.example.com' },
});

describe('ga4 connector', () => {
  let replay: Replay;
  const logger = capturingLogger();
  const rateLimits: RateLimitInfo[] = [];

  beforeAll(async () => {
    replay = await startReplay(() => ({ status: 500 }));
  });
  afterAll(async () => {
    await replay?.close();
  });
  beforeEach(() => {
    replay.requests.length = 0;
    rateLimits.length = 0;
  });

  /** Answer reports (and metadata) with `report`. */
  const serve = (report: ReplayHandler | object) =>
    replay.setHandler((req) => {
      if (isMetadata(req)) return { body: fixture('metadata') };
      if (isReport(req)) return typeof report === 'function' ? (report as ReplayHandler)(req) : { body: report };
      return { status: 404, body: {} };
    });

  function connect(opts: { now?: number; secrets?: object; config?: object; deps?: Partial<ConnectorDeps> } = {}) {
    const config = ga4Connector.configSchema.parse({ property_id: PROPERTY, base_url: replay.url, ...opts.config });
    const secrets = ga4Connector.secretsSchema.parse(opts.secrets ?? { access_token: ACCESS_TOKEN });
    return ga4Connector.create(config, secrets, {
      fetch: globalThis.fetch,
      now: () => opts.now ?? CONTRACT_TO + 6 * HOUR,
      logger,
      hostPolicy: { allowedHosts: [], allowAnyHost: true },
      onRateLimit: (info) => rateLimits.push(info),
      ...opts.deps,
    });
  }
  const query = (metric = 'activeUsers') => ga4Connector.querySchema.parse({ metric });
  const reports = () => replay.requests.filter(isReport);

  describe('minute series in the property time zone', () => {
    it('maps local labels to UTC buckets, values from strings, gaps inside the data to zero', async () => {
      serve(fixture('run-report-minutes'));
      const series = await connect().fetchSeries(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 });
      // America/Los_Angeles is UTC−8 after 2026-11-01 09:00Z: 04:MM local is 12:MM UTC.
      const rows: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[] =
        fixture('run-report-minutes').rows;
      const expected = new Map<number, number>();
      for (const row of rows) {
        const minute = Number(row.dimensionValues[0]!.value.slice(10, 12));
        expected.set(Date.UTC(2026, 10, 1, 12, minute), Number(row.metricValues[0]!.value));
      }
      expect(series.points).toHaveLength(60);
      for (const p of series.points) expect(p.value).toBe(expected.get(p.ts) ?? 0);
      // 04:07 and 04:31 have no row: activeUsers is TYPE_INTEGER, so they are true zeros.
      expect(series.points.find((p) => p.ts === Date.UTC(2026, 10, 1, 12, 7))).toEqual({
        ts: Date.UTC(2026, 10, 1, 12, 7),
        value: 0,
      });
      expect(series.points[0]).toEqual({ ts: CONTRACT_FROM, value: 31 });
      expect(series.unit).toBeNull();
      expect(series.provisional).toBe(true);
    });

    it('sends the documented runReport through the client library, with the filter and the local dates', async () => {
      serve(fixture('run-report-minutes'));
      const c = connect();
      const q = ga4Connector.querySchema.parse({
        metric: 'eventCount',
        dimension_filter: {
          andGroup: {
            expressions: [
              { filter: { fieldName: 'platform', stringFilter: { matchType: 'EXACT', value: 'web' } } },
              { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'BEGINS_WITH', value: '/checkout' } } },
            ],
          },
        },
      });
      const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
      await c.fetchSeries(q, window);
      await c.fetchSeries(q, window);
      const [first, second] = reports();
      expect(reports()).toHaveLength(2);
      expect(first!.query.get('$alt')).toBe('json;enum-encoding=int');
      expect(first!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(first!.headers['x-goog-request-params']).toBe(`property=properties%2F${PROPERTY}`);
      expect(first!.json).toMatchObject({
        dimensions: [{ name: 'dateHourMinute' }],
        metrics: [{ name: 'eventCount' }],
        orderBys: [{ dimension: { dimensionName: 'dateHourMinute' } }],
        keepEmptyRows: true,
        returnPropertyQuota: true,
        limit: '100000',
        offset: '0',
        // The library sends enums as numbers (EXACT = 1, BEGINS_WITH = 2) with enum-encoding=int.
        dimensionFilter: {
          andGroup: {
            expressions: [
              { filter: { fieldName: 'platform', stringFilter: { matchType: 1, value: 'web' } } },
              { filter: { fieldName: 'pagePath', stringFilter: { matchType: 2, value: '/checkout' } } },
            ],
          },
        },
      });
      // Zone unknown: 12:00Z−12 h .. 12:59Z+14 h covers every UTC offset.
      expect(first!.json.dateRanges).toEqual([{ startDate: '2026-11-01', endDate: '2026-11-02' }]);
      // Zone learned from metadata.timeZone: 04:00–04:59 on 2026-11-01 in Los Angeles.
      expect(second!.json.dateRanges).toEqual([{ startDate: '2026-11-01', endDate: '2026-11-01' }]);
    });

    it('describeQuery names the URL and the body the client sends, credential redacted', async () => {
      serve(fixture('run-report-minutes'));
      const c = connect();
      const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
      await c.fetchSeries(query(), window);
      const [described] = c.describeQuery(query(), window);
      await c.fetchSeries(query(), window);
      const sent = reports()[1]!;
      expect(described!.url).toBe(`${replay.url}${REPORT_PATH}?$alt=json%3Benum-encoding=int`);
      expect(described!.headers.authorization).toBe('[redacted]');
      const body = described!.body as Record<string, unknown>;
      expect(body.dateRanges).toEqual(sent.json.dateRanges);
      expect(body.metrics).toEqual(sent.json.metrics);
      expect(body.dimensions).toEqual(sent.json.dimensions);
      expect(String(body.limit)).toBe(sent.json.limit);
    });

    it('drops the running bucket and anything after the last row (not yet processed is not zero)', async () => {
      serve(fixture('run-report-minutes'));
      const now = CONTRACT_FROM + 30 * MINUTE + 20_000;
      const partial = await connect({ now }).fetchSeries(query(), {
        from: CONTRACT_FROM,
        to: CONTRACT_TO,
        stepSeconds: 60,
      });
      expect(partial.points.at(-1)!.ts).toBe(CONTRACT_FROM + 29 * MINUTE);
      const longer = await connect().fetchSeries(query(), {
        from: CONTRACT_FROM,
        to: CONTRACT_TO + 30 * MINUTE,
        stepSeconds: 60,
      });
      expect(longer.points.at(-1)!.ts).toBe(CONTRACT_TO - MINUTE);
    });

    it('leaves gaps of an average metric empty and reports its unit', async () => {
      serve(fixture('run-report-average-minutes'));
      const from = Date.UTC(2026, 10, 2, 10, 0);
      const series = await connect({ now: LATER }).fetchSeries(query('averageSessionDuration'), {
        from,
        to: from + 3 * MINUTE,
        stepSeconds: 60,
      });
      expect(series.points).toEqual([
        { ts: from, value: 61.5 },
        { ts: from + 2 * MINUTE, value: 73.25 },
      ]);
      expect(series.unit).toBe('second');
    });

    it('follows limit/offset pages until rowCount', async () => {
      const whole = fixture('run-report-minutes');
      const pageSize = 25;
      // The API may return fewer rows than asked for; rowCount tells the total.
      serve((req) => {
        const offset = Number(req.json.offset ?? 0);
        return { body: { ...whole, rows: whole.rows.slice(offset, offset + pageSize), rowCount: whole.rows.length } };
      });
      const paged = await connect().fetchSeries(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 });
      expect(reports().map((r) => r.json.offset ?? '0')).toEqual(['0', '25', '50']);
      serve(whole);
      const single = await connect().fetchSeries(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 });
      expect(paged.points).toEqual(single.points);
    });
  });

  describe('hours, currencies and daylight saving', () => {
    it('hour buckets of a currency sum in a UTC+1 property, zero where no purchase happened', async () => {
      serve(fixture('run-report-revenue-hours'));
      const from = Date.UTC(2026, 10, 2, 8);
      const series = await connect({ now: LATER }).fetchSeries(query('purchaseRevenue'), {
        from,
        to: from + 4 * HOUR,
        stepSeconds: 3600,
      });
      expect(reports()[0]!.json.dimensions).toEqual([{ name: 'dateHour' }]);
      // Berlin is UTC+1 in November: local 10:00 is 09:00Z, local 12:00 is 11:00Z.
      expect(series.points).toEqual([
        { ts: Date.UTC(2026, 10, 2, 8), value: 0 },
        { ts: Date.UTC(2026, 10, 2, 9), value: 1534.5 },
        { ts: Date.UTC(2026, 10, 2, 10), value: 0 },
        { ts: Date.UTC(2026, 10, 2, 11), value: 980.25 },
      ]);
      expect(series.unit).toBe('EUR');
    });

    it('fall back (Los Angeles, 2026-11-01): the repeated 01:00 hour is one label, placed once, never zero-filled', async () => {
      serve(fixture('run-report-dst-fall-back'));
      const c = connect();
      const from = Date.UTC(2026, 10, 1, 7); // 00:00 PDT
      const series = await c.fetchSeries(query('sessions'), { from, to: from + 6 * HOUR, stepSeconds: 3600 });
      expect(series.points).toEqual([
        { ts: Date.UTC(2026, 10, 1, 7), value: 120 }, // 00:00 PDT
        { ts: Date.UTC(2026, 10, 1, 8), value: 230 }, // 01:00 PDT, holding both 01:00 hours
        // 09:00Z is 01:00 PST: merged into the label above, so no point
        { ts: Date.UTC(2026, 10, 1, 10), value: 95 }, // 02:00 PST
        { ts: Date.UTC(2026, 10, 1, 11), value: 0 }, // 03:00 PST, no row before a later row
        { ts: Date.UTC(2026, 10, 1, 12), value: 88 }, // 04:00 PST
      ]);
      await c.fetchSeries(query('sessions'), { from, to: from + 6 * HOUR, stepSeconds: 3600 });
      expect(reports()[1]!.json.dateRanges).toEqual([{ startDate: '2026-11-01', endDate: '2026-11-01' }]);
    });

    it('the repeated hour is placed once even when a chunk boundary splits it', () => {
      const { rows, metadata } = fixture('run-report-dst-fall-back');
      const placed = new Set<string>();
      const chunk = (from: number, to: number) =>
        mapRows({
          rows,
          dimension: 'dateHour',
          timeZone: metadata.timeZone,
          window: { from, to, stepSeconds: 3600 },
          zeroFill: true,
          placed,
        });
      // First chunk ends after 01:00 PDT; the second starts at 01:00 PST, the same wall hour.
      const first = chunk(Date.UTC(2026, 10, 1, 7), Date.UTC(2026, 10, 1, 9));
      const second = chunk(Date.UTC(2026, 10, 1, 9), Date.UTC(2026, 10, 1, 13));
      expect([...first, ...second].filter((p) => p.value === 230)).toEqual([
        { ts: Date.UTC(2026, 10, 1, 8), value: 230 },
      ]);
      expect(second.map((p) => p.ts)).not.toContain(Date.UTC(2026, 10, 1, 9));
    });

    it('spring forward (Los Angeles, 2026-03-08): 01:59 PST is followed by 03:00 PDT one minute later', async () => {
      serve(fixture('run-report-dst-spring-forward'));
      const from = Date.UTC(2026, 2, 8, 9, 58); // 01:58 PST
      const series = await connect().fetchSeries(query('eventCount'), { from, to: from + 4 * MINUTE, stepSeconds: 60 });
      expect(series.points).toEqual([
        { ts: Date.UTC(2026, 2, 8, 9, 58), value: 14 },
        { ts: Date.UTC(2026, 2, 8, 9, 59), value: 17 },
        { ts: Date.UTC(2026, 2, 8, 10, 0), value: 12 },
        { ts: Date.UTC(2026, 2, 8, 10, 1), value: 19 },
      ]);
    });

    it('refuses hour steps in a half-hour-offset zone (local hours would straddle UTC hours)', async () => {
      serve({ ...fixture('run-report-revenue-hours'), metadata: { currencyCode: 'INR', timeZone: 'Asia/Kolkata' } });
      const from = Date.UTC(2026, 10, 2, 8);
      const err = await connect()
        .fetchSeries(query('purchaseRevenue'), { from, to: from + 4 * HOUR, stepSeconds: 3600 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe('bad_query');
    });

    it('re-asks a chunk when the property time zone changed since it was learned', async () => {
      serve(fixture('run-report-minutes'));
      const c = connect();
      const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
      await c.fetchSeries(query(), window);
      serve({ ...fixture('run-report-minutes'), metadata: { currencyCode: 'USD', timeZone: 'Pacific/Kiritimati' } });
      replay.requests.length = 0;
      await c.fetchSeries(query(), window);
      // Kiritimati is UTC+14: 12:00Z is 02:00 the next day.
      expect(reports().map((r) => r.json.dateRanges[0])).toEqual([
        { startDate: '2026-11-01', endDate: '2026-11-01' },
        { startDate: '2026-11-02', endDate: '2026-11-02' },
      ]);
    });

    it("stops at the caller's abort signal, without waiting for the timeout", async () => {
      serve(() => ({ body: fixture('run-report-minutes'), delayMs: 2_000 }));
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 50);
      const err = await connect()
        .fetchSeries(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60, signal: controller.signal })
        .catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(ConnectorError);
      expect((err as Error).name).toBe('AbortError');
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('serves only 60 s and 3600 s steps, refusing others before calling GA4', async () => {
      serve(fixture('run-report-minutes'));
      const err = await connect()
        .fetchSeries(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 300 })
        .catch((e: unknown) => e);
      expect((err as ConnectorError).code).toBe('bad_query');
      expect(replay.requests).toHaveLength(0);
    });
  });

  describe('quotas', () => {
    it('feeds the remaining tokens and concurrency of propertyQuota to onRateLimit', async () => {
      serve(fixture('run-report-minutes'));
      await connect().fetchSeries(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 });
      const quota = fixture('run-report-minutes').propertyQuota;
      expect(rateLimits).toEqual([
        {
          remaining: Math.min(
            quota.tokensPerHour.remaining,
            quota.tokensPerDay.remaining,
            quota.tokensPerProjectPerHour.remaining,
          ),
          tokensPerHourRemaining: quota.tokensPerHour.remaining,
          tokensPerDayRemaining: quota.tokensPerDay.remaining,
          tokensPerProjectPerHourRemaining: quota.tokensPerProjectPerHour.remaining,
          concurrentRequestsRemaining: quota.concurrentRequests.remaining,
        },
      ]);
    });

    it('maps RESOURCE_EXHAUSTED to rate_limited, from RetryInfo or a Retry-After header', async () => {
      serve(() => ({ status: 429, body: fixture('error-resource-exhausted') }));
      const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
      const fromDetail = (await connect()
        .fetchSeries(query(), window)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(fromDetail.code).toBe('rate_limited');
      expect(fromDetail.retryAfterSeconds).toBe(7);
      expect(rateLimits).toEqual([{ remaining: 0, retryAfterSeconds: 7 }]);
      const { details: _details, ...withoutDetails } = fixture('error-resource-exhausted').error;
      serve(() => ({ status: 429, headers: { 'retry-after': '30' }, body: { error: withoutDetails } }));
      const fromHeader = (await connect()
        .fetchSeries(query(), window)
        .catch((e: unknown) => e)) as ConnectorError;
      expect(fromHeader.retryAfterSeconds).toBe(30);
    });

    it('declares the documented quotas and a data delay the scheduler refetches through', () => {
      const { limits } = connect();
      expect(limits.concurrency).toBe(10);
      expect(limits.settleSeconds).toBe(48 * 3600);
      expect(limits.dataDelaySeconds).toBeGreaterThanOrEqual(3600);
      expect(connect({ deps: { timeoutMs: 1234 } }).limits.timeoutMs).toBe(1234);
    });
  });

  describe('check()', () => {
    it('reads the metadata and a one-row report: time zone, currency, minute dimension', async () => {
      serve(fixture('run-report-empty'));
      const result = await connect().check();
      expect(result).toEqual({
        ok: true,
        details: {
          property_id: PROPERTY,
          time_zone: 'America/Los_Angeles',
          currency_code: 'USD',
          dimensions: fixture('metadata').dimensions.length,
          metrics: fixture('metadata').metrics.length,
          minute_dimension: true,
          hour_dimension: true,
        },
      });
      expect(replay.requests.filter(isMetadata)).toHaveLength(1);
    });

    it('maps PERMISSION_DENIED (no access to the property) to auth_failed', async () => {
      replay.setHandler(() => ({ status: 403, body: fixture('error-permission-denied') }));
      const result = await connect().check();
      expect(result).toMatchObject({ ok: false, error: { code: 'auth_failed' } });
    });
  });

  describe('service-account credentials', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const key = () => ({
      type: 'service_account',
      project_id: 'opstrails-test',
      private_key_id: 'kid-0d5e1f',
      private_key: pem,
      client_email: 'impact-reader@opstrails-test.iam.gserviceaccount.com',
      token_uri: `${replay.url}/token`,
    });
    const serveWithToken = (token: ReplayResponse = { body: fixture('token') }) =>
      replay.setHandler((req) => {
        if (req.path === '/token') return token;
        if (isMetadata(req)) return { body: fixture('metadata') };
        if (isReport(req)) return { body: fixture('run-report-minutes') };
        return { status: 404, body: {} };
      });

    it('signs an RS256 JWT bearer grant, posts it to token_uri and uses the returned token', async () => {
      serveWithToken();
      const now = CONTRACT_TO + 6 * HOUR;
      const c = connect({ now, secrets: { service_account: key() } });
      const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
      await c.fetchSeries(query(), window);
      await c.fetchSeries(query(), window);
      const tokenCalls = replay.requests.filter((r) => r.path === '/token');
      expect(tokenCalls).toHaveLength(1); // cached for its lifetime
      const form = new URLSearchParams(tokenCalls[0]!.body);
      expect(tokenCalls[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
      const [h, p, s] = form.get('assertion')!.split('.');
      expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s!, 'base64url'))).toBe(true);
      expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({
        alg: 'RS256',
        typ: 'JWT',
        kid: 'kid-0d5e1f',
      });
      expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({
        iss: 'impact-reader@opstrails-test.iam.gserviceaccount.com',
        scope: 'https://www.googleapis.com/auth/analytics.readonly',
        aud: `${replay.url}/token`,
        iat: Math.floor(now / 1000),
        exp: Math.floor(now / 1000) + 3600,
      });
      for (const r of reports()) expect(r.headers.authorization).toBe(`Bearer ${fixture('token').access_token}`);
    });

    it('renews the token when it nears expiry', async () => {
      serveWithToken();
      let now = CONTRACT_TO + 6 * HOUR;
      const c = connect({ secrets: { service_account: key() }, deps: { now: () => now } });
      const window = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };
      await c.fetchSeries(query(), window);
      now += 3599 * 1000 - 30_000; // inside the renewal margin
      await c.fetchSeries(query(), window);
      expect(replay.requests.filter((r) => r.path === '/token')).toHaveLength(2);
    });

    it('accepts the key file pasted as JSON text', async () => {
      serveWithToken();
      const result = await connect({ secrets: { service_account: JSON.stringify(key()) } }).check();
      expect(result.ok).toBe(true);
    });

    it('maps invalid_grant from the token endpoint to auth_failed, without the key in the message', async () => {
      serveWithToken({ status: 400, body: fixture('token-invalid-grant') });
      const result = await connect({ secrets: { service_account: key() } }).check();
      expect(result).toMatchObject({ ok: false, error: { code: 'auth_failed' } });
      expect(JSON.stringify(result)).toContain('invalid_grant');
      expect(JSON.stringify(result)).not.toContain('PRIVATE KEY');
      expect(logger.lines.join('\n')).not.toContain('PRIVATE KEY');
    });

    it('refuses a token_uri on a foreign host under a strict policy', () => {
      const secrets = ga4Connector.secretsSchema.parse({
        service_account: { ...key(), token_uri: 'https://tokens.example.com/token' },
      });
      const config = ga4Connector.configSchema.parse({ property_id: PROPERTY });
      const create = () =>
        ga4Connector.create(config, secrets, { fetch, now: Date.now, logger, hostPolicy: { allowedHosts: [] } });
      expect(create).toThrow(ConnectorError);
      expect(() => create()).toThrow(/not an official host/);
    });
  });

  describe('schemas and config', () => {
    const issues = (r: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
      r.error?.issues ?? [];

    it('a non-numeric property id is a property_id error', () => {
      const r = ga4Connector.configSchema.safeParse({ property_id: 'G-ABC123XYZ' });
      expect(r.success).toBe(false);
      expect(issues(r)[0]!.path).toEqual(['property_id']);
      expect(issues(r)[0]!.message).toMatch(/numeric/);
      expect(ga4Connector.configSchema.parse({ property_id: 123456789 }).property_id).toBe('123456789');
    });

    it('secrets need exactly one of service_account or access_token, and never echo a key', () => {
      expect(issues(ga4Connector.secretsSchema.safeParse({}))[0]!.path).toEqual(['service_account']);
      expect(
        ga4Connector.secretsSchema.safeParse({
          access_token: 'a',
          service_account: { client_email: 'x', private_key: '-----BEGIN PRIVATE KEY-----' },
        }).success,
      ).toBe(false);
      const bad = ga4Connector.secretsSchema.safeParse({
        service_account: '{"private_key": "SECRET-MATERIAL-42", oops',
      });
      expect(bad.success).toBe(false);
      expect(JSON.stringify(bad.error)).not.toContain('SECRET-MATERIAL-42');
      const notPem = ga4Connector.secretsSchema.safeParse({
        service_account: { client_email: 'x@y', private_key: 'SECRET-MATERIAL-43' },
      });
      expect(issues(notPem)[0]!.path).toEqual(['service_account', 'private_key']);
      expect(JSON.stringify(notPem.error)).not.toContain('SECRET-MATERIAL-43');
    });

    it('query errors name the field', () => {
      expect(issues(ga4Connector.querySchema.safeParse({}))[0]!.path).toEqual(['metric']);
      expect(issues(ga4Connector.querySchema.safeParse({ metric: 'active users' }))[0]!.path).toEqual(['metric']);
      const twoFilters = ga4Connector.querySchema.safeParse({
        metric: 'sessions',
        dimension_filter: {
          filter: { fieldName: 'platform', stringFilter: { value: 'web' }, inListFilter: { values: ['iOS'] } },
        },
      });
      expect(issues(twoFilters)[0]!.path.slice(0, 2)).toEqual(['dimension_filter', 'filter']);
      const badMatch = ga4Connector.querySchema.safeParse({
        metric: 'sessions',
        dimension_filter: { filter: { fieldName: 'platform', stringFilter: { matchType: 'LIKE', value: 'web' } } },
      });
      expect(issues(badMatch)[0]!.path).toEqual(['dimension_filter', 'filter', 'stringFilter', 'matchType']);
    });

    it('defaults to the official endpoint and refuses a base_url with a path', () => {
      const config = ga4Connector.configSchema.parse({ property_id: PROPERTY });
      const secrets = ga4Connector.secretsSchema.parse({ access_token: ACCESS_TOKEN });
      const deps = { fetch, now: () => CONTRACT_TO, logger, hostPolicy: { allowedHosts: [] } };
      const [described] = ga4Connector
        .create(config, secrets, deps)
        .describeQuery(query(), { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 });
      expect(described!.url).toBe(
        `https://analyticsdata.googleapis.com:443${REPORT_PATH}?$alt=json%3Benum-encoding=int`,
      );
      expect(() =>
        ga4Connector.create({ ...config, base_url: 'https://analyticsdata.googleapis.com/proxy' }, secrets, deps),
      ).toThrow(/origin/);
    });
  });
});
