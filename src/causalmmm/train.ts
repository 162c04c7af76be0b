import * as tf from '@tensorflow/tfjs';
import { currentBackend } from '../backend.js';
import type { Panel } from '../data/panel.js';
import { NumericalError, UserError } from '../errors.js';
import { Rng } from '../rng.js';
import {
  CausalmmmModel,
  type Dropout,
  grangerWindowMinimum,
  type NormMode,
  noDropout,
  seededDropout,
} from './model.js';
import type { CausalmmmOptions } from './options.js';
import { type BatchPart, GradientWorkers, type PartResult, splitBatch } from './parallel.js';
import { assignPacked, packValues, restore, snapshot } from './params.js';

/**
 * Series of S shops ready for the model: scaled values [S, N, T] (C order), the per-node
 * scaling that maps them back (`original = scaled · scale + center`, [S, N] each) and the
 * context [S, k].
 */
export interface ShopSeries {
  shops: number;
  nodes: number;
  steps: number;
  values: Float32Array;
  center: Float32Array;
  scale: Float32Array;
  context?: Float32Array;
  contextSize: number;
}

/** Scales each shop's node series by statistics of that series alone (no other shop, no future). */
export function prepareSeries(panel: Panel, how: CausalmmmOptions['scale']): ShopSeries {
  const { shops: S, nodeCount: N, steps: T } = panel;
  const center = new Float32Array(S * N);
  const scale = new Float32Array(S * N).fill(1);
  for (let r = 0; r < S * N; r++) {
    const series = panel.values.subarray(r * T, (r + 1) * T);
    if (how === 'max') {
      let peak = 0;
      for (const v of series) peak = Math.max(peak, Math.abs(v));
      if (peak > 0) scale[r] = peak;
    } else if (how === 'standard') {
      let mean = 0;
      for (const v of series) mean += v;
      mean /= T;
      let ss = 0;
      for (const v of series) ss += (v - mean) ** 2;
      center[r] = mean;
      const sd = Math.sqrt(ss / T);
      if (sd > 0) scale[r] = sd;
    }
  }
  return applyScaling(panel, center, scale);
}

/** A panel scaled by given per-node scalers [S · N]: `scaled = (original − center) / scale`. */
export function applyScaling(panel: Panel, center: Float32Array, scale: Float32Array): ShopSeries {
  const { shops: S, nodeCount: N, steps: T } = panel;
  const values = new Float32Array(S * N * T);
  for (let r = 0; r < S * N; r++) {
    for (let t = 0; t < T; t++) values[r * T + t] = (panel.values[r * T + t] - center[r]) / scale[r];
  }
  return {
    shops: S,
    nodes: N,
    steps: T,
    values,
    center,
    scale,
    context: panel.context,
    contextSize: panel.contextSize,
  };
}

/**
 * The rows `shops` of a series set as tensors: x [B, N, L] and context [B, k], where each
 * shop's window is steps [starts[b], starts[b] + L) (the whole series by default).
 */
export function batchTensors(
  data: ShopSeries,
  shops: readonly number[],
  window?: { starts: readonly number[]; length: number },
): { x: tf.Tensor3D; context?: tf.Tensor2D } {
  const { nodes: N, steps: T, contextSize: k } = data;
  const L = window?.length ?? T;
  const x = new Float32Array(shops.length * N * L);
  const context = data.context ? new Float32Array(shops.length * k) : undefined;
  shops.forEach((s, b) => {
    const start = window?.starts[b] ?? 0;
    for (let n = 0; n < N; n++) {
      const row = (s * N + n) * T + start;
      x.set(data.values.subarray(row, row + L), (b * N + n) * L);
    }
    if (context && data.context) context.set(data.context.subarray(s * k, (s + 1) * k), b * k);
  });
  return {
    x: tf.tensor3d(x, [shops.length, N, L]),
    ...(context ? { context: tf.tensor2d(context, [shops.length, k]) } : {}),
  };
}

/**
 * Starts of two non-overlapping crops of `length` steps in a series of T steps, in random
 * order: [decoder's, encoder's].
 */
