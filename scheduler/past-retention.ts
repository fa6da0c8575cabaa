// A metric short of data because its windows reach past the org's retention says so, rather
// than a bare "no data": that data has been deleted.
import { insufficientExplanation, pastRetention } from '../engine/explain.js';
import type { MetricResult } from '../engine/index.js';

const DAY = 86_400_000;

/**
 * Say so when a metric lacks data because its windows start before the org's retention horizon
 * (that data has been deleted), instead of a bare "no data": the before window when it is short
 * of buckets, and each reference day skipped for missing buckets.
 */
export function notePastRetention(r: MetricResult, retention: { plan: string; days: number; horizon: number }): void {
  const before = r.windows.before.from;
  const { present, expected } = r.data_quality;
  if (r.verdict === 'insufficient_data' && before < retention.horizon && present.before < expected.before) {
    r.reason = pastRetention('before window', before, retention);
    r.explanation = insufficientExplanation(r);
  }
  for (const skipped of r.baseline.skipped_days ?? []) {
    // A reference day lies `day` days earlier, give or take an hour of a daylight-saving change;
    // only a day skipped for missing buckets ("under 80% ...") is put down to the retention.
    const start = before - skipped.day * DAY;
    if (start + 3_600_000 < retention.horizon && skipped.reason.startsWith('under '))
      skipped.reason = pastRetention(`reference day ${skipped.day}`, start, retention);
  }
}
