/**
 * Media response curves of the funnel simulator: carry-over (adstock) as a normalised lag
 * kernel, and Hill saturation.
 */

export type AdstockKind = 'geometric' | 'weibull' | 'delayed';
export const ADSTOCK_KINDS: readonly AdstockKind[] = ['geometric', 'weibull', 'delayed'];

/** Adstock parameters of one edge. `weights[l - 1]` weighs lag l (l = 1 … maxLag) and they sum to 1. */
export interface AdstockParams {
  kind: AdstockKind;
  /** Decay rate θ of the geometric and delayed kernels. */
  theta?: number;
  /** Peak lag δ of the delayed kernel. */
  delay?: number;
  /** Weibull shape k and scale λ (in steps). */
  shape?: number;
  scale?: number;
  weights: number[];
}

/**
 * Kernel weights for lags 1 … maxLag, normalised to sum 1 so that adstocked inputs keep the
 * scale of the raw series (the Hill curve then sees O(1) inputs). Lag 0 is excluded on
 * purpose: every effect acts with lag ≥ 1, which keeps Granger causality well-defined.
 * - geometric: w_l ∝ θ^(l−1)
 * - delayed (Jin et al., 2017): w_l ∝ θ^((l−δ)²), peak at lag δ
 * - weibull: w_l ∝ Weibull pdf(l; k, λ)
 */
export function adstockWeights(
  kind: AdstockKind,
  maxLag: number,
  p: { theta?: number; delay?: number; shape?: number; scale?: number },
): number[] {
  const raw: number[] = [];
  for (let l = 1; l <= maxLag; l++) {
    if (kind === 'geometric') raw.push((p.theta ?? 0.5) ** (l - 1));
    else if (kind === 'delayed') raw.push((p.theta ?? 0.5) ** ((l - (p.delay ?? 1)) ** 2));
    else {
      const k = p.shape ?? 1.5;
      const lambda = p.scale ?? 2;
      const z = l / lambda;
      raw.push((k / lambda) * z ** (k - 1) * Math.exp(-(z ** k)));
    }
  }
  const total = raw.reduce((a, b) => a + b, 0);
  // A kernel that underflows everywhere falls back to lag 1 alone rather than dividing by zero.
  if (!(total > 0)) return raw.map((_, i) => (i === 0 ? 1 : 0));
  return raw.map((w) => w / total);
}

/** Hill saturation x^α / (x^α + γ^α) ∈ [0, 1); γ is the half-saturation point, α the shape. */
export function hill(x: number, alpha: number, gamma: number): number {
  if (!(x > 0)) return 0;
  return 1 / (1 + (gamma / x) ** alpha);
}
