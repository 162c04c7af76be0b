import { describe, expect, it } from 'vitest';
import { btvc, btvcOptions, fitKtr, knotWeights } from '../baselines/btvc.js';
import { Rng } from '../src/rng.js';

/**
 * A synthetic KTR regression with known time-varying coefficients: y_t = 2 + 0.3·sin(2πt/7)
 * + Σ_p x_{t,p} β_{t,p} + ε_t, β from six kernel knots (ρ = 0.15), ε Gaussian (sd 0.02) with
 * a few gross outliers that the Student-t weights must discount.
 */
function synthetic(T: number, seed: number) {
  const rng = new Rng(seed);
  const P = 2;
  const K = 6;
  const b = [0.8, 0.1, 0.6, 0.3, 0.4, 0.5, 0.2, 0.7, 0.5, 0.6, 0.9, 0.2]; // K × P
  const W = knotWeights(T, K, 0.15);
  const X = new Float64Array(T * P);
  const y = new Float64Array(T);
  const beta = new Float64Array(T * P);
  for (let t = 0; t < T; t++) {
    y[t] = 2 + 0.3 * Math.sin((2 * Math.PI * t) / 7) + rng.normal(0, 0.02);
    if (t % 50 === 25) y[t] += 1.5;
    for (let p = 0; p < P; p++) {
      X[t * P + p] = rng.uniform();
      for (let k = 0; k < K; k++) beta[t * P + p] += W[t * K + k] * b[k * P + p];
      y[t] += X[t * P + p] * beta[t * P + p];
    }
  }
  return { y, X, beta, b, P };
}

describe('btvc', () => {
  const options = btvcOptions.parse({});
  // A weak coefficient prior (sd 1, not the default 0.1), so the bound measures the fit, not the shrinkage.
  const ktr = { ...options, seasonOrder: 1, levelSd: 0.05, coefSd: 1, positive: true };

  it('IRLS converges and recovers known time-varying coefficients', () => {
    const T = 300;
    const { y, X, beta, b, P } = synthetic(T, 1);
    const fit = fitKtr(y, X, T, P, ktr);
    expect(fit.converged).toBe(true);
    expect(fit.iterations).toBeLessThan(ktr.maxIterations);
    let worst = 0;
    for (let i = 0; i < T * P; i++) worst = Math.max(worst, Math.abs(fit.beta[i] - beta[i]));
    expect(worst).toBeLessThan(0.04);
    // The level absorbs the intercept; the Student-t scale is near the inlier noise, not the outliers'.
    expect(fit.level[T - 1]).toBeCloseTo(2, 1);
    expect(fit.sigma).toBeLessThan(0.04);
    // The Laplace sds cover the true knot coefficients.
    fit.knotSd.forEach((sd, i) => {
      expect(sd).toBeGreaterThan(0);
      expect(Math.abs(fit.knotCoef[i] - b[i])).toBeLessThan(4 * sd);
    });
  });

  it('keeps spend coefficients non-negative under the sign constraint', () => {
    const T = 120;
    const { y, X, P } = synthetic(T, 2);
    // Flip one regressor: its true effect is negative, so the constrained fit pins it at 0.
    for (let t = 0; t < T; t++) X[t * P] = -X[t * P];
    const fit = fitKtr(y, X, T, P, ktr);
    expect(Math.min(...fit.knotCoef)).toBeGreaterThanOrEqual(0);
    const free = fitKtr(y, X, T, P, { ...ktr, positive: false });
    expect(Math.min(...free.knotCoef)).toBeLessThan(-0.1);
  });

  it('declares its scale-down', () => {
    expect(btvc.scaleDown).toMatch(/IRLS/);
  });
});
