// Planning, pure: which windows an event × metric needs, when each minute may be
// fetched, and how new needs fold into the jobs already planned (coalescing).
import { computeWindows, REFERENCE_DAYS, referenceShifts, type EventWindows } from '../engine/index.js';
import type { PairWindows, TimeRange } from '../store/jobs.js';
import type { WindowSpec } from '../domain/metric.js';

const WEEK = 7 * 24 * 3600_000;

/**
 * A need: every bucket of `range` must be fetched at a time at least `delayMs`
 * after the bucket closed (delay = the provider's data delay for a first complete
 * fetch, its settle time for the final one).
 */
export interface Need {
  range: TimeRange;
  delayMs: number;
  /** A late-data pass (may wait longer to share a fetch; never delays a first fetch). */
  final?: boolean;
}

/** What coalescing needs to know of a planned or finished job. */
export interface PlanJob {
  /** `window`: a first fetch someone waits for; `settle`: a late-data pass; `backfill`: the backfill command's. */
  kind: 'window' | 'settle' | 'backfill';
  from: number;
  to: number;
  state: 'queued' | 'running' | 'succeeded' | 'failed' | 'blocked';
  run_at: number;
  due_at: number;
  fetched_at: number | null;
}

export interface CoalesceOptions {
  now: number;
  stepMs: number;
  /** Longest window one job may cover (the connector's point cap × step). */
  maxJobMs: number;
  /** Most a first fetch may be delayed so later needs can share it. */
  slackMs: number;
  /** Most a late-data pass may be delayed so later needs can share it. */
  settleSlackMs: number;
  /** Largest hole between two windows that one job still bridges (fetching a few unneeded buckets beats another call). */
  gapMs: number;
  /** False for jobs that may not be changed (already dispatched). */
  mergeable?: (job: PlanJob) => boolean;
}

/**
 * The ranges the engine reads for an event × metric: the before window together with the history
 * stretch ahead of it (today's level and its noise model), the after window, and on each of the
 * REFERENCE_DAYS previous days the same clock range from the start of that stretch to the end of
 * the after window (the counterfactual's reference days, in the metric's time zone).
 */
export function toPairWindows(w: EventWindows, time: number, timeZone?: string | null): PairWindows {
  const shifts = referenceShifts(time, REFERENCE_DAYS, w.step_seconds, timeZone);
  return {
    before: { ...w.pre },
    after: { ...w.after },
    references: shifts.map((s) => ({ from: w.pre.from - s, to: w.after.to - s })),
  };
}

/** toPairWindows() for an event and a metric's default windows. */
export function pairWindows(
  event: { time: number; type: string },
  metric: { step_seconds: number; windows: WindowSpec },
): PairWindows {
  return toPairWindows(
    computeWindows({ time: event.time, type: event.type, stepSeconds: metric.step_seconds, metric: metric.windows }),
    event.time,
    metric.windows.time_zone,
  );
}

/** The ranges of a pair as a list. */
export function pairRanges(w: PairWindows): TimeRange[] {
  return [w.before, w.after, ...w.references];
}

/** How far before an event its pair's ranges reach (the last reference day, an hour more across a DST change). */
export const REFERENCE_REACH_MS = REFERENCE_DAYS * 24 * 3600_000 + 3600_000;

/**
 * The needs of a pair: a complete fetch of every window (after the data delay),
 * and, when the provider's numbers keep changing longer than that, a final fetch
 * after the settle time.
 */
export function needsFor(w: PairWindows, limits: { dataDelaySeconds: number; settleSeconds: number }): Need[] {
  const ranges = pairRanges(w);
  const needs = ranges.map((range) => ({ range, delayMs: limits.dataDelaySeconds * 1000 }));
  if (limits.settleSeconds > limits.dataDelaySeconds)
    needs.push(...ranges.map((range) => ({ range, delayMs: limits.settleSeconds * 1000, final: true })));
  return needs;
}

/**
 * The part of a job's window whose buckets it fetched (or will fetch) at least
 * `delayMs` after they closed. A job still to run counts only for buckets it does
 * not keep waiting more than `slackMs` past the time they are wanted, so a far-off
 * late-data pass never stands in for a first fetch.
 */
export function satisfiedBy(
  job: PlanJob,
  delayMs: number,
  stepMs: number,
  now: number,
  slackMs = Infinity,
  firstFetch = false,
): TimeRange | null {
  if (job.state === 'failed') return null;
  // A queued late-data pass may still be pushed back by later merges; a first fetch never relies on one.
  if (firstFetch && job.state === 'queued' && job.kind === 'settle') return null;
  const at =
    job.state === 'succeeded'
      ? (job.fetched_at ?? 0)
      : job.state === 'blocked'
        ? Math.max(job.run_at, now)
        : job.run_at;
  const end = Math.min(job.to, Math.floor((at - delayMs) / stepMs) * stepMs);
  let start = job.from;
  if (job.state !== 'succeeded' && at > now + slackMs) {
    // Buckets wanted at (bucket end + delay) ≥ at − slack, i.e. starting at or after this:
    start = Math.max(start, Math.ceil((at - slackMs - delayMs - stepMs) / stepMs) * stepMs);
  }
  return end > start ? { from: start, to: end } : null;
}

