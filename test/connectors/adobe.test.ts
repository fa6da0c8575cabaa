// Adobe Analytics 2.0 connector: the shared contract suite plus Adobe's own quirks
// (IMS token cache and 401 refresh, company discovery, local-time itemIds across
// daylight-saving changes, paging, 206 column errors), all over real HTTP.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adobeConnector } from '../../connectors/adobe/index.js';
import { decodeItemId } from '../../connectors/adobe/mapping.js';
import { instantsAt, wallClockOf } from '../../connectors/adobe/timezone.js';
import { ConnectorError, type ConnectorDeps, type RateLimitInfo } from '../../connectors/types.js';
import {
  startReplay,
  type RecordedRequest,
  type Replay,
  type ReplayHandler,
  type ReplayResponse,
} from '../support/replay.js';
import {
  capturingLogger,
  connectorContract,
  CONTRACT_FROM,
  CONTRACT_TO,
  RETRY_AFTER_SECONDS,
  type Scenario,
} from './contract.js';

const CLIENT_ID = 'adobe-client-id-4f1c9a';
const CLIENT_SECRET = 'p8e-ADOBE-CLIENT-SECRET-do-not-leak';
const MINUTE = 60_000;
const HOUR = 3_600_000;

function fixture(name: string): any {
  const text = readFileSync(new URL(`../fixtures/adobe/${name}.json`, import.meta.url), 'utf8');
  return JSON.parse(text.replaceAll('CLIENT_ID_PLACEHOLDER', CLIENT_ID));
}

const isToken = (req: RecordedRequest) => req.method === 'POST' && req.path === '/ims/token/v3';
const isReport = (req: RecordedRequest) => req.method === 'POST' && /^\/api\/[^/]+\/reports$/.test(req.path);
const isSuite = (req: RecordedRequest) =>
  req.method === 'GET' && /^\/api\/[^/]+\/reportsuites\/collections\/suites\//.test(req.path);

/** Token, discovery and suite answer as documented; reports get `report`. */
function adobeHandler(report: (req: RecordedRequest) => ReplayResponse, suite = fixture('reportsuite')): ReplayHandler {
  return (req) => {
    if (isToken(req)) return { body: fixture('token') };
    if (req.method === 'GET' && req.path === '/discovery/me') return { body: fixture('discovery-me') };
    if (isSuite(req)) return { body: suite };
    if (isReport(req)) return report(req);
    return { status: 404, body: { error_code: '404000', message: `no replay for ${req.method} ${req.path}` } };
  };
}

function contractRespond(scenario: Scenario, req: RecordedRequest): ReplayResponse {
  if (isToken(req) && scenario === 'auth_failed') return { status: 400, body: fixture('token-invalid-client') };
  return adobeHandler(() => {
    switch (scenario) {
      case 'ok':
      case 'auth_failed':
        return { body: fixture('report-minute-2026-11-01T0400-pst') };
      case 'empty':
        return { body: fixture('report-empty') };
      case 'rate_limited':
        // Adobe documents no Retry-After; the contract's hint checks that one is honoured when sent.
        return {
          status: 429,
          headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
          body: fixture('error-429-too-many-requests'),
        };
      case 'bad_query':
        return { status: 400, body: fixture('error-400-bad-request') };
      case 'unavailable':
        return { status: 503, body: fixture('error-500-service') };
      case 'bad_response':
        return { body: { status: 'ok', data: [[1, 2]] } };
    }
  })(req) as ReplayResponse;
}

connectorContract({
  module: adobeConnector,
  secret: CLIENT_SECRET,
  config: (url) => ({ global_company_id: 'testco0', rsid: 'examplersid', base_url: url, ims_url: url }),
  secrets: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
  query: { metric: 'metrics/pageviews' },
  respond: contractRespond,
  isDataRequest: isReport,
  foreignConfig: { global_company_id: 'testco0', rsid: 'examplersid', base_url: 'https://analytics.example.com' },
});

