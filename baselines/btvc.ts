import { z } from 'zod';
import { NumericalError, UserError } from '../src/errors.js';
import { checkFutureChannels, gmvForecasts } from '../src/forecast/known.js';
import { choleskyInverse, choleskySolve, regularizedCholesky } from '../src/linalg.js';
import { defineMethod } from '../src/methods/method.js';

export const btvcOptions = z.strictObject({
  /** Regression knots K of the coefficient curves (anchored at the last observation). */
  regressionKnots: z.int().min(1).default(6),
  /** Kernel width ρ on the t/T scale. */
  rho: z.number().positive().default(0.15),
  /** Steps between level knots (anchored at the last observation). */
  levelKnotDistance: z.int().min(1).default(14),
  /** Prior sd of the change between neighbouring level knots (GMV scaled by its history mean). */
  levelSd: z.number().positive().default(0.2),
  /** Season length of the Fourier seasonality, and its order (0 = no seasonality). */
  seasonPeriod: z.number().positive().default(7),
  seasonOrder: z.int().min(0).default(2),
  /** Prior sd of the Fourier coefficients. */
  seasonSd: z.number().positive().default(1),
  /** Prior b_{k,p} ~ N(coefMean, coefSd²) of every knot coefficient. */
  coefMean: z.number().default(0),
  coefSd: z.number().positive().default(0.1),
  /** Spend coefficients constrained to be ≥ 0. */
  positiveSpend: z.boolean().default(true),
  /** Degrees of freedom ν of the Student-t noise. */
  nu: z.number().positive().default(30),
  maxIterations: z.int().min(1).default(100),
  tolerance: z.number().positive().default(1e-8),
  /**
   * `configured`: adstock decay and Hill parameters as given; `fitted`: decay and
   * half-saturation chosen per shop from a grid by the fit's penalised objective.
   */
  transforms: z.enum(['configured', 'fitted']).default('fitted'),
  /** Geometric adstock decay θ: a_t = x_t + θ·a_{t−1}, scaled by (1 − θ). */
  adstockDecay: z.number().min(0).lt(1).default(0.5),
  /** Hill shape α and half-saturation γ (as a multiple of the shop's mean positive adstocked spend). */
  hillShape: z.number().positive().default(1),
  hillHalf: z.number().positive().default(1),
  /** Steps averaged to fill unknown future spends (their last-week mean by default). */
  spendFillWindow: z.int().min(1).default(7),
});
export type BtvcOptions = z.output<typeof btvcOptions>;

/** Candidate transforms of `transforms: fitted`. */
const DECAY_GRID = [0.1, 0.3, 0.5, 0.7];
const HALF_GRID = [0.5, 1, 2];

/** Options of the regression core {@link fitKtr}. */
export type KtrOptions = Pick<
  BtvcOptions,
  | 'regressionKnots'
  | 'rho'
  | 'levelKnotDistance'
  | 'levelSd'
  | 'seasonPeriod'
  | 'seasonOrder'
  | 'seasonSd'
  | 'coefMean'
  | 'coefSd'
  | 'nu'
  | 'maxIterations'
  | 'tolerance'
> & { positive: boolean };

export interface KtrFit {
  T: number;
  P: number;
  /** Level knot values, their positions (steps), and the level per step [T]. */
  levelKnots: Float64Array;
  levelPositions: number[];
  level: Float64Array;
  /** Fourier coefficients [2·order]: sin, cos of harmonic 1, then 2, … */
  season: Float64Array;
  /** Knot coefficients b, K × P row-major. */
  knotCoef: Float64Array;
  /** Coefficient curves β, T × P row-major: β_{t,p} = Σ_k w_{t,k} b_{k,p}. */
  beta: Float64Array;
  /** Laplace-approximation sd of each knot coefficient (K × P), constraints ignored. */
  knotSd: Float64Array;
  /** Student-t scale σ. */
  sigma: number;
  iterations: number;
  converged: boolean;
  /** Negative log posterior (up to a constant) at the MAP. */
  objective: number;
}