function disjointCrops(rng: Rng, T: number, length: number): [number, number] {
  const first = rng.int(T - 2 * length + 1);
  const second = first + length + rng.int(T - 2 * length - first + 1);
  return rng.uniform() < 0.5 ? [first, second] : [second, first];
}

/** `count` standard logistic draws (the difference of two Gumbel draws) from a seeded stream. */
function logisticNoiseValues(rng: Rng, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < out.length; i++) {
    const u = Math.min(Math.max(rng.uniform(), 1e-10), 1 - 1e-10);
    out[i] = Math.log(u) - Math.log(1 - u);
  }
  return out;
}

/** Standard logistic noise [B, N, N] from a seeded stream. */
export function logisticNoise(rng: Rng, B: number, N: number): tf.Tensor3D {
  return tf.tensor3d(logisticNoiseValues(rng, B * N * N), [B, N, N]);
}

/**
 * The training pass of one part of a batch (all of it with one thread): the gradient of the
 * part's mean negative ELBO with respect to `trained`, and its terms [loss, nll, kl, mse]
 * (scalars the caller disposes). Each shop is cropped to `length` steps from its crop start
 * (and the encoder reads its second crop under `encoderWindow: disjoint`).
 */
export function partGradients(
  model: CausalmmmModel,
  data: ShopSeries,
  part: BatchPart,
  trained: tf.Variable[],
  length: number,
  dropout: Dropout = noDropout,
): { grads: tf.NamedTensorMap; losses: tf.Scalar[] } {
  const terms: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const crop = (which: number) => ({ starts: part.crops.map((c) => c[which]), length });
    const { x, context } = batchTensors(data, part.shops, crop(0));
    const encoderX =
      model.options.encoderWindow === 'disjoint' ? batchTensors(data, part.shops, crop(1)).x : undefined;
    const noise = tf.tensor3d(part.noise, [part.shops.length, data.nodes, data.nodes]);
    const l = model.losses(x, context, noise, 'train', dropout, encoderX);
    terms.push(tf.keep(l.nll), tf.keep(l.kl), tf.keep(l.mse));
    return l.loss;
  }, trained);
  return { grads, losses: [value, ...terms] };
}

/**
 * Σ_k weights[k] · the gradient of part k, per variable with a gradient on the main thread
 * (`own`, disposed); the workers' parts come as arrays.
 */
function combineGradients(
  variables: readonly tf.Variable[],
  own: tf.NamedTensorMap,
  others: readonly PartResult[],
  weights: readonly number[],
): tf.NamedTensorMap {
  const combined: tf.NamedTensorMap = {};
  tf.tidy(() => {
    variables.forEach((v, i) => {
      const mine = own[v.name];
      if (!mine) return;
      let sum = mine.mul(weights[0]);
      others.forEach((other, k) => {
        const g = other.grads[i];
        if (g) sum = sum.add(tf.tensor(g, v.shape).mul(weights[k + 1]));
      });
      combined[v.name] = tf.keep(sum);
    });
  });
  tf.dispose(Object.values(own));
  return combined;
}

/** Adam as in PyTorch (β = 0.9, 0.999, ε = 1e-8 added to √v̂), with a learning rate set per step. */
export class Adam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(
    private readonly variables: readonly tf.Variable[],
    /** Learning-rate multiplier per variable. */
    private readonly rates: readonly number[] = variables.map(() => 1),
  ) {
    this.m = variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.v = variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
  }

  step(grads: readonly (tf.Tensor | undefined)[], lr: number, clipNorm: number): void {
    this.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const correction1 = 1 - b1 ** this.t;
    const correction2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      let factor = 1;
      if (clipNorm > 0) {
        const present = grads.filter((g) => g !== undefined);
        const norm = Math.sqrt(tf.addN(present.map((g) => g.square().sum())).dataSync()[0]);
        if (norm > clipNorm) factor = clipNorm / norm;
      }
      this.variables.forEach((x, i) => {
        // A variable an ablation leaves unused (e.g. the update gate under `temporal: none`) has no gradient.
        if (!grads[i]) return;
        const g = factor === 1 ? grads[i] : grads[i].mul(factor);
        const m = this.m[i].mul(b1).add(g.mul(1 - b1));
        const v = this.v[i].mul(b2).add(g.square().mul(1 - b2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        x.assign(
          x.sub(
            m
              .div(correction1)
              .mul(lr * this.rates[i])
              .div(v.div(correction2).sqrt().add(1e-8)),
          ),
        );
      });
    });
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  /** Mean training loss (negative ELBO) over the epoch's batches. */
  loss: number;
  nll: number;
  kl: number;
  /** Mean squared one-step error of the scaled series over the training batches. */
  mse: number;
  /** Validation negative ELBO (NaN without a validation split). */
  valLoss: number;
  seconds: number;
}

