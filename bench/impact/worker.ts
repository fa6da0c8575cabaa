// Worker of bench/impact: analyses a slice of events over shared point columns.
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeEvent, type MetricInput, type Point } from '../../engine/index.js';

interface Columns { ts: Float64Array; value: Float64Array; weight: Float64Array }
const { columns, kinds, events } = workerData as { columns: Columns[]; kinds: readonly string[]; events: { id: string; type: string; subject: string; time: number }[] };

/** Index of the first ts >= x. */
function lowerBound(ts: Float64Array, x: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function slice(c: Columns, from: number, to: number): Point[] {
  const out: Point[] = [];
  for (let i = lowerBound(c.ts, from); i < c.ts.length && c.ts[i] < to; i++) {
    const w = c.weight[i];
    out.push(Number.isNaN(w) ? { ts: c.ts[i], value: c.value[i] } : { ts: c.ts[i], value: c.value[i], weight: w });
  }
  return out;
}

const HOUR = 3_600_000;
const verdicts: Record<string, number> = {};
let pairs = 0;
for (const event of events) {
  // Deployment defaults: 60 min before, 60 min after, 5 min gap; slice a little wider.
  const metrics: MetricInput[] = columns.map((c, m) => ({
    id: `m${m}`,
    kind: kinds[m % kinds.length] as MetricInput['kind'],
    direction: 'increase_is_bad',
    step_seconds: 60,
    before: slice(c, event.time - 2 * HOUR, event.time),
    after: slice(c, event.time, event.time + 2 * HOUR),
  }));
  const result = analyzeEvent({ event, metrics });
  for (const r of result.metrics) verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
  pairs += metrics.length;
}
parentPort!.postMessage({ pairs, verdicts });
