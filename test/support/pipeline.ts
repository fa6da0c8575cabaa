// The whole service in one process for tests: the real store (chDB), connectors,
// a scheduler on a clock the test drives, report computation and the API.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../api/app.js';
import { ConnectorFactory } from '../../scheduler/connectors.js';
import { ImpactService } from '../../scheduler/impact.js';
import { Scheduler } from '../../scheduler/index.js';
import type { Store } from '../../store/index.js';
import { testStore } from './store.js';

const ROOT = 'root-key-for-pipeline-tests-0123456789';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

export interface Pipeline {
  store: Store;
  app: FastifyInstance;
  scheduler: Scheduler;
  impact: ImpactService;
  clock: { now: number };
  /** An admin key of the test org. */
  key: string;
  /** Call the API with the org's key. */
  call(method: 'GET' | 'POST', url: string, payload?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Move the clock and let the scheduler and report computation finish what is due. */
  advanceTo(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function pipeline(start: number): Promise<Pipeline> {
  const clock = { now: start };
  const now = () => clock.now;
  const store = await testStore({ now });
  let scheduler: Scheduler | undefined;
  const connectors = new ConnectorFactory(store, {
    fetch: globalThis.fetch,
    now,
    logger: silent,
    hostPolicy: { allowedHosts: [] },
    onRateLimit: (id, info) => scheduler?.onRateLimit(id, info),
  });
  const impact = new ImpactService({
    store,
    connectors,
    pairsOfEvent: (o, s, i) => scheduler!.pairs.forEventId(o, i, s),
    fetchWindows: (o, m, v, w) => scheduler!.fetchWindows(o, m, v, w),
    now,
  });
  scheduler = new Scheduler({ store, connectors, logger: silent, now, onPairReady: impact.onPairReady, random: () => 0.5 });
  const app = await buildApp({ store, rootKey: ROOT, logLevel: 'silent', connectors, scheduler, impact, now });
  const key = (await app.inject({ method: 'POST', url: '/v1/orgs', headers: { authorization: `Bearer ${ROOT}` }, payload: { name: 'pipeline', plan: 'pro' } })).json().admin_key;
  const sched = scheduler;
  return {
    store,
    app,
    scheduler: sched,
    impact,
    clock,
    key,
    call: (method, url, payload, headers = {}) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${key}`, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) }),
    async advanceTo(ms) {
      clock.now = ms;
      await sched.runDue();
      await impact.idle();
    },
    async close() {
      await sched.stop();
      await app.close();
    },
  };
}
