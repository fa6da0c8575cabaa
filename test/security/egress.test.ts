// The egress policy (connectors/egress.ts) from an attacker's side, through
// connectors built as production builds them: a provider that redirects to
// another origin or to the metadata address, names that resolve to private,
// loopback or link-local addresses, and official hosts over http or odd ports.
// Every server here listens on loopback; refused addresses are refused before
// any connection is attempted.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adobeConnector } from '../../connectors/adobe/index.js';
import { datadogConnector } from '../../connectors/datadog/index.js';
import { addressClass, egressFetch, MAX_REDIRECTS, resolveChecked } from '../../connectors/egress.js';
import { ga4Connector } from '../../connectors/ga4/index.js';
import { newrelicConnector } from '../../connectors/newrelic/index.js';
import { prometheusConnector } from '../../connectors/prometheus/index.js';
import { sentryConnector } from '../../connectors/sentry/index.js';
import { ConnectorError, type HostPolicy } from '../../connectors/types.js';
import { capturingLogger } from '../connectors/contract.js';
import { factory, guarded, loopbackFetch, PROVIDER_CASES, rejection, WINDOW } from '../connectors/guarded.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';

const LOOPBACK_ONLY: HostPolicy = { allowedHosts: ['127.0.0.1'] };
const resolvesTo =
  (...addresses: string[]): HostPolicy['resolve'] =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);

/** A documented-enough success for whatever a connector asks (used where a request must get through). */
function healthy(req: RecordedRequest): ReplayResponse {
  if (req.path.endsWith('/api/v1/query'))
    return { body: { status: 'success', data: { resultType: 'scalar', result: [0, '1'] } } };
  if (req.path.endsWith('/api/v1/query_range'))
    return { body: { status: 'success', data: { resultType: 'matrix', result: [] } } };
  if (req.path.endsWith('/api/v1/validate')) return { body: { valid: true } };
  return { status: 404, body: { error: 'not here' } };
}

let provider: Replay;
let elsewhere: Replay;
let onProvider: (req: RecordedRequest) => ReplayResponse;

beforeAll(async () => {
  provider = await startReplay((req) => onProvider(req));
  // Another origin (same host, another port): anything arriving here is a leak.
  elsewhere = await startReplay(healthy);
});
afterAll(async () => {
  await provider?.close();
  await elsewhere?.close();
});
beforeEach(() => {
  provider.requests.length = 0;
  elsewhere.requests.length = 0;
  onProvider = healthy;
});

