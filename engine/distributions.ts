// Probability distributions the engine needs, written out so they are exact to
// near machine precision (no lookup tables): gamma, beta, normal, Student t, binomial.

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let a = LANCZOS[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-16;
const TINY = 1e-300;

/** Regularized lower incomplete gamma P(a, x) and its complement Q(a, x). */
function incompleteGamma(a: number, x: number): { p: number; q: number } {
  if (x <= 0) return { p: 0, q: 1 };
  const lead = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    // Series converges fast below a + 1.
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    const p = sum * Math.exp(lead);
    return { p, q: 1 - p };
  }
  // Continued fraction (modified Lentz) above a + 1.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  const q = Math.exp(lead) * h;
  return { p: 1 - q, q };
}

/** Error function, via the incomplete gamma function: erf(x) = P(1/2, x²). */
export function erf(x: number): number {
  const { p } = incompleteGamma(0.5, x * x);
  return x < 0 ? -p : p;
}

/** Complementary error function without cancellation for large x. */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  return incompleteGamma(0.5, x * x).q;
}

/** Standard normal CDF Φ(z). */
export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Standard normal upper tail 1 − Φ(z), accurate far in the tail. */
export function normSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Recent normQuantile results: the same few levels (0.975, 0.8, …) are asked for on every metric. */
const normQuantileMemo = new Map<number, number>();

/** Standard normal quantile Φ⁻¹(p): Acklam's rational start plus one Halley step on erfc. */
export function normQuantile(p: number): number {
  let x = normQuantileMemo.get(p);
  if (x === undefined) {
    if (normQuantileMemo.size >= 64) normQuantileMemo.clear();
    x = normQuantileRefined(p);
    normQuantileMemo.set(p, x);
  }
  return x;
}

function normQuantileRefined(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const x = normQuantileApprox(p);
  // Halley refinement; the upper tail is refined on the complement to keep precision.
  const e = p < 0.5 ? normCdf(x) - p : 1 - p - normSf(x);
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Acklam's rational approximation of Φ⁻¹(p) alone (relative error ~1e-9): good enough for search starts. */
export function normQuantileApprox(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else if (p <= 1 - 0.02425) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  return x;
}

/** Continued fraction for the incomplete beta (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function betaInc(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return betaIncWith(x, a, b, logGamma(a + b) - logGamma(a) - logGamma(b));
}

/** betaInc with ln Γ(a+b) − ln Γ(a) − ln Γ(b) supplied (the same sum, so the same result). */
function betaIncWith(x: number, a: number, b: number, logBetaInv: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lbt = logBetaInv + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lbt) * betaCf(a, b, x)) / a;
  return 1 - (Math.exp(lbt) * betaCf(b, a, 1 - x)) / b;
}

/** Quantile of the Beta(a, b) distribution (bisection; used only on the exact, sparse path). */
export function betaQuantile(p: number, a: number, b: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (betaInc(mid, a, b) < p) lo = mid;
    else hi = mid;
    if (hi - lo < 1e-15) break;
  }
  return (lo + hi) / 2;
}

/** Two-sided tail probability of Student's t: P(|T| ≥ |t|) with df degrees of freedom (df may be fractional). */
export function tTwoSided(t: number, df: number): number {
  if (t === 0) return 1;
  if (!Number.isFinite(df) || df > 1e7) return 2 * normSf(Math.abs(t));
  return betaIncWith(df / (df + t * t), df / 2, 0.5, tLogBetaInv(df));
}

// tQuantile's iterations and the p-value that follows all use one df: its log-gamma terms once.
let lastDf = NaN;
let lastLogBetaInv = NaN;
function tLogBetaInv(df: number): number {
  if (df !== lastDf) {
    lastLogBetaInv = logGamma(df / 2 + 0.5) - logGamma(df / 2) - logGamma(0.5);
    lastDf = df;
  }
  return lastLogBetaInv;
}

