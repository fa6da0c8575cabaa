// summarize() picks the median and p95 by selection instead of a full sort: on any input it must
// return exactly what R-7 quantiles of the sorted values give (ties, −0 and +0, NaN, tiny windows).
import { describe, expect, it } from 'vitest';
import { summarize } from '../../engine/summary.js';

/** R-7 quantile of a fully sorted copy: the reference. */
function r7(values: number[], p: number): number {
  const s = Float64Array.from(values).sort();
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

let seed = 12345;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

describe('summarize median and p95 equal the sorted R-7 quantiles', () => {
  it('on 3000 random windows with ties, signed zeros and outliers', () => {
    for (let c = 0; c < 3000; c++) {
      const n = 1 + Math.floor(rand() * 130);
      const pool = [0, -0, 1, -1, 2.5, 1e9, -1e-9];
      const values = Array.from({ length: n }, () =>
        rand() < 0.4 ? pool[Math.floor(rand() * pool.length)] : Math.round((rand() - 0.3) * 1000) / 10,
      );
      const s = summarize('gauge', { values });
      // Object.is tells −0 from +0: the selection must land on the same one as the sort.
      expect(Object.is(s.median, r7(values, 0.5))).toBe(true);
      expect(Object.is(s.p95, r7(values, 0.95))).toBe(true);
      expect(Object.is(summarize('count', { values: Float64Array.from(values) }).median, r7(values, 0.5))).toBe(true);
    }
  });
  it('with NaN among the values (sorted last, as the sort does)', () => {
    const values = [3, NaN, 1, 2, NaN, 5];
    const s = summarize('gauge', { values });
    expect(s.median).toBe(r7(values, 0.5));
    expect(Number.isNaN(s.p95)).toBe(Number.isNaN(r7(values, 0.95)));
  });
});
