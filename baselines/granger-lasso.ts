import { z } from 'zod';
import { defineMethod } from '../src/methods/method.js';
import { checkSteps, mapShops, shopsToScore } from '../src/methods/series.js';

export const grangerLassoOptions = z.strictObject({
  /** Lag order K: each (target, source) group holds the K lag coefficients of the source. */
  lag: z.int().min(1).default(5),
  /** Number of λ values on the path, log-spaced from λ_max down to `minRatio`·λ_max. */
  pathLength: z.int().min(2).default(100),
  minRatio: z.number().gt(0).lt(1).default(1e-3),
  /** Block coordinate descent stops at a λ when no coefficient moved more than `tol` in a sweep. */
  tol: z.number().positive().default(1e-5),
  maxSweeps: z.int().positive().default(1000),
  /** Standardise each series per shop (the penalty is not scale invariant). */
  standardize: z.boolean().default(true),
  /** Fit one path on the rows of every shop stacked (one score matrix, given to every shop). */
  pool: z.boolean().default(false),
});

export type GrangerLassoOptions = z.output<typeof grangerLassoOptions>;

/**
 * Sufficient statistics of the lagged least-squares problems of a set of shops, summed:
 * `gram` = ZᵀZ/n (P × P, P = N·K, column j·K + l − 1 = x_j[t − l]) and `cross` = ZᵀY/n (P × N).
 */
export interface Moments {
  gram: Float64Array;
  cross: Float64Array;
  P: number;
}

function addMoments(acc: Float64Array[], x: Float64Array, N: number, T: number, K: number): number {
  const [gram, cross] = acc;
  const P = N * K;
  const z = new Float64Array(P);
  for (let t = K; t < T; t++) {
    for (let j = 0; j < N; j++) for (let l = 1; l <= K; l++) z[j * K + l - 1] = x[j * T + t - l];
    for (let a = 0; a < P; a++) {
      const za = z[a];
      if (za === 0) continue;
      for (let b = 0; b <= a; b++) gram[a * P + b] += za * z[b];
      for (let i = 0; i < N; i++) cross[a * N + i] += za * x[i * T + t];
    }
  }
  return T - K;
}

export function lassoMoments(shops: Float64Array[], N: number, T: number, K: number): Moments {
  const P = N * K;
  const gram = new Float64Array(P * P);
  const cross = new Float64Array(P * N);
  let rows = 0;
  for (const x of shops) rows += addMoments([gram, cross], x, N, T, K);
  for (let a = 0; a < P; a++) for (let b = 0; b <= a; b++) gram[b * P + a] = gram[a * P + b] /= rows;
  for (let k = 0; k < cross.length; k++) cross[k] /= rows;
  return { gram, cross, P };
}

/** Largest eigenvalue of the symmetric K × K block of `gram` at (first, first), by power iteration. */
function blockLipschitz(gram: Float64Array, P: number, first: number, K: number): number {
  let v = new Float64Array(K).fill(1 / Math.sqrt(K));
  let lambda = 0;
  for (let it = 0; it < 200; it++) {
    const w = new Float64Array(K);
    for (let r = 0; r < K; r++) for (let c = 0; c < K; c++) w[r] += gram[(first + r) * P + first + c] * v[c];
    const norm = Math.hypot(...w);
    if (!(norm > 0)) return 0;
    const converged = Math.abs(norm - lambda) <= 1e-12 * norm;
    lambda = norm;
    v = w.map((e) => e / norm);
    if (converged) break;
  }
  return lambda;
}

/**
 * Group-lasso path of one target equation:
 *   min_b (1/2n)‖y − Z b‖² + λ Σ_j ‖b_j‖₂,  b_j = the K lag coefficients of source j,
 * by block coordinate descent (each block takes the proximal step of its own majoriser, step
 * 1/L_j with L_j the largest eigenvalue of its Gram block), warm-started along
 * λ_k = λ_max · minRatio^{k/(pathLength − 1)}, λ_max = max_j ‖Z_jᵀ y/n‖ (all groups zero).
 *
 * Returns the entry score of each source: max over the path of min(λ_k, ‖Z_jᵀ r_{−j}/n‖), with
 * r_{−j} the residual without group j. At the optimum a non-zero group has ‖Z_jᵀ r_{−j}/n‖ > λ_k
 * and a zero one ≤ λ_k, so the score is the largest path λ at which the group is non-zero,
 * refined between grid points by the λ at which the group would enter given the others:
 * groups entering at the same grid point keep distinct scores (tie-free), and groups that never
 * enter keep their largest partial correlation below λ_min. The path stops once every source
 * other than the target has its score (`fullPath` runs it to λ_min: the scores are the same).
 */
