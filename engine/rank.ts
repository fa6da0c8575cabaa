// Rank methods for latency-like series: the Mann–Whitney U test (R wilcox.test semantics:
// tie and continuity correction, exact for small tie-free samples) and the Hodges–Lehmann shift.
import { normQuantile, normQuantileApprox, normSf, tQuantile, tTwoSided } from './distributions.js';
import { selectInPlace } from './order.js';

/** Result of a two-sample rank-sum comparison of `x` (after) against `y` (before). */
export interface RankSumResult {
  /** W = U of x: #(x_i > y_j) + ½ #(x_i = y_j). */
  statistic: number;
  pValue: number;
  exact: boolean;
  /** Standardised statistic (normal method only). */
  z: number | null;
  ties: boolean;
  /** Hodges–Lehmann estimate of the shift x − y (median of pairwise differences). */
  estimate: number;
  ci: [number, number];
}

export interface RankSumOptions {
  /** Force the exact or normal method; default as R: exact when both n < 50 and no ties. */
  exact?: boolean;
  /** Continuity correction in the normal method (R default true). */
  correct?: boolean;
  confLevel?: number;
  /** Multiplies the null variance of U (autocorrelation); > 1 disables the exact method. */
  varianceInflation?: number;
  /**
   * Degrees of freedom of a t reference for the standardised U when its inflated variance is an
   * estimate (autocorrelation); default Infinity = R's normal reference.
   */
  df?: number;
}

const distCache = new Map<string, Float64Array>();

/** Null distribution of U for sample sizes m, n as probabilities P(U = u), u = 0..mn. */
export function wilcoxonDistribution(m: number, n: number): Float64Array {
  const key = `${m},${n}`;
  const hit = distCache.get(key);
  if (hit) return hit;
  // f(i, j, u) = i/(i+j) f(i−1, j, u−j) + j/(i+j) f(i, j−1, u): rows over i, columns over j.
  let prev: Float64Array[] = [];
  for (let j = 0; j <= n; j++) prev.push(Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const f = new Float64Array(i * j + 1);
      const up = prev[j]; // (i−1, j)
      const left = cur[j - 1]; // (i, j−1)
      const wi = i / (i + j);
      const wj = j / (i + j);
      for (let u = 0; u < up.length; u++) f[u + j] += wi * up[u];
      for (let u = 0; u < left.length; u++) f[u] += wj * left[u];
      cur.push(f);
    }
    prev = cur;
  }
  const dist = prev[n];
  if (distCache.size > 32) distCache.clear();
  distCache.set(key, dist);
  return dist;
}

/** P(U ≤ q) for the exact null distribution. */
function pWilcox(q: number, dist: Float64Array): number {
  let s = 0;
  const top = Math.min(Math.floor(q), dist.length - 1);
  for (let u = 0; u <= top; u++) s += dist[u];
  return Math.min(s, 1);
}

/** P(U ≥ q), summed from the top so small upper tails keep their precision. */
function upperWilcox(q: number, dist: Float64Array): number {
  let s = 0;
  for (let u = dist.length - 1; u >= Math.ceil(q); u--) s += dist[u];
  return Math.min(s, 1);
}

/** Smallest q with P(U ≤ q) ≥ p (R qwilcox). */
function qWilcox(p: number, dist: Float64Array): number {
  let s = 0;
  for (let u = 0; u < dist.length; u++) {
    s += dist[u];
    if (s >= p * (1 - 64 * Number.EPSILON)) return u;
  }
  return dist.length - 1;
}

/** Number of pairwise differences x_i − y_j ≤ d (both arrays sorted ascending). */
function countAtMost(xs: Float64Array, ys: Float64Array, d: number): number {
  const n = ys.length;
  let j = 0;
  let count = 0;
  // Compare the rounded differences themselves (not y < x − d) so counts and values agree.
  for (let i = 0; i < xs.length; i++) {
    while (j < n && xs[i] - ys[j] > d) j++;
    count += n - j;
  }
  return count;
}