/** Row-normalised Gaussian kernel weights w_{t,k} ∝ exp(−(t/T − κ_k)²/(2ρ²)), T × K, knots κ_k = k(T−1)/((K−1)T). */
export function knotWeights(T: number, K: number, rho: number, steps = T, offset = 0): Float64Array {
  const w = new Float64Array(steps * K);
  for (let i = 0; i < steps; i++) {
    const u = (offset + i) / T;
    let total = 0;
    for (let k = 0; k < K; k++) {
      const kappa = K === 1 ? (T - 1) / T : (k * (T - 1)) / ((K - 1) * T);
      const v = Math.exp(-((u - kappa) ** 2) / (2 * rho * rho));
      w[i * K + k] = v;
      total += v;
    }
    // Far beyond every knot the weights underflow; the nearest knot then carries the step.
    if (!(total > 0)) w[i * K + (u < 0.5 ? 0 : K - 1)] = total = 1;
    for (let k = 0; k < K; k++) w[i * K + k] /= total;
  }
  return w;
}

/** Level knot positions, every `distance` steps back from T − 1 until one is ≤ 0. */
function levelPositions(T: number, distance: number): number[] {
  const count = T <= 1 ? 1 : Math.ceil((T - 1) / distance) + 1;
  return Array.from({ length: count }, (_, j) => T - 1 - (count - 1 - j) * distance);
}

/** Linear interpolation weights of step t between the level knots (at most two nonzero). */
function levelRow(t: number, positions: number[], out: Float64Array, offset: number): void {
  const J = positions.length;
  if (J === 1 || t >= positions[J - 1]) {
    out[offset + J - 1] = 1;
    return;
  }
  let j = 0;
  while (positions[j + 1] < t) j++;
  const frac = (t - positions[j]) / (positions[j + 1] - positions[j]);
  out[offset + j] = 1 - frac;
  out[offset + j + 1] = frac;
}

function fourierRow(t: number, period: number, order: number, out: Float64Array, offset: number): void {
  for (let q = 1; q <= order; q++) {
    const angle = (2 * Math.PI * q * t) / period;
    out[offset + 2 * (q - 1)] = Math.sin(angle);
    out[offset + 2 * (q - 1) + 1] = Math.cos(angle);
  }
}

/**
 * MAP fit of the KTR/BTVC regression y_t = level_t + season_t + Σ_p x_{t,p} β_{t,p} + ε_t,
 * ε_t ~ Student-t(ν, 0, σ), by iteratively reweighted least squares.
 *
 * Args:
 *   y: [T] response; X: T × P regressors, row-major.
 *
 * Parameters θ = (level knots [J], Fourier [2Q], knot coefficients b [K × P]). Priors: level
 * knot increments ~ N(0, levelSd²) (a random walk; the first knot nearly flat), Fourier
 * ~ N(0, seasonSd²), b_{k,p} ~ N(coefMean, coefSd²), optionally b ≥ 0. Each IRLS step solves
 * the weighted penalised least squares with weights w_t = (ν + 1)/(ν + r_t²/σ²) — the EM
 * step of the Student-t as a scale mixture of normals, which increases the posterior — and
 * updates σ² = Σ w_t r_t² / T. Constraints are enforced by projected Gauss–Seidel on the same
 * quadratic. Stops when θ and σ change by less than `tolerance` (relative).
 */
