import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { gmvForecasts, writeKnownChannels } from '../src/forecast/known.js';
import {
  type Block,
  type Design,
  fitGlobalForecaster,
  predictRows,
  trainingOptionsShape,
} from '../src/forecast/train.js';
import { type Origin, type ScaledShop, unscaleTarget } from '../src/forecast/windows.js';
import type { MethodInput } from '../src/methods/method.js';
import { defineMethod } from '../src/methods/method.js';

export const lstmOptions = z.strictObject({
  /** Units of the single LSTM layer. */
  hidden: z.int().min(1).default(64),
  /** Input window W: steps of past GMV, KPIs, spends and context read per forecast. */
  lookback: z.int().min(1).default(30),
  /**
   * `direct`: one head predicts the whole horizon of GMV at once; `recursive`: the head predicts
   * every node one step ahead and is rolled forward, known spends replacing its spend forecasts.
   */
  strategy: z.enum(['direct', 'recursive']).default('direct'),
  ...trainingOptionsShape,
  /** Larger than the shared default: the LSTM's cost is per batch (one op chain per step of W). */
  batchSize: z.int().min(1).default(256),
  learningRate: z.number().positive().default(2e-3),
});
export type LstmOptions = z.output<typeof lstmOptions>;

/** [W, F] window of shop `shop` ending before `origin`: F = N scaled nodes, then context. */
function writeWindow(shop: ScaledShop, N: number, origin: number, W: number, out: Float32Array, at: number) {
  const F = N + shop.context.length;
  const T = shop.steps;
  for (let w = 0; w < W; w++) {
    const t = origin - W + w;
    const row = at + w * F;
    for (let n = 0; n < N; n++) out[row + n] = shop.values[n * T + t];
    out.set(shop.context, row + N);
  }
}

/** Scaled spends of steps origin … origin + H − 1 of a shop's own series, [C·H] channel-major. */
function writeFutureSpends(
  shop: ScaledShop,
  channels: readonly number[],
  origin: number,
  H: number,
  out: Float32Array,
  at: number,
) {
  const T = shop.steps;
  channels.forEach((node, c) => {
    for (let h = 0; h < H; h++) out[at + c * H + h] = shop.values[node * T + origin + h];
  });
}

interface Layout {
  N: number;
  F: number;
  W: number;
  H: number;
  channels: readonly number[];
  target: number;
  knownFuture: boolean;
  recursive: boolean;
}

function design(shops: readonly ScaledShop[], origins: readonly Origin[], L: Layout): Design {
  const rows = origins.length;
  const window = new Float32Array(rows * L.W * L.F);
  const C = L.channels.length;
  const future = L.knownFuture && !L.recursive ? new Float32Array(rows * C * L.H) : undefined;
  const width = L.recursive ? L.N : L.H;
  const targets = new Float32Array(rows * width);
  origins.forEach(({ shop, origin }, r) => {
    const sh = shops[shop];
    writeWindow(sh, L.N, origin, L.W, window, r * L.W * L.F);
    if (future) writeFutureSpends(sh, L.channels, origin, L.H, future, r * C * L.H);
    if (L.recursive) for (let n = 0; n < L.N; n++) targets[r * width + n] = sh.values[n * sh.steps + origin];
    else for (let h = 0; h < L.H; h++) targets[r * width + h] = sh.values[L.target * sh.steps + origin + h];
  });
  const inputs: Block[] = [{ values: window, shape: [L.W, L.F] }];
  if (future) inputs.push({ values: future, shape: [C * L.H] });
  return { inputs, targets: { values: targets, shape: [width] }, rows };
}

/**
 * The network: sequence [W, F] → LSTM(hidden) → (concatenated with the known future spends
 * [C·H] in direct mode) → linear head of H outputs (direct) or N outputs (recursive).
 */
function buildModel(L: Layout, hidden: number, seed: number): tf.LayersModel {
  const sequence = tf.input({ shape: [L.W, L.F] });
  const state = tf.layers
    .lstm({
      units: hidden,
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
    })
    .apply(sequence) as tf.SymbolicTensor;
  const inputs = [sequence];
  let features = state;
  if (L.knownFuture && !L.recursive) {
    const future = tf.input({ shape: [L.channels.length * L.H] });
    inputs.push(future);
    features = tf.layers.concatenate().apply([state, future]) as tf.SymbolicTensor;
  }
  const output = tf.layers
    .dense({
      units: L.recursive ? L.N : L.H,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    })
    .apply(features) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs: output });
}

/**
 * Rolls the one-step model forward H steps for every evaluation shop, feeding each forecast
 * back into the window; known future spends replace the spend forecasts. Returns scaled
 * forecasts [S, N, H].
 */
