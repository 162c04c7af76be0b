/**
 * The training loop of the neural forecasters: mini-batch Adam on the mean squared error, with
 * gradient clipping by global norm and early stopping on a (time-ordered) validation set that
 * restores the best weights. Every tensor an epoch creates is released within the epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { NumericalError, UserError } from '../errors.js';
import type { MethodInput, MethodOutput } from '../methods/method.js';
import { Rng } from '../rng.js';
import { checkFutureChannels } from './known.js';
import { type Origin, type ScaledShop, scaleShops, splitOrigins } from './windows.js';

/** Optimiser options shared by the neural forecasters' option schemas. */
export const trainingOptionsShape = {
  /** Upper bound on epochs; early stopping usually ends sooner. */
  epochs: z.int().min(1).default(40),
  /** Epochs without a better validation loss before training stops. */
  patience: z.int().min(1).default(5),
  batchSize: z.int().min(1).default(128),
  learningRate: z.number().positive().default(1e-3),
  /** Gradients are rescaled so their global L2 norm is at most this. */
  clipNorm: z.number().positive().default(1),
  /** Origins per shop (the last ones in time) held out for early stopping. */
  validationOrigins: z.int().min(1).default(5),
};

export interface TrainingOptions {
  epochs: number;
  patience: number;
  batchSize: number;
  learningRate: number;
  clipNorm: number;
}

/** A block of rows: `values` is [rows, ...shape] in C order. */
export interface Block {
  values: Float32Array;
  shape: number[];
}

/** Rows of a design: one block per model input, and the targets. */
export interface Design {
  inputs: Block[];
  targets: Block;
  rows: number;
}

export interface TrainingReport {
  epochs: number;
  bestEpoch: number;
  bestValidationLoss: number;
}

const toTensor = (block: Block, rows: number) => tf.tensor(block.values, [rows, ...block.shape]);

function tensors(design: Design): { inputs: tf.Tensor[]; targets: tf.Tensor } {
  return {
    inputs: design.inputs.map((x) => toTensor(x, design.rows)),
    targets: toTensor(design.targets, design.rows),
  };
}

function lossOf(model: tf.LayersModel, inputs: tf.Tensor[], targets: tf.Tensor): tf.Scalar {
  const output = model.apply(inputs.length === 1 ? inputs[0] : inputs, { training: true }) as tf.Tensor;
  return tf.losses.meanSquaredError(targets, output) as tf.Scalar;
}

/**
 * Trains `model` (its inputs in the order of `train.inputs`) and leaves it at the weights of
 * the best validation epoch. `onEpoch` is called after each epoch (tests watch tf.memory()).
 */
