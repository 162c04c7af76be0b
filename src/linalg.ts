/**
 * Small dense double-precision linear algebra for least squares, sized for VAR fits
 * (hundreds of rows, tens of columns). Matrices are row-major Float64Arrays.
 */

/**
 * A pivot below this fraction of its column's own diagonal entry is treated as zero: the
 * column is (numerically) a linear combination of the columns before it. Rounding leaves
 * pivots of ~1e-16 × diagonal for exactly collinear columns, and strongly but genuinely
 * correlated columns (r = 0.99999) keep ~1e-5, so 1e-11 separates the two.
 */
const PIVOT_TOLERANCE = 1e-11;

/**
 * In-place Cholesky factorisation of the symmetric n × n matrix `a` (only its lower triangle
 * is read). On success the lower triangle holds L with a = L Lᵀ and the strict upper triangle
 * is zeroed. Returns false, leaving `a` partly overwritten, when a pivot is not positive
 * relative to its diagonal entry (singular or indefinite matrix).
 */
export function cholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    const diagonal = a[rowJ + j];
    let pivot = diagonal;
    for (let k = 0; k < j; k++) pivot -= a[rowJ + k] * a[rowJ + k];
    if (!(pivot > PIVOT_TOLERANCE * Math.abs(diagonal)) || !Number.isFinite(pivot)) return false;
    const ljj = Math.sqrt(pivot);
    a[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = a[rowI + j];
      for (let k = 0; k < j; k++) sum -= a[rowI + k] * a[rowJ + k];
      a[rowI + j] = sum / ljj;
    }
    for (let k = j + 1; k < n; k++) a[rowJ + k] = 0;
  }
  return true;
}

/**
 * Solves (L Lᵀ) X = B in place for the n × m right-hand sides `b` (row-major, n rows),
 * given the Cholesky factor `l` from {@link cholesky}.
 */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, m: number): void {
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let sum = b[i * m + c];
      for (let k = 0; k < i; k++) sum -= l[i * n + k] * b[k * m + c];
      b[i * m + c] = sum / l[i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let sum = b[i * m + c];
      for (let k = i + 1; k < n; k++) sum -= l[k * n + i] * b[k * m + c];
      b[i * m + c] = sum / l[i * n + i];
    }
  }
}

/** (L Lᵀ)⁻¹ as a full symmetric n × n matrix, from the Cholesky factor `l`. */
export function choleskyInverse(
  l: Float64Array,
  n: number,
  out: Float64Array = new Float64Array(n * n),
): Float64Array {
  // L⁻¹ (lower triangular) first, then (L⁻¹)ᵀ L⁻¹.
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    inv[i * n + i] = 1 / l[i * n + i];
    for (let j = 0; j < i; j++) {
      let sum = 0;
      for (let k = j; k < i; k++) sum -= l[i * n + k] * inv[k * n + j];
      inv[i * n + j] = sum / l[i * n + i];
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let k = i; k < n; k++) sum += inv[k * n + i] * inv[k * n + j];
      out[i * n + j] = sum;
      out[j * n + i] = sum;
    }
  }
  return out;
}

/**
 * Cholesky factor of the symmetric positive semi-definite n × n matrix `a` + ridge·I, in a
 * new array. When the factorisation fails, a ridge of 1e-8 × trace(a)/n (1e-8 when the trace
 * is 0) is added on top of `ridge` and doubled until it succeeds, so singular inputs (constant
 * or collinear columns) still give a usable, slightly shrunk solution. Returns the factor and
 * the ridge actually used.
 */
export function regularizedCholesky(
  a: Float64Array,
  n: number,
  ridge = 0,
): { factor: Float64Array; ridge: number } {
  const factor = new Float64Array(n * n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += a[i * n + i];
  let extra = 0;
  let step = trace > 0 && Number.isFinite(trace) ? (1e-8 * trace) / n : 1e-8;
  for (let attempt = 0; attempt < 200; attempt++) {
    factor.set(a);
    const total = ridge + extra;
    if (total !== 0) for (let i = 0; i < n; i++) factor[i * n + i] += total;
    if (cholesky(factor, n)) return { factor, ridge: total };
    extra = step;
    step *= 2;
  }
  throw new RangeError(
    `regularizedCholesky: matrix of size ${n} is not positive definite even with a large ridge`,
  );
}

export interface LeastSquaresFit {
  /** Coefficients, cols × m row-major: `coef[c * m + k]` is column c's weight in output k. */
  coef: Float64Array;
  /** Residual sum of squares of each of the m outputs. */
  rss: Float64Array;
  /** (XᵀX + ridge·I)⁻¹, cols × cols: scaled by σ², the covariance of the coefficients (Wald tests). */
  xtxInv: Float64Array;
  /** Ridge actually used: the requested one, plus the automatic one if XᵀX was singular. */
  ridge: number;
}

/**
 * Least squares B = argmin ‖Y − X B‖² + ridge‖B‖² for X (rows × cols) and Y (rows × m), both
 * row-major, through the normal equations: Cholesky of XᵀX + ridge·I. If that matrix is
 * singular (a constant or all-zero column, collinear columns, fewer rows than columns), a small
 * ridge of 1e-8 × trace(XᵀX)/cols is added and doubled until the factorisation succeeds (see
 * {@link regularizedCholesky}); `ridge` in the result tells whether it happened. The normal
 * equations square the condition number, which is fine for the standardised, well-scaled
 * designs of this project, and keep the hot path to one pass over X.
 */
export function solveLeastSquares(
  X: Float64Array,
  Y: Float64Array,
  rows: number,
  cols: number,
  m: number,
  ridge = 0,
): LeastSquaresFit {
  if (X.length < rows * cols || Y.length < rows * m) {
    throw new RangeError(`solveLeastSquares: X needs ${rows}×${cols} and Y ${rows}×${m} values`);
  }
  const xtx = new Float64Array(cols * cols);
  const xty = new Float64Array(cols * m);
  for (let r = 0; r < rows; r++) {
    const xr = r * cols;
    const yr = r * m;
    for (let i = 0; i < cols; i++) {
      const xi = X[xr + i];
      if (xi === 0) continue;
      const rowI = i * cols;
      for (let j = 0; j <= i; j++) xtx[rowI + j] += xi * X[xr + j];
      const rowY = i * m;
      for (let k = 0; k < m; k++) xty[rowY + k] += xi * Y[yr + k];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) xtx[j * cols + i] = xtx[i * cols + j];
  const { factor, ridge: used } = regularizedCholesky(xtx, cols, ridge);
  choleskySolve(factor, cols, xty, m);
  const coef = xty;
  const rss = new Float64Array(m);
  for (let r = 0; r < rows; r++) {
    const xr = r * cols;
    for (let k = 0; k < m; k++) {
      let fitted = 0;
      for (let i = 0; i < cols; i++) fitted += X[xr + i] * coef[i * m + k];
      const e = Y[r * m + k] - fitted;
      rss[k] += e * e;
    }
  }
  return { coef, rss, xtxInv: choleskyInverse(factor, cols), ridge: used };
}
