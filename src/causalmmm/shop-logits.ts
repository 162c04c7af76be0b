import * as tf from '@tensorflow/tfjs';
import type { Panel } from '../data/panel.js';
import { Rng } from '../rng.js';
import { CausalmmmModel } from './model.js';
import type { CausalmmmOptions } from './options.js';
import { Adam, batchTensors, logisticNoise, oneStepElbo, prepareSeries } from './train.js';

export interface ShopLogitsSettings {
  /** Adam steps. */
  steps: number;
  /** Shops per step (drawn with replacement). */
  batchSize: number;
  /** Length of the random crop each step trains on; must be ≤ the panel's steps. */
  window: number;
  /** Learning rate of the decoder; the logits take `edgeRate` × this. */
  learningRate: number;
  edgeRate: number;
  seed: number;
}

/**
 * The graph the ELBO itself prefers: one free logit per shop and ordered pair, [S, N, N],
 * trained jointly with CausalMMM's decoder (whichever `options` choose) on one-step targets,
 * with Gumbel-softmax samples and λ·KL to the prior as in training — no encoder. If these
 * logits do not rank a shop's true edges first, no encoder trained on the same objective can
 * be expected to, however well it is built: it is the ceiling of the objective, not of the
 * amortisation. Element (s, i, j) scores j → i in shop s.
 * @param onCheckpoint called every `every` steps with the current logits (one N·N array per shop)
 */
export function fitShopLogits(
  panel: Panel,
  options: CausalmmmOptions,
  settings: ShopLogitsSettings,
  onCheckpoint?: (step: number, logits: Float32Array[], loss: number) => void,
  every = 100,
): Float32Array[] {
  const data = prepareSeries(panel, options.scale);
  const { shops: S, nodes: N, steps: T, contextSize: C } = data;
  const { window: W, batchSize: B } = settings;
  if (W < 3 || W > T) throw new RangeError(`fitShopLogits: window ${W} must be within 3…${T} steps`);
  const rng = new Rng(settings.seed).fork('shop-logits');
  const model = new CausalmmmModel(
    {
      nodes: N,
      encoderSteps: W,
      contextSize: C,
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    },
    // `full` builds no encoder: the edges come from the free logits below instead.
    { ...options, graph: 'full' },
    rng.fork('init'),
  );
  const logits = tf.tidy(() => tf.variable(tf.zeros([S, N * N])));
  const variables = [...model.variables, logits];
  const adam = new Adam(variables, [...model.learningRates, settings.edgeRate]);
  const draws = rng.fork('batches');
  const current = () => {
    const flat = logits.dataSync() as Float32Array;
    return Array.from({ length: S }, (_, s) => flat.slice(s * N * N, (s + 1) * N * N));
  };
  try {
    for (let step = 1; step <= settings.steps; step++) {
      const shops = Array.from({ length: B }, () => Math.floor(draws.uniform() * S));
      const starts = shops.map(() => Math.floor(draws.uniform() * (T - W + 1)));
      const noise = logisticNoise(draws, B, N);
      // A one-hot product rather than tf.gather: gather's gradient has no wasm kernel.
      const pick = tf.tidy(() => tf.oneHot(tf.tensor1d(shops, 'int32'), S).toFloat() as tf.Tensor2D);
      const { x, context } = batchTensors(data, shops, { starts, length: W });
      const { value, grads } = tf.variableGrads(
        () => oneStepElbo(model, x, context, pick.matMul(logits).reshape([B, N, N]) as tf.Tensor3D, noise),
        variables,
      );
      adam.step(
        variables.map((v) => grads[v.name]),
        settings.learningRate,
        options.clipNorm,
      );
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads), noise, pick, x, ...(context ? [context] : [])]);
      if (!Number.isFinite(loss)) throw new Error(`fitShopLogits: the loss is ${loss} at step ${step}`);
      if (onCheckpoint && step % every === 0) onCheckpoint(step, current(), loss);
    }
    return current();
  } finally {
    adam.dispose();
    logits.dispose();
    model.dispose();
  }
}
