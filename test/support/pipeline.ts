// The whole service in one process for tests: the real store (chDB), connectors,
// a scheduler on a clock the test drives, report computation and the API.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../api/app.js';
import { createRuntime } from '../../runtime.js';
import type { ImpactService } from '../../scheduler/impact.js';
import type { Scheduler } from '../../scheduler/index.js';
import type { Store } from '../../store/index.js';
import { testStore } from './store.js';

const ROOT = 'root-key-for-pipeline-tests-0123456789';

export interface Pipeline {
  store: Store;
  app: FastifyInstance;
  scheduler: Scheduler;
  impact: ImpactService;
  clock: { now: number };
  /** An admin key of the test org. */
  key: string;
  /** Call the API with the org's key. */
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  /** Move the clock and let the scheduler and report computation finish what is due. */
  advanceTo(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function pipeline(start: number): Promise<Pipeline> {
  const clock = { now: start };
  const now = () => clock.now;
  const runtime = await createRuntime({
    store: await testStore({ now }),
    logger: pino({ level: 'silent' }),
    now,
    scheduler: { random: () => 0.5 },
  });
  const { store, scheduler, impact } = runtime;
  const app = await buildApp(runtime, { rootKey: ROOT });
  const key = (
    await app.inject({
      method: 'POST',
      url: '/v1/orgs',
      headers: { authorization: `Bearer ${ROOT}` },
      payload: { name: 'pipeline', plan: 'pro' },
    })
  ).json().admin_key;
  return {
    store,
    app,
    scheduler,
    impact,
    clock,
    key,
    call: (method, url, payload, headers = {}) =>
      app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, ...headers },
        ...(payload === undefined ? {} : { payload: payload as object }),
      }),
    async advanceTo(ms) {
      clock.now = ms;
      await scheduler.runDue();
      await impact.idle();
    },
    async close() {
      await scheduler.stop();
      await app.close();
    },
  };
}
