// Secret scrubbing by value (connectors/secrets.ts, applied in connectors/guard.ts)
// against the worst provider: one that echoes every request header and the
// request body back in its error body. No spelling of any secret — raw,
// base64 / base64url (alone and as basic auth's user:password), URL- or
// form-encoded, JSON-escaped — may come back in a thrown error, a check
// result, a log line, or through the API (check, status_message, preview).
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, createLogger } from '../../api/app.js';
import { secretScrubber, secretVariants } from '../../connectors/secrets.js';
import { ConnectorError } from '../../connectors/types.js';
import { createRuntime, type Runtime } from '../../runtime.js';
import { capturingLogger } from '../connectors/contract.js';
import {
  guarded,
  loopbackFetch,
  PROVIDER_CASES,
  rejection,
  secretsFor,
  WINDOW,
  type ProviderCase,
} from '../connectors/guarded.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';
import { testStore } from '../support/store.js';

/** The spellings a leak would take, computed here independently of the scrubber. */
function spellings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [
    secret,
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    encodeURIComponent(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ].filter((s) => s.length >= 4);
}

function expectNoSecret(c: ProviderCase, texts: unknown[]): void {
  const leaks = c.secretValues.flatMap(spellings);
  for (const t of texts) {
    const text = typeof t === 'string' ? t : JSON.stringify(t);
    for (const leak of leaks) expect(text, `${c.name}: a spelling of a secret came back`).not.toContain(leak);
  }
}

// Headers that carry no credential go last, so providers that cut long messages still show the rest.
const PLAIN_HEADERS = new Set([
  'host',
  'connection',
  'accept',
  'accept-encoding',
  'accept-language',
  'sec-fetch-mode',
  'user-agent',
  'content-length',
  'content-type',
  'x-goog-api-client',
  'x-goog-request-params',
]);

/** Every request header and the body, as a careless provider would echo them (credential-bearing parts first). */
function echo(req: RecordedRequest): string {
  const line = ([k, v]: [string, string]) => `${k}: ${v}`;
  const headers = Object.entries(req.headers);
  const special = headers.filter(([k]) => !PLAIN_HEADERS.has(k)).map(line);
  const plain = headers.filter(([k]) => PLAIN_HEADERS.has(k)).map(line);
  return [...special, '', req.body, '', ...plain, `${req.method} ${req.path}?${req.query}`].join('\n');
}

/** Whether token endpoints fail too (echoing the client credentials) or hand out a token and the API fails. */
type Mode = 'token-fails' | 'api-fails';

/** The provider's documented error shape, carrying the echo where its connector reads the message. */
function echoingProvider(status: number, mode: Mode) {
  return (req: RecordedRequest): ReplayResponse => {
    const text = echo(req);
    if (req.path.endsWith('/ims/token/v3') || req.path === '/token') {
      if (mode === 'api-fails')
        return { body: { access_token: 'issued-token-1', token_type: 'bearer', expires_in: 3599 } };
      return { status: 400, body: { error: 'invalid_client', error_description: text } };
    }
    if (req.path.startsWith('/api/v1/query') && !req.headers['dd-api-key'])
      return { status, body: { status: 'error', errorType: 'bad_data', error: text } };
    if (req.headers['dd-api-key']) return { status, body: { errors: [text] } };
    if (req.path.startsWith('/api/0/')) return { status, body: { detail: text } };
    if (req.path === '/graphql')
      return { status: status === 400 ? 200 : status, body: { errors: [{ message: text }] } };
    if (req.path.startsWith('/v1beta/'))
      return { status, body: { error: { code: status, message: text, status: 'INVALID_ARGUMENT' } } };
    return { status, body: { error_code: String(status), message: text } };
  };
}

let provider: Replay;
let handler: (req: RecordedRequest) => ReplayResponse = () => ({ status: 500 });
beforeAll(async () => {
  provider = await startReplay((req) => handler(req));
});
afterAll(async () => {
  await provider?.close();
});
beforeEach(() => {
  provider.requests.length = 0;
});

const POLICY = { allowedHosts: ['127.0.0.1'] };
const MODES: Mode[] = ['token-fails', 'api-fails'];