export function fitKtr(y: Float64Array, X: Float64Array, T: number, P: number, options: KtrOptions): KtrFit {
  const K = options.regressionKnots;
  const Q = options.seasonOrder;
  const positions = levelPositions(T, options.levelKnotDistance);
  const J = positions.length;
  const W = knotWeights(T, K, options.rho);
  const first = J + 2 * Q;
  const m = first + K * P;
  // Design Z, T × m.
  const Z = new Float64Array(T * m);
  for (let t = 0; t < T; t++) {
    levelRow(t, positions, Z, t * m);
    fourierRow(t, options.seasonPeriod, Q, Z, t * m + J);
    for (let k = 0; k < K; k++) {
      for (let p = 0; p < P; p++) Z[t * m + first + k * P + p] = W[t * K + k] * X[t * P + p];
    }
  }
  // Prior precision (a fixed quadratic form) and prior mean term.
  const prior = new Float64Array(m * m);
  const priorMean = new Float64Array(m);
  const levelPrecision = 1 / options.levelSd ** 2;
  prior[0] = 1e-6;
  for (let j = 1; j < J; j++) {
    prior[j * m + j] += levelPrecision;
    prior[(j - 1) * m + (j - 1)] += levelPrecision;
    prior[j * m + j - 1] -= levelPrecision;
    prior[(j - 1) * m + j] -= levelPrecision;
  }
  for (let i = J; i < first; i++) prior[i * m + i] = 1 / options.seasonSd ** 2;
  for (let i = first; i < m; i++) {
    prior[i * m + i] = 1 / options.coefSd ** 2;
    priorMean[i] = options.coefMean / options.coefSd ** 2;
  }
  let yMean = 0;
  for (let t = 0; t < T; t++) yMean += y[t];
  yMean /= T;
  let sigma2 = 0;
  for (let t = 0; t < T; t++) sigma2 += (y[t] - yMean) ** 2;
  sigma2 = Math.max(sigma2 / T, 1e-12);
  const weights = new Float64Array(T).fill(1);
  let theta: Float64Array = new Float64Array(m);
  const residual = new Float64Array(T);
  const A = new Float64Array(m * m);
  const g = new Float64Array(m);
  let iterations = 0;
  let converged = false;
  let factor: Float64Array = new Float64Array(m * m);
  for (; iterations < options.maxIterations && !converged; ) {
    iterations++;
    A.set(prior);
    g.set(priorMean);
    for (let t = 0; t < T; t++) {
      const c = weights[t] / sigma2;
      const row = t * m;
      for (let i = 0; i < m; i++) {
        const zi = Z[row + i];
        if (zi === 0) continue;
        const czi = c * zi;
        g[i] += czi * y[t];
        for (let j = 0; j <= i; j++) A[i * m + j] += czi * Z[row + j];
      }
    }
    for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) A[j * m + i] = A[i * m + j];
    factor = regularizedCholesky(A, m).factor;
    const next = new Float64Array(g);
    choleskySolve(factor, m, next, 1);
    if (options.positive) constrainedSolve(A, g, next, m, first);
    for (let i = 0; i < m; i++) {
      if (!Number.isFinite(next[i])) throw new NumericalError(`btvc: coefficient ${i} became ${next[i]}`);
    }
    let ss = 0;
    for (let t = 0; t < T; t++) {
      let fit = 0;
      for (let i = 0; i < m; i++) fit += Z[t * m + i] * next[i];
      residual[t] = y[t] - fit;
    }
    for (let t = 0; t < T; t++) ss += weights[t] * residual[t] ** 2;
    const nextSigma2 = Math.max(ss / T, 1e-12 * (1 + yMean * yMean));
    for (let t = 0; t < T; t++) {
      weights[t] = (options.nu + 1) / (options.nu + residual[t] ** 2 / nextSigma2);
    }
    let change = Math.abs(nextSigma2 - sigma2) / sigma2;
    for (let i = 0; i < m; i++)
      change = Math.max(change, Math.abs(next[i] - theta[i]) / (1 + Math.abs(next[i])));
    theta = next;
    sigma2 = nextSigma2;
    converged = change < options.tolerance;
  }
  // Negative log posterior at θ, σ (Student-t likelihood plus the Gaussian priors).
  let objective = 0;
  for (let t = 0; t < T; t++) {
    objective += ((options.nu + 1) / 2) * Math.log1p(residual[t] ** 2 / (options.nu * sigma2));
  }
  objective += (T / 2) * Math.log(sigma2);
  for (let i = 0; i < m; i++) {
    let quad = 0;
    for (let j = 0; j < m; j++) quad += prior[i * m + j] * theta[j];
    objective += 0.5 * theta[i] * quad - theta[i] * priorMean[i];
  }
  const covariance = choleskyInverse(factor, m);
  const knotCoef = theta.slice(first);
  const knotSd = new Float64Array(K * P);
  for (let i = 0; i < K * P; i++) knotSd[i] = Math.sqrt(covariance[(first + i) * m + first + i]);
  const beta = new Float64Array(T * P);
  for (let t = 0; t < T; t++) {
    for (let p = 0; p < P; p++) {
      let v = 0;
      for (let k = 0; k < K; k++) v += W[t * K + k] * knotCoef[k * P + p];
      beta[t * P + p] = v;
    }
  }
  const level = new Float64Array(T);
  const row = new Float64Array(J);
  for (let t = 0; t < T; t++) {
    row.fill(0);
    levelRow(t, positions, row, 0);
    for (let j = 0; j < J; j++) level[t] += row[j] * theta[j];
  }
  return {
    T,
    P,
    levelKnots: theta.slice(0, J),
    levelPositions: positions,
    level,
    season: theta.slice(J, first),
    knotCoef,
    beta,
    knotSd,
    sigma: Math.sqrt(sigma2),
    iterations,
    converged,
    objective,
  };
}

