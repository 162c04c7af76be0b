import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineMethod } from '../src/methods/method.js';
import { assertFiniteLoss, uniformVariable } from '../src/methods/neural.js';
import { checkSteps, laggedDesign, mapShops, reverseTime, shopsToScore } from '../src/methods/series.js';
import { Rng } from '../src/rng.js';

export const gvarOptions = z.strictObject({
  /** Model order K: one coefficient network per lag. */
  lag: z.int().min(1).default(5),
  hiddenLayers: z.int().min(1).max(4).default(2),
  hiddenSize: z.int().min(1).default(50),
  /** Weight λ of the sparsity penalty. */
  lambda: z.number().min(0).default(0.75),
  /** Weight γ of the smoothness penalty ‖Ψ_{t+1} − Ψ_t‖. */
  gamma: z.number().min(0).default(0.0125),
  /** Elastic mix of the sparsity penalty: (1 − α)·group norm over lags + α·L1 over lags. */
  alpha: z.number().min(0).max(1).default(0.5),
  epochs: z.int().positive().default(200),
  batchSize: z.int().positive().default(64),
  /** Adam learning rate. */
  lr: z.number().positive().default(1e-3),
  /** Binary graph by the stability procedure (fits a second model on the time-reversed series). */
  stability: z.boolean().default(true),
  /** Number of quantile thresholds tried by the stability procedure. */
  quantiles: z.int().min(2).default(20),
  standardize: z.boolean().default(true),
});

export type GvarOptions = z.output<typeof gvarOptions>;

/**
 * Fits one GVAR to an N × T series and returns the score matrix (N × N, `[i * N + j]` about
 * j → i): max over lags k of the median over time of |Ψ_k(x_{t−k})[i][j]|.
 *
 * Shapes: lagged inputs [K, rows, N] (k = 0 is lag 1); network of lag k: N → H (ReLU) … → N²;
 * coefficients Ψ [K, rows, N, N] with Ψ[k, r, i, j] multiplying x_j[t − k − 1] in x̂_i[t];
 * prediction x̂ = Σ_k Ψ_k x_{t−k−1} [rows, N].
 */
