// Test support for the scheduler: a replayed Datadog (documented v2 timeseries
// answers generated for the asked window, and the documented error fixtures), a
// store with an org, a Datadog connection and a metric, and a scheduler on a
// clock the test drives.
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import type { Logger } from '../../connectors/types.js';
import { createRuntime, type SchedulerTuning } from '../../runtime.js';
import type { ConnectorFactory } from '../../scheduler/connectors.js';
import type { Scheduler } from '../../scheduler/index.js';
import type { Store } from '../../store/index.js';
import type { Metric, MetricDefinition } from '../../domain/metric.js';
import { startReplay, type RecordedRequest, type Replay, type ReplayResponse } from '../support/replay.js';
import { testStore } from '../support/store.js';

export const API_KEY = 'dd-api-key-scheduler-5f3a9c';
export const APP_KEY = 'dd-app-key-scheduler-8b1e2d';
export const V2_PATH = '/api/v2/query/timeseries';
const MIN = 60_000;

interface Fixture {
  status: number;
  headers?: Record<string, string>;
  body: any;
}

/** A documented Datadog answer from test/fixtures/datadog (see its README for sources). */
export function datadogFixture(name: string): ReplayResponse {
  const f = JSON.parse(readFileSync(new URL(`../fixtures/datadog/${name}.json`, import.meta.url), 'utf8')) as Fixture;
  return { status: f.status, headers: f.headers, body: f.body };
}

/**
 * A v2 timeseries answer for the asked window: the documented "OK" example
 * (test/fixtures/datadog/v2_timeseries_ok.json, from
 * https://docs.datadoghq.com/api/latest/metrics/#query-timeseries-data-across-multiple-products)
 * with its times and values replaced by one bucket per interval of [from, to).
 */
export function timeseriesAnswer(req: RecordedRequest, value: (ts: number) => number | null): ReplayResponse {
  const template = datadogFixture('v2_timeseries_ok');
  const { from, to, interval } = req.json.data.attributes as { from: number; to: number; interval: number };
  const times: number[] = [];
  for (let t = Math.ceil(from / interval) * interval; t < to; t += interval) times.push(t);
  const body = structuredClone(template.body) as {
    data: { attributes: { times: number[]; values: (number | null)[][] } };
  };
  body.data.attributes.times = times;
  body.data.attributes.values = [times.map(value)];
  return { status: 200, headers: template.headers, body };
}

/** What one data request asked for. */
export function askedWindow(req: RecordedRequest): { from: number; to: number } {
  const a = req.json.data.attributes as { from: number; to: number };
  return { from: a.from, to: a.to };
}

/** A deterministic series value per bucket. */
export const baseValue = (ts: number) => 100 + ((ts / MIN) % 17);

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** What a restart may change: the scheduler's tuning, its clock, the provider call timeouts. */
export interface RestartOptions {
  scheduler?: SchedulerTuning;
  now?: () => number;
  connectorTimeoutMs?: (connectionId: string) => number | undefined;
}

export interface Harness {
  store: Store;
  replay: Replay;
  orgId: string;
  connectionId: string;
  metric: Metric;
  clock: { now: number };
  registry: Registry;
  scheduler: Scheduler;
  connectors: ConnectorFactory;
  /** Provider data requests so far (the check probe excluded). */
  dataRequests(): RecordedRequest[];
  /** A new runtime on the same store (a restart); returns its scheduler. */
  restart(opts?: RestartOptions): Promise<Scheduler>;
  close(): Promise<void>;
}

/** A fresh store database with an org, a Datadog connection to the replay server and one metric. */
export async function harness(opts: {
  start: number;
  handler?: (req: RecordedRequest, now: number) => ReplayResponse | Promise<ReplayResponse>;
  metric?: Partial<MetricDefinition>;
  scheduler?: SchedulerTuning;
  /** An existing store and org (e.g. a test app's). */
  store?: Store;
  orgId?: string;
}): Promise<Harness> {
  const clock = { now: opts.start };
  const handler = opts.handler ?? ((req: RecordedRequest) => timeseriesAnswer(req, baseValue));
  const replay = await startReplay((req) => handler(req, clock.now));
  const store = opts.store ?? (await testStore());
  const org = opts.orgId ? { id: opts.orgId } : await store.orgs.create('acme', 'pro');
  const connection = await store.connections.create(org.id, {
    provider: 'datadog',
    name: 'datadog',
    config: { base_url: replay.url },
    secrets: { api_key: API_KEY, app_key: APP_KEY },
  });
  const metric = await store.metrics.create(org.id, {
    connection_id: connection.id,
    name: 'errors',
    kind: 'count',
    query: { query: 'sum:trace.http.request.errors{env:{{subject}}}.as_count()' },
    direction: 'increase_is_bad',
    unit: null,
    step_seconds: 60,
    threshold: 0.05,
    critical: false,
    applies_to: { types: ['deployment'] },
    windows: {},
    ...opts.metric,
  });
  let registry = new Registry();
  const make = async (extra: RestartOptions = {}) => {
    registry = new Registry();
    return createRuntime({
      store,
      logger: pino({ level: 'silent' }),
      now: extra.now ?? (() => clock.now),
      registry,
      hostPolicy: { allowedHosts: [], allowAnyHost: true },
      connectorTimeoutMs: extra.connectorTimeoutMs,
      scheduler: { random: () => 1, catchUpHours: 0, ...opts.scheduler, ...extra.scheduler },
    });
  };
  let runtime = await make();
  const h: Harness = {
    store,
    replay,
    orgId: org.id,
    connectionId: connection.id,
    metric,
    clock,
    get registry() {
      return registry;
    },
    scheduler: runtime.scheduler,
    get connectors() {
      return runtime.connectors;
    },
    dataRequests: () => replay.requests.filter((r) => r.path === V2_PATH),
    async restart(extra) {
      runtime = await make(extra);
      h.scheduler = runtime.scheduler;
      return h.scheduler;
    },
    async close() {
      await h.scheduler.stop();
      await runtime.impact.idle();
      await replay.close();
      if (!opts.store) await store.close();
    },
  };
  return h;
}

/** A deployment event as the events route hands it over. */
export function deployment(id: string, time: number, subject = 'production') {
  return {
    source: 'ci/pipeline',
    id,
    type: 'dev.opstrails.deployment',
    subject,
    time,
    event: {
      specversion: '1.0' as const,
      id,
      source: 'ci/pipeline',
      type: 'dev.opstrails.deployment',
      subject,
      time: new Date(time).toISOString(),
    },
  };
}

/** Advance the clock to `at` and run everything due. */
export async function runAt(h: Harness, at: number): Promise<void> {
  h.clock.now = at;
  await h.scheduler.runDue();
}
