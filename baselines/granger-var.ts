import { z } from 'zod';
import { UserError } from '../src/errors.js';
import { checkFutureChannels, writeKnownChannels } from '../src/forecast/known.js';
import { regularizedCholesky, solveLeastSquares } from '../src/linalg.js';
import { defineMethod } from '../src/methods/method.js';
import { prepareShop, shopsToScore } from '../src/methods/series.js';
import { fSurvivalLog10 } from '../src/stats/fdist.js';
import { benjaminiHochberg } from '../src/stats/fdr.js';

export const grangerVarOptions = z.strictObject({
  /** Lag order K of the VAR (number of past steps each equation sees). */
  lag: z.int().min(1).default(2),
  /** `conditional`: one VAR over all series; `pairwise`: one bivariate VAR per ordered pair. */
  test: z.enum(['conditional', 'pairwise']).default('conditional'),
  /** Benjamini–Hochberg false discovery rate of the binary graph. */
  fdr: z.number().gt(0).max(1).default(0.05),
  /** Ridge added to ZᵀZ; 0 means ordinary least squares (with the automatic fallback). */
  ridge: z.number().min(0).default(0),
  /** Standardise each series per shop before fitting (numerical conditioning only). */
  standardize: z.boolean().default(true),
});

export type GrangerVarOptions = z.output<typeof grangerVarOptions>;

/** Result of the Granger tests of one shop; matrices N × N row-major, `[i * N + j]` about j → i. */
export interface GrangerShopResult {
  /** F statistics; NaN on the diagonal. */
  F: Float64Array;
  /** log10 of the p-values P(F_{dfNum, dfDen} > F); NaN on the diagonal. */
  log10p: Float64Array;
  dfNum: number;
  dfDen: number;
  /** Largest ridge used by a fit of this shop (the requested one, or more if a design was singular). */
  ridge: number;
  /** VAR(K) coefficients of the full model, (1 + N·K) × N: row 0 intercepts, row 1 + j·K + (l − 1) lag l of series j. */
  coef: Float64Array;
  /** Per-series centre and scale applied before fitting (0 and 1 without standardisation). */
  center: Float64Array;
  scale: Float64Array;
}

/**
 * F of the Wald test that the K coefficients `b` (read at `coef[(first + l) * m + eq]`) are
 * zero, with V the matching K × K block of (ZᵀZ)⁻¹ at rows/columns first…first + K − 1:
 * F = bᵀ V⁻¹ b / (K σ²). Without a ridge this equals the restricted-versus-unrestricted F of
 * the equation, so no restricted model is fitted. A constant left-hand side (tss ≈ 0) gives
 * F = 0; σ² is floored at 1e-14 of the total variance so a perfect fit stays finite.
 */
function waldF(
  coef: Float64Array,
  m: number,
  eq: number,
  first: number,
  K: number,
  blockFactor: Float64Array,
  rss: number,
  tss: number,
  dfResid: number,
): number {
  if (!(tss > 0)) return 0;
  const b = new Float64Array(K);
  for (let l = 0; l < K; l++) b[l] = coef[(first + l) * m + eq];
  // Forward substitution with the lower factor L of V: bᵀ V⁻¹ b = ‖L⁻¹ b‖².
  let w = 0;
  for (let r = 0; r < K; r++) {
    let sum = b[r];
    for (let c = 0; c < r; c++) sum -= blockFactor[r * K + c] * b[c];
    b[r] = sum / blockFactor[r * K + r];
    w += b[r] * b[r];
  }
  const sigma2 = Math.max(rss, 1e-14 * tss) / dfResid;
  const F = w / (K * sigma2);
  if (Number.isNaN(F)) return 0;
  return Number.isFinite(F) ? F : Number.MAX_VALUE;
}

/** Cholesky factor of the K × K block of the symmetric p × p matrix `inv` starting at `first`. */
function blockFactor(inv: Float64Array, p: number, first: number, K: number): Float64Array {
  const block = new Float64Array(K * K);
  for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) block[r * K + c] = inv[(first + r) * p + first + c];
  return regularizedCholesky(block, K).factor;
}