export function fitGvar(
  x: Float64Array,
  N: number,
  T: number,
  o: GvarOptions,
  rng: Rng,
  shop: number,
): { scores: Float64Array; finalLoss: number } {
  const K = o.lag;
  const H = o.hiddenSize;
  const design = laggedDesign(x, N, T, K);
  const rows = design.rows;
  // [rows, N, K] → [K, rows, N]
  const inputs = tf.tidy(() => tf.tensor3d(design.inputs, [rows, N, K]).transpose([2, 0, 1]));
  const targets = tf.tensor2d(design.targets, [rows, N]);
  const layers: { W: tf.Variable; b: tf.Variable }[] = [];
  let fanIn = N;
  for (let l = 0; l <= o.hiddenLayers; l++) {
    const out = l === o.hiddenLayers ? N * N : H;
    const bound = 1 / Math.sqrt(fanIn);
    layers.push({
      W: uniformVariable(rng.fork(`W${l}`), [K, fanIn, out], bound),
      b: uniformVariable(rng.fork(`b${l}`), [K, 1, out], bound),
    });
    fanIn = out;
  }
  const params = layers.flatMap((layer) => [layer.W, layer.b]);
  /** Ψ for the rows of `lagged` ([K, n, N]) → [K, n, N, N]. */
  const coefficients = (lagged: tf.Tensor3D): tf.Tensor4D => {
    let h: tf.Tensor = lagged;
    layers.forEach((layer, l) => {
      h = tf.matMul(h as tf.Tensor3D, layer.W).add(layer.b);
      if (l < layers.length - 1) h = tf.relu(h);
    });
    return h.reshape([K, lagged.shape[1], N, N]);
  };
  /** MSE + λ·sparsity + γ·smoothness over a block of consecutive rows. */
  const loss = (lagged: tf.Tensor3D, y: tf.Tensor2D): tf.Scalar => {
    const psi = coefficients(lagged);
    const predictions = psi.mul(lagged.expandDims(2)).sum(3).sum(0);
    const mse = predictions.sub(y).square().mean();
    const groupNorm = psi.square().sum(0).sqrt().mean();
    const l1 = psi.abs().sum(0).mean();
    const sparsity = groupNorm.mul(1 - o.alpha).add(l1.mul(o.alpha));
    const n = lagged.shape[1];
    let total = mse.add(sparsity.mul(o.lambda));
    if (n > 1 && o.gamma > 0) {
      const change = psi.slice([0, 1, 0, 0], [K, n - 1, N, N]).sub(psi.slice([0, 0, 0, 0], [K, n - 1, N, N]));
      total = total.add(change.square().sum().sqrt().mul(o.gamma));
    }
    return total as tf.Scalar;
  };
  // Batches are blocks of consecutive rows, visited in a seeded random order each epoch, so the
  // smoothness term compares Ψ at neighbouring time points inside a block.
  const batch = Math.min(o.batchSize, rows);
  const starts = Array.from({ length: Math.ceil(rows / batch) }, (_, b) => b * batch);
  const optimizer = tf.train.adam(o.lr);
  const order = rng.fork('batches');
  let finalLoss = Number.NaN;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      // The loss is read back (a sync) only every 20th and the last epoch.
      const watched = epoch === o.epochs - 1 || epoch % 20 === 0;
      let epochLoss = 0;
      for (const start of order.shuffle(starts)) {
        const n = Math.min(batch, rows - start);
        const value = tf.tidy(
          () =>
            optimizer.minimize(
              () =>
                loss(
                  inputs.slice([0, start, 0], [K, n, N]) as tf.Tensor3D,
                  targets.slice([start, 0], [n, N]) as tf.Tensor2D,
                ),
              true,
              params,
            ) as tf.Scalar,
        );
        if (watched) epochLoss += value.dataSync()[0];
        value.dispose();
      }
      if (watched) {
        finalLoss = epochLoss / starts.length;
        assertFiniteLoss(finalLoss, 'gvar', shop, epoch);
      }
    }
    const psi = tf.tidy(() =>
      coefficients(inputs as tf.Tensor3D)
        .abs()
        .dataSync(),
    );
    const scores = new Float64Array(N * N);
    const column = new Float64Array(rows);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          for (let r = 0; r < rows; r++) column[r] = psi[((k * rows + r) * N + i) * N + j];
          scores[i * N + j] = Math.max(scores[i * N + j], median(column));
        }
      }
    }
    return { scores, finalLoss };
  } finally {
    optimizer.dispose();
    tf.dispose([inputs, targets, ...params]);
  }
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** numpy's default (linear) quantile of `values` at level q. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Balanced accuracy of `pred` against `truth` (0/1) over off-diagonal entries; 0.5 per undefined class. */
function balancedAccuracy(truth: Uint8Array, pred: Uint8Array, N: number): number {
  let tp = 0;
  let pos = 0;
  let tn = 0;
  let neg = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (i === j) continue;
      const k = i * N + j;
      if (truth[k]) {
        pos++;
        if (pred[k]) tp++;
      } else {
        neg++;
        if (!pred[k]) tn++;
      }
    }
  }
  return ((pos ? tp / pos : 0.5) + (neg ? tn / neg : 0.5)) / 2;
}

/**
 * The stability-based threshold of GVAR (time-reversed Granger causality): for Q quantile levels
 * α ∈ [1/N², 1 − 1/N], binarise the scores of the original series and the transposed scores of the
 * time-reversed series at their own α-quantiles, and keep the level where the two graphs agree
 * best (mean of the two balanced accuracies, off-diagonal). Returns the original scores
 * thresholded there. The true graph plays no part.
 */
export function stabilityGraph(
  forward: Float64Array,
  reversedTransposed: Float64Array,
  N: number,
  Q: number,
): { graph: Uint8Array; level: number; agreement: number } {
  const sortedForward = Float64Array.from(forward).sort();
  const sortedReversed = Float64Array.from(reversedTransposed).sort();
  const low = 1 / (N * N);
  const high = 1 - N / (N * N);
  const binarize = (scores: Float64Array, threshold: number) => scores.map((v) => (v >= threshold ? 1 : 0));
  let best = { graph: new Uint8Array(N * N), level: low, agreement: -1 };
  for (let q = 0; q < Q; q++) {
    const level = low + ((high - low) * q) / (Q - 1);
    const a = Uint8Array.from(binarize(forward, quantile(sortedForward, level)));
    const b = Uint8Array.from(binarize(reversedTransposed, quantile(sortedReversed, level)));
    const agreement = (balancedAccuracy(a, b, N) + balancedAccuracy(b, a, N)) / 2;
    if (agreement > best.agreement) best = { graph: a, level, agreement };
  }
  for (let i = 0; i < N; i++) best.graph[i * N + i] = 0;
  return best;
}

