import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { gmvForecasts } from '../src/forecast/known.js';
import {
  type Design,
  fitGlobalForecaster,
  predictRows,
  trainingOptionsShape,
} from '../src/forecast/train.js';
import { type Origin, type ScaledShop, unscaleTarget } from '../src/forecast/windows.js';
import type { MethodInput } from '../src/methods/method.js';
import { defineMethod } from '../src/methods/method.js';

export const wideDeepOptions = z.strictObject({
  /** Past steps of spends and GMV fed to the deep part. */
  lags: z.int().min(1).default(14),
  /** Units of the deep part's hidden layers (ReLU). */
  hidden: z.array(z.int().min(1)).min(1).default([64, 32]),
  ...trainingOptionsShape,
});
export type WideDeepOptions = z.output<typeof wideDeepOptions>;

interface Layout {
  C: number;
  H: number;
  lags: number;
  k: number;
  channels: readonly number[];
  target: number;
  wide: number;
  deep: number;
}

/**
 * Features of one row (shop, origin o, step h of the horizon), predicting GMV at o + h.
 * Wide [C + C(C−1)/2 + H]: the spends of step o + h (known) or of step o − 1 (the last
 * observed, when the future is unknown), their pairwise products, one-hot h.
 * Deep [C·lags + lags + k + H]: spends and GMV of steps o − 1 … o − lags, context, one-hot h.
 */
function writeRow(
  shop: ScaledShop,
  origin: number,
  h: number,
  spendsAtStep: (c: number) => number,
  L: Layout,
  wide: Float32Array,
  deep: Float32Array,
  r: number,
) {
  const T = shop.steps;
  let w = r * L.wide;
  const spend = Array.from({ length: L.C }, (_, c) => spendsAtStep(c));
  for (let c = 0; c < L.C; c++) wide[w++] = spend[c];
  for (let a = 0; a < L.C; a++) for (let b = a + 1; b < L.C; b++) wide[w++] = spend[a] * spend[b];
  wide[w + h] = 1;
  let d = r * L.deep;
  for (let c = 0; c < L.C; c++) {
    for (let l = 1; l <= L.lags; l++) deep[d++] = shop.values[L.channels[c] * T + origin - l];
  }
  for (let l = 1; l <= L.lags; l++) deep[d++] = shop.values[L.target * T + origin - l];
  deep.set(shop.context, d);
  d += L.k;
  deep[d + h] = 1;
}

function design(shops: readonly ScaledShop[], origins: readonly Origin[], L: Layout, known: boolean): Design {
  const rows = origins.length * L.H;
  const wide = new Float32Array(rows * L.wide);
  const deep = new Float32Array(rows * L.deep);
  const targets = new Float32Array(rows);
  origins.forEach(({ shop, origin }, i) => {
    const sh = shops[shop];
    for (let h = 0; h < L.H; h++) {
      const r = i * L.H + h;
      const step = known ? origin + h : origin - 1;
      writeRow(sh, origin, h, (c) => sh.values[L.channels[c] * sh.steps + step], L, wide, deep, r);
      targets[r] = sh.values[L.target * sh.steps + origin + h];
    }
  });
  return {
    inputs: [
      { values: wide, shape: [L.wide] },
      { values: deep, shape: [L.deep] },
    ],
    targets: { values: targets, shape: [1] },
    rows,
  };
}

/** wide [Dw] → linear(1)  +  deep [Dd] → ReLU MLP → linear(1), summed (one jointly trained model). */
function buildModel(L: Layout, hidden: readonly number[], seed: number): tf.LayersModel {
  const wideIn = tf.input({ shape: [L.wide] });
  const deepIn = tf.input({ shape: [L.deep] });
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed + i });
  const wideOut = tf.layers
    .dense({ units: 1, kernelInitializer: init(0) })
    .apply(wideIn) as tf.SymbolicTensor;
  let x = deepIn as tf.SymbolicTensor;
  hidden.forEach((units, i) => {
    x = tf.layers
      .dense({ units, activation: 'relu', kernelInitializer: init(i + 1) })
      .apply(x) as tf.SymbolicTensor;
  });
  const deepOut = tf.layers
    .dense({ units: 1, useBias: false, kernelInitializer: init(hidden.length + 1) })
    .apply(x) as tf.SymbolicTensor;
  const output = tf.layers.add().apply([wideOut, deepOut]) as tf.SymbolicTensor;
  return tf.model({ inputs: [wideIn, deepIn], outputs: output });
}

