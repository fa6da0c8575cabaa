// Provider calls per event with 7 reference days, at 1, 10 and 100 events a day on one Datadog
// metric: the scheduler's own planner (scheduler/plan.ts: the needs of each pair, coalesced into
// the jobs already planned or done) run over two weeks of events as they arrive, with every job
// run when due. Cold start (nothing stored yet) and steady state (the second week, when the
// earlier events' own fetches already hold most reference days) are printed apart. The end-to-end
// count through the real scheduler and HTTP is tested in test/scheduler (the 1,000-deploy burst).
// Run: npx tsx bench/fetch/run.ts
import { DATADOG_LIMITS } from '../../connectors/datadog/index.js';
import { REFERENCE_DAYS } from '../../engine/windows.js';
import { coalesce, needsFor, pairWindows, type PlanJob } from '../../scheduler/plan.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const START = Date.UTC(2026, 10, 2);
const WEEKS = 2;
const limits = DATADOG_LIMITS;
const stepMs = MIN;
/** The scheduler's defaults (scheduler/planner.ts). */
const opts = {
  stepMs,
  maxJobMs: limits.maxPointsPerCall * stepMs,
  slackMs: 300_000,
  settleSlackMs: Math.max(300_000, 900_000, limits.settleSeconds * 250),
  gapMs: 3_600_000,
};

function simulate(perDay: number): { cold: number; coldEvents: number; steady: number; steadyEvents: number } {
  const jobs: PlanJob[] = [];
  const calls = [0, 0];
  const events = [0, 0];
  /** Run (as succeeded) every queued job due by `now`; count the calls in the week they ran. */
  const runUntil = (now: number) => {
    for (const j of jobs) {
      if (j.state !== 'queued' || j.run_at > now) continue;
      j.state = 'succeeded';
      j.fetched_at = j.run_at;
      calls[j.run_at < START + 7 * DAY ? 0 : 1]++;
    }
  };
  const n = perDay * 7 * WEEKS;
  for (let i = 0; i < n; i++) {
    // Spread over the day at irregular clock times (a fixed pseudo-random place in each slot).
    const time = START + Math.floor(((i + ((i * 7919) % 1000) / 1000) * DAY) / perDay / MIN) * MIN;
    runUntil(time);
    const needs = needsFor(pairWindows({ time, type: 'deployment' }, { step_seconds: 60, windows: {} }), limits);
    coalesce(jobs, needs, { ...opts, now: time }, (range, due, final) => ({
      kind: final ? 'settle' : 'window',
      from: range.from,
      to: range.to,
      state: 'queued',
      run_at: due,
      due_at: due,
      fetched_at: null,
    }));
    events[time < START + 7 * DAY ? 0 : 1]++;
  }
  runUntil(Infinity);
  return { cold: calls[0], coldEvents: events[0], steady: calls[1], steadyEvents: events[1] };
}

console.log(
  `Provider calls per event on one Datadog metric (${limits.maxPointsPerCall} points a call), ` +
    `${REFERENCE_DAYS} reference days a pair; events at irregular times of day, two weeks:\n`,
);
console.log('| events a day | first week (cold start): calls per event | second week (steady): calls per event |');
console.log('|---|---|---|');
for (const perDay of [1, 10, 100]) {
  const r = simulate(perDay);
  console.log(
    `| ${perDay} | ${(r.cold / r.coldEvents).toFixed(2)} (${r.cold} calls, ${r.coldEvents} events) ` +
      `| ${(r.steady / r.steadyEvents).toFixed(2)} (${r.steady} calls, ${r.steadyEvents} events) |`,
  );
}
