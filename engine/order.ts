// Order statistics without a full sort, in exactly the order Float64Array#sort gives.

/** a before b in the order Float64Array#sort uses (−0 before +0; callers exclude NaN). */
export const before = (a: number, b: number) => a < b || (a === 0 && b === 0 && 1 / a < 1 / b);

/** Rearranges a[l..r] so that a[k] holds the value a full sort would put there (Hoare quickselect). */
export function selectInPlace(a: Float64Array, l: number, r: number, k: number): void {
  while (r > l) {
    const m = (l + r) >>> 1;
    let t: number;
    if (before(a[m], a[l])) { t = a[m]; a[m] = a[l]; a[l] = t; }
    if (before(a[r], a[l])) { t = a[r]; a[r] = a[l]; a[l] = t; }
    if (before(a[r], a[m])) { t = a[r]; a[r] = a[m]; a[m] = t; }
    const pivot = a[m];
    let i = l;
    let j = r;
    while (i <= j) {
      while (before(a[i], pivot)) i++;
      while (before(pivot, a[j])) j--;
      if (i <= j) { t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return;
  }
}