describe('a provider that echoes headers and body: the connector layer', () => {
  for (const c of PROVIDER_CASES) {
    for (const status of [400, 500]) {
      for (const mode of MODES) {
        // Adobe sends client_id to the API too (x-api-key); GA4's key never leaves the token grant.
        const tokens = c.module.id === 'adobe';
        if (!tokens && mode === 'api-fails') continue;
        it(`${c.name}, HTTP ${status}${tokens ? `, ${mode}` : ''}: no secret in the error, the check or the logs`, async () => {
          handler = echoingProvider(status, mode);
          const logger = capturingLogger();
          const connector = guarded(c, provider.url, POLICY, logger);

          const result = await connector.check();
          const err = await rejection(connector.fetchSeries(c.query, WINDOW));

          expect(err).toBeInstanceOf(ConnectorError);
          expect(result.ok).toBe(false);
          // The echo reached the message (a secret was there and was taken out): the test is not vacuous.
          expect(!result.ok && result.error.message).toContain('[redacted]');
          expect((err as Error).message).toContain('[redacted]');
          // No cause rides along: it could hold the request, its headers or the raw body.
          expect((err as Error).cause).toBeUndefined();
          expectNoSecret(c, [
            result,
            (err as Error).message,
            String(err),
            JSON.stringify(err, Object.getOwnPropertyNames(err)),
            ...logger.lines,
          ]);
          expect(provider.requests.length).toBeGreaterThan(0);
        });
      }
    }
  }

  it('a message cut off in the middle of a secret loses the cut-off part too', () => {
    const scrub = secretScrubber({ api_key: 'NRAK-ABCDEFGHIJKLMNOP' });
    expect(scrub('rejected key NRAK-ABCDEFG…')).toBe('rejected key [redacted]…');
    expect(scrub('rejected key NRAK-ABCDEFG')).toBe('rejected key [redacted]');
    expect(scrub('a key NRAK-ABCDEFGHIJKLMNOP was refused')).toBe('a key [redacted] was refused');
  });

  it('a secret embedded at any offset in a base64 blob is found (e.g. inside a JWT or a basic-auth pair)', () => {
    const scrub = secretScrubber({ password: 'hunter2-correct-horse' });
    for (const prefix of ['', 'a', 'ab', 'abc', 'user:']) {
      const blob = Buffer.from(`${prefix}hunter2-correct-horse"}`).toString('base64url');
      expect(scrub(`token ${blob}`)).toContain('[redacted]');
    }
    expect(secretVariants({ username: 'ops', password: 'hunter2-correct-horse' })).toContain(
      Buffer.from('ops:hunter2-correct-horse').toString('base64'),
    );
  });
});

describe('a provider that echoes headers and body: through the API', () => {
  const ROOT = 'root-key-for-scrubbing-tests-0123456789';
  let runtime: Runtime;
  let app: FastifyInstance;
  let key: string;
  const logs: string[] = [];

  beforeAll(async () => {
    runtime = await createRuntime({
      store: await testStore(),
      logger: createLogger('debug', { write: (l) => void logs.push(l) }),
      hostPolicy: POLICY,
      fetch: loopbackFetch(),
    });
    app = await buildApp(runtime, { rootKey: ROOT });
    const org = await app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { authorization: `Bearer ${ROOT}` },
      payload: { name: 'scrub', plan: 'pro' },
    });
    key = org.json().admin_key;
  });
  afterAll(async () => {
    await app?.close();
    await runtime?.close();
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(payload ? { payload } : {}) });

  const connections = new Map<string, ProviderCase>();

  for (const c of PROVIDER_CASES) {
    it(`${c.name}: check, status_message and the preview error carry no secret`, async () => {
      handler = echoingProvider(400, 'token-fails');
      const created = await call('POST', '/v1/connections', {
        provider: c.module.id,
        name: c.name,
        config: c.config(provider.url),
        secrets: secretsFor(c, provider.url),
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id as string;

      const check = await call('POST', `/v1/connections/${id}/check`);
      expect(check.statusCode).toBe(200);
      expect(check.json()).toMatchObject({ ok: false });
      const one = await call('GET', `/v1/connections/${id}`);
      expect(one.json().status_message).toContain('[redacted]');
      const list = await call('GET', '/v1/connections');

      const metric = await call('POST', '/v1/metrics', {
        connection_id: id,
        name: `${c.name} metric`,
        kind: 'gauge',
        query: c.query,
        direction: 'increase_is_bad',
        step_seconds: 60,
      });
      expect(metric.statusCode, metric.body).toBe(201);
      const from = new Date(WINDOW.from).toISOString();
      const to = new Date(WINDOW.to).toISOString();
      const preview = await call('POST', `/v1/metrics/${metric.json().id}/preview?from=${from}&to=${to}`);
      expect(preview.statusCode).toBeGreaterThanOrEqual(400);
      expect(preview.json().detail).toContain('[redacted]');

      expectNoSecret(c, [check.body, one.body, list.body, preview.body, ...logs]);
      connections.set(id, c);
    });
  }

  it('the fetch jobs of an event: last_error and status_message carry no secret', async () => {
    handler = echoingProvider(400, 'token-fails');
    const sent = await call('POST', '/v1/events', {
      specversion: '1.0',
      id: 'deploy-scrub',
      source: 'ci',
      type: 'deployment',
      subject: 'production',
      time: new Date(Date.now() - 3 * 3_600_000).toISOString(),
    });
    expect(sent.statusCode, sent.body).toBe(202);
    await runtime.scheduler.runDue();
    expect(connections.size).toBe(PROVIDER_CASES.length);
    for (const [id, c] of connections) {
      const jobs = await call('GET', `/v1/jobs?connection=${id}`);
      const errors = (jobs.json().items as { last_error: { message: string } | null }[]).flatMap((j) =>
        j.last_error ? [j.last_error.message] : [],
      );
      expect(errors.length, `${c.name}: a job failed`).toBeGreaterThan(0);
      expect(errors.join('\n')).toContain('[redacted]');
      const one = await call('GET', `/v1/connections/${id}`);
      expectNoSecret(c, [jobs.body, one.body, ...logs]);
    }
  });
});
