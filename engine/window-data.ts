// One window's buckets as the statistics read them, and the order (sorted values, centred
// mid-ranks) the analysis attaches to a latency window so that it is sorted once.
import { sortWithRanks } from './order.js';

/** One window's buckets: values (numerators for ratios) and, for ratios, weights (denominators). */
export interface WindowData {
  values: ArrayLike<number>;
  weights?: ArrayLike<number>;
}

/** Σ of an array. */
export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/**
 * Internal keys under which the analysis attaches a window's values sorted ascending and their
 * centred mid-ranks (time order), so the summaries and the rank methods order each window once
 * (callers never see them).
 */
export const SORTED = Symbol('sorted values');
export const RANKS = Symbol('centred ranks');
type Ordered = WindowData & { [SORTED]?: Float64Array; [RANKS]?: Float64Array };

/** The window's values sorted ascending and their centred mid-ranks (attached by the analysis, else computed here). */
export function orderOf(w: WindowData): { sorted: Float64Array; ranks: Float64Array } {
  const o = w as Ordered;
  if (o[SORTED] && o[RANKS]) return { sorted: o[SORTED], ranks: o[RANKS] };
  return sortWithRanks(w.values);
}
