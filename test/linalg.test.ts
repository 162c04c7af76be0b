import { describe, expect, it } from 'vitest';
import { cholesky, choleskyInverse, regularizedCholesky, solveLeastSquares } from '../src/linalg.js';
import { Rng } from '../src/rng.js';

function randomDesign(rng: Rng, rows: number, cols: number): Float64Array {
  const X = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    X[r * cols] = 1;
    for (let c = 1; c < cols; c++) X[r * cols + c] = rng.normal();
  }
  return X;
}

describe('cholesky', () => {
  it('factors a positive definite matrix and rejects a singular one', () => {
    const a = Float64Array.from([4, 2, 2, 3]);
    expect(cholesky(a, 2)).toBe(true);
    expect(Array.from(a)).toEqual([2, 0, 1, Math.sqrt(2)]);
    expect(cholesky(Float64Array.from([1, 1, 1, 1]), 2)).toBe(false);
    expect(cholesky(Float64Array.from([0, 0, 0, 1]), 2)).toBe(false);
  });

  it('inverts through the factor', () => {
    const a = Float64Array.from([4, 2, 0, 2, 3, 1, 0, 1, 2]);
    const l = a.slice();
    cholesky(l, 3);
    const inv = choleskyInverse(l, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += a[i * 3 + k] * inv[k * 3 + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });

  it('adds a growing ridge only when needed', () => {
    expect(regularizedCholesky(Float64Array.from([2, 0, 0, 2]), 2).ridge).toBe(0);
    expect(regularizedCholesky(Float64Array.from([1, 1, 1, 1]), 2).ridge).toBeGreaterThan(0);
    expect(regularizedCholesky(new Float64Array(4), 2).ridge).toBeGreaterThan(0);
  });
});

describe('solveLeastSquares', () => {
  const rng = new Rng('linalg');
  const rows = 200;
  const cols = 4;
  const m = 2;
  const X = randomDesign(rng, rows, cols);
  const B = Float64Array.from([1, -1, 0.5, 2, -0.25, 0, 3, 0.75]);

  it('recovers exact coefficients with zero residual', () => {
    const Y = new Float64Array(rows * m);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < m; k++) {
        for (let c = 0; c < cols; c++) Y[r * m + k] += X[r * cols + c] * B[c * m + k];
      }
    }
    const fit = solveLeastSquares(X, Y, rows, cols, m);
    expect(fit.ridge).toBe(0);
    for (let k = 0; k < B.length; k++) expect(fit.coef[k]).toBeCloseTo(B[k], 10);
    for (const r of fit.rss) expect(r).toBeLessThan(1e-18);
  });

  it('matches the normal equations with noise and returns (XᵀX)⁻¹', () => {
    const Y = new Float64Array(rows * m);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < m; k++) {
        Y[r * m + k] = rng.normal();
        for (let c = 0; c < cols; c++) Y[r * m + k] += X[r * cols + c] * B[c * m + k];
      }
    }
    const fit = solveLeastSquares(X, Y, rows, cols, m);
    // Residuals are orthogonal to every column.
    for (let k = 0; k < m; k++) {
      for (let c = 0; c < cols; c++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) {
          let fitted = 0;
          for (let q = 0; q < cols; q++) fitted += X[r * cols + q] * fit.coef[q * m + k];
          dot += X[r * cols + c] * (Y[r * m + k] - fitted);
        }
        expect(Math.abs(dot)).toBeLessThan(1e-9);
      }
    }
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let k = 0; k < cols; k++) {
          let xtx = 0;
          for (let r = 0; r < rows; r++) xtx += X[r * cols + i] * X[r * cols + k];
          s += xtx * fit.xtxInv[k * cols + j];
        }
        expect(s).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
  });

  it('applies a requested ridge', () => {
    const Y = Float64Array.from({ length: rows }, (_, r) => X[r * cols + 1]);
    const plain = solveLeastSquares(X, Y, rows, cols, 1);
    const shrunk = solveLeastSquares(X, Y, rows, cols, 1, 50);
    expect(shrunk.ridge).toBe(50);
    expect(Math.abs(shrunk.coef[1])).toBeLessThan(Math.abs(plain.coef[1]));
  });

  it('survives duplicated, constant and all-zero columns', () => {
    const c = 5;
    const Z = new Float64Array(rows * c);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const v = X[r * cols + 1];
      Z.set([1, v, v, 7, 0], r * c);
      y[r] = 2 * v + 1 + 0.1 * rng.normal();
    }
    const fit = solveLeastSquares(Z, y, rows, c, 1);
    expect(fit.ridge).toBeGreaterThan(0);
    for (const v of fit.coef) expect(Number.isFinite(v)).toBe(true);
    for (const v of fit.xtxInv) expect(Number.isFinite(v)).toBe(true);
    expect(fit.coef[1] + fit.coef[2]).toBeCloseTo(2, 1);
    expect(fit.coef[4]).toBe(0);
    expect(fit.rss[0] / rows).toBeLessThan(0.02);
  });
});