function rollRecursive(
  model: tf.LayersModel,
  shops: readonly ScaledShop[],
  S: number,
  L: Layout,
  futureScaled: Float32Array | undefined,
): Float32Array {
  const out = new Float32Array(S * L.N * L.H);
  const windows = new Float32Array(S * L.W * L.F);
  for (let s = 0; s < S; s++) writeWindow(shops[s], L.N, shops[s].steps, L.W, windows, s * L.W * L.F);
  const C = L.channels.length;
  for (let h = 0; h < L.H; h++) {
    const next = predictRows(model, [{ values: windows, shape: [L.W, L.F] }], S);
    for (let s = 0; s < S; s++) {
      const step = next.subarray(s * L.N, (s + 1) * L.N);
      if (futureScaled)
        L.channels.forEach((node, c) => {
          step[node] = futureScaled[(s * C + c) * L.H + h];
        });
      for (let n = 0; n < L.N; n++) out[(s * L.N + n) * L.H + h] = step[n];
      // Shift the window one step and append the new step (context stays).
      const base = s * L.W * L.F;
      windows.copyWithin(base, base + L.F, base + L.W * L.F);
      windows.set(step, base + (L.W - 1) * L.F);
    }
  }
  return out;
}

/**
 * Fits the global LSTM on every shop the method may see (the history of `panel`'s shops, plus
 * `trainPanel`'s full series when given) and forecasts `panel`'s shops. `onEpoch` lets tests
 * watch memory per epoch.
 */
export function fitLstm(input: MethodInput, options: LstmOptions, onEpoch?: (epoch: number) => void) {
  const { panel, horizon, futureChannels } = input;
  const { shops: S, nodeCount: N } = panel;
  const L: Layout = {
    N,
    F: N + panel.contextSize,
    W: options.lookback,
    H: horizon,
    channels: panel.channelIndices,
    target: panel.targetIndex,
    knownFuture: futureChannels !== undefined,
    recursive: options.strategy === 'recursive',
  };
  const C = L.channels.length;
  const forecast = (model: tf.LayersModel, shops: readonly ScaledShop[]): Float32Array => {
    const futureScaled = futureChannels
      ? Float32Array.from(futureChannels, (v, i) => {
          const s = Math.floor(i / (C * horizon));
          const node = L.channels[Math.floor(i / horizon) % C];
          return (v - shops[s].center[node]) / shops[s].scale[node];
        })
      : undefined;
    if (L.recursive) {
      const scaled = rollRecursive(model, shops, S, L, futureScaled);
      const forecasts = Float32Array.from(scaled, (v, k) => {
        const shop = shops[Math.floor(k / (N * horizon))];
        const n = Math.floor(k / horizon) % N;
        return v * shop.scale[n] + shop.center[n];
      });
      writeKnownChannels(forecasts, panel, horizon, futureChannels);
      return forecasts;
    }
    const window = new Float32Array(S * L.W * L.F);
    for (let s = 0; s < S; s++) writeWindow(shops[s], N, shops[s].steps, L.W, window, s * L.W * L.F);
    const inputs: Block[] = [{ values: window, shape: [L.W, L.F] }];
    if (futureScaled) inputs.push({ values: futureScaled, shape: [C * horizon] });
    const gmv = unscaleTarget(predictRows(model, inputs, S), shops, L.target, S, horizon);
    return gmvForecasts(panel, horizon, gmv, futureChannels);
  };
  // In recursive mode the targets are one step ahead; origins still leave a horizon for validation.
  return fitGlobalForecaster(
    'lstm',
    input,
    options,
    {
      lookback: L.W,
      build: (seed) => buildModel(L, options.hidden, seed),
      design: (shops, origins) => design(shops, origins, L),
      forecast,
    },
    onEpoch,
  );
}

/**
 * Global LSTM forecaster of GMV, trained across shops (Hochreiter & Schmidhuber 1997), the
 * sequence baseline of the CausalMMM paper.
 *
 * Input per step: the N series of a shop (past GMV, KPIs and spends, each scaled by the
 * shop's own mean and sd over its training steps) and its static context; window W = 30.
 * Direct strategy (default): the last hidden state, concatenated with the horizon's known
 * spends when `futureSpend: known`, feeds a linear head of H outputs (GMV at steps 1…H).
 * Recursive strategy: the head predicts all N nodes one step ahead and is rolled forward.
 * Training: Adam on MSE, gradient clipping by global norm, early stopping on the last
 * `validationOrigins` origins of every shop (time-ordered; training targets end before them),
 * best weights restored.
 *
 * Shapes: input panel [S, N, T]; window [batch, W, N + k]; forecasts [S, N, horizon] — GMV
 * from the model (all nodes in recursive mode), the other nodes persistence or known spends.
 */
export const lstm = defineMethod({
  name: 'lstm',
  title: 'LSTM (global, direct multi-horizon)',
  paper:
    'S. Hochreiter and J. Schmidhuber, "Long Short-Term Memory", Neural Computation 9(8):1735–1780, 1997',
  produces: ['forecast'] as const,
  options: lstmOptions,
  testConfig: { hidden: 8, lookback: 10, epochs: 8, patience: 3, batchSize: 64, learningRate: 1e-2 },
  run: (input, options) => fitLstm(input, options),
});