/**
 * Minimises ½θᵀAθ − gᵀθ subject to θ_i ≥ 0 for i ≥ `first` (A positive definite), starting
 * from the unconstrained solution in `theta` (overwritten with the result). Active set, as in
 * Lawson–Hanson's NNLS: coefficients that go negative are pinned at 0, the free ones re-solved,
 * and a pinned one whose gradient pulls it up is released, until the KKT conditions hold.
 */
function constrainedSolve(A: Float64Array, g: Float64Array, theta: Float64Array, m: number, first: number) {
  const pinned = new Uint8Array(m);
  for (let i = first; i < m; i++) if (theta[i] < 0) pinned[i] = 1;
  if (!pinned.includes(1)) return;
  for (let round = 0; round < 3 * m; round++) {
    const free: number[] = [];
    for (let i = 0; i < m; i++) if (!pinned[i]) free.push(i);
    const f = free.length;
    const sub = new Float64Array(f * f);
    const rhs = new Float64Array(f);
    free.forEach((i, a) => {
      rhs[a] = g[i];
      free.forEach((j, b) => {
        sub[a * f + b] = A[i * m + j];
      });
    });
    choleskySolve(regularizedCholesky(sub, f).factor, f, rhs, 1);
    theta.fill(0);
    free.forEach((i, a) => {
      theta[i] = rhs[a];
    });
    let changed = false;
    for (const i of free) {
      if (i >= first && theta[i] < 0) {
        pinned[i] = 1;
        theta[i] = 0;
        changed = true;
      }
    }
    if (changed) continue;
    // KKT: a pinned coefficient stays at 0 only if the objective rises when it moves up.
    let release = -1;
    let steepest = 0;
    for (let i = first; i < m; i++) {
      if (!pinned[i]) continue;
      let gradient = -g[i];
      for (let j = 0; j < m; j++) gradient += A[i * m + j] * theta[j];
      if (gradient < steepest - 1e-12 * Math.abs(A[i * m + i])) {
        steepest = gradient;
        release = i;
      }
    }
    if (release < 0) return;
    pinned[release] = 0;
  }
}

/**
 * Geometric adstock with Hill saturation of one spend series, continued over `future` steps:
 * a_t = (1 − θ)·x_t + θ·a_{t−1}, then a^α/(a^α + (γ·ā)^α), where ā is the mean positive
 * adstocked spend of the history (scaled on history only).
 */
function transformSpend(
  history: ArrayLike<number>,
  future: ArrayLike<number>,
  decay: number,
  shape: number,
  half: number,
): Float64Array {
  const T = history.length;
  const out = new Float64Array(T + future.length);
  let a = 0;
  let total = 0;
  let positive = 0;
  for (let t = 0; t < out.length; t++) {
    const x = t < T ? history[t] : future[t - T];
    a = (1 - decay) * x + decay * a;
    out[t] = a;
    if (t < T && a > 0) {
      total += a;
      positive++;
    }
  }
  const gamma = half * (positive > 0 ? total / positive : 1);
  for (let t = 0; t < out.length; t++) out[t] = out[t] > 0 ? 1 / (1 + (gamma / out[t]) ** shape) : 0;
  return out;
}

export interface BtvcShopResult {
  fit: KtrFit;
  /** GMV forecast [horizon] in original units. */
  forecast: Float64Array;
  decay: number;
  half: number;
}

/**
 * Fits one shop and forecasts `horizon` steps. `spends` is C × T (history), `futureSpends`
 * C × horizon (known, or filled by the caller). GMV is scaled by its history mean.
 */
