// The single-reference fallback when reference days are too few: a difference-in-differences
// against the same windows a week (else a day) earlier, else the plain before/after comparison.
import { compareWindows, type Comparison } from './compare.js';
import { cut, cutColumns, insufficiency, type Cut } from './cut.js';
import { hasData, referenceSource } from './earlier-days.js';
import type { SerialStretch } from './hac.js';
import { anyIn, type Others } from './others.js';
import { summarize } from './summary.js';
import type { MetricInput, MetricResult } from './types.js';
import type { EventWindows, TimeWindow } from './windows.js';

/**
 * The single-reference fallback (fewer than MIN_REFERENCE_DAYS reference days): a
 * difference-in-differences against the same windows a week earlier, else a day earlier, when
 * complete and free of other events; else the plain before/after comparison.
 */
export function singleReference(
  m: MetricInput,
  windows: EventWindows,
  others: Others,
  expected: { before: number; after: number },
  before: Cut,
  after: Cut,
  conf: number,
  noise: SerialStretch[],
  result: MetricResult,
): { cmp: Comparison; plain: Comparison } {
  let reference: {
    kind: 'seasonal_week' | 'seasonal_day';
    b: Cut;
    a: Cut;
    w: { before: TimeWindow; after: TimeWindow };
  } | null = null;
  const skipped: string[] = [];
  const source = m.seasonal ? null : referenceSource(m);
  for (const [kind, key] of [
    ['seasonal_week', 'week'],
    ['seasonal_day', 'day'],
  ] as const) {
    const pts = m.seasonal?.[key];
    const w = windows.seasonal[key];
    if (!pts && !(source && hasData(source, { from: w.before.from, to: w.after.to }))) continue;
    const rb = pts ? cut(pts, w.before, m.kind) : cutColumns(source!, w.before, m.kind);
    const ra = pts ? cut(pts, w.after, m.kind) : cutColumns(source!, w.after, m.kind);
    const refWhy = insufficiency(m.kind, rb, ra, expected);
    if (refWhy) {
      skipped.push(`${key}: ${refWhy}`);
      continue;
    }
    if (anyIn(others, { from: w.before.from, to: w.after.to })) {
      skipped.push(`${key}: another event in the reference windows`);
      continue;
    }
    reference = { kind, b: rb, a: ra, w };
    break;
  }
  const plain = compareWindows(m.kind, before.data, after.data, { confLevel: conf, historyStretches: noise });
  let cmp = plain;
  if (reference) {
    const did = compareWindows(m.kind, before.data, after.data, {
      confLevel: conf,
      reference: { before: reference.b.data, after: reference.a.data },
      historyStretches: noise,
    });
    if (did.method.endsWith('_did')) {
      cmp = did;
      const refOnly = compareWindows(m.kind, reference.b.data, reference.a.data, { confLevel: conf });
      result.baseline = {
        kind: reference.kind,
        reference: {
          before: { ...reference.w.before },
          after: { ...reference.w.after },
          before_summary: summarize(m.kind, reference.b.data),
          after_summary: summarize(m.kind, reference.a.data),
        },
        reference_change: refOnly.relative,
        explains_change: false,
      };
    } else skipped.push(`${reference.kind}: reference windows unusable for this kind`);
  }
  if (skipped.length && result.baseline.kind === 'before_window') result.baseline.skipped = skipped.join('; ');
  return { cmp, plain };
}