export interface TrainResult {
  model: CausalmmmModel;
  /**
   * Under `graphAverage: epochs` (on a learned graph: {@link averagesSnapshots}), the encoder's
   * variables and the BatchNorm statistics at the end of each epoch up to `bestEpoch`, packed
   * ({@link packValues}); else empty. They are kept in host memory rather than as tensors, so
   * the tensor count stays flat across epochs.
   */
  snapshots: Float32Array[];
  history: EpochReport[];
  /** Epoch whose weights were kept (best validation ELBO, else the last). */
  bestEpoch: number;
  trainShops: number;
  valShops: number;
}

/**
 * Mean loss of `shops` in eval mode, in batches, on each shop's last window, with fixed noise
 * (comparable across epochs).
 */
function evaluate(
  model: CausalmmmModel,
  data: ShopSeries,
  shops: readonly number[],
  mode: NormMode,
  seed: string,
  length: number,
) {
  const rng = new Rng(seed);
  let total = 0;
  for (let start = 0; start < shops.length; start += 64) {
    const batch = shops.slice(start, start + 64);
    total += tf.tidy(() => {
      const starts = batch.map(() => data.steps - length);
      const { x, context } = batchTensors(data, batch, { starts, length });
      const encoderX =
        model.options.encoderWindow === 'disjoint'
          ? batchTensors(data, batch, { starts: batch.map(() => data.steps - 2 * length), length }).x
          : undefined;
      const noise = logisticNoise(rng, batch.length, data.nodes);
      const { loss } = model.losses(x, context, noise, mode, noDropout, encoderX);
      return loss.dataSync()[0] * batch.length;
    });
  }
  return total / shops.length;
}

/**
 * Trains CausalMMM on the given shops: Adam on the negative ELBO with step decay, early
 * stopping on a held-out share of the shops, best checkpoint kept. Every random draw (split,
 * shuffles, initial weights, Gumbel noise, dropout) comes from `seed`.
 */