export function btvcShop(
  gmv: ArrayLike<number>,
  spends: readonly ArrayLike<number>[],
  futureSpends: readonly ArrayLike<number>[],
  horizon: number,
  options: BtvcOptions,
): BtvcShopResult {
  const T = gmv.length;
  const C = spends.length;
  let mean = 0;
  for (let t = 0; t < T; t++) mean += Math.abs(gmv[t]);
  const yScale = mean / T > 0 ? mean / T : 1;
  const y = Float64Array.from(gmv, (v) => v / yScale);
  const ktr: KtrOptions = { ...options, positive: options.positiveSpend };
  const candidates =
    options.transforms === 'fitted'
      ? DECAY_GRID.flatMap((decay) => HALF_GRID.map((half) => ({ decay, half })))
      : [{ decay: options.adstockDecay, half: options.hillHalf }];
  let best: { fit: KtrFit; regressors: Float64Array[]; decay: number; half: number } | undefined;
  for (const { decay, half } of candidates) {
    const regressors = spends.map((x, c) =>
      transformSpend(x, futureSpends[c], decay, options.hillShape, half),
    );
    const X = new Float64Array(T * C);
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) X[t * C + c] = regressors[c][t];
    const fit = fitKtr(y, X, T, C, ktr);
    if (!best || fit.objective < best.fit.objective) best = { fit, regressors, decay, half };
  }
  const { fit, regressors } = best!;
  const forecast = new Float64Array(horizon);
  const season = new Float64Array(2 * options.seasonOrder);
  const lastLevel = fit.level[T - 1];
  for (let h = 0; h < horizon; h++) {
    const t = T + h;
    fourierRow(t, options.seasonPeriod, options.seasonOrder, season, 0);
    let v = lastLevel;
    for (let i = 0; i < season.length; i++) v += season[i] * fit.season[i];
    for (let c = 0; c < C; c++) v += regressors[c][t] * fit.beta[(T - 1) * C + c];
    forecast[h] = v * yScale;
  }
  return { fit, forecast, decay: best!.decay, half: best!.half };
}

/**
 * BTVC-style Bayesian time-varying-coefficient regression (Ng, Wang & Dai 2021; Orbit's KTR),
 * fitted to each shop's GMV separately:
 *
 *   y_t = level_t + season_t + Σ_p x̃_{t,p} β_{t,p} + ε_t,   ε_t ~ Student-t(ν, 0, σ)
 *
 * with β_{t,p} = Σ_k w_{t,k} b_{k,p} from K Gaussian knot kernels (ρ = 0.15, knots anchored at
 * the last observation), a level linearly interpolated between level knots, Fourier
 * seasonality, and x̃ the spends after geometric adstock and Hill saturation. The MAP comes
 * from IRLS ({@link fitKtr}); knot-coefficient sds from the Laplace approximation are kept in
 * the fit. Forecast: level and coefficients frozen at their last value, seasonality carried
 * on, regressors from the known future spends (or, when unknown, each channel's mean over the
 * last `spendFillWindow` steps).
 *
 * Shapes: input panel [S, N, T]; forecasts [S, N, horizon] — the target row is the model's;
 * other nodes are persistence (or the known spends), since BTVC models GMV only.
 */
export const btvc = defineMethod({
  name: 'btvc',
  title: 'BTVC-style time-varying-coefficient regression (KTR)',
  paper:
    'E. Ng, Z. Wang and A. Dai, "Bayesian Time Varying Coefficient Model with Applications to Marketing Mix Modeling", arXiv:2106.03322, 2021',
  scaleDown:
    "MAP by IRLS with a Laplace posterior instead of full Bayesian sampling (SVI/MCMC in Orbit); adstock decay and half-saturation chosen from a small grid per shop (shared by the shop's channels); only spends are regressors",
  produces: ['forecast'] as const,
  options: btvcOptions,
  testConfig: { transforms: 'configured' },
  async run({ panel, horizon, futureChannels }, options) {
    checkFutureChannels('btvc', panel, horizon, futureChannels);
    const { shops: S, steps: T } = panel;
    if (horizon === 0) throw new UserError('btvc: needs a forecast horizon (set "horizon" in the config)');
    const channels = panel.channelIndices;
    const C = channels.length;
    const window = Math.min(options.spendFillWindow, T);
    const gmv = new Float64Array(S * horizon);
    let iterations = 0;
    let unconverged = 0;
    for (let s = 0; s < S; s++) {
      const spends = channels.map((node) => panel.series(s, node));
      const futureSpends = spends.map((x, c) => {
        if (futureChannels) return futureChannels.subarray((s * C + c) * horizon, (s * C + c + 1) * horizon);
        let mean = 0;
        for (let t = T - window; t < T; t++) mean += x[t];
        return new Float64Array(horizon).fill(mean / window);
      });
      const result = btvcShop(panel.series(s, panel.targetIndex), spends, futureSpends, horizon, options);
      iterations = Math.max(iterations, result.fit.iterations);
      if (!result.fit.converged) unconverged++;
      gmv.set(result.forecast, s * horizon);
    }
    const forecasts = gmvForecasts(panel, horizon, gmv, futureChannels);
    return { forecasts, info: { maxIterations: iterations, unconvergedShops: unconverged } };
  },
});
