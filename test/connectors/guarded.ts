// Connectors built the way production builds them (ConnectorFactory.build:
// schemas, egress policy, secret scrubber) and pointed at a local server, with
// one case per provider that talks HTTP — for the egress and scrubbing tests.
import { generateKeyPairSync } from 'node:crypto';
import { adobeConnector } from '../../connectors/adobe/index.js';
import { datadogConnector } from '../../connectors/datadog/index.js';
import { ga4Connector } from '../../connectors/ga4/index.js';
import { newrelicConnector } from '../../connectors/newrelic/index.js';
import { prometheusConnector } from '../../connectors/prometheus/index.js';
import { sentryConnector } from '../../connectors/sentry/index.js';
import type { Connector, ConnectorModule, HostPolicy, Logger } from '../../connectors/types.js';
import { ConnectorFactory } from '../../scheduler/connectors.js';
import type { Store } from '../../store/index.js';
import { capturingLogger, CONTRACT_FROM, CONTRACT_STEP_SECONDS, CONTRACT_TO } from './contract.js';

/** One provider pointed at a base URL. */
export interface ProviderCase {
  /** Test name, e.g. "prometheus (basic auth)". */
  name: string;
  module: ConnectorModule;
  config(baseUrl: string): Record<string, unknown>;
  secrets: Record<string, unknown>;
  query: Record<string, unknown>;
  /** The secret strings as the provider receives them, and the user:password pairs that travel as basic auth. */
  secretValues: string[];
}

/** The window every case fetches (60 one-minute buckets). */
export const WINDOW = { from: CONTRACT_FROM, to: CONTRACT_TO, stepSeconds: CONTRACT_STEP_SECONDS };

// Secrets with the characters that make their encodings differ: space, "/", "+", "=", "&", quote, backslash, non-ASCII.
const PROM_USER = 'ops user+1';
const PROM_PASSWORD = 'p@ss w/rd+="\\ü€-prom';
const ADOBE_ID = 'adobe-client/id+7f3e';
const ADOBE_SECRET = 'p8e-Se/cr+et &="\\ü€ x';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const SERVICE_ACCOUNT_EMAIL = 'impact-reader@example-proj.iam.gserviceaccount.com';
const SERVICE_ACCOUNT_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

export const PROVIDER_CASES: ProviderCase[] = [
  {
    name: 'prometheus (basic auth)',
    module: prometheusConnector,
    config: (base_url) => ({ base_url }),
    secrets: { username: PROM_USER, password: PROM_PASSWORD },
    query: { promql: 'sum(up)' },
    secretValues: [PROM_USER, PROM_PASSWORD, `${PROM_USER}:${PROM_PASSWORD}`],
  },
  {
    name: 'prometheus (bearer token)',
    module: prometheusConnector,
    config: (base_url) => ({ base_url }),
    secrets: { bearer_token: 'prom/bearer+tok="\\en 42' },
    query: { promql: 'sum(up)' },
    secretValues: ['prom/bearer+tok="\\en 42'],
  },
  {
    name: 'datadog',
    module: datadogConnector,
    config: (base_url) => ({ base_url }),
    secrets: { api_key: 'dd/api+key="\\-1234567890', app_key: 'dd app/key+&=-0987654321' },
    query: { query: 'avg:system.cpu.user{*}' },
    secretValues: ['dd/api+key="\\-1234567890', 'dd app/key+&=-0987654321'],
  },
  {
    name: 'sentry',
    module: sentryConnector,
    config: (base_url) => ({ organization: 'acme', base_url }),
    secrets: { auth_token: 'sntrys_tok/en+="\\ 99' },
    query: { dataset: 'errors', y_axis: 'count()' },
    secretValues: ['sntrys_tok/en+="\\ 99'],
  },
  {
    name: 'newrelic',
    module: newrelicConnector,
    config: (base_url) => ({ account_id: 1234567, base_url }),
    secrets: { api_key: 'NRAK-sec/ret+="\\ 77' },
    query: { nrql: 'SELECT count(*) FROM Transaction' },
    secretValues: ['NRAK-sec/ret+="\\ 77'],
  },
  {
    name: 'ga4 (access token)',
    module: ga4Connector,
    config: (base_url) => ({ property_id: '123456789', base_url }),
    secrets: { access_token: 'ya29.tok/en+="\\ 55' },
    query: { metric: 'activeUsers' },
    secretValues: ['ya29.tok/en+="\\ 55'],
  },
  {
    name: 'ga4 (service account)',
    module: ga4Connector,
    config: (base_url) => ({ property_id: '123456789', base_url }),
    secrets: {
      service_account: {
        type: 'service_account',
        client_email: SERVICE_ACCOUNT_EMAIL,
        private_key: SERVICE_ACCOUNT_KEY,
        private_key_id: 'kid-5f2a9c',
        // Filled per test: the token endpoint is the local server too.
        token_uri: '',
      },
    },
    query: { metric: 'activeUsers' },
    secretValues: [SERVICE_ACCOUNT_EMAIL, SERVICE_ACCOUNT_KEY],
  },
  {
    name: 'adobe',
    module: adobeConnector,
    config: (base_url) => ({ rsid: 'examplersid', global_company_id: 'testco0', base_url, ims_url: base_url }),
    secrets: { client_id: ADOBE_ID, client_secret: ADOBE_SECRET },
    query: { metric: 'metrics/pageviews' },
    secretValues: [ADOBE_ID, ADOBE_SECRET, `${ADOBE_ID}:${ADOBE_SECRET}`],
  },
];

/** The case's secrets with every URL-valued secret (GA4's token_uri) pointed at `baseUrl`. */
export function secretsFor(c: ProviderCase, baseUrl: string): Record<string, unknown> {
  const sa = c.secrets.service_account as Record<string, unknown> | undefined;
  return sa ? { ...c.secrets, service_account: { ...sa, token_uri: `${baseUrl}/token` } } : c.secrets;
}

/**
 * The tests' transport: the global fetch, but only to loopback (and to names
 * reserved for tests, `.test`, whose addresses come from an injected resolver
 * that returns loopback), and never following a redirect itself. Should the
 * egress policy regress, a test fails here instead of sending anything off
 * this machine.
 */
export function loopbackFetch(extraNames: readonly string[] = []): typeof globalThis.fetch {
  const safe = (host: string) =>
    ['127.0.0.1', '127.0.0.2', '[::1]', 'localhost'].includes(host) ||
    host.endsWith('.test') ||
    extraNames.includes(host);
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!safe(url.hostname)) return Promise.reject(new Error(`test transport: refusing to call ${url.origin}`));
    return globalThis.fetch(input, { ...init, redirect: init?.redirect === 'manual' ? 'manual' : 'error' });
  };
}

/** A factory as the runtime builds it (build() reads no store), on the loopback-only transport. */
export function factory(
  hostPolicy: HostPolicy,
  fetch: typeof globalThis.fetch = loopbackFetch(),
  logger: Logger = capturingLogger(),
): ConnectorFactory {
  return new ConnectorFactory(undefined as unknown as Store, {
    fetch,
    now: () => CONTRACT_TO + 3_600_000,
    logger,
    hostPolicy,
    timeoutMs: () => 5_000,
  });
}

/** A connector of the case at `baseUrl`, built like production under `hostPolicy`. */
export function guarded(c: ProviderCase, baseUrl: string, hostPolicy: HostPolicy, logger?: Logger): Connector {
  return factory(hostPolicy, loopbackFetch(), logger).build(c.module, c.config(baseUrl), secretsFor(c, baseUrl));
}

/** The rejection of a promise (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (err: unknown) => err,
  );
}
