// Worker of bench/impact: analyses a slice of events over shared point columns.
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeEvent, computeWindows, type MetricInput } from '../../engine/index.js';

interface Columns {
  ts: Float64Array;
  value: Float64Array;
  weight: Float64Array;
}
const { columns, kinds } = workerData as { columns: Columns[]; kinds: readonly string[] };

/** Analyse a slice of events; reply with the number of pairs and the verdict and baseline counts. */
function analyse(events: { id: string; type: string; subject: string; time: number }[]) {
  const verdicts: Record<string, number> = {};
  const baselines: Record<string, number> = {};
  let pairs = 0;
  for (const event of events) {
    // Every metric has the one-minute step and the default windows: computed once per event, as the service does.
    const windows = computeWindows({ time: event.time, type: event.type, stepSeconds: 60 });
    // The engine cuts each window from the ascending columns by binary search: no point objects.
    // (A NaN weight reads as "no weight", as a missing one did in point form.)
    const metrics: MetricInput[] = columns.map((c, m) => ({
      id: `m${m}`,
      kind: kinds[m % kinds.length] as MetricInput['kind'],
      direction: 'increase_is_bad',
      step_seconds: 60,
      windows,
      before: [],
      after: [],
      series: c,
    }));
    const result = analyzeEvent({ event, metrics });
    for (const r of result.metrics) {
      verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
      baselines[r.baseline.kind] = (baselines[r.baseline.kind] ?? 0) + 1;
    }
    pairs += metrics.length;
  }
  return { pairs, verdicts, baselines };
}

// A long-lived pool: say ready once loaded, then analyse what arrives.
parentPort!.on('message', (events) => parentPort!.postMessage(analyse(events)));
parentPort!.postMessage('ready');
