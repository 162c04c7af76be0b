import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../src/errors.js';
import { defineMethod } from '../src/methods/method.js';
import { assertFiniteLoss, uniformVariable } from '../src/methods/neural.js';
import { checkSteps, laggedDesign, mapShops, shopsToScore } from '../src/methods/series.js';
import { Rng } from '../src/rng.js';

export const ingraOptions = z.strictObject({
  /** Past steps K each variable-wise encoder reads. */
  lag: z.int().min(1).default(5),
  /** Size D of each variable's hidden representation. */
  hidden: z.int().min(1).default(16),
  /** Number of shared prototypical attention matrices. */
  prototypes: z.int().min(1).default(4),
  /** Temperature of the softmax that matches a shop's attention to the prototypes. */
  temperature: z.number().positive().default(0.1),
  /** Weight of ‖α − ᾱ‖², pulling each shop's own attention towards its prototype mixture. */
  alignment: z.number().min(0).default(0.1),
  /** Adam steps and learning rate. */
  iterations: z.int().positive().default(500),
  lr: z.number().positive().default(0.01),
  /** Shops per step (minibatch over shops). */
  batchShops: z.int().positive().default(16),
  /** One global model over all shops (the paper's setting) or one model per shop. */
  pool: z.boolean().default(true),
  /**
   * Fraction of the shops (the first ones, in panel order) the global model trains on; the rest
   * get their graphs inductively, by a forward pass only. 1 = train on every shop.
   */
  trainFraction: z.number().gt(0).max(1).default(1),
  standardize: z.boolean().default(true),
});

export type IngraOptions = z.output<typeof ingraOptions>;

interface IngraModel {
  /** Variable-wise encoders: U [N, K, D], c [N, 1, D]. */
  U: tf.Variable;
  c: tf.Variable;
  /** Attention: query and key maps [D, D], global logit bias [N, N]. */
  Q: tf.Variable;
  Kmap: tf.Variable;
  bias: tf.Variable;
  /** Prototype attention logits [P, N, N]. */
  prototypes: tf.Variable;
  /** Readouts: w [N, N, D] (normalised per pair), output scale g [N] and intercept b0 [N]. */
  w: tf.Variable;
  g: tf.Variable;
  b0: tf.Variable;
}

function initModel(N: number, K: number, D: number, P: number, rng: Rng): IngraModel {
  return {
    U: uniformVariable(rng.fork('U'), [N, K, D], 1 / Math.sqrt(K)),
    c: uniformVariable(rng.fork('c'), [N, 1, D], 1 / Math.sqrt(K)),
    Q: uniformVariable(rng.fork('Q'), [D, D], 1 / Math.sqrt(D)),
    Kmap: uniformVariable(rng.fork('Kmap'), [D, D], 1 / Math.sqrt(D)),
    bias: uniformVariable(rng.fork('bias'), [N, N], 0.01),
    prototypes: uniformVariable(rng.fork('prototypes'), [P, N, N], 1),
    w: uniformVariable(rng.fork('w'), [N, N, D], 1 / Math.sqrt(D)),
    g: uniformVariable(rng.fork('g'), [N], 1),
    b0: uniformVariable(rng.fork('b0'), [N], 0.01),
  };
}

/**
 * Forward pass over a batch of B shops with R rows each.
 *
 * lagged [N, B·R, K] (source-major lag windows) → h [N, B·R, D] = tanh(lagged U + c);
 * shop summaries e [B, N, D] = mean over rows of h; individual Granger causal attention
 * α [B, N, N] = softmax_j((Q e_i)·(K e_j)/√D + bias_ij); prototypical attention
 * ᾱ = Σ_p softmax_p(−‖α − π_p‖²/τ) π_p with π_p = softmax_j(prototype logits); final attention
 * β = (α + ᾱ)/2; prediction x̂_i = g_i Σ_j β_ij ŵ_ijᵀ h_j + b0_i with ŵ_ij = w_ij/‖w_ij‖ [B·R, N].
 */