/**
 * Total sum of squares of column `col` of the rows × m matrix Y; 0 when it is rounding noise
 * (below 1e-20 of the raw sum of squares), i.e. the column is constant.
 */
function columnTss(Y: Float64Array, rows: number, m: number, col: number): number {
  let mean = 0;
  for (let r = 0; r < rows; r++) mean += Y[r * m + col];
  mean /= rows;
  let tss = 0;
  let sumSq = 0;
  for (let r = 0; r < rows; r++) {
    tss += (Y[r * m + col] - mean) ** 2;
    sumSq += Y[r * m + col] ** 2;
  }
  return tss > 1e-20 * sumSq ? tss : 0;
}

/** Design of the full VAR(K): Z is (T − K) × (1 + N·K), column 1 + j·K + (l − 1) = x_j[t − l]; Y is (T − K) × N. */
function varDesign(x: Float64Array, N: number, T: number, K: number) {
  const rows = T - K;
  const p = 1 + N * K;
  const Z = new Float64Array(rows * p);
  const Y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    const t = K + r;
    Z[r * p] = 1;
    for (let j = 0; j < N; j++) {
      for (let l = 1; l <= K; l++) Z[r * p + 1 + j * K + (l - 1)] = x[j * T + t - l];
      Y[r * N + j] = x[j * T + t];
    }
  }
  return { Z, Y, rows, p };
}

/** Checks that a VAR of `regressors` columns (intercept included) is estimable from T steps with lag K. */
function checkLag(K: number, T: number, regressors: number, test: string): void {
  const dfResid = T - K - regressors;
  if (2 * K >= T || dfResid < 1) {
    throw new UserError(
      `granger-var: option "lag" = ${K} is too large for ${T} time steps: the ${test} test needs ` +
        `lag < T/2 and T − lag > ${regressors} regressors (got ${T - K} usable steps)`,
    );
  }
}

/**
 * Granger causality F-tests of one shop.
 *
 * Args:
 *   values: the shop's series, N × T row-major (node-major, as `Panel.shopValues`).
 *   N, T: node and step counts.
 *   options: lag K, test kind, ridge, standardisation (`fdr` is not used here).
 *
 * `conditional`: one VAR(K) with intercept over all N series, fitted once; the F for j → i is
 * the Wald test that the K lags of j are zero in equation i, from the K × K blocks of (ZᵀZ)⁻¹.
 * Degrees of freedom follow statsmodels' `VAR.test_causality(kind='f')`: (K, N·df_resid), with
 * df_resid = (T − K) − (1 + N·K). `pairwise`: for each ordered pair, the bivariate VAR(K) of
 * (x_i, x_j) with intercept, equation i, df = (K, (T − K) − 2K − 1), like statsmodels'
 * `grangercausalitytests` ssr_ftest.
 */
