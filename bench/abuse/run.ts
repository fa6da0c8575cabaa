// Abuse resistance: a legitimate org sends single CloudEvents one after another over real HTTP
// into the service on embedded chDB, first alone, then while another client floods the same
// route with well-formed fake keys (a fresh one per request, several keep-alive connections,
// as fast as answers come). Prints the legitimate events/s both ways and their ratio (target
// ≥ 80%), with the production rate limits on, and again with the failed-authentication limit
// off (what the flood cost before it), and with blocked addresses answered at once instead of
// after a hold. Both clients run in worker threads (bench/abuse/worker.ts),
// so neither shares an event loop with the service or the other.
// Run: npx tsx bench/abuse/run.ts [seconds=4] [floodConnections=8] [rounds=3]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildApp, createLogger } from '../../api/app.js';
import { BLOCKED_HOLD_MS } from '../../api/auth.js';
import { DEFAULT_RATE_LIMITS, describeRate, type RateLimits } from '../../api/rate-limit.js';
import { createRuntime } from '../../runtime.js';
import type { ClientResult, ClientRun } from './worker.js';

const SECONDS = Number(process.argv[2] ?? 4);
const FLOOD_CONNECTIONS = Number(process.argv[3] ?? 8);
const ROUNDS = Number(process.argv[4] ?? 3);
const ROOT = 'bench-root-key-0123456789abcdef';

const runtime = await createRuntime({
  store: { dataDir: mkdtempSync(join(tmpdir(), 'opstrails-bench-abuse-')), database: 'bench' },
  logger: createLogger('warn'),
  scheduler: { catchUpHours: 0 },
});
// The production defaults, except the per-key request rate: one sequential client here sends
// more than the default 50/s, and this bench measures the flood, not that limit.
const limits: RateLimits = { ...DEFAULT_RATE_LIMITS, key: { perSecond: 5_000, burst: 10_000 } };
const limited = await buildApp(runtime, { rootKey: ROOT, rateLimits: limits });
const unlimited = await buildApp(runtime, {
  rootKey: ROOT,
  rateLimits: { ...limits, authFailures: undefined },
});
const unheld = await buildApp(runtime, { rootKey: ROOT, rateLimits: { ...limits, blockedHoldMs: 0 } });
const limitedBase = await limited.listen({ port: 0, host: '127.0.0.1' });
const unheldBase = await unheld.listen({ port: 0, host: '127.0.0.1' });
const unlimitedBase = await unlimited.listen({ port: 0, host: '127.0.0.1' });

const org = await (
  await fetch(`${limitedBase}/v1/orgs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ROOT}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'legit', plan: 'pro' }),
  })
).json();
const key: string = org.admin_key;

const legit = new Worker(new URL('./worker.mjs', import.meta.url));
const flood = new Worker(new URL('./worker.mjs', import.meta.url));
const client = (worker: Worker, run: ClientRun) =>
  new Promise<ClientResult>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: ClientResult | { error: string }) => {
      worker.off('error', reject);
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    worker.postMessage(run);
  });

const legitRun = (base: string, seconds = SECONDS): ClientRun => ({
  role: 'legit',
  url: `${base}/v1/events`,
  key,
  connections: 1,
  seconds,
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The legit rate alone, then under the flood (which starts a second earlier and ends a second
 * later), ROUNDS times in turn (the store's background merges make single runs noisy): medians.
 */
async function measure(base: string) {
  await client(legit, legitRun(base, 1)); // warm-up: JIT, the key cache, the store's first inserts
  const alone: ClientResult[] = [];
  const flooded: ClientResult[] = [];
  const floods: ClientResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    alone.push(await client(legit, legitRun(base)));
    const flooding = client(flood, {
      role: 'flood',
      url: `${base}/v1/events`,
      connections: FLOOD_CONNECTIONS,
      seconds: SECONDS + 2,
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    flooded.push(await client(legit, legitRun(base)));
    floods.push(await flooding);
  }
  const statuses: Record<string, number> = {};
  for (const f of floods) for (const [k, n] of Object.entries(f.statuses)) statuses[k] = (statuses[k] ?? 0) + n;
  return {
    alone: median(alone.map((r) => r.perSecond)),
    flooded: median(flooded.map((r) => r.perSecond)),
    aloneP50: median(alone.map((r) => r.p50Ms!)),
    floodedP50: median(flooded.map((r) => r.p50Ms!)),
    floodRate: median(floods.map((r) => r.perSecond)),
    statuses,
  };
}

const shown = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([status, n]) => `${status}: ${n.toLocaleString('en')}`)
    .join(', ');
const rows: string[] = [];
for (const [name, base] of [
  ['limits on', limitedBase],
  ['limits on, 429 not held', unheldBase],
  ['failed-auth limit off', unlimitedBase],
] as const) {
  const r = await measure(base);
  const ratio = r.flooded / r.alone;
  rows.push(
    `| ${name.padEnd(23)} | ${Math.round(r.alone).toString().padStart(7)} | ` +
      `${Math.round(r.flooded).toString().padStart(9)} | ${(ratio * 100).toFixed(0).padStart(4)}% | ` +
      `${r.aloneP50.toFixed(2).padStart(6)} / ${r.floodedP50.toFixed(2).padStart(6)} | ` +
      `${Math.round(r.floodRate).toLocaleString('en').padStart(11)} | ${shown(r.statuses)} |`,
  );
  console.log(rows[rows.length - 1]);
}
console.log(
  '\n| service                 | alone/s | flooded/s | ratio | p50 ms alone / flooded | flood req/s | flood answers |',
);
console.log(
  '|-------------------------|--------:|----------:|------:|----------------:|------------:|---------------|',
);
for (const row of rows) console.log(row);
console.log(
  `(events/s of the legit client, medians of ${ROUNDS} rounds of ${SECONDS} s each; legit: 1 connection, single structured events, org on plan pro; flood: ` +
    `${FLOOD_CONNECTIONS} keep-alive connections from the same address, a fresh well-formed fake key per request; ` +
    `failed-auth limit ${describeRate(limits.authFailures!)} with bursts of ${limits.authFailures!.burst}, ` +
    `a blocked address's 429 held ${BLOCKED_HOLD_MS} ms; target ratio ≥ 80%)`,
);

await legit.terminate();
await flood.terminate();
await limited.close();
await unheld.close();
await unlimited.close();
await runtime.close();