describe('redirects are not followed to another origin', () => {
  for (const c of PROVIDER_CASES) {
    it(`${c.name}: a 302 to another port is refused; nothing, credentials least of all, reaches it`, async () => {
      onProvider = (req) => ({ status: 302, headers: { location: `${elsewhere.url}${req.path}` } });
      const connector = guarded(c, provider.url, LOOPBACK_ONLY);

      const result = await connector.check();
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
      expect(!result.ok && result.error.message).toMatch(
        /redirecting from http:\/\/127\.0\.0\.1:\d+ to http:\/\/127\.0\.0\.1:\d+/,
      );

      const err = await rejection(connector.fetchSeries(c.query, WINDOW));
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe('invalid_config');
      expect((err as ConnectorError).retryable).toBe(false);

      expect(provider.requests.length).toBeGreaterThan(0);
      expect(elsewhere.requests).toHaveLength(0);
    });
  }

  it('datadog: the SDK transport is policed — without the policy the same redirect delivers both keys elsewhere', async () => {
    onProvider = (req) => ({ status: 302, headers: { location: `${elsewhere.url}${req.path}` } });
    const secrets = { api_key: 'dd-api-key-0001', app_key: 'dd-app-key-0001' };
    // The bug this guards against: the client as the connector module builds it, on a plain fetch.
    const bare = datadogConnector.create(datadogConnector.configSchema.parse({ base_url: provider.url }), secrets, {
      fetch: globalThis.fetch,
      now: Date.now,
      logger: capturingLogger(),
      hostPolicy: LOOPBACK_ONLY,
    });
    expect(await bare.check()).toMatchObject({ ok: true });
    expect(elsewhere.requests.map((r) => r.headers['dd-api-key'])).toContain('dd-api-key-0001');

    elsewhere.requests.length = 0;
    provider.requests.length = 0;
    const policed = factory(LOOPBACK_ONLY).build(datadogConnector, { base_url: provider.url }, secrets);
    expect(await policed.check()).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
    expect(provider.requests[0].headers['dd-api-key']).toBe('dd-api-key-0001');
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('a redirect to another allowed host (127.0.0.2) is refused too', async () => {
    let hits = 0;
    const other: Server = createServer((_req, res) => {
      hits++;
      res.end('{"valid": true}');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.2', resolve));
    try {
      const { port } = other.address() as AddressInfo;
      onProvider = (req) => ({ status: 307, headers: { location: `http://127.0.0.2:${port}${req.path}` } });
      const policy = { allowedHosts: ['127.0.0.1', '127.0.0.2'] };
      const connector = factory(policy).build(
        datadogConnector,
        { base_url: provider.url },
        { api_key: 'k-1234', app_key: 'a-1234' },
      );
      const result = await connector.check();
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
      expect(hits).toBe(0);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('a redirect to the metadata address 169.254.169.254 is refused before anything is sent', async () => {
    onProvider = () => ({
      status: 302,
      headers: { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
    });
    for (const policy of [LOOPBACK_ONLY, { allowedHosts: ['127.0.0.1', '169.254.169.254'] }]) {
      const connector = factory(policy).build(
        prometheusConnector,
        { base_url: provider.url },
        { username: 'u-1234', password: 'p-1234' },
      );
      const result = await connector.check();
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
      expect(!result.ok && result.error.message).toContain('to http://169.254.169.254;');
    }
  });

  it('a scheme change (http → https on the same host and port) is another origin', async () => {
    onProvider = (req) => ({
      status: 301,
      headers: { location: `${provider.url.replace('http:', 'https:')}${req.path}` },
    });
    const connector = factory(LOOPBACK_ONLY).build(prometheusConnector, { base_url: provider.url }, {});
    expect(await connector.check()).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
    expect(provider.requests).toHaveLength(1);
  });
});

describe('same-origin redirects are followed', () => {
  it('a 302 within the origin is followed with the credential; a 307 keeps method and body', async () => {
    onProvider = (req) => {
      if (req.path === '/api/v1/query') return { status: 302, headers: { location: '/moved/api/v1/query?query=1' } };
      if (req.path === '/api/v1/query_range')
        return { status: 307, headers: { location: `${provider.url}/moved/api/v1/query_range` } };
      return healthy(req);
    };
    const connector = factory(LOOPBACK_ONLY).build(
      prometheusConnector,
      { base_url: provider.url },
      { bearer_token: 'tok-1234' },
    );
    expect(await connector.check()).toMatchObject({ ok: true });
    expect(provider.requests.map((r) => r.path)).toEqual(['/api/v1/query', '/moved/api/v1/query']);
    expect(provider.requests[1].headers.authorization).toBe('Bearer tok-1234');

    provider.requests.length = 0;
    await connector.fetchSeries({ promql: 'sum(up)' }, WINDOW);
    const moved = provider.requests.find((r) => r.path === '/moved/api/v1/query_range')!;
    expect(moved.method).toBe('POST');
    expect(moved.body).toContain('query=sum%28up%29');
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('datadog follows a same-origin redirect through the SDK transport', async () => {
    onProvider = (req) =>
      req.path === '/api/v1/validate'
        ? { status: 302, headers: { location: '/dd/api/v1/validate' } }
        : req.path === '/dd/api/v1/validate'
          ? { body: { valid: true } }
          : { body: { status: 'ok', series: [] } };
    const connector = factory(LOOPBACK_ONLY).build(
      datadogConnector,
      { base_url: provider.url },
      { api_key: 'k-1234', app_key: 'a-1234' },
    );
    expect(await connector.check()).toMatchObject({ ok: true });
    expect(provider.requests.find((r) => r.path === '/dd/api/v1/validate')?.headers['dd-api-key']).toBe('k-1234');
  });

  it(`gives up after ${MAX_REDIRECTS} hops`, async () => {
    onProvider = () => ({ status: 302, headers: { location: '/api/v1/query?query=1' } });
    const connector = factory(LOOPBACK_ONLY).build(prometheusConnector, { base_url: provider.url }, {});
    const result = await connector.check();
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_response' } });
    expect(provider.requests).toHaveLength(MAX_REDIRECTS + 1);
  });
});

describe('resolved addresses must match the allow-list', () => {
  // Connections are only ever attempted to loopback here; private and link-local
  // answers are checked on resolveChecked, the function the connection's lookup runs.
  const prom = (policy: HostPolicy, host: string) =>
    factory(policy).build(prometheusConnector, { base_url: provider.url.replace('127.0.0.1', host) }, {});
  const listedName = { provider: 'Prometheus', officialHosts: [], allowedHosts: ['prom.internal.test'] };

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
  ])('a listed name resolving to %s (%s) is refused unless that address is listed', async (address, cls) => {
    const result = await prom(
      { allowedHosts: ['prom.internal.test'], resolve: resolvesTo(address) },
      'prom.internal.test',
    ).check();
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
    expect(!result.ok && result.error.message).toContain(`prom.internal.test resolves to ${address}, a ${cls} address`);
    expect(provider.requests).toHaveLength(0);
  });

  it.each([
    ['10.1.2.3', 'private'],
    ['172.20.0.5', 'private'],
    ['192.168.0.10', 'private'],
    ['100.100.100.200', 'private'],
    ['fd00::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
  ])('a listed name resolving to %s (%s) is refused unless that address is listed', async (address, cls) => {
    await expect(resolveChecked('prom.internal.test', { ...listedName, resolve: resolvesTo(address) })).rejects.toThrow(
      `prom.internal.test resolves to ${address}, a ${cls} address; list that address (or its range) in OPSTRAILS_ALLOWED_PROVIDER_HOSTS`,
    );
    const listed = { ...listedName, allowedHosts: ['prom.internal.test', address], resolve: resolvesTo(address) };
    await expect(resolveChecked('prom.internal.test', listed)).resolves.toHaveLength(1);
  });

  it('one refused address refuses the name', async () => {
    const policy = { allowedHosts: ['prom.internal.test', '127.0.0.1'], resolve: resolvesTo('127.0.0.1', '::1') };
    expect(await prom(policy, 'prom.internal.test').check()).toMatchObject({
      ok: false,
      error: { code: 'invalid_config' },
    });
    expect(provider.requests).toHaveLength(0);
    await expect(
      resolveChecked('prom.internal.test', {
        ...listedName,
        allowedHosts: ['prom.internal.test', '10.0.0.0/8'],
        resolve: resolvesTo('10.0.0.1', '169.254.169.254'),
      }),
    ).rejects.toThrow(/169\.254\.169\.254, a link-local address/);
  });

  it('a listed address or range lets the name through, and the connection goes to the address that was checked', async () => {
    for (const entry of ['127.0.0.1', '127.0.0.0/8']) {
      provider.requests.length = 0;
      // prom.internal.test exists in no DNS: the request can only arrive through the checked, pinned address.
      const policy = { allowedHosts: ['prom.internal.test', entry], resolve: resolvesTo('127.0.0.1') };
      expect(await prom(policy, 'prom.internal.test').check()).toMatchObject({ ok: true });
      expect(provider.requests[0].headers.host).toMatch(/^prom\.internal\.test:\d+$/);
    }
  });

  it('listing an address does not admit a name that resolves to it: the name itself must be listed', () => {
    expect(() => prom({ allowedHosts: ['127.0.0.1'], resolve: resolvesTo('127.0.0.1') }, 'prom.internal.test')).toThrow(
      /^base_url: host prom\.internal\.test is not an official host/,
    );
  });

  it('"localhost" through the system resolver is loopback: refused unless its addresses are listed', async () => {
    const refused = await prom({ allowedHosts: ['localhost'] }, 'localhost').check();
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
    expect(!refused.ok && refused.error.message).toMatch(
      /localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
    expect(provider.requests).toHaveLength(0);
    expect(await prom({ allowedHosts: ['localhost', '127.0.0.1', '::1'] }, 'localhost').check()).toMatchObject({
      ok: true,
    });
  });

  it('an official host resolving to loopback is refused before connecting', async () => {
    for (const address of ['127.0.0.1', '::1']) {
      const connector = factory(
        { allowedHosts: [], resolve: resolvesTo(address) },
        loopbackFetch(['api.datadoghq.com']),
      ).build(datadogConnector, {}, { api_key: 'k-1234', app_key: 'a-1234' });
      const result = await connector.check();
      expect(result).toMatchObject({ ok: false, error: { code: 'invalid_config' } });
      expect(!result.ok && result.error.message).toContain(
        `api.datadoghq.com resolves to ${address}, a loopback address; refused for an official host`,
      );
    }
  });

  it('an official host may resolve to a private address (VPC endpoints, PrivateLink), never to link-local', async () => {
    const policy = { provider: 'Datadog', officialHosts: ['api.datadoghq.com'], allowedHosts: [] };
    await expect(resolveChecked('api.datadoghq.com', { ...policy, resolve: resolvesTo('10.0.0.7') })).resolves.toEqual([
      { address: '10.0.0.7', family: 4 },
    ]);
    await expect(
      resolveChecked('api.datadoghq.com', { ...policy, resolve: resolvesTo('169.254.169.254') }),
    ).rejects.toThrow(/a link-local address; refused for an official host/);
  });
});

describe('official hosts: https on the default port only', () => {
  const keys = { api_key: 'k-1234', app_key: 'a-1234' };
  const buildError = (build: () => unknown): ConnectorError => {
    try {
      build();
    } catch (err) {
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).code).toBe('invalid_config');
      return err as ConnectorError;
    }
    throw new Error('expected the build to fail');
  };
  const strict = factory({ allowedHosts: [] });

  it.each([
    [
      'datadog',
      datadogConnector,
      { base_url: 'http://api.datadoghq.com' },
      keys,
      /^base_url: the official host api\.datadoghq\.com .*https on the default port/,
    ],
    [
      'datadog',
      datadogConnector,
      { base_url: 'https://api.datadoghq.eu:8443' },
      keys,
      /^base_url: .*not https:\/\/api\.datadoghq\.eu:8443/,
    ],
    [
      'sentry',
      sentryConnector,
      { organization: 'acme', base_url: 'http://sentry.io' },
      { auth_token: 't-1234' },
      /^base_url: /,
    ],
    [
      'newrelic',
      newrelicConnector,
      { account_id: 1, base_url: 'https://api.newrelic.com:444' },
      { api_key: 'n-1234' },
      /^base_url: /,
    ],
    [
      'ga4',
      ga4Connector,
      { property_id: '1', base_url: 'http://analyticsdata.googleapis.com' },
      { access_token: 't-1234' },
      /^base_url: /,
    ],
    [
      'adobe',
      adobeConnector,
      { rsid: 'r', ims_url: 'http://ims-na1.adobelogin.com' },
      { client_id: 'c-1234', client_secret: 's-1234' },
      /^ims_url: /,
    ],
    [
      'adobe',
      adobeConnector,
      { rsid: 'r', base_url: 'https://analytics.adobe.io:8443' },
      { client_id: 'c-1234', client_secret: 's-1234' },
      /^base_url: /,
    ],
  ] as const)('%s %j is refused naming the field', (_name, module, config, secrets, message) => {
    expect(buildError(() => strict.build(module, config, secrets)).message).toMatch(message);
  });

  it('ga4: a service-account token_uri on an official host over http names service_account.token_uri', () => {
    const ga4 = PROVIDER_CASES.find((c) => c.name === 'ga4 (service account)')!;
    const sa = ga4.secrets.service_account as Record<string, unknown>;
    const err = buildError(() =>
      strict.build(
        ga4.module,
        { property_id: '1' },
        { service_account: { ...sa, token_uri: 'http://oauth2.googleapis.com/token' } },
      ),
    );
    expect(err.message).toMatch(/^service_account\.token_uri: the official host oauth2\.googleapis\.com/);
  });

  it('listing an official host does not unlock http; the explicit default port is fine; site must be a Datadog site', () => {
    const listed = factory({ allowedHosts: ['api.datadoghq.com'] });
    buildError(() => listed.build(datadogConnector, { base_url: 'http://api.datadoghq.com' }, keys));
    expect(() => strict.build(datadogConnector, { base_url: 'https://api.datadoghq.com:443' }, keys)).not.toThrow();
    expect(buildError(() => strict.build(datadogConnector, { site: 'datadoghq.evil.example' }, keys)).message).toMatch(
      /site: site must be one of/,
    );
  });
});

describe('the policed fetch itself', () => {
  const policy = { provider: 'Test', officialHosts: ['api.example.com'], allowedHosts: ['127.0.0.1'] };

  it('refuses a host that is not listed before sending anything', async () => {
    const egress = egressFetch(loopbackFetch(), policy);
    try {
      const err = await rejection(egress.fetch(`${elsewhere.url.replace('127.0.0.1', '127.0.0.2')}/x`));
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).message).toMatch(/host 127\.0\.0\.2 is not an official host/);
      await expect(egress.fetch('http://api.example.com/x')).rejects.toThrow(
        /only called over https on the default port/,
      );
    } finally {
      await egress.close();
    }
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['192.0.2.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
  ])('%s is %s', (address, cls) => {
    expect(addressClass(address)).toBe(cls);
  });
});