export function grangerShop(
  values: ArrayLike<number>,
  N: number,
  T: number,
  options: Pick<GrangerVarOptions, 'lag' | 'test' | 'ridge' | 'standardize'>,
): GrangerShopResult {
  const K = options.lag;
  const { x, center, scale } = prepareShop(values, N, T, options.standardize);
  const F = new Float64Array(N * N).fill(Number.NaN);
  const log10p = new Float64Array(N * N).fill(Number.NaN);
  const full = varDesign(x, N, T, K);
  const dfNum = K;
  let dfDen: number;
  let ridge: number;
  let coef: Float64Array;

  if (options.test === 'conditional') {
    checkLag(K, T, 1 + N * K, 'conditional');
    const dfResid = full.rows - full.p;
    dfDen = N * dfResid;
    const fit = solveLeastSquares(full.Z, full.Y, full.rows, full.p, N, options.ridge);
    ridge = fit.ridge;
    coef = fit.coef;
    const tss = Array.from({ length: N }, (_, i) => columnTss(full.Y, full.rows, N, i));
    for (let j = 0; j < N; j++) {
      const first = 1 + j * K;
      const factor = blockFactor(fit.xtxInv, full.p, first, K);
      for (let i = 0; i < N; i++) {
        if (i === j) continue;
        F[i * N + j] = waldF(fit.coef, N, i, first, K, factor, fit.rss[i], tss[i], dfResid);
      }
    }
  } else {
    const p = 1 + 2 * K;
    checkLag(K, T, p, 'pairwise');
    const rows = T - K;
    const dfResid = rows - p;
    dfDen = dfResid;
    const Z = new Float64Array(rows * p);
    const y = new Float64Array(rows);
    ridge = options.ridge;
    for (let i = 0; i < N; i++) {
      for (let r = 0; r < rows; r++) {
        const t = K + r;
        Z[r * p] = 1;
        for (let l = 1; l <= K; l++) Z[r * p + l] = x[i * T + t - l];
        y[r] = x[i * T + t];
      }
      const tss = columnTss(y, rows, 1, 0);
      for (let j = 0; j < N; j++) {
        if (i === j) continue;
        for (let r = 0; r < rows; r++) {
          for (let l = 1; l <= K; l++) Z[r * p + K + l] = x[j * T + K + r - l];
        }
        const fit = solveLeastSquares(Z, y, rows, p, 1, options.ridge);
        ridge = Math.max(ridge, fit.ridge);
        const factor = blockFactor(fit.xtxInv, p, 1 + K, K);
        F[i * N + j] = waldF(fit.coef, 1, 0, 1 + K, K, factor, fit.rss[0], tss, dfResid);
      }
    }
    // The full VAR is still what forecasts use.
    const fit = solveLeastSquares(full.Z, full.Y, full.rows, full.p, N, options.ridge);
    coef = fit.coef;
    ridge = Math.max(ridge, fit.ridge);
  }
  for (let k = 0; k < N * N; k++) if (!Number.isNaN(F[k])) log10p[k] = fSurvivalLog10(F[k], dfNum, dfDen);
  return { F, log10p, dfNum, dfDen, ridge, coef, center, scale };
}

/**
 * Rolls the fitted VAR(K) forward `horizon` steps from the end of the series (plugging each
 * forecast back in as a lag) and undoes the standardisation. Writes node n, step h to
 * out[offset + n · horizon + h]. When the future spends are known (`known`, [C, horizon] for
 * the nodes `channels`), the channels' forecasts are replaced by them before they serve as lags.
 */
function rollForward(
  values: ArrayLike<number>,
  N: number,
  T: number,
  K: number,
  result: GrangerShopResult,
  horizon: number,
  out: Float32Array,
  offset: number,
  known?: { channels: readonly number[]; values: ArrayLike<number> },
): void {
  const { coef, center, scale } = result;
  // history[n * (K + horizon) + s]: standardised values, the last K observed then the forecasts.
  const width = K + horizon;
  const history = new Float64Array(N * width);
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < K; s++) history[n * width + s] = (values[n * T + T - K + s] - center[n]) / scale[n];
  }
  for (let h = 0; h < horizon; h++) {
    const now = K + h;
    for (let i = 0; i < N; i++) {
      let v = coef[i];
      for (let j = 0; j < N; j++) {
        for (let l = 1; l <= K; l++) v += coef[(1 + j * K + (l - 1)) * N + i] * history[j * width + now - l];
      }
      history[i * width + now] = v;
    }
    known?.channels.forEach((node, c) => {
      history[node * width + now] = (known.values[c * horizon + h] - center[node]) / scale[node];
    });
  }
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < horizon; h++)
      out[offset + n * horizon + h] = history[n * width + K + h] * scale[n] + center[n];
  }
}

