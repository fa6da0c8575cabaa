// Ingestion throughput: CloudEvents batches of 1,000 over real HTTP into the
// service on embedded chDB. Prints events/s per round and the median.
// Run: npx tsx bench/ingest/run.ts [rounds=5] [batchesPerRound=20] [concurrency=4]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, createLogger } from '../../api/app.js';
import { createRuntime } from '../../runtime.js';

const [rounds = 5, batchesPerRound = 20, concurrency = 4] = process.argv.slice(2).map(Number);
const BATCH = 1000;

const runtime = await createRuntime({
  store: { dataDir: mkdtempSync(join(tmpdir(), 'opstrails-bench-')), database: 'bench' },
  logger: createLogger('warn'),
});
const app = await buildApp(runtime, { rootKey: 'bench-root-key-0123456789abcdef' });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
const org = await (
  await fetch(`${base}/v1/orgs`, {
    method: 'POST',
    headers: { authorization: 'Bearer bench-root-key-0123456789abcdef', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', plan: 'pro' }),
  })
).json();
const headers = { authorization: `Bearer ${org.admin_key}`, 'content-type': 'application/cloudevents-batch+json' };

/** Event times from two days ago on, a second apart: within every plan's retention, never ahead. */
const START = Date.now() - 2 * 86_400_000;
const body = (round: number, b: number) =>
  JSON.stringify(
    Array.from({ length: BATCH }, (_, i) => ({
      specversion: '1.0',
      id: `r${round}-b${b}-e${i}`,
      source: 'bench/ci',
      type: 'dev.opstrails.deployment',
      subject: i % 2 ? 'production' : 'staging',
      time: new Date(START + (round * batchesPerRound * BATCH + b * BATCH + i) * 1000).toISOString(),
      version: `v${i}`,
      data: { commit: 'abcdef0123456789', service: 'checkout' },
    })),
  );

const rates: number[] = [];
for (let round = 0; round < rounds; round++) {
  const payloads = Array.from({ length: batchesPerRound }, (_, b) => body(round, b));
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < payloads.length) {
        const res = await fetch(`${base}/v1/events`, { method: 'POST', headers, body: payloads[next++] });
        if (res.status !== 202) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  rates.push((batchesPerRound * BATCH) / seconds);
  console.log(
    `round ${round + 1}: ${batchesPerRound * BATCH} events in ${seconds.toFixed(2)} s = ${Math.round(rates[round])} events/s`,
  );
}
const sorted = [...rates].sort((a, b) => a - b);
console.log(
  `median: ${Math.round(sorted[Math.floor(sorted.length / 2)])} events/s accepted (batches of ${BATCH}, ${concurrency} concurrent clients, embedded chDB)`,
);
console.log(`stored: ${await runtime.store.events.count(org.org.id)} events`);
await app.close();
await runtime.close();