/**
 * Generalised vector autoregression (GVAR), a self-explaining network for Granger causality,
 * fitted to each shop separately.
 *
 * Model: x̂_t = Σ_{k=1..K} Ψ_k(x_{t−k}) x_{t−k}, where Ψ_k is an MLP (hidden ReLU layers) emitting
 * an N × N coefficient matrix from x_{t−k}. Loss = MSE + λ·[(1 − α)·mean ‖Ψ_{·,t,i,j}‖₂ over lags
 * + α·mean ‖Ψ_{·,t,i,j}‖₁] + γ·‖Ψ_{t+1} − Ψ_t‖_F, minimised by Adam on minibatches.
 * Score of j → i: max_k median_t |Ψ_k(x_{t−k})[i][j]|. Binary graph: the stability procedure —
 * a second GVAR on the time-reversed series, whose transposed scores should agree with the first;
 * the quantile threshold of best agreement is used ({@link stabilityGraph}). (λ, γ) is one fixed
 * pair, the middle of the authors' Lorenz-96 grid (λ ∈ [0, 3], γ ∈ [0, 0.025]), never tuned on
 * the true graph.
 *
 * Shapes and orientation: input panel [S, N, T]; per shop an N × N score matrix and binary graph,
 * `[i * N + j]` about j → i, diagonal 0. Series are z-scored per shop as in the reference.
 *
 * Implementation: tfjs (autodiff through the K coefficient networks, batched as [K, rows, ·]
 * matmuls); the hand-written gradient of the smoothness and elastic terms would be long and
 * error-prone, and the per-lag networks are matmul-bound like cMLP's.
 */
export const gvar = defineMethod({
  name: 'gvar',
  title: 'GVAR (generalised vector autoregression, self-explaining network)',
  paper:
    'R. Marcinkevičs, J. E. Vogt, "Interpretable Models for Granger Causality Using Self-explaining Neural Networks", ICLR 2021',
  scaleDown:
    'reference Lorenz-96 architecture (K 5, 2 hidden layers of 50, batch 64, α 0.5) but 200 epochs at Adam lr 1e-3 instead of 1000 at 1e-4; batches are blocks of consecutive rows so smoothness needs no second forward pass; the stability procedure fits 2 models (original, reversed), not a grid over (λ, γ)',
  produces: ['graph'] as const,
  options: gvarOptions,
  testConfig: {
    lag: 2,
    hiddenLayers: 1,
    hiddenSize: 16,
    epochs: 20,
    batchSize: 75,
    lr: 0.01,
    lambda: 0.1,
    stability: false,
  },
  async run(input, options) {
    const { panel, seed } = input;
    const { nodeCount: N, steps: T } = panel;
    checkSteps('gvar', 'lag', options.lag, T);
    const rng = new Rng(seed).fork('gvar');
    const scored = shopsToScore(input);
    const fits = mapShops(
      panel,
      options.standardize,
      (x, s) => {
        const forward = fitGvar(x, N, T, options, rng.fork(`${s}/forward`), s);
        for (let i = 0; i < N; i++) forward.scores[i * N + i] = 0;
        if (!options.stability) return { scores: forward.scores, graph: undefined, agreement: Number.NaN };
        const reversed = fitGvar(reverseTime(x, N, T), N, T, options, rng.fork(`${s}/reversed`), s);
        const transposed = new Float64Array(N * N);
        for (let i = 0; i < N; i++)
          for (let j = 0; j < N; j++) transposed[i * N + j] = reversed.scores[j * N + i];
        const stable = stabilityGraph(forward.scores, transposed, N, options.quantiles);
        return { scores: forward.scores, ...stable };
      },
      scored,
    );
    return {
      graphScores: fits.map((fit) => fit.scores),
      graphs: options.stability ? fits.map((fit) => fit.graph!) : undefined,
      info: {
        meanAgreement: options.stability
          ? fits.reduce((sum, fit) => sum + fit.agreement, 0) / fits.length
          : 'off',
      },
    };
  },
});