export function lassoPathScores(
  m: Moments,
  N: number,
  K: number,
  target: number,
  o: GrangerLassoOptions,
  fullPath = false,
) {
  const { gram, cross, P } = m;
  // grad = Zᵀ(y − Zb)/n, kept up to date after each block move.
  const grad = new Float64Array(P);
  for (let a = 0; a < P; a++) grad[a] = cross[a * N + target];
  const b = new Float64Array(P);
  const L = Array.from({ length: N }, (_, j) => blockLipschitz(gram, P, j * K, K));
  const partialNorm = (j: number) => {
    let s = 0;
    for (let l = 0; l < K; l++) {
      let g = grad[j * K + l];
      for (let c = 0; c < K; c++) g += gram[(j * K + l) * P + j * K + c] * b[j * K + c];
      s += g * g;
    }
    return Math.sqrt(s);
  };
  let lambdaMax = 0;
  for (let j = 0; j < N; j++) lambdaMax = Math.max(lambdaMax, partialNorm(j));
  const scores = new Float64Array(N);
  if (!(lambdaMax > 0)) return { scores, lambdaMax, sweeps: 0 };
  let sweeps = 0;
  const step = new Float64Array(K);
  const delta = new Float64Array(K);
  for (let k = 0; k < o.pathLength; k++) {
    const lambda = lambdaMax * o.minRatio ** (k / (o.pathLength - 1));
    for (let sweep = 0; sweep < o.maxSweeps; sweep++) {
      sweeps++;
      let moved = 0;
      for (let j = 0; j < N; j++) {
        if (!(L[j] > 0)) continue;
        let norm = 0;
        for (let l = 0; l < K; l++) {
          step[l] = b[j * K + l] + grad[j * K + l] / L[j];
          norm += step[l] ** 2;
        }
        norm = Math.sqrt(norm);
        const shrink = norm > lambda / L[j] ? 1 - lambda / (L[j] * norm) : 0;
        let change = 0;
        for (let l = 0; l < K; l++) {
          delta[l] = shrink * step[l] - b[j * K + l];
          change = Math.max(change, Math.abs(delta[l]));
        }
        if (change === 0) continue;
        moved = Math.max(moved, change);
        for (let l = 0; l < K; l++) {
          b[j * K + l] += delta[l];
          for (let a = 0; a < P; a++) grad[a] -= gram[a * P + j * K + l] * delta[l];
        }
      }
      if (moved <= o.tol) break;
    }
    for (let j = 0; j < N; j++) scores[j] = Math.max(scores[j], Math.min(lambda, partialNorm(j)));
    // Every later term min(λ_k', ·) is ≤ λ_k' < λ: once each scored group has reached the
    // current λ, the rest of the path cannot change a score (on funnel-20 most of the path, and
    // its slowest part near λ_min, is skipped: 16.8 → 0.24 s a shop).
    if (!fullPath && scores.every((score, j) => j === target || score >= lambda)) break;
  }
  return { scores, lambdaMax, sweeps };
}

/** Score matrix (N × N, `[i * N + j]` about j → i) of the stacked shops `xs`. */
function fitScores(xs: Float64Array[], N: number, T: number, o: GrangerLassoOptions) {
  const m = lassoMoments(xs, N, T, o.lag);
  const S = new Float64Array(N * N);
  let sweeps = 0;
  for (let i = 0; i < N; i++) {
    const fit = lassoPathScores(m, N, o.lag, i, o);
    sweeps += fit.sweeps;
    for (let j = 0; j < N; j++) S[i * N + j] = i === j ? 0 : fit.scores[j];
  }
  return { S, sweeps };
}

/**
 * Lasso-VAR Granger causality (group lasso over each source's K lags, one equation per target).
 *
 * Model per target i: x_i[t] = Σ_j Σ_{l=1..K} b_{ijl} x_j[t − l] + e, penalised by
 * λ Σ_j ‖b_ij·‖₂ (intercept-free on standardised series), solved along a 100-point warm-started
 * λ path by block coordinate descent on the Gram matrix (see {@link lassoPathScores}).
 * Score of j → i: the λ at which group (i, j) enters the path (higher = stronger edge), tie-free.
 *
 * Shapes: input panel [S, N, T]; per shop an N × N score matrix, `[i * N + j]` about j → i,
 * diagonal 0 (self-lags are in every equation but not scored). Per-shop by default; `pool`
 * stacks every shop's rows into one path and gives all shops the same scores.
 * Pure double-precision JS: the Gram matrix is (N·K)², tiny, so no tfjs.
 */
export const grangerLasso = defineMethod({
  name: 'granger-lasso',
  title: 'Lasso-VAR Granger causality (group lasso path)',
  paper:
    'A. Arnold, Y. Liu, N. Abe, "Temporal causal modeling with graphical Granger methods", KDD 2007; group-lasso VAR as in A. Tank et al., "Neural Granger Causality", TPAMI 44(8), 2022',
  produces: ['graph'] as const,
  options: grangerLassoOptions,
  testConfig: { lag: 3, pathLength: 30 },
  async run(input, options) {
    const { panel } = input;
    const { nodeCount: N, steps: T } = panel;
    checkSteps('granger-lasso', 'lag', options.lag, T);
    const scored = shopsToScore(input);
    let sweeps = 0;
    let graphScores: Float64Array[];
    if (options.pool) {
      // One graph for the population, fitted on every shop, whichever are scored.
      const fit = fitScores(
        mapShops(panel, options.standardize, (x) => x),
        N,
        T,
        options,
      );
      sweeps = fit.sweeps;
      graphScores = scored.map(() => Float64Array.from(fit.S));
    } else {
      graphScores = mapShops(panel, options.standardize, (x) => x, scored).map((x) => {
        const fit = fitScores([x], N, T, options);
        sweeps += fit.sweeps;
        return fit.S;
      });
    }
    return { graphScores, info: { lag: options.lag, pooled: String(options.pool), sweeps } };
  },
});