/** `range` minus the union of `covered`, as sorted disjoint ranges. */
export function subtract(range: TimeRange, covered: readonly TimeRange[]): TimeRange[] {
  let rest: TimeRange[] = [range];
  for (const c of covered) {
    const next: TimeRange[] = [];
    for (const r of rest) {
      if (c.to <= r.from || c.from >= r.to) {
        next.push(r);
        continue;
      }
      if (c.from > r.from) next.push({ from: r.from, to: c.from });
      if (c.to < r.to) next.push({ from: c.to, to: r.to });
    }
    rest = next;
    if (rest.length === 0) break;
  }
  return rest.sort((a, b) => a.from - b.from);
}

/** Sorted union of ranges (touching ranges merge). */
export function union(ranges: readonly TimeRange[]): TimeRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: TimeRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

/** Buckets of the needs not yet satisfied by `jobs` (`slackMs`: how long a need may wait for a job still to run). */
export function unmet(
  needs: readonly Need[],
  jobs: readonly PlanJob[],
  stepMs: number,
  now: number,
  slackMs: (need: Need) => number = () => Infinity,
): Need[] {
  const out: Need[] = [];
  for (const need of needs) {
    const covered = jobs
      .map((j) => satisfiedBy(j, need.delayMs, stepMs, now, slackMs(need), !need.final))
      .filter((r): r is TimeRange => r !== null);
    for (const range of subtract(need.range, covered)) out.push({ ...need, range });
  }
  return out;
}

/**
 * Fold needs into jobs: a bucket already covered late enough is not fetched again;
 * the rest extends a queued job nearby when that delays nobody by more than the
 * slack and keeps the job within the point cap, else becomes new jobs (chunked).
 * A late-data pass never delays a first fetch. `jobs` is updated in place;
 * returns the jobs created and the existing ones changed.
 */
export function coalesce<J extends PlanJob>(
  jobs: J[],
  needs: readonly Need[],
  opts: CoalesceOptions,
  make: (range: TimeRange, dueAt: number, final: boolean) => J,
): { created: J[]; changed: J[] } {
  const created: J[] = [];
  const changed = new Set<J>();
  const ordered = [...needs].sort((a, b) => a.range.from - b.range.from || a.delayMs - b.delayMs);
  for (const need of ordered) {
    const slack = (n: Need) => (n.final ? opts.settleSlackMs : opts.slackMs);
    for (const rest of unmet([need], jobs, opts.stepMs, opts.now, slack)) {
      const due = Math.max(opts.now, rest.range.to + rest.delayMs);
      const final = rest.final === true;
      const fits = (j: J): boolean => {
        if (j.state !== 'queued' || j.kind === 'backfill' || !(opts.mergeable?.(j) ?? true)) return false;
        if (rest.range.from > j.to + opts.gapMs || j.from > rest.range.to + opts.gapMs) return false;
        if (Math.max(j.to, rest.range.to) - Math.min(j.from, rest.range.from) > opts.maxJobMs) return false;
        const runAt = Math.max(j.run_at, due);
        if (final) {
          // A late-data pass rides along with a first fetch only if that fetch is late enough already.
          if (j.kind === 'window') return runAt === j.run_at;
          return runAt - Math.min(j.due_at, due) <= opts.settleSlackMs;
        }
        const jobSlack = j.kind === 'window' ? opts.slackMs : opts.settleSlackMs;
        return runAt - due <= opts.slackMs && runAt - j.due_at <= jobSlack;
      };
      const target = jobs.find(fits);
      if (target) {
        target.from = Math.min(target.from, rest.range.from);
        target.to = Math.max(target.to, rest.range.to);
        target.run_at = Math.max(target.run_at, due);
        target.due_at = Math.min(target.due_at, due);
        if (!final) target.kind = 'window';
        if (!created.includes(target)) changed.add(target);
        continue;
      }
      for (let from = rest.range.from; from < rest.range.to; from += opts.maxJobMs) {
        const to = Math.min(rest.range.to, from + opts.maxJobMs);
        const job = make({ from, to }, Math.max(opts.now, to + rest.delayMs), final);
        jobs.push(job);
        created.push(job);
      }
    }
  }
  return { created, changed: [...changed] };
}

/** True when every window of a pair was fetched complete (at least the data delay after it closed) by a finished job. */
export function pairComplete(
  w: PairWindows,
  succeeded: readonly PlanJob[],
  dataDelayMs: number,
  stepMs: number,
  now: number,
): boolean {
  const done = succeeded.filter((j) => j.state === 'succeeded');
  return (
    unmet(
      pairRanges(w).map((range) => ({ range, delayMs: dataDelayMs })),
      done,
      stepMs,
      now,
    ).length === 0
  );
}

/** Whether a range contains any of the (bucket) times. */
export function touches(range: TimeRange, times: readonly number[]): boolean {
  return times.some((t) => t >= range.from && t < range.to);
}

export { WEEK };