/** Student t CDF. */
export function tCdf(t: number, df: number): number {
  const tail = tTwoSided(t, df) / 2;
  return t < 0 ? tail : 1 - tail;
}

// The engine asks for the same (p, df) several times per comparison (interval, detectable effect).
let lastQ = { p: NaN, df: NaN, x: NaN };

/** Student t quantile (Newton from Hill's approximation, safeguarded by bisection). */
export function tQuantile(p: number, df: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p < 0.5) return -tQuantile(1 - p, df);
  if (!Number.isFinite(df) || df > 1e7) return normQuantile(p);
  if (p === lastQ.p && df === lastQ.df) return lastQ.x;
  const x = tQuantileNewton(p, df);
  lastQ = { p, df, x };
  return x;
}

function tQuantileNewton(p: number, df: number): number {
  const target = 2 * (1 - p); // two-sided tail at the answer
  let lo = 0;
  let hi = Infinity;
  let x = hillStart(target, df);
  if (!(x > 0 && Number.isFinite(x))) x = normQuantile(p) * (1 + 1 / (2 * df));
  const logc = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  for (let i = 0; i < 200; i++) {
    const f = tTwoSided(x, df) - target; // decreasing in x
    if (Math.abs(f) < 1e-15) break;
    if (f > 0) lo = x;
    else hi = x;
    const dens = Math.exp(logc - ((df + 1) / 2) * Math.log(1 + (x * x) / df));
    let next = x + f / (2 * dens);
    if (!(next > lo && next < hi)) next = Number.isFinite(hi) ? (lo + hi) / 2 : 2 * x;
    if (Math.abs(next - x) < 1e-14 * Math.max(1, x)) {
      x = next;
      break;
    }
    x = next;
  }
  return x;
}

/**
 * Hill's (1970, CACM algorithm 396) approximation of the t quantile with two-sided tail P, the
 * start of the Newton refinement above (good to about 1e-6, so one or two steps finish it).
 */
function hillStart(P: number, df: number): number {
  if (df === 1) return 1 / Math.tan((P * Math.PI) / 2);
  if (df === 2) return Math.sqrt(2 / (P * (2 - P)) - 2);
  const a = 1 / (df - 0.5);
  const b = 48 / (a * a);
  let c = (((20700 * a) / b - 98) * a - 16) * a + 96.36;
  const d = ((94.5 / (b + c) - 3) / b + 1) * Math.sqrt((a * Math.PI) / 2) * df;
  let y = Math.pow(d * P, 2 / df);
  if ((df < 2.1 && P > 0.5) || y > 0.05 + a) {
    // Asymptotic inverse expansion about the normal.
    const x = normQuantile(0.5 * P);
    y = x * x;
    if (df < 5) c += 0.3 * (df - 4.5) * (x + 0.6);
    c = (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c;
    y = (((((0.4 * y + 6.3) * y + 36) * y + 94.5) / c - y - 3) / b + 1) * x;
    y = Math.expm1(a * y * y);
  } else {
    y =
      (((1 / (((df + 6) / (df * y) - 0.089 * d - 0.822) * (df + 2) * 3) + 0.5 / (df + 4)) * y - 1) * (df + 1)) /
        (df + 2) +
      1 / y;
  }
  return Math.sqrt(df * y);
}

/** Binomial probability mass P(X = k), X ~ Bin(n, p), computed in log space. */
export function binomPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n) return 0;
  if (p === 0) return k === 0 ? 1 : 0;
  if (p === 1) return k === n ? 1 : 0;
  return Math.exp(logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/** Binomial CDF P(X ≤ k). */
export function binomCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return betaInc(1 - p, n - k, k + 1);
}

/** Binomial upper tail P(X > k). */
export function binomSf(k: number, n: number, p: number): number {
  if (k < 0) return 1;
  if (k >= n) return 0;
  return betaInc(p, k + 1, n - k);
}