describe('adobe: schemas name the failing field', () => {
  const issuePath = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
    result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('config without rsid, with a bad company id or a non-URL ims_url', () => {
    expect(issuePath(adobeConnector.configSchema.safeParse({}))).toEqual([
      expect.stringMatching(/^rsid: .*report suite/),
    ]);
    const bad = adobeConnector.configSchema.safeParse({
      rsid: 'examplersid',
      global_company_id: 'test co',
      ims_url: 'not a url',
    });
    expect(issuePath(bad)).toEqual([
      expect.stringMatching(/^global_company_id: /),
      expect.stringMatching(/^ims_url: /),
    ]);
  });

  it('query metric must be a metric id; segment a segment id', () => {
    expect(issuePath(adobeConnector.querySchema.safeParse({ metric: 'pageviews' }))).toEqual([
      expect.stringMatching(/^metric: .*metrics\/pageviews/),
    ]);
    expect(
      issuePath(adobeConnector.querySchema.safeParse({ metric: 'metrics/pageviews', segment: 's1 or 1=1' })),
    ).toEqual([expect.stringMatching(/^segment: /)]);
    expect(
      adobeConnector.querySchema.safeParse({ metric: 'cm300000938_5ab12', segment: 's300000022_5a1b' }).success,
    ).toBe(true);
  });

  it('secrets need client_id and client_secret', () => {
    expect(issuePath(adobeConnector.secretsSchema.safeParse({ client_id: CLIENT_ID }))).toEqual([
      expect.stringMatching(/^client_secret: /),
    ]);
  });

  it('ims_url is host-policed like base_url and the error names ims_url', () => {
    const create = () =>
      adobeConnector.create(
        { rsid: 'examplersid', ims_url: 'https://ims.attacker.example' },
        { client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
        { fetch, now: Date.now, logger: capturingLogger(), hostPolicy: { allowedHosts: [] } },
      );
    expect(create).toThrow(/^ims_url: host ims\.attacker\.example/);
    // The official hosts pass under the strict policy.
    expect(() =>
      adobeConnector.create(
        { rsid: 'examplersid', ims_url: 'https://ims-na1.adobelogin.com', base_url: 'https://analytics.adobe.io' },
        { client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
        { fetch, now: Date.now, logger: capturingLogger(), hostPolicy: { allowedHosts: [] } },
      ),
    ).not.toThrow();
  });
});

describe('adobe: time items and time zones', () => {
  it('decodes itemIds as documented (year − 1900, zero-based month)', () => {
    // Examples from the "How the itemId encodes the date" table of the Adobe reporting guide.
    expect(decodeItemId('11200011902', 'variables/daterangeminute')).toBe(Date.UTC(2012, 0, 1, 19, 2));
    expect(decodeItemId('112000119', 'variables/daterangehour')).toBe(Date.UTC(2012, 0, 1, 19));
    expect(decodeItemId('12610010400', 'variables/daterangeminute')).toBe(Date.UTC(2026, 10, 1, 4, 0));
    for (const bad of ['1251028', '11212011900', '11201301900', '11200012400', '112000119xx', '']) {
      expect(decodeItemId(bad, 'variables/daterangeminute'), bad).toBeUndefined();
    }
    expect(decodeItemId('112013019', 'variables/daterangehour'), 'Feb 30').toBeUndefined();
  });

  it('finds two instants for a repeated local time and none for a skipped one (US/Pacific 2026)', () => {
    expect(instantsAt(Date.UTC(2026, 10, 1, 1, 30), 'US/Pacific')).toEqual([
      Date.UTC(2026, 10, 1, 8, 30),
      Date.UTC(2026, 10, 1, 9, 30),
    ]);
    expect(instantsAt(Date.UTC(2026, 2, 8, 2, 30), 'US/Pacific')).toEqual([]);
    expect(instantsAt(Date.UTC(2026, 2, 8, 3, 0), 'US/Pacific')).toEqual([Date.UTC(2026, 2, 8, 10, 0)]);
    expect(instantsAt(Date.UTC(2026, 6, 1, 12, 0), 'Asia/Kolkata')).toEqual([Date.UTC(2026, 6, 1, 6, 30)]);
    expect(wallClockOf(Date.UTC(2026, 10, 1, 12, 0, 0, 250), 'US/Pacific')).toBe(Date.UTC(2026, 10, 1, 4, 0, 0, 250));
  });
});

describe('adobe: local time round trip (property)', () => {
  // Zones with DST, half-hour and 45-minute offsets, and a 30-minute DST shift (Lord Howe).
  const zones = [
    'US/Pacific',
    'Europe/Berlin',
    'Asia/Kolkata',
    'America/St_Johns',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'UTC',
  ];

  it('every instant is among the instants of its own wall clock, and those all share it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2000, 0, 1) / MINUTE, max: Date.UTC(2040, 0, 1) / MINUTE }),
        (zone, minute) => {
          const t = minute * MINUTE;
          const wall = wallClockOf(t, zone);
          const instants = instantsAt(wall, zone);
          expect(instants).toContain(t);
          expect(instants.length).toBeLessThanOrEqual(2);
          for (const i of instants) expect(wallClockOf(i, zone)).toBe(wall);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('adobe: requests, mapping and token handling over HTTP', () => {
  let replay: Replay;
  let now = CONTRACT_TO + HOUR;
  let rateLimits: RateLimitInfo[] = [];
  const logger = capturingLogger();

  beforeAll(async () => {
    replay = await startReplay(() => ({ status: 500 }));
  });
  afterAll(async () => {
    await replay?.close();
  });
  afterEach(() => {
    replay.requests.length = 0;
    now = CONTRACT_TO + HOUR;
    rateLimits = [];
  });

  const connect = (config: Record<string, unknown> = {}, deps: Partial<ConnectorDeps> = {}) =>
    adobeConnector.create(
      adobeConnector.configSchema.parse({
        global_company_id: 'testco0',
        rsid: 'examplersid',
        base_url: replay.url,
        ims_url: replay.url,
        ...config,
      }),
      { client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
      {
        fetch,
        now: () => now,
        logger,
        hostPolicy: { allowedHosts: [], allowAnyHost: true },
        onRateLimit: (info) => rateLimits.push(info),
        ...deps,
      },
    );
  const contractWindow = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: 60 };

  it('gets an IMS token by form post and sends the documented headers and report body', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-minute-2026-11-01T0400-pst') })));
    const series = await connect().fetchSeries(
      { metric: 'metrics/pageviews', segment: 's300000022_5a1b' },
      contractWindow,
    );

    const token = replay.requests.find(isToken)!;
    expect(token.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(token.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      scope: 'openid,AdobeID,additional_info.projectedProductContext',
    });

    const suite = replay.requests.find(isSuite)!;
    expect(suite.path).toBe('/api/testco0/reportsuites/collections/suites/examplersid');
    expect(suite.query.get('expansion')).toBe('timezoneZoneinfo');

    const reports = replay.requests.filter(isReport);
    expect(reports).toHaveLength(1);
    const report = reports[0];
    expect(report.path).toBe('/api/testco0/reports');
    expect(report.headers.authorization).toBe(`Bearer ${fixture('token').access_token}`);
    expect(report.headers['x-api-key']).toBe(CLIENT_ID);
    expect(report.headers['x-proxy-global-company-id']).toBe('testco0');
    expect(report.json).toEqual({
      rsid: 'examplersid',
      // 12:00Z–13:00Z on 2026-11-01 is 04:00–05:00 PST (the fall-back was at 09:00Z).
      globalFilters: [
        { type: 'dateRange', dateRange: '2026-11-01T04:00:00.000/2026-11-01T05:00:00.000' },
        { type: 'segment', segmentId: 's300000022_5a1b' },
      ],
      metricContainer: { metrics: [{ columnId: '0', id: 'metrics/pageviews' }] },
      dimension: 'variables/daterangeminute',
      settings: { countRepeatInstances: true, nonesBehavior: 'return-nones', dimensionSort: 'asc', limit: 60, page: 0 },
    });

    const rows = fixture('report-minute-2026-11-01T0400-pst').rows as { data: number[] }[];
    expect(series.points).toEqual(rows.map((r, i) => ({ ts: CONTRACT_FROM + i * MINUTE, value: r.data[0] })));
    expect(series.provisional).toBe(true);
  });

  it('reuses the token until shortly before expiry, then fetches a new one', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-minute-2026-11-01T0400-pst') })));
    const c = connect();
    await c.fetchSeries({ metric: 'metrics/pageviews' }, contractWindow);
    await c.fetchSeries({ metric: 'metrics/pageviews' }, contractWindow);
    expect(replay.requests.filter(isToken)).toHaveLength(1);
    expect(replay.requests.filter(isSuite)).toHaveLength(1);
    // expires_in is 86399 s; within the last five minutes the token is renewed.
    now += (86_399 - 200) * 1000;
    await c.fetchSeries({ metric: 'metrics/pageviews' }, contractWindow);
    expect(replay.requests.filter(isToken)).toHaveLength(2);
  });

  it('refreshes the token once on 401 and retries the call', async () => {
    let reports = 0;
    replay.setHandler(
      adobeHandler(() => {
        reports += 1;
        return reports === 1
          ? { status: 401, body: fixture('error-401-oauth-token-invalid') }
          : { body: fixture('report-minute-2026-11-01T0400-pst') };
      }),
    );
    const series = await connect().fetchSeries({ metric: 'metrics/pageviews' }, contractWindow);
    expect(series.points).toHaveLength(60);
    expect(replay.requests.filter(isToken)).toHaveLength(2);
    expect(replay.requests.filter(isReport)).toHaveLength(2);
  });

  it('gives up with auth_failed when the fresh token is refused too, and on 403', async () => {
    replay.setHandler(adobeHandler(() => ({ status: 401, body: fixture('error-401-oauth-token-invalid') })));
    const err = await connect()
      .fetchSeries({ metric: 'metrics/pageviews' }, contractWindow)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).code).toBe('auth_failed');
    expect((err as ConnectorError).message).toContain('Oauth token is not valid (401013)');
    expect(replay.requests.filter(isReport)).toHaveLength(2);

    replay.requests.length = 0;
    replay.setHandler(adobeHandler(() => ({ status: 403, body: fixture('error-403-profile-invalid') })));
    const forbidden = await connect()
      .fetchSeries({ metric: 'metrics/pageviews' }, contractWindow)
      .catch((e: unknown) => e);
    expect((forbidden as ConnectorError).code).toBe('auth_failed');
    expect(replay.requests.filter(isReport)).toHaveLength(1);
  });

  it('discovers the company when global_company_id is not configured', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-minute-2026-11-01T0400-pst') })));
    const c = connect({ global_company_id: undefined });
    const result = await c.check();
    expect(result).toEqual({
      ok: true,
      details: {
        global_company_id: 'testco0',
        rsid: 'examplersid',
        report_suite_name: 'Example Suite',
        time_zone: 'US/Pacific',
      },
    });
    const discovery = replay.requests.find((r) => r.path === '/discovery/me')!;
    expect(discovery.headers['x-api-key']).toBe(CLIENT_ID);
    expect(discovery.headers['x-proxy-global-company-id']).toBeUndefined();
    // After check() the dry run knows the company and the suite's zone.
    const [described] = c.describeQuery({ metric: 'metrics/pageviews' }, contractWindow);
    expect(described.url).toBe(`${replay.url}/api/testco0/reports`);
    expect((described.body as any).globalFilters[0].dateRange).toBe('2026-11-01T04:00:00.000/2026-11-01T05:00:00.000');
    expect(described.headers).toMatchObject({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      'x-proxy-global-company-id': 'testco0',
    });
  });

  it('asks for global_company_id when the credential sees several companies', async () => {
    replay.setHandler((req) =>
      req.path === '/discovery/me'
        ? { body: fixture('discovery-me-two-companies') }
        : adobeHandler(() => ({ status: 500 }))(req),
    );
    const result = await connect({ global_company_id: undefined }).check();
    expect(result).toEqual({
      ok: false,
      error: { code: 'invalid_config', message: expect.stringMatching(/testco0, anothe0.*global_company_id/) },
    });
  });

  it('reports an unknown report suite from check() without throwing', async () => {
    replay.setHandler((req) =>
      isSuite(req)
        ? {
            status: 404,
            body: { errorCode: 'not_found', errorDescription: 'Report suite not found', errorId: '5e0c2b3a' },
          }
        : adobeHandler(() => ({ status: 500 }))(req),
    );
    const result = await connect().check();
    expect(result).toEqual({
      ok: false,
      error: { code: 'bad_query', message: expect.stringContaining('Report suite not found') },
    });
  });

  it('shares one token and one suite read between concurrent fetches', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-minute-2026-11-01T0400-pst') })));
    const c = connect();
    const all = await Promise.all([1, 2, 3].map(() => c.fetchSeries({ metric: 'metrics/pageviews' }, contractWindow)));
    expect(all.map((s) => s.points.length)).toEqual([60, 60, 60]);
    expect(replay.requests.filter(isToken)).toHaveLength(1);
    expect(replay.requests.filter(isSuite)).toHaveLength(1);
  });

  it('maps an itemId that is not a minute item to bad_response', async () => {
    const report = fixture('report-minute-2026-11-01T0400-pst');
    report.rows[3].itemId = '1261001'; // a daterangeday item
    replay.setHandler(adobeHandler(() => ({ body: report })));
    const err = (await connect()
      .fetchSeries({ metric: 'metrics/pageviews' }, contractWindow)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('bad_response');
    expect(err.message).toContain('1261001');
  });

  it('follows totalPages', async () => {
    replay.setHandler(adobeHandler((req) => ({ body: fixture(`report-minute-page-${req.json.settings.page}`) })));
    const series = await connect().fetchSeries({ metric: 'metrics/pageviews' }, contractWindow);
    expect(replay.requests.filter(isReport).map((r) => r.json.settings.page)).toEqual([0, 1]);
    expect(series.points.map((p) => p.ts)).toEqual(Array.from({ length: 60 }, (_, i) => CONTRACT_FROM + i * MINUTE));
  });

  it('drops the trailing bucket that has not closed yet', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-minute-2026-11-01T0400-pst') })));
    now = CONTRACT_FROM + 30 * MINUTE + 30_000; // 12:30:30Z: the 12:30 bucket is still open
    const series = await connect().fetchSeries({ metric: 'metrics/pageviews' }, contractWindow);
    expect(series.points.at(-1)!.ts).toBe(CONTRACT_FROM + 29 * MINUTE);
    expect(series.points).toHaveLength(30);
  });

  it('fall back (US/Pacific 2026-11-01): the repeated 01:xx minutes fit no UTC bucket and are left out', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-minute-fall-back-2026-11-01') })));
    const window = { from: Date.UTC(2026, 10, 1, 7, 58), to: Date.UTC(2026, 10, 1, 10, 2), stepSeconds: 60 };
    const series = await connect().fetchSeries({ metric: 'metrics/pageviews' }, window);
    const [report] = replay.requests.filter(isReport);
    // 07:58Z is 00:58 PDT; 10:02Z is 02:02 PST: the local range is one hour shorter than the UTC one.
    expect(report.json.globalFilters[0].dateRange).toBe('2026-11-01T00:58:00.000/2026-11-01T02:02:00.000');
    expect(report.json.settings.limit).toBe(64);
    expect(series.points).toEqual([
      { ts: Date.UTC(2026, 10, 1, 7, 58), value: 58 },
      { ts: Date.UTC(2026, 10, 1, 7, 59), value: 59 },
      { ts: Date.UTC(2026, 10, 1, 10, 0), value: 200 },
      { ts: Date.UTC(2026, 10, 1, 10, 1), value: 201 },
    ]);
  });

  it('fall back with hourly steps', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-hour-fall-back-2026-11-01') })));
    const window = { from: Date.UTC(2026, 10, 1, 7), to: Date.UTC(2026, 10, 1, 12), stepSeconds: 3600 };
    const series = await connect().fetchSeries({ metric: 'metrics/visits' }, window);
    const [report] = replay.requests.filter(isReport);
    expect(report.json.dimension).toBe('variables/daterangehour');
    expect(report.json.globalFilters[0].dateRange).toBe('2026-11-01T00:00:00.000/2026-11-01T04:00:00.000');
    expect(series.points).toEqual([
      { ts: Date.UTC(2026, 10, 1, 7), value: 500 },
      { ts: Date.UTC(2026, 10, 1, 10), value: 502 },
      { ts: Date.UTC(2026, 10, 1, 11), value: 503 },
    ]);
  });

  it('spring forward (US/Pacific 2026-03-08): no local 02:00, and UTC hours stay contiguous', async () => {
    replay.setHandler(adobeHandler(() => ({ body: fixture('report-hour-spring-forward-2026-03-08') })));
    const window = { from: Date.UTC(2026, 2, 8, 8), to: Date.UTC(2026, 2, 8, 12), stepSeconds: 3600 };
    now = Date.UTC(2026, 2, 9);
    const series = await connect().fetchSeries({ metric: 'metrics/visits' }, window);
    const [report] = replay.requests.filter(isReport);
    // 08:00Z is 00:00 PST, 12:00Z is 05:00 PDT: the local range is one hour longer.
    expect(report.json.globalFilters[0].dateRange).toBe('2026-03-08T00:00:00.000/2026-03-08T05:00:00.000');
    expect(report.json.settings.limit).toBe(5);
    expect(series.points).toEqual([
      { ts: Date.UTC(2026, 2, 8, 8), value: 300 },
      { ts: Date.UTC(2026, 2, 8, 9), value: 301 },
      { ts: Date.UTC(2026, 2, 8, 10), value: 303 },
      { ts: Date.UTC(2026, 2, 8, 11), value: 304 },
    ]);
    expect(series.provisional).toBe(false);
  });

  it('maps a 429 without Retry-After to rate_limited after Adobe’s 6 s window and tells onRateLimit', async () => {
    replay.setHandler(adobeHandler(() => ({ status: 429, body: fixture('error-429-too-many-requests') })));
    const err = (await connect()
      .fetchSeries({ metric: 'metrics/pageviews' }, contractWindow)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterSeconds).toBe(6);
    expect(err.message).toContain('Too many requests (429050)');
    expect(rateLimits).toEqual([{ retryAfterSeconds: 6 }]);
  });

  it('maps a 206 column error to bad_query', async () => {
    replay.setHandler(adobeHandler(() => ({ status: 206, body: fixture('report-206-column-error') })));
    const err = (await connect()
      .fetchSeries({ metric: 'metrics/event99' }, contractWindow)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('bad_query');
    expect(err.message).toContain('User does not have access to the requested metric');
  });

  it('never repeats the client id Adobe echoes in an error', async () => {
    replay.setHandler(adobeHandler(() => ({ status: 500, body: fixture('error-500-service') })));
    const err = (await connect()
      .fetchSeries({ metric: 'metrics/pageviews' }, contractWindow)
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('unavailable');
    expect(err.message).toContain('clientId=[redacted]');
    expect(err.message).not.toContain(CLIENT_ID);
    for (const line of logger.lines) {
      expect(line).not.toContain(CLIENT_ID);
      expect(line).not.toContain(CLIENT_SECRET);
    }
  });

  it('refuses steps Adobe has no time dimension for, and hour steps in half-hour zones', async () => {
    const c = connect();
    expect(() => c.describeQuery({ metric: 'metrics/pageviews' }, { ...contractWindow, stepSeconds: 300 })).toThrow(
      /60 s \(minute\) and 3600 s \(hour\)/,
    );
    const err = (await c
      .fetchSeries({ metric: 'metrics/pageviews' }, { ...contractWindow, stepSeconds: 300 })
      .catch((e: unknown) => e)) as ConnectorError;
    expect(err.code).toBe('bad_query');

    replay.setHandler(
      adobeHandler(() => ({ body: fixture('report-empty') }), {
        ...fixture('reportsuite'),
        timezoneZoneinfo: 'Asia/Kolkata',
      }),
    );
    const kolkata = (await connect()
      .fetchSeries(
        { metric: 'metrics/pageviews' },
        { from: CONTRACT_FROM, to: CONTRACT_FROM + 4 * HOUR, stepSeconds: 3600 },
      )
      .catch((e: unknown) => e)) as ConnectorError;
    expect(kolkata.code).toBe('bad_query');
    expect(kolkata.message).toMatch(/Asia\/Kolkata.*60 s step/);
    expect(replay.requests.filter(isReport)).toHaveLength(0);
  });

  it('chunks at 50,000 rows and shows a placeholder range before the suite zone is known', () => {
    const c = connect({ global_company_id: undefined });
    const long = { from: CONTRACT_FROM, to: CONTRACT_FROM + 120_000 * MINUTE, stepSeconds: 60 };
    const described = c.describeQuery({ metric: 'metrics/pageviews' }, long);
    expect(described.map((d) => (d.body as any).settings.limit)).toEqual([50_000, 50_000, 20_000]);
    expect(described[0].url).toBe(`${replay.url}/api/{globalCompanyId}/reports`);
    expect((described[1].body as any).globalFilters[0].dateRange).toBe(
      `{suite-local time of ${new Date(CONTRACT_FROM + 50_000 * MINUTE).toISOString()}}/` +
        `{suite-local time of ${new Date(CONTRACT_FROM + 100_000 * MINUTE).toISOString()}}`,
    );
    expect(JSON.stringify(described)).not.toContain(CLIENT_ID);
  });
});
