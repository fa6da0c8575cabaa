// Order statistics without a full sort, in exactly the order Float64Array#sort gives.
import { mark, release, take } from './scratch.js';

/** a before b in the order Float64Array#sort uses (−0 before +0; callers exclude NaN). */
export const before = (a: number, b: number) => a < b || (a === 0 && b === 0 && 1 / a < 1 / b);

/** Rearranges a[l..r] so that a[k] holds the value a full sort would put there (Hoare quickselect). */
export function selectInPlace(a: Float64Array, l: number, r: number, k: number): void {
  while (r > l) {
    const m = (l + r) >>> 1;
    let t: number;
    if (before(a[m], a[l])) {
      t = a[m];
      a[m] = a[l];
      a[l] = t;
    }
    if (before(a[r], a[l])) {
      t = a[r];
      a[r] = a[l];
      a[l] = t;
    }
    if (before(a[r], a[m])) {
      t = a[r];
      a[r] = a[m];
      a[m] = t;
    }
    const pivot = a[m];
    let i = l;
    let j = r;
    while (i <= j) {
      while (before(a[i], pivot)) i++;
      while (before(pivot, a[j])) j--;
      if (i <= j) {
        t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return;
  }
}

/**
 * Sorts `values` (no NaN) in Float64Array#sort order and gives each its centred mid-rank
 * (rank − (n + 1)/2, ties sharing their mean rank), in one merge sort of indices: half the time of
 * a native sort followed by a binary search per value. Returns scratch views (see scratch.ts).
 */
export function sortWithRanks(values: ArrayLike<number>): { sorted: Float64Array; ranks: Float64Array } {
  const n = values.length;
  const sorted = take(n);
  const ranks = take(n);
  const at = mark();
  let a = take(n);
  let b = take(n);
  for (let i = 0; i < n; i++) a[i] = i;
  // Bottom-up, stable: runs of width w merged into b, then the roles swap.
  for (let w = 1; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = Math.min(lo + w, n);
      const hi = Math.min(lo + 2 * w, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) b[k++] = before(values[a[j]], values[a[i]]) ? a[j++] : a[i++];
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    const t = a;
    a = b;
    b = t;
  }
  const centre = (n + 1) / 2;
  for (let k = 0; k < n;) {
    const x = values[a[k]];
    let e = k + 1;
    while (e < n && values[a[e]] === x) e++;
    const r = (k + 1 + e) / 2 - centre;
    for (let j = k; j < e; j++) {
      ranks[a[j]] = r;
      sorted[j] = values[a[j]];
    }
    k = e;
  }
  release(at);
  return { sorted, ranks };
}

/** Index of the first element ≥ x of an ascending column (its length when there is none). */
export function lowerBound(ts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
