// Polling cost: what dashboards do all day — GET a report or the impact timeline with
// If-None-Match — over real HTTP against the service on embedded chDB, next to a full 200
// of the report and /healthz. Prints requests/s, p50 and p99 at 1 and 64 concurrent clients.
// The clients run in a worker thread (bench/polling/client.ts), one keep-alive connection
// each: node:http's Agent, then a lean client over node:net that costs less than the service
// (on 2 cores the Agent saturates its thread first). The table also says how busy each event
// loop was, so a client-bound row shows as one.
// Run: npx tsx bench/polling/run.ts [seconds=5] [clients=agent,lean]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { buildApp, createLogger } from '../../api/app.js';
import { loadDemo } from '../../cli/demo-data.js';
import { createRuntime } from '../../runtime.js';
import type { ClientKind, LoadResult, LoadRun } from './client.js';

const SECONDS = Number(process.argv[2] ?? 5);
const CLIENTS = (process.argv[3] ?? 'agent,lean').split(',') as ClientKind[];
const ROOT = 'bench-root-key-0123456789abcdef';
const CONCURRENCY = [1, 64];

const runtime = await createRuntime({
  store: { dataDir: mkdtempSync(join(tmpdir(), 'opstrails-bench-polling-')), database: 'bench' },
  logger: createLogger('warn'),
  scheduler: { catchUpHours: 0 },
});
const app = await buildApp(runtime, { rootKey: ROOT });
const base = await app.listen({ port: 0, host: '127.0.0.1' });

async function api(key: string, method: 'GET' | 'POST', path: string, payload?: object, contentType?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': contentType ?? 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

// The demo data set (5 metrics, a week of 22 deployments), pulled and computed as the service does.
const t = performance.now();
const org = await (await api(ROOT, 'POST', '/v1/orgs', { name: 'bench', plan: 'pro' })).json();
const admin: string = org.admin_key;
await loadDemo(
  async (method, path, payload, contentType) => (await api(admin, method, path, payload, contentType)).json(),
  Date.now(),
);
await runtime.scheduler.runDue();
await runtime.impact.idle();
const reader: string = (await (await api(admin, 'POST', '/v1/keys', { name: 'dashboard', scopes: ['read'] })).json())
  .key;
const timeline = await (await api(reader, 'GET', '/v1/impact?subject=production')).json();
const regression =
  timeline.items.find((i: { verdict: string | null }) => i.verdict === 'regression') ?? timeline.items[0];
const reportPath = `/v1/events/${encodeURIComponent(regression.id)}/impact`;
const reportRes = await api(reader, 'GET', reportPath);
const reportBytes = (await reportRes.arrayBuffer()).byteLength;
const reportTag = reportRes.headers.get('etag')!;
const timelinePath = '/v1/impact?subject=production';
const timelineTag = (await api(reader, 'GET', timelinePath)).headers.get('etag')!;
console.log(
  `data set: ${timeline.items.length} events with reports (${((performance.now() - t) / 1000).toFixed(1)} s); ` +
    `report ${regression.id} (${regression.status}, ${regression.verdict}) is ${reportBytes} bytes of JSON`,
);

const auth = { authorization: `Bearer ${reader}` };
const cases: { name: string; path: string; headers: Record<string, string>; expect: number }[] = [
  { name: '304 report (JSON)', path: reportPath, headers: { ...auth, 'if-none-match': reportTag }, expect: 304 },
  {
    name: '304 /v1/impact?subject=',
    path: timelinePath,
    headers: { ...auth, 'if-none-match': timelineTag },
    expect: 304,
  },
  { name: '200 report (JSON)', path: reportPath, headers: auth, expect: 200 },
  { name: '/healthz', path: '/healthz', headers: {}, expect: 200 },
];

const worker = new Worker(new URL('./client.mjs', import.meta.url));
const measure = (run: LoadRun) =>
  new Promise<LoadResult>((resolve, reject) => {
    worker.once('message', (m: LoadResult | { error: string }) =>
      'error' in m ? reject(new Error(m.error)) : resolve(m),
    );
    worker.once('error', reject);
    worker.postMessage(run);
  });

// Warm up every path once (JIT, sockets, the store's first merges after the load) before measuring.
for (const c of cases)
  await measure({
    client: CLIENTS[0],
    url: `${base}${c.path}`,
    headers: c.headers,
    expect: c.expect,
    concurrency: 8,
    seconds: 1,
    warmupSeconds: 0,
  });

const rows: string[] = [];
for (const client of CLIENTS) {
  for (const concurrency of CONCURRENCY) {
    for (const c of cases) {
      // How busy each event loop was over the row: the service's (this thread) and the clients'.
      const serverLoop = performance.eventLoopUtilization();
      const clientLoop = worker.performance.eventLoopUtilization();
      const r = await measure({
        client,
        url: `${base}${c.path}`,
        headers: c.headers,
        expect: c.expect,
        concurrency,
        seconds: SECONDS,
        warmupSeconds: 1,
      });
      const busy = (elu: { utilization: number }) => `${Math.round(elu.utilization * 100)}%`.padStart(6);
      const serverBusy = busy(performance.eventLoopUtilization(serverLoop));
      const clientBusy = busy(worker.performance.eventLoopUtilization(clientLoop));
      const errors = r.errors > 0 ? `  (${r.errors} errors, first: ${r.firstError})` : '';
      rows.push(
        `| ${c.name.padEnd(24)} | ${client.padEnd(6)} | ${String(concurrency).padStart(7)} | ` +
          `${Math.round(r.perSecond).toLocaleString('en').padStart(8)} | ${r.p50Ms.toFixed(2).padStart(8)} | ` +
          `${r.p99Ms.toFixed(2).padStart(8)} | ${serverBusy} | ${clientBusy} |${errors}`,
      );
      console.log(rows[rows.length - 1]);
    }
  }
}
console.log(`\n| case                     | client | clients |    req/s | p50 (ms) | p99 (ms) | server | client |`);
console.log(`|--------------------------|--------|--------:|---------:|---------:|---------:|-------:|-------:|`);
for (const row of rows) console.log(row);
console.log(
  `(${SECONDS} s per row after 1 s of warm-up; clients in a worker thread, one keep-alive connection each; ` +
    `embedded chDB; server/client: how busy the service's and the clients' event loops were)`,
);

await worker.terminate();
await app.close();
await runtime.close();
