// Impact throughput: every (event, metric) pair of a stored data set, read from
// ClickHouse and analysed by the engine. Prints pairs/s and where the time goes.
// Every event has 7 reference days stored (the engine's counterfactual reads them all).
// Run: npx tsx bench/impact/run.ts [events=2000] [metrics=50] [workers=2]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { testdataPoint, testdataQuerySchema } from '../../connectors/testdata/generator.js';
import { openStore } from '../../store/index.js';
import { chTime } from '../../store/migrations.js';

const [EVENTS = 2000, METRICS = 50, WORKERS = Math.min(2, availableParallelism())] = process.argv.slice(2).map(Number);
const STEP = 60_000;
/** A week of reference days before the day the events fall on, and that day. */
const DAYS = 8;
const T0 = Date.UTC(2026, 9, 1);
const T1 = T0 + DAYS * 86_400_000;
const KINDS = ['count', 'ratio', 'gauge', 'quantile'] as const;

// The store's clock is the end of the data set: reads keep to the org's retention at that instant.
const store = await openStore({
  dataDir: mkdtempSync(join(tmpdir(), 'opstrails-bench-impact-')),
  database: 'bench',
  now: () => T1,
});
const org = (await store.orgs.create('bench', 'pro', T0)).id;

// The data set: METRICS metrics of eight days of one-minute points, EVENTS events spread over the
// last day (from 06:00 on, so each has its 5 hours of pre-event stretch that day and 7 reference days).
let t = performance.now();
for (let m = 0; m < METRICS; m++) {
  const kind = KINDS[m % KINDS.length];
  const query = testdataQuerySchema.parse({
    shape: kind,
    base: kind === 'ratio' ? 0.02 : 100,
    requests: 1000,
    rho: 0.5,
    daily_amplitude: 0.2,
  });
  const rows = [];
  for (let ts = T0; ts < T1; ts += STEP) {
    const p = testdataPoint(m + 1, query, ts, 60);
    if (p)
      rows.push({
        org_id: org,
        metric_id: `m${m}`,
        series: '',
        ts: chTime(ts),
        value: p.value,
        weight: p.weight ?? null,
        fetched_at: chTime(T1),
        is_deleted: 0,
        retention_days: 3650,
      });
  }
  await store.backend.insert(`${store.database}.metric_points`, rows);
}
const events = Array.from({ length: EVENTS }, (_, i) => ({
  id: `e${i}`,
  type: 'deployment',
  subject: 'production',
  time: T1 - 18 * 3_600_000 + Math.floor((16 * 3_600_000 * i) / EVENTS),
}));
// Merge the bulk load now: the timed read sees settled parts, as a store that has been running does.
await store.backend.command(`OPTIMIZE TABLE ${store.database}.metric_points FINAL`);
console.log(
  `data set: ${METRICS} metrics × ${(T1 - T0) / STEP} minutes, ${EVENTS} events → ${EVENTS * METRICS} pairs ` +
    `(loaded in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
);

// Reading: one query per metric returns its whole range (ClickHouse does the ordering and the
// de-duplication of versions) in RowBinary, straight into columns; windows are then cut by index.
t = performance.now();
const columns: { ts: Float64Array; value: Float64Array; weight: Float64Array }[] = [];
const shared = (a: Float64Array) => {
  const s = new Float64Array(new SharedArrayBuffer(a.length * 8));
  s.set(a);
  return s;
};
for (let m = 0; m < METRICS; m++) {
  const c = await store.points.readColumns(org, `m${m}`, '', T0, T1);
  columns.push({ ts: shared(c.ts), value: shared(c.value), weight: shared(c.weight) });
}
const readMs = performance.now() - t;

// Statistics: a pool of worker threads (started once, as a service keeps it), each
// analysing all metrics of its share of the events.
t = performance.now();
const pool = await Promise.all(
  Array.from(
    { length: WORKERS },
    () =>
      new Promise<Worker>((resolve, reject) => {
        const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { columns, kinds: KINDS } });
        worker.once('message', () => resolve(worker));
        worker.once('error', reject);
      }),
  ),
);
// Warm-up: each worker analyses a few events once (JIT compilation), as a running service's pool has.
const warmEvents = events.slice(0, 20);
await Promise.all(
  pool.map(
    (worker) =>
      new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage(warmEvents);
      }),
  ),
);
const startMs = performance.now() - t;
t = performance.now();
const cpu0 = process.cpuUsage();
const chunk = Math.ceil(EVENTS / WORKERS);
const results = await Promise.all(
  pool.map(
    (worker, w) =>
      new Promise<{ pairs: number; verdicts: Record<string, number>; baselines: Record<string, number> }>(
        (resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage(events.slice(w * chunk, (w + 1) * chunk));
        },
      ),
  ),
);
const statsMs = performance.now() - t;
const cpu1 = process.cpuUsage(cpu0);
const cpuMs = (cpu1.user + cpu1.system) / 1000;
const pairs = results.reduce((n, r) => n + r.pairs, 0);
const verdicts: Record<string, number> = {};
const baselines: Record<string, number> = {};
for (const r of results) for (const [k, v] of Object.entries(r.verdicts)) verdicts[k] = (verdicts[k] ?? 0) + v;
for (const r of results) for (const [k, v] of Object.entries(r.baselines)) baselines[k] = (baselines[k] ?? 0) + v;

console.log(
  `read:  ${(readMs / 1000).toFixed(2)} s  (${METRICS} queries, ${((readMs * 1000) / pairs).toFixed(1)} µs per pair)`,
);
console.log(
  `pool:  ${(startMs / 1000).toFixed(2)} s  (starting ${WORKERS} worker threads once and warming each up on ` +
    `${warmEvents.length} events; a running service pays this at start-up)`,
);
console.log(
  `stats: ${(statsMs / 1000).toFixed(2)} s  (${WORKERS} worker threads, ${((statsMs * 1000) / pairs).toFixed(1)} µs ` +
    `per pair wall; ${(cpuMs / statsMs).toFixed(2)} cores busy, ${((cpuMs * 1000) / pairs).toFixed(1)} µs CPU per pair)`,
);
const pairsPerSecond = Math.round(pairs / ((readMs + statsMs) / 1000));
const withStartUp = Math.round(pairs / ((readMs + startMs + statsMs) / 1000));
console.log(
  `total: ${pairs} pairs in ${((readMs + statsMs) / 1000).toFixed(2)} s = ${pairsPerSecond} pairs/s ` +
    `(read + stats; ${withStartUp} pairs/s with the pool start-up)`,
);
console.log(`verdicts: ${JSON.stringify(verdicts)}`);
console.log(`baselines: ${JSON.stringify(baselines)} (reference_days = the counterfactual from 7 reference days)`);
for (const worker of pool) await worker.terminate();
await store.close();

// The same run's yardstick: a plain pandas + SciPy script (Mann–Whitney per pair, one process).
const python = '/usr/bin/python3';
const script = fileURLToPath(new URL('./pandas_scipy.py', import.meta.url));
const yardstick = spawnSync(python, [script, '10000', String(METRICS)], { encoding: 'utf8' });
if (yardstick.status === 0)
  console.log(`pandas + SciPy (Mann–Whitney per pair, 1 process): ${yardstick.stdout.trim()}`);
else {
  const why = existsSync(python) ? (yardstick.stderr || '').trim().split('\n').pop() : 'no /usr/bin/python3';
  console.log(`pandas + SciPy line skipped: ${why} (apt-get install python3-pandas python3-scipy)`);
}