function forward(m: IngraModel, lagged: tf.Tensor3D, B: number, R: number, o: IngraOptions) {
  const [N] = lagged.shape;
  const D = o.hidden;
  const h = tf.tanh(tf.matMul(lagged, m.U).add(m.c)); // [N, B·R, D]
  const e = h.reshape([N, B, R, D]).mean(2).transpose([1, 0, 2]); // [B, N, D]
  const q = tf.matMul(e.reshape([B * N, D]), m.Q).reshape([B, N, D]);
  const k = tf.matMul(e.reshape([B * N, D]), m.Kmap).reshape([B, N, D]);
  const logits = tf.matMul(q, k, false, true).div(Math.sqrt(D)).add(m.bias); // [B, N, N]
  const alpha = tf.softmax(logits); // over j (last axis)
  const protoAttention = tf.softmax(m.prototypes); // [P, N, N]
  const distance = alpha.expandDims(1).sub(protoAttention.expandDims(0)).square().sum([2, 3]); // [B, P]
  const weights = tf.softmax(distance.neg().div(o.temperature)); // [B, P]
  const P = protoAttention.shape[0];
  const prototypical = tf.matMul(weights, protoAttention.reshape([P, N * N])).reshape([B, N, N]);
  const beta = alpha.add(prototypical).div(2);
  const wHat = m.w.div(m.w.square().sum(2, true).sqrt().add(1e-8)); // [N(i), N(j), D]
  // x̂_i = g_i Σ_{j,d} (β_ij ŵ_ijd) h_jd: one [R, N·D] × [N·D, N] matmul per shop.
  const mixing = beta
    .expandDims(3)
    .mul(wHat.expandDims(0))
    .reshape([B, N, N * D]);
  const hShops = h
    .reshape([N, B, R, D])
    .transpose([1, 2, 0, 3])
    .reshape([B, R, N * D]);
  const predictions = tf
    .matMul(hShops, mixing, false, true)
    .reshape([B * R, N])
    .mul(m.g)
    .add(m.b0); // [B·R, N]
  return { predictions, alpha, prototypical, beta };
}

/** Lag windows of a set of shops: lagged [N, S·R, K] (source-major) and targets [S·R, N]. */
function shopWindows(series: Float64Array[], N: number, T: number, K: number) {
  const R = T - K;
  const S = series.length;
  const lagged = new Float32Array(N * S * R * K);
  const targets = new Float32Array(S * R * N);
  series.forEach((x, s) => {
    const d = laggedDesign(x, N, T, K);
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < N; j++) {
        for (let l = 0; l < K; l++) lagged[(j * S * R + s * R + r) * K + l] = d.inputs[(r * N + j) * K + l];
        targets[(s * R + r) * N + j] = d.targets[r * N + j];
      }
    }
  });
  return { lagged, targets, R };
}

/**
 * Trains one InGRA model on `train` shops and returns β (N × N, `[i * N + j]` about j → i,
 * diagonal 0) for each shop of `infer` (which may include shops never trained on).
 */
export function fitIngra(
  train: Float64Array[],
  infer: Float64Array[],
  N: number,
  T: number,
  o: IngraOptions,
  rng: Rng,
): { scores: Float64Array[]; finalLoss: number } {
  const K = o.lag;
  const model = initModel(N, K, o.hidden, o.prototypes, rng);
  const params = Object.values(model) as tf.Variable[];
  const optimizer = tf.train.adam(o.lr);
  const order = rng.fork('batches');
  const B = Math.min(o.batchShops, train.length);
  let finalLoss = Number.NaN;
  try {
    for (let it = 1; it <= o.iterations; it++) {
      const picked = order.shuffle(Array.from({ length: train.length }, (_, s) => s)).slice(0, B);
      const batch = shopWindows(
        picked.map((s) => train[s]),
        N,
        T,
        K,
      );
      const value = tf.tidy(() => {
        const lagged = tf.tensor3d(batch.lagged, [N, B * batch.R, K]);
        const targets = tf.tensor2d(batch.targets, [B * batch.R, N]);
        return optimizer.minimize(
          () => {
            const f = forward(model, lagged, B, batch.R, o);
            const mse = f.predictions.sub(targets).square().mean();
            return mse.add(
              f.alpha.sub(f.prototypical).square().sum([1, 2]).mean().mul(o.alignment),
            ) as tf.Scalar;
          },
          true,
          params,
        ) as tf.Scalar;
      });
      if (it % 50 === 0 || it === o.iterations) {
        finalLoss = value.dataSync()[0];
        assertFiniteLoss(finalLoss, 'ingra', 'batch', it);
      }
      value.dispose();
    }
    const scores = infer.map((x) => {
      const one = shopWindows([x], N, T, K);
      const beta = tf.tidy(() =>
        forward(model, tf.tensor3d(one.lagged, [N, one.R, K]), 1, one.R, o).beta.dataSync(),
      );
      const matrix = Float64Array.from(beta);
      for (let i = 0; i < N; i++) matrix[i * N + i] = 0;
      return matrix;
    });
    return { scores, finalLoss };
  } finally {
    optimizer.dispose();
    tf.dispose(params);
  }
}

