// Refactoring check: compute the demo data set's reports on a fixed clock, in a
// throwaway embedded store, and print one SHA-256 over every report's JSON.
// A change that should not alter behaviour must leave the hash as it was.
//   npx tsx scripts/demo-reports-hash.ts [--print]
import { createHash } from 'node:crypto';
import { loadDemo } from '../cli/demo-data.js';
import { pipeline } from '../test/support/pipeline.js';

const NOW = Date.UTC(2026, 10, 2, 9, 30);
const p = await pipeline(NOW);
const api = async (method: 'POST' | 'GET', url: string, payload?: object, contentType = 'application/json') => {
  const res = await p.call(method, url, payload === undefined ? undefined : JSON.stringify(payload), {
    'content-type': contentType,
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
};
const { deploys } = await loadDemo(api, NOW);
await p.advanceTo(NOW);
await p.advanceTo(NOW + 60_000);
const hash = createHash('sha256');
const seen = new Map<string, string>();
const ids = [...deploys.map((d) => `demo-deploy-${d.n}`), 'demo-staging-1'];
for (const id of ids) {
  const report = await api('GET', `/v1/events/${id}/impact?source=demo%2Fci`);
  // Ids are random per run: each becomes the order in which it first appears.
  const text = JSON.stringify(report).replace(/\b[a-z]+_[0-9a-f]{32}\b/g, (id) => {
    if (!seen.has(id)) seen.set(id, `id${seen.size}`);
    return seen.get(id)!;
  });
  hash.update(text);
  if (process.argv.includes('--print'))
    process.stdout.write(
      `${id} ${report.status} ${report.verdict ?? ''} ${createHash('sha256').update(text).digest('hex').slice(0, 12)}\n`,
    );
}
process.stdout.write(`${hash.digest('hex')}  reports of ${ids.length} demo events\n`);
await p.close();
await p.store.close();