/** Largest pairwise difference x_i − y_j that is ≤ d. */
function largestAtMost(xs: Float64Array, ys: Float64Array, d: number): number {
  const n = ys.length;
  let j = 0;
  let best = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    while (j < n && xs[i] - ys[j] > d) j++;
    if (j < n) {
      const diff = xs[i] - ys[j];
      if (diff > best) best = diff;
    }
  }
  return best;
}

/** Smallest pairwise difference x_i − y_j that is > d. */
function smallestAbove(xs: Float64Array, ys: Float64Array, d: number): number {
  const n = ys.length;
  let j = n - 1;
  let best = Infinity;
  for (let i = xs.length - 1; i >= 0; i--) {
    while (j >= 0 && xs[i] - ys[j] <= d) j--;
    if (j >= 0) {
      const diff = xs[i] - ys[j];
      if (diff < best) best = diff;
    }
  }
  return best;
}

/** Once a bracket holds this few differences, they are gathered and the one wanted is selected. */
const GATHER = 96;
const between = new Float64Array(GATHER);

/** The r-th smallest (1-based) of the few pairwise differences in (lo, hi]. */
function selectBetween(xs: Float64Array, ys: Float64Array, lo: number, hi: number, r: number): number {
  const n = ys.length;
  let count = 0;
  let jHi = 0; // first j with x_i − y_j ≤ hi
  let jLo = 0; // first j with x_i − y_j ≤ lo
  for (let i = 0; i < xs.length; i++) {
    while (jHi < n && xs[i] - ys[jHi] > hi) jHi++;
    while (jLo < n && xs[i] - ys[jLo] > lo) jLo++;
    for (let j = jHi; j < jLo; j++) between[count++] = xs[i] - ys[j];
  }
  // Selection lands on the value a sort would put at r − 1 (differences of finite values are never NaN).
  selectInPlace(between, 0, count - 1, r - 1);
  return between[r - 1];
}

/** A first probe for a k-th pairwise difference and the local density of differences there (counts per unit). */
export interface PairwiseHint {
  guess: number;
  /** d count(d) / dd near the guess, from the same approximation; enables aimed probes. */
  slope?: number;
}

/** k-th smallest (1-based) pairwise difference x_i − y_j without materialising the m·n differences. */
export function kthPairwiseDifference(xs: Float64Array, ys: Float64Array, k: number, hint?: PairwiseHint): number {
  const m = xs.length;
  const n = ys.length;
  let lo = xs[0] - ys[n - 1];
  let hi = xs[m - 1] - ys[0];
  if (k <= 1) return lo;
  if (k >= m * n) return hi;
  // Differences equal to the smallest one: the smallest x's ties times the largest y's ties.
  let tiesX = 1;
  while (tiesX < m && xs[tiesX] === xs[0]) tiesX++;
  let tiesY = 1;
  while (tiesY < n && ys[n - 1 - tiesY] === ys[n - 1]) tiesY++;
  let cLo = tiesX * tiesY;
  if (cLo >= k) return lo;
  let cHi = m * n;
  // The last probe and the local slope of count(d): aimed probes land next to k.
  let lastD = NaN;
  let lastC = NaN;
  let slope = hint?.slope !== undefined && hint.slope > 0 && Number.isFinite(hint.slope) ? hint.slope : NaN;
  // A good first probe (from a normal approximation of the differences) saves most iterations.
  if (hint && hint.guess > lo && hint.guess < hi) {
    const c = countAtMost(xs, ys, hint.guess);
    if (c >= k) {
      hi = hint.guess;
      cHi = c;
      if (c === k) return largestAtMost(xs, ys, hi);
    } else {
      lo = hint.guess;
      cLo = c;
      if (c === k - 1) return smallestAbove(xs, ys, lo);
    }
    lastD = hint.guess;
    lastC = c;
  }
  // Invariant: count(lo) < k ≤ count(hi). With a slope, aim each probe a third of the gather
  // size past k on the side still missing, so the bracket closes to ≤ GATHER in a probe or two;
  // otherwise interpolate on the count (nearly linear in d); bisect every fourth step and when a
  // probe would leave the bracket; stop as soon as a probe holds exactly k − 1 or k differences.
  for (let it = 0; it < 200; it++) {
    if (cHi - cLo <= GATHER) return selectBetween(xs, ys, lo, hi, k - cLo);
    const span = hi - lo;
    let mid = NaN;
    if (Number.isFinite(slope) && Number.isFinite(lastD) && it % 4 !== 3) {
      // An aimed probe lands next to k, which may be next to a bracket end: only keep it inside.
      const aim = lastC >= k ? k - GATHER / 3 : k + GATHER / 3;
      mid = lastD + (aim - lastC) / slope;
      if (!(mid > lo && mid < hi)) mid = NaN;
    }
    if (Number.isNaN(mid)) {
      mid = lo + (span * (k - 0.5 - cLo)) / (cHi - cLo);
      if (it % 4 === 3 || !(mid > lo + span * 0.02 && mid < hi - span * 0.02)) mid = lo + span / 2;
    }
    if (mid <= lo || mid >= hi) break;
    const c = countAtMost(xs, ys, mid);
    if (Number.isFinite(lastD) && c !== lastC && mid !== lastD) {
      const s = (c - lastC) / (mid - lastD);
      if (s > 0) slope = s;
    }
    lastD = mid;
    lastC = c;
    if (c >= k) {
      hi = mid;
      cHi = c;
      if (c === k) return largestAtMost(xs, ys, hi);
    } else {
      lo = mid;
      cLo = c;
      if (c === k - 1) return smallestAbove(xs, ys, lo);
    }
  }
  return largestAtMost(xs, ys, hi);
}