export function trainCausalmmm(
  data: ShopSeries,
  options: CausalmmmOptions,
  seed: number,
  shape: { targetIndex: number; channelIndices: readonly number[] },
  /** Called after every epoch with the model's current (not best) weights and the shop split. */
  onEpoch?: (report: EpochReport, model: CausalmmmModel, split: { fit: number[]; val: number[] }) => void,
): TrainResult {
  const root = new Rng(seed).fork('causalmmm');
  const { shops: S, nodes: N, steps: T } = data;
  const L = options.trainWindow > 0 ? Math.min(options.trainWindow, T) : T;
  const M = options.predictSteps;
  const disjoint = options.encoderWindow === 'disjoint';
  if (disjoint && (options.trainWindow === 0 || 2 * L > T)) {
    throw new UserError(
      `causalmmm: encoderWindow disjoint needs trainWindow > 0 with 2 · trainWindow ≤ the series' ${T} steps (trainWindow is ${options.trainWindow})`,
    );
  }
  if (L - M < 2) {
    throw new UserError(
      `causalmmm: training windows of ${L} steps are too short for predictSteps ${M} (need at least ${M + 2})`,
    );
  }
  const encoderSteps = options.encoderWindow === 'history' ? L - M : L;
  const grangerSteps = grangerWindowMinimum(N, options.grangerLags);
  if (options.edgeFeatures === 'granger' && encoderSteps < grangerSteps) {
    throw new UserError(
      `causalmmm: edgeFeatures granger fits a VAR(${options.grangerLags}) over ${N} nodes on the encoder's ${encoderSteps}-step window, which needs at least ${grangerSteps} steps (lower grangerLags or raise trainWindow)`,
    );
  }
  const partsPerBatch = Math.min(options.threads, options.batchSize);
  if (partsPerBatch > 1 && options.dropout > 0) {
    throw new UserError(
      `causalmmm: threads ${options.threads} needs dropout 0 (dropout is ${options.dropout}): the workers cannot draw the main thread's dropout masks`,
    );
  }
  const order = root.fork('split').shuffle(Array.from({ length: S }, (_, s) => s));
  const valCount = S >= 2 ? Math.min(S - 1, Math.round(options.valFraction * S)) : 0;
  const valShops = order.slice(0, valCount);
  const fitShops = order.slice(valCount);
  const model = new CausalmmmModel(
    {
      nodes: N,
      encoderSteps,
      contextSize: data.contextSize,
      ...shape,
    },
    options,
    root.fork('init'),
  );
  const adam = new Adam(model.variables, model.learningRates);
  const decoderVariables = model.variables.filter((v) => !model.encoderVariables.includes(v));
  const dropout: Dropout = seededDropout(options.dropout, root.fork('dropout'));
  const evalMode: NormMode = options.evalNorm;
  let workers: GradientWorkers | undefined;
  const history: EpochReport[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  const snapshots: Float32Array[] = [];
  let sinceBest = 0;
  try {
    if (partsPerBatch > 1) {
      const statisticsSize = model.statistics.reduce((n, t) => n + t.size, 0);
      workers = new GradientWorkers(
        partsPerBatch - 1,
        {
          backend: currentBackend(),
          shape: model.shape,
          options,
          data,
          trainLength: L,
          variableSizes: model.variables.map((v) => v.size),
          maxPart: Math.ceil(options.batchSize / partsPerBatch),
          // Each BatchNorm call's mean and variance: as many values as its running pair, and
          // room for a block applied twice per pass.
          statisticsSize: 2 * statisticsSize,
        },
        N,
      );
    }
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const started = performance.now();
      const lr = options.learningRate * options.lrDecayFactor ** Math.floor(epoch / options.lrDecayEvery);
      const epochRng = root.fork(`epoch${epoch}`);
      const perShop = options.trainWindow > 0 ? options.windowsPerShop : 1;
      const pass = fitShops.flatMap((s) => Array<number>(perShop).fill(s));
      const shuffled = epochRng.shuffle(pass);
      // A fixed number of steps per epoch: further fresh shuffles of the pass, cut to length.
      if (options.stepsPerEpoch > 0) {
        const wanted = options.stepsPerEpoch * options.batchSize;
        while (shuffled.length < wanted) shuffled.push(...epochRng.shuffle(pass));
        shuffled.length = wanted;
      }
      const trained =
        options.encoderEpochs > 0 && epoch >= options.encoderEpochs ? decoderVariables : model.variables;
      const sums = { loss: 0, nll: 0, kl: 0, mse: 0 };
      for (let start = 0; start < shuffled.length; start += options.batchSize) {
        const batch = shuffled.slice(start, start + options.batchSize);
        const crops = batch.map(() => (disjoint ? disjointCrops(epochRng, T, L) : [epochRng.int(T - L + 1)]));
        const noise = logisticNoiseValues(epochRng, batch.length * N * N);
        const parts = splitBatch({ shops: batch, crops, noise }, (workers?.count ?? 0) + 1, N);
        if (parts.length > 1) workers?.post(parts, model.variables, trained === model.variables);
        const own = partGradients(model, data, parts[0], trained, L, dropout);
        let grads = own.grads;
        let [loss, nll, kl, mse] = own.losses.map((t) => t.dataSync()[0]);
        tf.dispose(own.losses);
        const pool = workers;
        if (pool && parts.length > 1) {
          const weights = parts.map((p) => p.shops.length / batch.length);
          const answers = pool.collect();
          grads = combineGradients(model.variables, own.grads, answers, weights);
          const mean = (i: number, mine: number) =>
            answers.reduce((sum, a, k) => sum + a.losses[i] * weights[k + 1], mine * weights[0]);
          [loss, nll, kl, mse] = [mean(0, loss), mean(1, nll), mean(2, kl), mean(3, mse)];
          model.combinePendingStatistics(
            answers.map((a) => a.statistics),
            weights,
          );
        }
        if (!Number.isFinite(loss)) {
          tf.dispose(Object.values(grads));
          model.discardPendingStatistics();
          throw new NumericalError(
            `CausalMMM training loss became ${loss} in epoch ${epoch + 1} (nll ${nll}, kl ${kl}); try a lower learningRate or clipNorm`,
          );
        }
        adam.step(
          model.variables.map((v) => grads[v.name]),
          lr,
          options.clipNorm,
        );
        tf.dispose(Object.values(grads));
        model.updateRunningStatistics();
        sums.loss += loss * batch.length;
        sums.nll += nll * batch.length;
        sums.kl += kl * batch.length;
        sums.mse += mse * batch.length;
      }
      const n = shuffled.length;
      const valLoss = valShops.length
        ? evaluate(model, data, valShops, evalMode, `${seed}/val`, L)
        : Number.NaN;
      const report: EpochReport = {
        epoch: epoch + 1,
        epochs: options.epochs,
        loss: sums.loss / n,
        nll: sums.nll / n,
        kl: sums.kl / n,
        mse: sums.mse / n,
        valLoss,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(report);
      if (averagesSnapshots(options)) snapshots.push(packValues(graphState(model)) as Float32Array);
      onEpoch?.(report, model, { fit: fitShops, val: valShops });
      const score = valShops.length ? valLoss : report.loss;
      if (!best || score < best.loss) {
        if (best) tf.dispose(best.weights);
        best = {
          loss: score,
          epoch: epoch + 1,
          weights: snapshot([...model.variables, ...model.statistics]),
        };
        sinceBest = 0;
      } else if (options.patience > 0 && ++sinceBest >= options.patience) {
        break;
      }
    }
    if (best) restore([...model.variables, ...model.statistics], best.weights);
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    workers?.close();
    if (best) tf.dispose(best.weights);
    adam.dispose();
  }
  const bestEpoch = best?.epoch ?? history.length;
  // The epochs after the kept one are not part of the model's trajectory.
  snapshots.splice(bestEpoch);
  return {
    model,
    snapshots,
    history,
    bestEpoch,
    trainShops: fitShops.length,
    valShops: valShops.length,
  };
}

/**
 * The one-step ELBO of a batch of crops x [B, N, W] under edge logits [B, N, N]: the Gaussian
 * NLL of every step predicted from the observed steps before it (teacher forcing), with
 * Gumbel-softmax edges from `noise`, plus λ·KL to the prior — scaled by the NLL's variance so
 * that Adam's steps do not depend on it. What `refineSteps` and `fitShopLogits` minimise.
 */
export function oneStepElbo(
  model: CausalmmmModel,
  x: tf.Tensor3D,
  context: tf.Tensor2D | undefined,
  logits: tf.Tensor3D,
  noise: tf.Tensor3D,
): tf.Scalar {
  const { options } = model;
  const [B, N, W] = x.shape;
  const edges = model.edgeWeights(logits, noise, options.hardTraining ? 'hard' : 'soft');
  const predictions = model.decode(x, edges, context, W - 1, W - 1);
  const target = x.slice([0, 0, 1], [B, N, W - 1]);
  const nll = model.gaussianNll(predictions.sub(target).square().sum() as tf.Scalar, B);
  return nll.add(model.klDivergence(logits).mul(options.klWeight)).mul(options.nllVariance) as tf.Scalar;
}

/**
 * Every shop's evaluation edge logits, [S · N · N] with `[(s · N + i) · N + j]` about j → i:
 * one encoder pass per batch of shops over its most recent window (amortized inference),
 * then `refineSteps` of per-shop refinement when the options ask for it.
 */
export function shopEdgeLogits(model: CausalmmmModel, data: ShopSeries, seed: number): Float32Array {
  const logits = encoderEdgeLogits(model, data);
  if (model.options.refineSteps > 0) refineEdgeLogits(model, data, logits, seed);
  return logits;
}

/** The encoder's edge logits of every shop (layout of {@link shopEdgeLogits}), never refined. */
function encoderEdgeLogits(model: CausalmmmModel, data: ShopSeries): Float32Array {
  const N = data.nodes;
  const logits = new Float32Array(data.shops * N * N);
  for (let start = 0; start < data.shops; start += 64) {
    const batch = Array.from({ length: Math.min(64, data.shops - start) }, (_, b) => start + b);
    const part = tf.tidy(() => {
      const { x } = batchTensors(data, batch);
      return model.edgeLogits(model.encoderInput(x), model.options.evalNorm).dataSync() as Float32Array;
    });
    model.discardPendingStatistics();
    logits.set(part, start * N * N);
  }
  return logits;
}

/** Shops refined together: bounds the crops of one step to about 64. */
const REFINE_CROPS_PER_STEP = 64;

/**
 * Semi-amortized refinement, in place: each shop's logits take `refineSteps` Adam steps on
 * {@link oneStepElbo} over `refineCrops` random crops of that shop per step; the decoder's
 * variables are read, never stepped. Shops are refined in groups (their losses add up and
 * share no logit, so grouping changes the cost, not what each shop converges to).
 */
export function refineEdgeLogits(
  model: CausalmmmModel,
  data: ShopSeries,
  logits: Float32Array,
  seed: number,
): void {
  const { refineSteps, refineRate, refineCrops, trainWindow } = model.options;
  const { shops: S, nodes: N, steps: T } = data;
  const W = trainWindow > 0 ? Math.min(trainWindow, T) : T;
  const group = Math.max(1, Math.floor(REFINE_CROPS_PER_STEP / refineCrops));
  const rng = new Rng(seed).fork('causalmmm/refine');
  for (let first = 0; first < S; first += group) {
    const G = Math.min(group, S - first);
    const draws = rng.fork(first);
    const variable = tf.tidy(() =>
      tf.variable(tf.tensor2d(logits.subarray(first * N * N, (first + G) * N * N), [G, N * N])),
    );
    const adam = new Adam([variable]);
    // Crop b belongs to the group's shop b / refineCrops; the one-hot product picks its logits
    // (tf.gather's gradient has no wasm kernel).
    const members = Array.from({ length: G * refineCrops }, (_, b) => Math.floor(b / refineCrops));
    const pick = tf.tidy(() => tf.oneHot(tf.tensor1d(members, 'int32'), G).toFloat() as tf.Tensor2D);
    try {
      for (let step = 0; step < refineSteps; step++) {
        const starts = members.map(() => Math.floor(draws.uniform() * (T - W + 1)));
        const { x, context } = batchTensors(
          data,
          members.map((g) => first + g),
          { starts, length: W },
        );
        const noise = logisticNoise(draws, members.length, N);
        const { value, grads } = tf.variableGrads(
          () =>
            oneStepElbo(
              model,
              x,
              context,
              pick.matMul(variable).reshape([members.length, N, N]) as tf.Tensor3D,
              noise,
            ),
          [variable],
        );
        adam.step([grads[variable.name]], refineRate, 0);
        const loss = value.dataSync()[0];
        tf.dispose([value, grads[variable.name], x, noise, ...(context ? [context] : [])]);
        if (!Number.isFinite(loss)) {
          throw new NumericalError(
            `refineSteps: the loss is ${loss} at step ${step + 1} (shops ${first}…${first + G - 1})`,
          );
        }
      }
      logits.set(variable.dataSync() as Float32Array, first * N * N);
    } finally {
      adam.dispose();
      variable.dispose();
      pick.dispose();
    }
  }
}

/**
 * What the edge logits read, in the order a `graphAverage` snapshot holds it: the encoder's
 * variables (with `edgePrior: pair`'s logits) and the BatchNorm statistics.
 */
function graphState(model: CausalmmmModel): tf.Variable[] {
  return [...model.encoderVariables, ...model.statistics];
}

/**
 * Whether the graph scores are the mean over the epoch snapshots (`graphAverage: epochs` on a
 * learned graph): only then does training keep snapshots, and a model folder save and read them.
 */
export function averagesSnapshots(options: Pick<CausalmmmOptions, 'graph' | 'graphAverage'>): boolean {
  return options.graph === 'learned' && options.graphAverage === 'epochs';
}

/** Numbers in one `graphAverage` snapshot of `model` ({@link TrainResult.snapshots}). */
export function graphStateSize(model: CausalmmmModel): number {
  return graphState(model).reduce((sum, v) => sum + v.size, 0);
}

/** A trained model's graph of some shops: see {@link learnedGraph}. */
export interface LearnedGraph {
  /** [S · N · N] edge logits the decoder follows (forecasts, scenarios). */
  logits: Float32Array;
  /** The reported P(j → i) per shop, N × N row-major, zero diagonal. */
  probabilities: Float64Array[];
}

/**
 * The graph a trained model gives `data`'s shops under its `graphAverage`, for `run` and `fit`
 * alike. `last`: the kept encoder's logits (refined under `refineSteps`) and their
 * probabilities. `epochs`: the probabilities are the mean over `snapshots`, and the decoder
 * follows the kept encoder's logits, with which it was trained; under `refineSteps` both are
 * the mean graph's, refined. Undefined unless `graph: learned`.
 */
export function learnedGraph(
  model: CausalmmmModel,
  snapshots: readonly Float32Array[],
  data: ShopSeries,
  seed: number,
): LearnedGraph | undefined {
  if (model.options.graph !== 'learned') return undefined;
  if (averagesSnapshots(model.options)) {
    if (snapshots.length === 0) throw new Error('graphAverage: epochs needs the training snapshots');
    if (model.options.refineSteps > 0) {
      const logits = refinedAverageLogits(model, snapshots, data, seed);
      return { logits, probabilities: edgeProbabilities(model, data, seed, logits) };
    }
    return {
      logits: shopEdgeLogits(model, data, seed),
      probabilities: averagedEdgeProbabilities(model, snapshots, data),
    };
  }
  const logits = shopEdgeLogits(model, data, seed);
  return { logits, probabilities: edgeProbabilities(model, data, seed, logits) };
}

/** Frees a training result's tensors (its model's). */
export function disposeTrainResult(result: TrainResult): void {
  result.model.dispose();
}

/**
 * `graphAverage: epochs`: the mean over `snapshots` (the encoder's states along training, see
 * {@link TrainResult.snapshots}) of every shop's edge probabilities, N × N row-major per shop,
 * zero diagonal. The model's own weights are put back afterwards.
 */
export function averagedEdgeProbabilities(
  model: CausalmmmModel,
  snapshots: readonly Float32Array[],
  data: ShopSeries,
): Float64Array[] {
  const slots = graphState(model);
  const own = packValues(slots);
  const sums = Array.from({ length: data.shops }, () => new Float64Array(data.nodes * data.nodes));
  try {
    for (const state of snapshots) {
      assignPacked(slots, state);
      edgeProbabilities(model, data, 0, encoderEdgeLogits(model, data)).forEach((p, s) => {
        for (let k = 0; k < p.length; k++) sums[s][k] += p[k] / snapshots.length;
      });
    }
  } finally {
    assignPacked(slots, own);
  }
  return sums;
}

/**
 * `graphAverage: epochs` under `refineSteps`: the logits of {@link averagedEdgeProbabilities}
 * (log p̄ − log(1 − p̄), within ±30), refined per shop from there. The refinement starts from the
 * trajectory's graph instead of the last encoder's; it then reads the decoder as it is.
 */
export function refinedAverageLogits(
  model: CausalmmmModel,
  snapshots: readonly Float32Array[],
  data: ShopSeries,
  seed: number,
): Float32Array {
  const N = data.nodes;
  const logits = new Float32Array(data.shops * N * N);
  averagedEdgeProbabilities(model, snapshots, data).forEach((p, s) => {
    for (let k = 0; k < p.length; k++) {
      const logit = Math.log(p[k]) - Math.log1p(-p[k]);
      logits[s * N * N + k] = Math.min(30, Math.max(-30, logit));
    }
  });
  refineEdgeLogits(model, data, logits, seed);
  return logits;
}

/**
 * Edge probabilities P(j → i) = 1 − q(z_ij = no edge) of every shop, N × N row-major per
 * shop, zero diagonal: σ of {@link shopEdgeLogits} (or of the `logits` given).
 */
export function edgeProbabilities(
  model: CausalmmmModel,
  data: ShopSeries,
  seed = 0,
  logits: Float32Array = shopEdgeLogits(model, data, seed),
): Float64Array[] {
  const N = data.nodes;
  return Array.from({ length: data.shops }, (_, s) => {
    const scores = Float64Array.from(
      logits.subarray(s * N * N, (s + 1) * N * N),
      (l) => 1 / (1 + Math.exp(-l)),
    );
    for (let i = 0; i < N; i++) scores[i * N + i] = 0;
    return scores;
  });
}

/**
 * Forecasts `horizon` steps after the end of each shop's series: the decoder reads the whole
 * history, then feeds back its own predictions (or the known future channel values).
 * @param knownChannels optional [S, C, horizon] future values of `channelIndices`, original units
 * @returns [S, N, horizon] in original units
 */
export function forecastShops(
  model: CausalmmmModel,
  data: ShopSeries,
  horizon: number,
  seed: number,
  knownChannels?: Float32Array,
  /** [S · N · N] edge logits to use instead of the encoder's (e.g. refined ones). */
  logits?: Float32Array,
): Float32Array {
  const { shops: S, nodes: N, steps: T } = data;
  const channels = model.shape.channelIndices;
  const C = channels.length;
  const out = new Float32Array(S * N * horizon);
  const rng = new Rng(seed).fork('causalmmm/forecast');
  const mode = model.options.evalNorm;
  for (let start = 0; start < S; start += 64) {
    const batch = Array.from({ length: Math.min(64, S - start) }, (_, b) => start + b);
    const B = batch.length;
    const steps = T + horizon - 1;
    let known: { values: tf.Tensor3D; mask: tf.Tensor1D } | undefined;
    if (knownChannels) {
      // The decoder reads step s's input at index s; future step h sits at index T + h.
      const values = new Float32Array(B * N * steps);
      const mask = new Float32Array(N);
      for (const [b, s] of batch.entries()) {
        for (const [c, n] of channels.entries()) {
          mask[n] = 1;
          const r = s * N + n;
          for (let h = 0; h < horizon - 1; h++) {
            values[(b * N + n) * steps + T + h] =
              (knownChannels[(s * C + c) * horizon + h] - data.center[r]) / data.scale[r];
          }
        }
      }
      known = { values: tf.tensor3d(values, [B, N, steps]), mask: tf.tensor1d(mask) };
    }
    const predicted = tf.tidy(() => {
      const { x, context } = batchTensors(data, batch);
      const given = logits?.subarray(start * N * N, (start + B) * N * N);
      const shopLogits =
        model.options.graph !== 'learned'
          ? undefined
          : given
            ? tf.tensor3d(given, [B, N, N])
            : model.edgeLogits(model.encoderInput(x), mode);
      const edges = model.edgeWeights(shopLogits, logisticNoise(rng, B, N), model.options.evalEdges);
      const all = model.decode(x, edges, context, T, steps, noDropout, known);
      return all.slice([0, 0, T - 1], [B, N, horizon]).dataSync();
    });
    if (known) tf.dispose([known.values, known.mask]);
    model.discardPendingStatistics();
    for (const [b, s] of batch.entries()) {
      for (let n = 0; n < N; n++) {
        const r = s * N + n;
        for (let h = 0; h < horizon; h++) {
          out[(s * N + n) * horizon + h] =
            predicted[(b * N + n) * horizon + h] * data.scale[r] + data.center[r];
        }
      }
      // Known spends are not forecast: they are the plan.
      if (knownChannels) {
        for (const [c, n] of channels.entries()) {
          out.set(
            knownChannels.subarray((s * C + c) * horizon, (s * C + c + 1) * horizon),
            (s * N + n) * horizon,
          );
        }
      }
    }
  }
  return out;
}
