/**
 * Small helpers shared by the tfjs models: seeded initialisation, the proximal group-lasso
 * step, tanh by way of sigmoid, the NaN guard of a training loop, and the ISTA loop with early
 * stopping of the neural Granger models.
 */
import * as tf from '@tensorflow/tfjs';
import { NumericalError } from '../errors.js';
import { Rng } from '../rng.js';
import type { MethodInput } from './method.js';
import { mapShops, shopsToScore } from './series.js';

/**
 * A tensor drawn from U(−bound, bound) by `rng` (PyTorch's default Linear/Conv init uses
 * bound = 1/√fan_in), so that a seed fixes every initial weight whatever the backend.
 */
export function uniformTensor(rng: Rng, shape: number[], bound: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let k = 0; k < size; k++) values[k] = rng.between(-bound, bound);
  return tf.tensor(values, shape);
}

/** A trainable variable initialised by {@link uniformTensor} (the initial tensor is freed). */
export function uniformVariable(rng: Rng, shape: number[], bound: number): tf.Variable {
  return tf.tidy(() => tf.variable(uniformTensor(rng, shape, bound)));
}

/**
 * Proximal operator of threshold·‖w_g‖₂ for the groups of `w` that `axes` reduce over:
 * w_g ← w_g · max(0, 1 − threshold/‖w_g‖). A zero group stays zero.
 */
export function groupSoftThreshold(w: tf.Tensor, axes: number[], threshold: number): tf.Tensor {
  return tf.tidy(() => {
    const norm = w.square().sum(axes, true).sqrt();
    const factor = tf.relu(tf.sub(1, tf.div(threshold, tf.maximum(norm, 1e-30))));
    return w.mul(factor);
  });
}

/**
 * tanh(x) as 2σ(2x) − 1: tfjs-wasm's sigmoid kernel is vectorised and its tanh is not (~13×
 * slower on a [8, 90, 20] tensor, 223 against 17 µs), which the four small ops more than repay.
 */
export function tanhViaSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sigmoid(x.mul(2)).mul(2).sub(1);
}

/** Throws a NumericalError naming the method and shop when a training loss is NaN or infinite. */
export function assertFiniteLoss(
  loss: number,
  method: string,
  shop: number | string,
  iteration: number,
): void {
  if (!Number.isFinite(loss)) {
    throw new NumericalError(
      `${method}: training loss became ${loss} at iteration ${iteration} (shop ${shop})`,
    );
  }
}

/**
 * Early stopping as in Neural-GC's training loops: the objective is checked every `checkEvery`
 * iterations; the best parameters are kept; training stops once `lookback` checks in a row have
 * not improved on the best.
 */
export class EarlyStopping {
  best = Number.POSITIVE_INFINITY;
  bestIteration = 0;
  private saved: tf.Tensor[] = [];

  constructor(private readonly lookback: number) {}

  /** Records a check; returns true when training should stop. */
  check(loss: number, iteration: number, params: readonly tf.Variable[], checkEvery: number): boolean {
    if (loss < this.best) {
      this.best = loss;
      this.bestIteration = iteration;
      tf.dispose(this.saved);
      this.saved = params.map((p) => tf.keep(p.clone()));
      return false;
    }
    return iteration - this.bestIteration >= this.lookback * checkEvery;
  }

  /** Copies the best parameters back into `params` and frees the copies. */
  restore(params: readonly tf.Variable[]): void {
    if (this.saved.length === params.length) for (const [k, p] of params.entries()) p.assign(this.saved[k]);
    tf.dispose(this.saved);
    this.saved = [];
  }
}

/** The proximal-gradient problem of one neural Granger fit (cMLP, cLSTM). */
export interface IstaProblem {
  /** Trained by gradient steps on `smooth`; restored to the best checked iterate at the end. */
  params: readonly tf.Variable[];
  /** The differentiable part of the objective. */
  smooth: () => tf.Scalar;
  /** The penalty's value, for the early-stopping checks. */
  penalty: () => tf.Scalar;
  /** Applies the penalty's proximal map with threshold `step` · λ to the penalised weights. */
  proximal: () => void;
  /** The checked objective is (smooth + penalty) / `scale` (Neural-GC divides by the targets N). */
  scale: number;
}

/**
 * ISTA with a fixed step, as Neural-GC trains cMLP and cLSTM: a gradient step on the smooth
 * loss, then the proximal map; every `checkEvery` iterations (and at the last) the full
 * objective is checked for NaN and for early stopping. Returns the iterations run; the params
 * hold the best checked iterate.
 */
export function trainIsta(
  problem: IstaProblem,
  o: { lr: number; maxIter: number; checkEvery: number; lookback: number },
  where: { method: string; shop: number },
): number {
  const { params, smooth, penalty, proximal, scale } = problem;
  const stopping = new EarlyStopping(o.lookback);
  let iteration = 0;
  try {
    for (iteration = 1; iteration <= o.maxIter; iteration++) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(smooth, params as tf.Variable[]);
        for (const p of params) p.assign(p.sub(grads[p.name].mul(o.lr)));
        proximal();
      });
      if (iteration % o.checkEvery === 0 || iteration === o.maxIter) {
        const objective = tf.tidy(() => smooth().add(penalty()).div(scale).dataSync()[0]);
        assertFiniteLoss(objective, where.method, where.shop, iteration);
        if (stopping.check(objective, iteration, params, o.checkEvery)) break;
      }
    }
    stopping.restore(params);
    return Math.min(iteration, o.maxIter);
  } finally {
    stopping.restore([]);
  }
}

/** An N × N score matrix `[i * N + j]` (j → i) from per-pair values, with a zero diagonal. */
export function offDiagonalScores(values: ArrayLike<number>, N: number): Float64Array {
  const scores = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) scores[i * N + j] = i === j ? 0 : values[i * N + j];
  return scores;
}

/**
 * Fits each scored shop of `input` on its own, as cMLP and cLSTM do: its (standardised) N × T
 * series and its own random stream (seed → `method` → shop index, so a shop's fit does not
 * depend on which others are scored). Returns the fits, in `scoredShops` order, their graph
 * scores and their mean number of ISTA iterations.
 */
export function fitShopsIsta<Fit extends { scores: Float64Array; iterations: number }>(
  input: Pick<MethodInput, 'panel' | 'scoredShops' | 'seed'>,
  method: string,
  standardize: boolean,
  fitShop: (x: Float64Array, rng: Rng, shop: number) => Fit,
): { fits: Fit[]; graphScores: Float64Array[]; meanIterations: number } {
  const rng = new Rng(input.seed).fork(method);
  const fits = mapShops(input.panel, standardize, (x, s) => fitShop(x, rng.fork(s), s), shopsToScore(input));
  const meanIterations = fits.reduce((sum, fit) => sum + fit.iterations, 0) / fits.length;
  return { fits, graphScores: fits.map((fit) => fit.scores), meanIterations };
}