function quantileOfSorted(s: Float64Array, p: number): number {
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * (s[Math.min(lo + 1, s.length - 1)] - s[lo]);
}

function sampleVariance(s: Float64Array): number {
  if (s.length < 2) return 0;
  let mean = 0;
  for (let i = 0; i < s.length; i++) mean += s[i];
  mean /= s.length;
  let ss = 0;
  for (let i = 0; i < s.length; i++) ss += (s[i] - mean) * (s[i] - mean);
  return ss / (s.length - 1);
}

/**
 * First probe for the k-th of N pairwise differences from a normal approximation, with the
 * density of differences there. Only the search's speed depends on them (any probe converges to
 * the same order statistic), so the unrefined normal quantile does.
 */
function guessAt(k: number, N: number, centre: number, spread: number): PairwiseHint {
  const z = normQuantileApprox(Math.min(Math.max((k - 0.5) / N, 1e-9), 1 - 1e-9));
  return {
    guess: centre + spread * z,
    slope: spread > 0 ? (N * Math.exp(-0.5 * z * z)) / (spread * Math.sqrt(2 * Math.PI)) : undefined,
  };
}

function sortedCopy(v: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(v as ArrayLike<number>);
  out.sort();
  return out;
}

/**
 * Two-sided Mann–Whitney / Wilcoxon rank-sum test of x against y with the Hodges–Lehmann shift
 * (x − y) and its interval, following R's wilcox.test(x, y, conf.int = TRUE).
 */
export function rankSum(x: ArrayLike<number>, y: ArrayLike<number>, opts: RankSumOptions = {}): RankSumResult {
  return rankSumSorted(sortedCopy(x), sortedCopy(y), opts);
}