/**
 * Granger causality from a linear vector autoregression, the classical baseline of
 * causal time-series discovery, fitted to each shop separately.
 *
 * Model: x_t = c + Σ_{l=1..K} A_l x_{t−l} + e_t over the N series of a shop (conditional
 * test), or over each pair (x_i, x_j) (pairwise test). The score of j → i is −log10 p of the
 * F-test that the K lags of j are zero in the equation of i, computed in log space, so that
 * strong edges keep distinct scores instead of tying at p = 0.
 *
 * Shapes and orientation: input panel [S, N, T]; outputs per shop an N × N score matrix and
 * binary graph with `[i * N + j]` about j → i (row = effect, column = cause), diagonal 0; and
 * forecasts [S, N, horizon] when asked, from the full VAR(K) rolled forward. Known future
 * spends (`futureChannels`) replace the channels' own forecasts at each step, so they drive the
 * KPIs and GMV through the fitted lags; the forecast of a known spend is that spend.
 *
 * Degrees of freedom: see {@link grangerShop}; the conditional test uses statsmodels'
 * system convention (K, N·df_resid). Binary graph: Benjamini–Hochberg at level `fdr` over the
 * N(N − 1) off-diagonal p-values of the shop.
 *
 * Ridge: `ridge` > 0 shrinks every fit (then F is the Wald statistic of the ridge estimate).
 * With `ridge` = 0, ordinary least squares is used unless ZᵀZ is singular — a constant or
 * all-zero series, two identical series, too few steps — in which case a tiny ridge (1e-8 of
 * the mean diagonal, doubled until the factorisation succeeds) is added, so such data give
 * finite scores instead of a crash; `info.regularizedShops` counts those shops.
 *
 * Standardisation: F statistics are invariant to per-series affine rescaling (the intercept
 * absorbs the shift), so `standardize` changes scores only through rounding; it is on by
 * default to keep ZᵀZ well conditioned for series of very different magnitudes (GMV vs
 * clicks).
 */
export const grangerVar = defineMethod({
  name: 'granger-var',
  title: 'Granger causality (VAR F-test)',
  paper:
    'C. W. J. Granger, "Investigating Causal Relations by Econometric Models and Cross-spectral Methods", Econometrica 37(3):424–438, 1969',
  produces: ['graph', 'forecast'] as const,
  options: grangerVarOptions,
  testConfig: { lag: 2 },
  async run(input, options) {
    const { panel, horizon, futureChannels } = input;
    checkFutureChannels('granger-var', panel, horizon, futureChannels);
    const channels = panel.channelIndices;
    const S = panel.shops;
    const N = panel.nodeCount;
    const T = panel.steps;
    const graphScores: Float64Array[] = [];
    const graphs: Uint8Array[] = [];
    const forecasts = horizon > 0 ? new Float32Array(S * N * horizon) : undefined;
    let regularizedShops = 0;
    let dfDen = 0;
    for (const s of shopsToScore(input)) {
      const values = panel.shopValues(s);
      const result = grangerShop(values, N, T, options);
      dfDen = result.dfDen;
      if (result.ridge > options.ridge) regularizedShops++;
      const scores = new Float64Array(N * N);
      const offDiagonal: number[] = [];
      const positions: number[] = [];
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          if (i === j) continue;
          const k = i * N + j;
          scores[k] = -result.log10p[k] + 0;
          offDiagonal.push(result.log10p[k]);
          positions.push(k);
        }
      }
      const graph = new Uint8Array(N * N);
      benjaminiHochberg(offDiagonal, options.fdr).forEach((reject, r) => {
        if (reject) graph[positions[r]] = 1;
      });
      graphScores.push(scores);
      graphs.push(graph);
      if (forecasts) {
        const C = channels.length;
        const known = futureChannels
          ? { channels, values: futureChannels.subarray(s * C * horizon, (s + 1) * C * horizon) }
          : undefined;
        rollForward(values, N, T, options.lag, result, horizon, forecasts, s * N * horizon, known);
      }
    }
    if (forecasts) writeKnownChannels(forecasts, panel, horizon, futureChannels);
    return {
      graphScores,
      graphs,
      forecasts,
      info: { lag: options.lag, test: options.test, dfNum: options.lag, dfDen, regularizedShops },
    };
  },
});