export async function trainModel(
  model: tf.LayersModel,
  train: Design,
  validation: Design,
  options: TrainingOptions,
  rng: Rng,
  method: string,
  onEpoch?: (epoch: number, validationLoss: number) => void,
): Promise<TrainingReport> {
  const data = tensors(train);
  const held = validation.rows > 0 ? tensors(validation) : undefined;
  const optimizer = tf.train.adam(options.learningRate);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let bestWeights: tf.Tensor[] | undefined;
  let epoch = 0;
  try {
    for (epoch = 1; epoch <= options.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: train.rows }, (_, i) => i));
      let trainLoss = 0;
      for (let start = 0; start < train.rows; start += options.batchSize) {
        const batch = order.slice(start, start + options.batchSize);
        const value = tf.tidy(() => {
          const index = tf.tensor1d(batch, 'int32');
          const xs = data.inputs.map((x) => tf.gather(x, index));
          const ys = tf.gather(data.targets, index);
          const { value, grads } = tf.variableGrads(() => lossOf(model, xs, ys), variables);
          const names = Object.keys(grads);
          const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
          const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(options.clipNorm), tf.add(norm, 1e-12)));
          optimizer.applyGradients(names.map((name) => ({ name, tensor: tf.mul(grads[name], factor) })));
          return value.dataSync()[0];
        });
        if (!Number.isFinite(value))
          throw new NumericalError(`${method}: training loss became ${value} at epoch ${epoch}`);
        trainLoss += value * batch.length;
      }
      const validationLoss = held
        ? tf.tidy(() => lossOf(model, held.inputs, held.targets).dataSync()[0])
        : trainLoss / train.rows;
      if (!Number.isFinite(validationLoss)) {
        throw new NumericalError(`${method}: validation loss became ${validationLoss} at epoch ${epoch}`);
      }
      if (validationLoss < best) {
        best = validationLoss;
        bestEpoch = epoch;
        bestWeights?.forEach((w) => {
          w.dispose();
        });
        bestWeights = model.getWeights().map((w) => w.clone());
      }
      onEpoch?.(epoch, validationLoss);
      if (epoch - bestEpoch >= options.patience) break;
    }
    if (bestWeights) model.setWeights(bestWeights);
    return { epochs: Math.min(epoch, options.epochs), bestEpoch, bestValidationLoss: best };
  } finally {
    bestWeights?.forEach((w) => {
      w.dispose();
    });
    for (const x of data.inputs) x.dispose();
    data.targets.dispose();
    if (held) {
      for (const x of held.inputs) x.dispose();
      held.targets.dispose();
    }
    optimizer.dispose();
  }
}

/** Predictions of `model` for the rows of `inputs`, [rows, outputs] in C order. */
export function predictRows(model: tf.LayersModel, inputs: Block[], rows: number): Float32Array {
  return tf.tidy(() => {
    const xs = inputs.map((x) => toTensor(x, rows));
    const output = model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
    return output.dataSync() as Float32Array;
  });
}

/** What a global (cross-shop) neural forecaster supplies to {@link fitGlobalForecaster}. */
export interface GlobalForecaster {
  /** Steps of history an origin needs before it. */
  lookback: number;
  build(seed: number): tf.LayersModel;
  /** Training or validation rows of the given origins. */
  design(shops: readonly ScaledShop[], origins: readonly Origin[]): Design;
  /** Forecasts [S, N, horizon] of the evaluation shops (the first S of `shops`), original units. */
  forecast(model: tf.LayersModel, shops: readonly ScaledShop[]): Float32Array;
}

/**
 * The life cycle every global forecaster shares: scale the shops it may see (the history of
 * `panel`'s shops, plus `trainPanel`'s full series when given, each on its own steps), split
 * forecast origins in time, build the model from the seed, train it, forecast, dispose it.
 */
export async function fitGlobalForecaster(
  name: string,
  { panel, horizon, seed, futureChannels, trainPanel }: MethodInput,
  options: TrainingOptions & { validationOrigins: number },
  forecaster: GlobalForecaster,
  onEpoch?: (epoch: number) => void,
): Promise<MethodOutput> {
  checkFutureChannels(name, panel, horizon, futureChannels);
  if (horizon === 0) throw new UserError(`${name}: needs a forecast horizon (set "horizon" in the config)`);
  const shops = scaleShops(trainPanel ? [panel, trainPanel] : [panel]);
  const { train, validation } = splitOrigins(
    shops,
    forecaster.lookback,
    horizon,
    options.validationOrigins,
    name,
  );
  const rng = new Rng(seed).fork(name);
  const model = forecaster.build(rng.int(2 ** 30));
  try {
    const report = await trainModel(
      model,
      forecaster.design(shops, train),
      forecaster.design(shops, validation),
      options,
      rng.fork('batches'),
      name,
      onEpoch,
    );
    return {
      forecasts: forecaster.forecast(model, shops),
      info: {
        epochs: report.epochs,
        bestEpoch: report.bestEpoch,
        validationLoss: report.bestValidationLoss,
        trainingOrigins: train.length,
      },
    };
  } finally {
    model.dispose();
  }
}
