// A stretch of the same series ahead of (or apart from) the compared windows, reduced to its share
// of the noise model: the autocorrelations of its residuals, never its level.
import type { MetricKind } from '../domain/metric.js';
import { serialStretch, type SerialStretch } from './hac.js';
import { windowStat } from './robust-t.js';
import { mark, release } from './scratch.js';
import { orderOf, sum, type WindowData } from './window-data.js';

/**
 * A history stretch reduced to its share of the noise model: the autocorrelations of its
 * residuals (value − stretch mean; e − R·r for ratios; centred mid-ranks for latency), or null
 * when it has none for this kind (under 3 buckets, no events or no requests).
 */
export function historyStretch(kind: MetricKind, w: WindowData): SerialStretch | null {
  if (w.values.length < 3) return null;
  if ((kind === 'count' || kind === 'ratio') && !(sum(w.values) > 0)) return null;
  if (kind === 'ratio' && !(sum(w.weights ?? []) > 0)) return null;
  const at = mark();
  try {
    return serialStretch(kind === 'quantile' ? orderOf(w).ranks : windowStat(kind, w).resid);
  } finally {
    release(at);
  }
}