/** Fits the global Wide&Deep regressor and forecasts `panel`'s shops (see {@link wideDeep}). */
export function fitWideDeep(input: MethodInput, options: WideDeepOptions, onEpoch?: (epoch: number) => void) {
  const { panel, horizon, futureChannels } = input;
  const { shops: S, steps: T } = panel;
  const channels = panel.channelIndices;
  const C = channels.length;
  const k = panel.contextSize;
  const L: Layout = {
    C,
    H: horizon,
    lags: options.lags,
    k,
    channels,
    target: panel.targetIndex,
    wide: C + (C * (C - 1)) / 2 + horizon,
    deep: C * options.lags + options.lags + k + horizon,
  };
  const known = futureChannels !== undefined;
  const forecast = (model: tf.LayersModel, shops: readonly ScaledShop[]): Float32Array => {
    const rows = S * horizon;
    const wide = new Float32Array(rows * L.wide);
    const deep = new Float32Array(rows * L.deep);
    for (let s = 0; s < S; s++) {
      const sh = shops[s];
      for (let h = 0; h < horizon; h++) {
        const spendAt = (c: number) => {
          const node = channels[c];
          if (!futureChannels) return sh.values[node * T + T - 1];
          return (futureChannels[(s * C + c) * horizon + h] - sh.center[node]) / sh.scale[node];
        };
        writeRow(sh, T, h, spendAt, L, wide, deep, s * horizon + h);
      }
    }
    const inputs = [
      { values: wide, shape: [L.wide] },
      { values: deep, shape: [L.deep] },
    ];
    const gmv = unscaleTarget(predictRows(model, inputs, rows), shops, L.target, S, horizon);
    return gmvForecasts(panel, horizon, gmv, futureChannels);
  };
  return fitGlobalForecaster(
    'wide-deep',
    input,
    options,
    {
      lookback: options.lags,
      build: (seed) => buildModel(L, options.hidden, seed),
      design: (shops, origins) => design(shops, origins, L, known),
      forecast,
    },
    onEpoch,
  );
}

/**
 * Wide & Deep (Cheng et al. 2016) as a global GMV regressor, trained across shops.
 *
 * One row per (shop, forecast origin o, horizon step h) predicts GMV at o + h (scaled by the
 * shop's own mean and sd over its training steps). The wide part is linear over the spends
 * that drive that step — the known spends of step o + h under `futureSpend: known`, else the
 * last observed spends — and their pairwise crosses, plus a one-hot of h; the deep part is a
 * ReLU MLP over `lags` past spends and GMV, the context and the one-hot of h. Their outputs
 * are summed and trained jointly: Adam on MSE, gradient clipping, early stopping on the last
 * `validationOrigins` origins of every shop (time-ordered).
 *
 * Shapes: wide [rows, C + C(C−1)/2 + H], deep [rows, C·lags + lags + k + H]; forecasts
 * [S, N, horizon] — GMV from the model, the other nodes persistence or known spends.
 */
export const wideDeep = defineMethod({
  name: 'wide-deep',
  title: 'Wide & Deep regressor (global)',
  paper:
    'H.-T. Cheng et al., "Wide & Deep Learning for Recommender Systems", Proc. 1st Workshop on Deep Learning for Recommender Systems (DLRS), 2016',
  scaleDown:
    'a regressor on continuous features: the wide crosses are products of scaled spends (not crossed sparse categories); one Adam optimiser for both parts instead of FTRL for the wide part',
  produces: ['forecast'] as const,
  options: wideDeepOptions,
  testConfig: { lags: 7, hidden: [16], epochs: 8, patience: 3, batchSize: 256, learningRate: 1e-2 },
  run: (input, options) => fitWideDeep(input, options),
});
