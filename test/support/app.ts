// A test app (the service's runtime, its scheduler not started) over a fresh store database, with captured log lines and helpers
// to create orgs and keys through the real API.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { buildApp, createLogger, type AppOptions } from '../../api/app.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../runtime.js';
import type { Store, StoreOptions } from '../../store/index.js';
import { testStore } from './store.js';

export const ROOT_KEY = 'root-key-for-tests-0123456789abcdef';

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  /** The runtime the app serves (its scheduler not started). */
  runtime: Runtime;
  logs: string[];
  /** Create an org through POST /v1/orgs; returns its id and admin key. */
  createOrg(name?: string, plan?: string): Promise<{ orgId: string; adminKey: string }>;
  close(): Promise<void>;
}

/**
 * A test app. Rate limits are off unless `options.rateLimits` sets them (tests that send
 * many requests quickly stay fast); `options.registry` serves /metrics.
 */
export async function testApp(
  options: Pick<AppOptions, 'rateLimits' | 'metricsToken'> & {
    registry?: Registry;
    /** The service's clock (epoch ms): tests move it instead of waiting. Default Date.now. */
    now?: () => number;
  } & Pick<RuntimeOptions, 'hostPolicy' | 'notifyRetryDelaysMs'> &
    Pick<StoreOptions, 'plans'> = {},
): Promise<TestApp> {
  const logs: string[] = [];
  const runtime = await createRuntime({
    store: await testStore({ now: options.now, plans: options.plans }),
    now: options.now,
    hostPolicy: options.hostPolicy,
    notifyRetryDelaysMs: options.notifyRetryDelaysMs,
    logger: createLogger('debug', { write: (l) => void logs.push(l) }),
    registry: options.registry,
  });
  const { store } = runtime;
  const app = await buildApp(runtime, {
    rootKey: ROOT_KEY,
    rateLimits: options.rateLimits,
    metricsToken: options.metricsToken,
  });
  return {
    app,
    store,
    runtime,
    logs,
    async createOrg(name = 'acme', plan = 'pro') {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/orgs',
        headers: { authorization: `Bearer ${ROOT_KEY}` },
        payload: { name, plan },
      });
      if (res.statusCode !== 201) throw new Error(`create org: ${res.statusCode} ${res.body}`);
      const body = res.json();
      return { orgId: body.org.id, adminKey: body.admin_key };
    },
    async close() {
      await app.close();
      await runtime.close();
    },
  };
}

/** Authorization header for a key. */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