/** rankSum on samples already sorted ascending (saves the sorts when the caller has them). */
export function rankSumSorted(xs: Float64Array, ys: Float64Array, opts: RankSumOptions = {}): RankSumResult {
  const m = xs.length;
  const n = ys.length;
  const N = m * n;
  const conf = opts.confLevel ?? 0.95;
  const correct = opts.correct ?? true;
  const inflation = Math.max(1, opts.varianceInflation ?? 1);
  const df = Math.max(1, opts.df ?? Infinity);

  // Merge to rank: rank sum of x, tie term over the combined sample, ties within each sample.
  let i = 0;
  let j = 0;
  let rank = 0;
  let rx = 0;
  let tieTerm = 0;
  while (i < m || j < n) {
    const v = i < m && (j >= n || xs[i] <= ys[j]) ? xs[i] : ys[j];
    let cx = 0;
    let cy = 0;
    while (i < m && xs[i] === v) {
      cx++;
      i++;
    }
    while (j < n && ys[j] === v) {
      cy++;
      j++;
    }
    const t = cx + cy;
    const mid = rank + (t + 1) / 2;
    rx += cx * mid;
    rank += t;
    if (t > 1) tieTerm += t * t * t - t;
  }
  const W = rx - (m * (m + 1)) / 2;
  const ties = tieTerm > 0;
  const exact = (opts.exact ?? (m < 50 && n < 50)) && !ties && inflation === 1;

  let pValue: number;
  let z: number | null = null;
  let estimate: number;
  let ci: [number, number];
  const alpha = 1 - conf;
  const half = N % 2 === 0 ? N / 2 : (N + 1) / 2;
  // Normal approximation of the pairwise differences for first probes: centre and spread.
  const centre = quantileOfSorted(xs, 0.5) - quantileOfSorted(ys, 0.5);
  const spread = Math.sqrt(sampleVariance(xs) + sampleVariance(ys));
  let median = kthPairwiseDifference(xs, ys, half, guessAt(half, N, centre, spread));
  if (N % 2 === 0) {
    // The next order statistic is the smallest difference above the k-th, unless it is tied.
    const next = countAtMost(xs, ys, median) > half ? median : smallestAbove(xs, ys, median);
    median = (median + next) / 2;
  }

  if (exact) {
    const dist = wilcoxonDistribution(m, n);
    const p = W > N / 2 ? upperWilcox(W, dist) : pWilcox(W, dist);
    pValue = Math.min(2 * p, 1);
    let qu = qWilcox(alpha / 2, dist);
    if (qu === 0) qu = 1;
    const ql = N - qu;
    ci = [
      kthPairwiseDifference(xs, ys, qu, guessAt(qu, N, centre, spread)),
      kthPairwiseDifference(xs, ys, ql + 1, guessAt(ql + 1, N, centre, spread)),
    ];
    estimate = median;
  } else {
    const sigma0 = Math.sqrt(((m * n) / 12) * (m + n + 1 - tieTerm / ((m + n) * (m + n - 1))));
    const sigma = sigma0 * Math.sqrt(inflation);
    const dz = W - N / 2;
    const corr = correct ? Math.sign(dz) * 0.5 : 0;
    if (sigma > 0) {
      z = (dz - corr) / sigma;
      pValue = Math.min(1, df === Infinity ? 2 * normSf(Math.abs(z)) : tTwoSided(z, df));
    } else {
      z = 0;
      pValue = 1;
    }
    estimate = median;
    // Interval: the pairwise difference where the corrected statistic crosses ±z (R's uniroot on a
    // step function lands on these jump points). Only within-sample ties matter between jumps.
    let tieX = 0;
    let tieY = 0;
    for (const arr of [xs, ys]) {
      let k = 0;
      let s = 0;
      while (k < arr.length) {
        let c = 1;
        while (k + c < arr.length && arr[k + c] === arr[k]) c++;
        if (c > 1) s += c * c * c - c;
        k += c;
      }
      if (arr === xs) tieX = s;
      else tieY = s;
    }
    const sigmaCi =
      Math.sqrt(((m * n) / 12) * (m + n + 1 - (tieX + tieY) / ((m + n) * (m + n - 1)))) * Math.sqrt(inflation);
    const zq = df === Infinity ? normQuantile(1 - alpha / 2) : tQuantile(1 - alpha / 2, df);
    if (sigmaCi > 0) {
      const cc = correct ? 0.5 : 0;
      const uLow = Math.floor(N / 2 + cc + zq * sigmaCi);
      const uHigh = Math.floor(N / 2 - cc - zq * sigmaCi);
      const kLow = N - uLow;
      const kHigh = N - uHigh;
      ci = [
        kLow < 1
          ? xs[0] - ys[n - 1]
          : kthPairwiseDifference(xs, ys, Math.min(kLow, N), guessAt(kLow, N, centre, spread)),
        kHigh > N
          ? xs[m - 1] - ys[0]
          : kthPairwiseDifference(xs, ys, Math.max(kHigh, 1), guessAt(kHigh, N, centre, spread)),
      ];
    } else {
      ci = [estimate, estimate];
    }
  }
  return { statistic: W, pValue, exact, z, ties, estimate, ci };
}
