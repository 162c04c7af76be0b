/**
 * Tail probabilities of the F distribution in log space, so that Granger scores −log10 p stay
 * distinct far beyond the double-precision underflow of p itself (p = 1e-400 gives −400).
 */

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(x) for x > 0: Stirling's series with seven correction terms for x ≥ 15 (truncation
 * error below 1e-19 there), shifted up by the recurrence Γ(x + 1) = x Γ(x) for smaller x.
 */
export function lnGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  let product = 1;
  while (x < 15) {
    product *= x;
    x += 1;
  }
  const shift = Math.log(product);
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series =
    inv *
    (1 / 12 +
      inv2 *
        (-1 / 360 +
          inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_TWO_PI + series - shift;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/**
 * Continued fraction of I_x(a, b) (Numerical Recipes' betacf), evaluated by the modified
 * Lentz method. Converges quickly for x < (a + 1)/(a + b + 2), in O(√max(a, b)) terms.
 */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h;
}

/**
 * ln I_x(a, b) given ln x and ln(1 − x) (both computed by the caller without cancellation).
 * The continued fraction is used directly where it converges, x < (a + 1)/(a + b + 2);
 * otherwise through I_x(a, b) = 1 − I_{1−x}(b, a), where the result is not small (x is above
 * the mean of the Beta(a, b) distribution), so log1p(−·) loses nothing.
 */
function logBetaRegularizedParts(logX: number, log1mX: number, a: number, b: number): number {
  if (logX === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  if (log1mX === Number.NEGATIVE_INFINITY) return 0;
  const x = Math.exp(logX);
  const y = Math.exp(log1mX);
  if (x < (a + 1) / (a + b + 2)) {
    return a * logX + b * log1mX - lnBeta(a, b) - Math.log(a) + Math.log(betaContinuedFraction(x, a, b));
  }
  const logOther =
    b * log1mX + a * logX - lnBeta(a, b) - Math.log(b) + Math.log(betaContinuedFraction(y, b, a));
  return Math.log1p(-Math.exp(logOther));
}

/** ln I_x(a, b), the log of the regularized incomplete beta function, for 0 ≤ x ≤ 1. */
export function logBetaRegularized(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1 && a > 0 && b > 0)) return Number.NaN;
  return logBetaRegularizedParts(Math.log(x), Math.log1p(-x), a, b);
}

/** ln(1 − I_x(a, b)) = ln I_{1−x}(b, a): the log of the upper tail, accurate when it is tiny. */
export function logBetaRegularizedUpper(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1 && a > 0 && b > 0)) return Number.NaN;
  return logBetaRegularizedParts(Math.log1p(-x), Math.log(x), b, a);
}

/**
 * log10 P(F > f) for F ~ F(d1, d2): P(F > f) = I_x(d2/2, d1/2) with x = d2/(d2 + d1 f). With
 * r = d1 f / d2, ln x = −ln(1 + r) and ln(1 − x) = ln r − ln(1 + r) are formed from ln f so
 * that neither overflows nor cancels; any finite f gives a finite result. f ≤ 0 gives 0
 * (p = 1), f = +∞ gives −∞, NaN gives NaN.
 */
export function fSurvivalLog10(f: number, d1: number, d2: number): number {
  if (!(d1 > 0 && d2 > 0)) return Number.NaN;
  if (Number.isNaN(f)) return Number.NaN;
  if (f <= 0) return 0;
  if (f === Number.POSITIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  const logR = Math.log(d1) + Math.log(f) - Math.log(d2);
  let logX: number;
  let log1mX: number;
  if (logR > 0) {
    const l = Math.log1p(Math.exp(-logR));
    logX = -(logR + l);
    log1mX = -l;
  } else {
    const l = Math.log1p(Math.exp(logR));
    logX = -l;
    log1mX = logR - l;
  }
  return logBetaRegularizedParts(logX, log1mX, d2 / 2, d1 / 2) / Math.LN10;
}

/** P(F > f) for F ~ F(d1, d2); underflows to 0 below ~1e-308, use {@link fSurvivalLog10} there. */
export function fSurvival(f: number, d1: number, d2: number): number {
  return 10 ** fSurvivalLog10(f, d1, d2);
}