/**
 * InGRA, inductive Granger causal modelling with prototypical Granger causal attention
 * (Chu et al.): one global model over all shops, whose per-shop attention is the shop's graph.
 *
 * Mechanism (after the paper): each variable has its own encoder, shared across shops, turning
 * its K-step history into a representation h_j; a shop-specific Granger causal attention α
 * (target i attends over sources j) is computed from the shop's own representations; a small
 * set of shared prototypes — attention matrices, the common causal structures — is matched to α
 * and their similarity-weighted mixture ᾱ reconstructs it; predictions use β = (α + ᾱ)/2 to
 * weigh each source's contribution, and a penalty ‖α − ᾱ‖² pulls shops towards the prototypes.
 * Because α comes from a forward pass over a shop's data, a shop never seen in training gets its
 * graph inductively (`trainFraction` < 1 holds shops out). Score of j → i in a shop: β_ij.
 *
 * Simplified from the paper (whose full text was not available here; see the README): a
 * one-layer tanh encoder of the K-lag window per variable instead of a per-variable LSTM, a
 * scaled dot-product attention on time-averaged representations, and a fixed (α + ᾱ)/2 mix; no
 * separate reconstruction network for the prototypes.
 *
 * Shapes and orientation: input panel [S, N, T]; per shop an N × N score matrix, `[i * N + j]`
 * about j → i, diagonal 0. Series z-scored per shop. `pool: false` fits one model per shop.
 * tfjs with Adam (autodiff through the attention and prototype matching).
 */
export const ingra = defineMethod({
  name: 'ingra',
  title: 'InGRA (inductive Granger causality, prototypical attention)',
  paper:
    'Y. Chu, X. Wang, J. Ma, K. Jia, J. Zhou, H. Yang, "Inductive Granger Causal Modeling for Multivariate Time Series", IEEE ICDM 2020',
  scaleDown:
    'variable-wise one-layer tanh encoders of a 5-step window instead of variable-wise LSTMs; 500 Adam steps on minibatches of 16 shops; fixed β = (α + ᾱ)/2',
  produces: ['graph'] as const,
  options: ingraOptions,
  testConfig: { lag: 2, hidden: 8, iterations: 60, lr: 0.05, batchShops: 4 },
  async run(input, options) {
    const { panel, seed } = input;
    const { shops: S, nodeCount: N, steps: T } = panel;
    checkSteps('ingra', 'lag', options.lag, T);
    const trainShops = Math.ceil(options.trainFraction * S);
    if (!options.pool && options.trainFraction < 1) {
      throw new UserError(
        'ingra: option "trainFraction" < 1 needs "pool": true (a per-shop model cannot infer other shops)',
      );
    }
    const rng = new Rng(seed).fork('ingra');
    const scored = shopsToScore(input);
    if (options.pool) {
      const series = mapShops(panel, options.standardize, (x) => x);
      const fit = fitIngra(
        series.slice(0, trainShops),
        scored.map((s) => series[s]),
        N,
        T,
        options,
        rng,
      );
      return { graphScores: fit.scores, info: { trainShops, finalLoss: fit.finalLoss } };
    }
    const graphScores = mapShops(
      panel,
      options.standardize,
      (x, s) => fitIngra([x], [x], N, T, options, rng.fork(s)).scores[0],
      scored,
    );
    return { graphScores, info: { trainShops: scored.length } as Record<string, number> };
  },
});
