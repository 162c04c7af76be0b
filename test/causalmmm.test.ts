import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import { grangerShop } from '../baselines/granger-var.js';
import { causalmmm, ensembleSeed, nri } from '../src/causalmmm/method.js';
import {
  CausalmmmModel,
  correlationFeatureCount,
  grangerFeatures,
  hillSaturation,
  laggedCorrelations,
  offDiagonal,
} from '../src/causalmmm/model.js';
import { type CausalmmmOptions, causalmmmOptions } from '../src/causalmmm/options.js';
import { GradientWorkers } from '../src/causalmmm/parallel.js';
import {
  averagedEdgeProbabilities,
  batchTensors,
  disposeTrainResult,
  edgeProbabilities,
  forecastShops,
  logisticNoise,
  oneStepElbo,
  prepareSeries,
  refinedAverageLogits,
  shopEdgeLogits,
  trainCausalmmm,
} from '../src/causalmmm/train.js';
import { readCausalmmmRelease } from '../src/data/npy-dir.js';
import { simulate } from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';
import { graphMetrics } from '../src/metrics/graph.js';
import { Rng } from '../src/rng.js';
import { shared, useBackend } from './helpers.js';

useBackend();

const N = 4;
const shape = { nodes: N, encoderSteps: 12, contextSize: 2, targetIndex: 3, channelIndices: [0, 1] };
const tiny = (overrides: Partial<CausalmmmOptions> = {}) =>
  causalmmmOptions.parse({ hidden: 8, predictSteps: 3, ...overrides });

/** Random inputs of a batch: x [B, N, 12], context [B, 2], noise [B, N, N]. */
function inputs(B: number, seed = 1) {
  return {
    x: tf.randomUniform([B, N, 12], 0, 1, 'float32', seed) as tf.Tensor3D,
    context: tf.randomUniform([B, 2], 0, 1, 'float32', seed + 1) as tf.Tensor2D,
    noise: logisticNoise(new Rng(seed), B, N),
  };
}

describe('CausalMMM model', () => {
  it('has the documented shapes: logits [B, N, N], predictions [B, N, steps]', () => {
    const model = new CausalmmmModel(shape, tiny(), new Rng(0));
    tf.tidy(() => {
      const { x, context, noise } = inputs(3);
      const logits = model.edgeLogits(x, 'shop');
      expect(logits.shape).toEqual([3, N, N]);
      const edges = model.edgeWeights(logits, noise, 'soft');
      expect(model.decode(x, edges, context, 9, 11).shape).toEqual([3, N, 11]);
      // the diagonal never carries an edge
      const diag = edges
        .mul(tf.eye(N).reshape([1, N, N]))
        .sum()
        .dataSync()[0];
      expect(diag).toBe(0);
    });
    model.dispose();
  });

  it('sends a non-zero gradient to every trainable variable', () => {
    for (const options of [
      tiny(),
      tiny({ temporal: 'adstock' }),
      tiny({ decoder: 'markov' }),
      tiny({ nodeIdentity: 'embedding', messages: 'hidden-input' }),
      tiny({ messages: 'own-lags', messageLags: 2, candidate: 'tanh', edgeFeatures: 'lagged-correlation' }),
      tiny({ messages: 'own-lags', messageLags: 1, decoder: 'markov', edgeFeatures: 'lagged-correlation' }),
      tiny({ edgePrior: 'pair', predictSteps: 1 }),
      tiny({ edgeFeatures: 'granger', grangerLags: 2, messages: 'own-lags', candidate: 'tanh' }),
      tiny({ senderIdentity: 'embedding', messages: 'own-lags', candidate: 'tanh' }),
      tiny({ senderIdentity: 'embedding', decoder: 'markov' }),
    ]) {
      const model = new CausalmmmModel(shape, options, new Rng(0));
      const { x, context, noise } = inputs(2);
      const { value, grads } = tf.variableGrads(
        () => model.losses(x, context, noise, 'train').loss,
        model.variables,
      );
      const hill = new Set(model.saturationVariables);
      for (const v of model.variables.filter((v) => !hill.has(v))) {
        const norm = grads[v.name].abs().sum().dataSync()[0];
        expect(norm, `${options.decoder}/${options.temporal}: ${v.name} ${v.shape}`).toBeGreaterThan(0);
      }
      tf.dispose([value, x, context, noise, ...Object.values(grads)]);
      model.dispose();
    }
  });

  it('saturates the target by a Hill curve with a gradient in α and γ', () => {
    const target = tf.tensor2d([[0, 1]]);
    const pred = tf.tensor2d([[5, 2]]);
    const alpha = tf.tensor1d([2]);
    const logGamma = tf.tensor1d([0]); // γ = 1
    const out = hillSaturation(pred, target, { alpha, logGamma }).dataSync();
    expect(out[0]).toBe(5); // channels are not saturated
    expect(out[1]).toBeCloseTo((2 * 2 ** 2) / (2 ** 2 + 1), 5);
    const [dAlpha, dLogGamma] = tf.grads((a: tf.Tensor, g: tf.Tensor) =>
      hillSaturation(pred, target, { alpha: a as tf.Tensor1D, logGamma: g as tf.Tensor1D }).sum(),
    )([alpha, logGamma]);
    // d/dα of 2·σ(α log 2) = 2 log2 σ'(·); more half-saturation, less output
    const s = 1 / (1 + Math.exp(-2 * Math.log(2)));
    expect(dAlpha.dataSync()[0]).toBeCloseTo(2 * Math.log(2) * s * (1 - s), 4);
    expect(dLogGamma.dataSync()[0]).toBeLessThan(0);
    tf.dispose([target, pred, alpha, logGamma, dAlpha, dLogGamma]);
  });

  it('predicts the change from the current input with output: residual', () => {
    // Same draws either way, so the two decoders differ only by the input added to the output.
    const direct = new CausalmmmModel(shape, tiny({ saturation: 'none' }), new Rng(5));
    const residual = new CausalmmmModel(shape, tiny({ saturation: 'none', output: 'residual' }), new Rng(5));
    tf.tidy(() => {
      const { x, context, noise } = inputs(2);
      const edges = direct.edgeWeights(direct.edgeLogits(x, 'shop'), noise, 'soft');
      const gap = residual.decode(x, edges, context, 11, 11).sub(direct.decode(x, edges, context, 11, 11));
      const inputsRead = x.slice([0, 0, 0], [2, N, 11]);
      expect(gap.sub(inputsRead).abs().max().dataSync()[0]).toBeLessThan(1e-5);
      expect(inputsRead.abs().max().dataSync()[0]).toBeGreaterThan(0.5);
    });
    direct.dispose();
    residual.dispose();
  });

  it('computes the KL to the prior of known logits', () => {
    const model = new CausalmmmModel(shape, tiny({ prior: 'sparse', priorEdge: 0.2 }), new Rng(0));
    const B = 2;
    const logit = 1.5;
    const kl = tf.tidy(() => model.klDivergence(tf.fill([B, N, N], logit) as tf.Tensor3D).dataSync()[0]);
    const q1 = 1 / (1 + Math.exp(-logit));
    const perEdge = q1 * Math.log(q1 / 0.2) + (1 - q1) * Math.log((1 - q1) / 0.8);
    // N(N − 1) off-diagonal pairs per shop, divided by N, averaged over shops
    expect(kl).toBeCloseTo((perEdge * N * (N - 1)) / N, 5);
    model.dispose();
  });

  it('computes the Gaussian NLL as Σ(ŷ − y)²/(2σ²) per shop and node', () => {
    // An empty graph and no saturation: predictions do not depend on the (absent) encoder.
    const options = tiny({ graph: 'empty', saturation: 'none', nllVariance: 0.5 });
    const model = new CausalmmmModel(shape, options, new Rng(0));
    tf.tidy(() => {
      const { x, context, noise } = inputs(2);
      const { nll, kl, mse, loss } = model.losses(x, context, noise, 'shop');
      const edges = model.edgeWeights(undefined, noise, 'soft');
      const predictions = model.decode(x, edges, context, 12 - 3, 11);
      const squared = predictions
        .sub(x.slice([0, 0, 1], [2, N, 11]))
        .square()
        .sum()
        .dataSync()[0];
      expect(nll.dataSync()[0]).toBeCloseTo(squared / (2 * 0.5) / (N * 2), 4);
      expect(mse.dataSync()[0]).toBeCloseTo(squared / (2 * N * 11), 5);
      expect(kl.dataSync()[0]).toBe(0);
      expect(loss.dataSync()[0]).toBeCloseTo(nll.dataSync()[0], 4);
    });
    model.dispose();
  });

  it('computes for a batch what it computes for each shop alone', () => {
    const model = new CausalmmmModel(shape, tiny(), new Rng(0));
    tf.tidy(() => {
      const { x, context, noise } = inputs(3);
      const batch = model.losses(x, context, noise, 'shop').loss.dataSync()[0];
      let single = 0;
      for (let b = 0; b < 3; b++) {
        single += model
          .losses(
            x.slice([b, 0, 0], [1, N, 12]),
            context.slice([b, 0], [1, 2]),
            noise.slice([b, 0, 0], [1, N, N]),
            'shop',
          )
          .loss.dataSync()[0];
      }
      expect(Math.abs(batch - single / 3) / Math.abs(batch)).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  it('samples Gumbel-softmax edges with P(edge) = σ(logit) and soft samples in (0, 1)', () => {
    const model = new CausalmmmModel(shape, tiny({ tau: 0.5 }), new Rng(0));
    const B = 4000;
    const logit = 0.8;
    const [hardMean, softMin, softInside] = tf.tidy(() => {
      const logits = tf.fill([B, N, N], logit) as tf.Tensor3D;
      const noise = logisticNoise(new Rng(7), B, N);
      const mask = offDiagonal(N).reshape([1, N, N]);
      const pairs = B * N * (N - 1);
      const hard = model.edgeWeights(logits, noise, 'hard').sum().dataSync()[0] / pairs;
      const soft = model.edgeWeights(logits, noise, 'soft');
      const offDiag = soft.add(tf.sub(1, mask).mul(0.5));
      const inside = offDiag.greater(0).logicalAnd(offDiag.less(1)).toFloat().mean().dataSync()[0];
      return [hard, offDiag.min().dataSync()[0], inside];
    });
    const expected = 1 / (1 + Math.exp(-logit));
    // 48 000 Bernoulli draws: standard error ≈ 0.002
    expect(Math.abs(hardMean - expected)).toBeLessThan(0.01);
    // soft samples are relaxed, not 0/1 (float32 saturates only in the far tails)
    expect(softMin).toBeGreaterThanOrEqual(0);
    expect(softInside).toBeGreaterThan(0.95);
    model.dispose();
  });

  it('makes the normalized aggregate blind to how many edges come in, the mean aggregate not', () => {
    const gap = (aggregate: 'mean' | 'normalized') => {
      const model = new CausalmmmModel(shape, tiny({ aggregate }), new Rng(0));
      const diff = tf.tidy(() => {
        const { x, context, noise } = inputs(2);
        const edges = model.edgeWeights(model.edgeLogits(x, 'shop'), noise, 'soft');
        const full = model.decode(x, edges, context, 9, 11);
        const half = model.decode(x, edges.mul(0.5) as tf.Tensor3D, context, 9, 11);
        return full.sub(half).abs().max().dataSync()[0] / full.abs().max().dataSync()[0];
      });
      model.dispose();
      return diff;
    };
    // measured: 1.4e-5 (the 1e-3 floor of Σ z) against 3.7e-3
    const normalized = gap('normalized');
    expect(normalized).toBeLessThan(1e-4);
    expect(gap('mean')).toBeGreaterThan(50 * normalized);
  });

  it('tells nodes apart only with nodeIdentity: embedding (else the encoder is permutation-equivariant)', () => {
    // Swap nodes 0 and 1: an equivariant encoder's logits swap the same rows and columns.
    const order = [1, 0, 2, 3];
    const gap = (nodeIdentity: 'none' | 'embedding') => {
      const model = new CausalmmmModel(shape, tiny({ nodeIdentity }), new Rng(0));
      const diff = tf.tidy(() => {
        const { x } = inputs(2);
        const swapped = tf.gather(x, order, 1) as tf.Tensor3D;
        const logits = model.edgeLogits(x, 'shop');
        const expected = tf.gather(tf.gather(logits, order, 1), order, 2);
        const offDiag = offDiagonal(N).reshape([1, N, N]);
        return model.edgeLogits(swapped, 'shop').sub(expected).mul(offDiag).abs().max().dataSync()[0];
      });
      model.discardPendingStatistics();
      model.dispose();
      return diff;
    };
    expect(gap('none')).toBeLessThan(1e-4);
    expect(gap('embedding')).toBeGreaterThan(1e-2);
  });

  it('tells senders apart only with senderIdentity: embedding', () => {
    // Nodes 0 and 1 carry the same series; node 2 hears only 0, or only 1. One message function
    // for every sender predicts node 2 alike both ways; a per-sender vector does not.
    const only = (sender: number) => {
      const z = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      z[2 * N + sender] = 1;
      return tf.tensor3d(z, [1, N, N]);
    };
    const gap = (senderIdentity: 'none' | 'embedding', decoder: 'recurrent' | 'markov') => {
      const options = tiny({ senderIdentity, decoder, messages: 'own-lags', saturation: 'none' });
      const model = new CausalmmmModel(shape, options, new Rng(0));
      const diff = tf.tidy(() => {
        const { x, context } = inputs(1);
        const twins = tf.concat(
          [x.slice([0, 0, 0], [1, 1, 12]), x.slice([0, 0, 0], [1, 3, 12])],
          1,
        ) as tf.Tensor3D;
        const [a, b] = [0, 1].map((j) =>
          model.decode(twins, only(j), context, 11, 11).slice([0, 2, 0], [1, 1, 11]),
        );
        return a.sub(b).abs().max().dataSync()[0];
      });
      model.dispose();
      return diff;
    };
    for (const decoder of ['recurrent', 'markov'] as const) {
      expect(gap('none', decoder)).toBe(0);
      expect(gap('embedding', decoder)).toBeGreaterThan(1e-4);
    }
  });

  it('lets the past of j reach i only through z_ij with messages: own-lags', () => {
    // Chain 0 → 1 → 2 (and 3 → 2), no edge 0 → 2: perturbing node 0's inputs may move node 2's
    // predictions only when node 1's message carries more than node 1's own series.
    const edges = tf.tensor3d(
      [
        [
          [0, 0, 0, 0],
          [1, 0, 0, 0],
          [0, 1, 0, 1],
          [0, 0, 0, 0],
        ],
      ],
      [1, N, N],
    );
    const reach = (messages: 'hidden' | 'own-lags') => {
      const model = new CausalmmmModel(shape, tiny({ messages, saturation: 'none' }), new Rng(0));
      const moved = tf.tidy(() => {
        const { x, context } = inputs(1);
        const bumped = x.add(tf.oneHot([0], N).reshape([1, N, 1]).mul(0.5)) as tf.Tensor3D;
        const a = model.decode(x, edges, context.slice([0, 0], [1, 2]), 11, 11);
        const b = model.decode(bumped, edges, context.slice([0, 0], [1, 2]), 11, 11);
        const delta = b.sub(a).abs().max(2).dataSync();
        return { chained: delta[2], direct: delta[1] };
      });
      model.dispose();
      return moved;
    };
    const released = reach('hidden');
    const ownLags = reach('own-lags');
    // Deterministic kernels: any difference at all is a dependence (measured 6e-8 at init;
    // without the dependence it would be exactly 0, as with own-lags).
    expect(released.chained).toBeGreaterThan(0);
    expect(ownLags.chained).toBe(0);
    expect(ownLags.direct).toBeGreaterThan(1e-4);
    edges.dispose();
  });

  it('computes lagged correlations of every ordered pair: corr(x_i(t), x_j(t − l))', () => {
    // node 1 is node 0 two steps later; node 2 is node 0 negated; node 3 is unrelated noise
    const rng = new Rng(4);
    const W = 200;
    const base = Array.from({ length: W + 2 }, () => rng.normal());
    const other = Array.from({ length: W }, () => rng.normal());
    const rows = [base.slice(2), base.slice(0, W), base.slice(2).map((v) => -v), other];
    const lags = 3;
    const features = tf.tidy(() => laggedCorrelations(tf.tensor3d([rows], [1, N, W]), lags).arraySync());
    expect([features[0][0][0].length, correlationFeatureCount(lags)]).toEqual([14, 14]);
    const level = (i: number, j: number, l: number) => features[0][i][j][l + lags];
    expect(level(1, 0, 2)).toBeGreaterThan(0.97); // 1 follows 0 by two steps
    expect(level(0, 1, -2)).toBeGreaterThan(0.97); // the same pair seen from node 0
    expect(level(2, 0, 0)).toBeLessThan(-0.99);
    expect(Math.abs(level(3, 0, 0))).toBeLessThan(0.2);
    expect(Math.abs(level(1, 0, 0))).toBeLessThan(0.2); // white noise: no lag-0 link
    // differences: Δx₁(t) = Δx₀(t − 2) as well
    expect(features[0][1][0][2 * lags + 1 + 2 + lags]).toBeGreaterThan(0.97);
  });

  it('computes Granger features per window: log(1 + F) and the lag coefficients of j in i', () => {
    // x1(t) = 0.8 x0(t − 1) + noise; x0, x2 noise. Two shops: the second swaps nodes 0 and 2.
    const rng = new Rng(9);
    const W = 150;
    const x0 = Array.from({ length: W }, () => rng.normal());
    const x1 = x0.map((_, t) => (t > 0 ? 0.8 * x0[t - 1] : 0) + 0.5 * rng.normal());
    const x2 = Array.from({ length: W }, () => rng.normal());
    const shops = [
      [x0, x1, x2],
      [x2, x1, x0],
    ];
    const features = tf.tidy(() => grangerFeatures(tf.tensor3d(shops, [2, 3, W]), 2).arraySync());
    expect(features[0][1][0]).toHaveLength(3);
    const logF = (b: number, i: number, j: number) => features[b][i][j][0];
    expect(logF(0, 1, 0)).toBeGreaterThan(Math.log1p(50));
    for (const [i, j] of [
      [0, 1],
      [2, 0],
      [0, 2],
      [2, 1],
      [1, 2],
    ])
      expect(logF(0, i, j)).toBeLessThan(Math.log1p(8));
    expect(logF(1, 1, 2)).toBeCloseTo(logF(0, 1, 0), 4); // the same pair, relabelled
    expect(features[0][1][1]).toEqual([0, 0, 0]);
    // The values are the granger-var baseline's (itself checked against statsmodels).
    const reference = grangerShop([...x0, ...x1, ...x2], 3, W, {
      lag: 2,
      test: 'conditional',
      ridge: 0,
      standardize: true,
    });
    expect(logF(0, 1, 0)).toBeCloseTo(Math.log1p(reference.F[1 * 3 + 0]), 3);
    expect(features[0][1][0][1]).toBeCloseTo(reference.coef[(1 + 0 * 2 + 0) * 3 + 1], 4);
    expect(features[0][1][0][1]).toBeGreaterThan(0.5); // lag 1 of x0 in x1's equation
    expect(Math.abs(features[0][1][0][2])).toBeLessThan(0.2); // lag 2: no effect
    expect(() => tf.tidy(() => grangerFeatures(tf.zeros([1, 8, 18]) as tf.Tensor3D, 2))).toThrow(
      /window of 18 steps is too short for a VAR\(2\) over 8 nodes/,
    );
  });

  it('adds edgePrior: pair logits, the same for every shop, stepped at edgePriorRate', () => {
    const model = new CausalmmmModel(shape, tiny({ edgePrior: 'pair', edgePriorRate: 7 }), new Rng(0));
    const plain = new CausalmmmModel(shape, tiny(), new Rng(0));
    const pair = model.variables.filter((_, k) => model.learningRates[k] === 7);
    expect(pair.map((v) => v.shape)).toEqual([[N * N]]);
    expect(model.learningRates.filter((r) => r === 1)).toHaveLength(plain.variables.length);
    const shift = tf.tidy(() => {
      const { x } = inputs(2);
      const before = model.edgeLogits(x, 'shop');
      pair[0].assign(tf.range(0, N * N).toFloat());
      return model.edgeLogits(x, 'shop').sub(before).arraySync() as number[][][];
    });
    // shop b, pair (i, j) moves by the pair's own logit i·N + j, in every shop alike
    for (const b of [0, 1])
      for (const [i, j] of [
        [0, 1],
        [3, 2],
      ])
        expect(shift[b][i][j]).toBeCloseTo(i * N + j, 4);
    model.discardPendingStatistics();
    model.dispose();
    plain.dispose();
  });

  it('draws standard logistic noise (mean 0, variance π²/3)', () => {
    const noise = Array.from(logisticNoise(new Rng(3), 2000, 5).dataSync());
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
    const variance = noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(variance).toBeGreaterThan((Math.PI ** 2 / 3) * 0.95);
    expect(variance).toBeLessThan((Math.PI ** 2 / 3) * 1.05);
  });
});

describe('CausalMMM semi-amortized refinement (refineSteps)', () => {
  const panel = simulate({ preset: 'var', seed: 6, shops: 6, p: 4, steps: 50, sparsity: 0.4 });
  const options = causalmmm.options.parse({
    ...causalmmm.testConfig,
    epochs: 3,
    trainWindow: 30,
    refineSteps: 25,
  });
  const data = prepareSeries(panel, options.scale);
  const all = Array.from({ length: panel.shops }, (_, s) => s);

  it('lowers the shops’ ELBO below the encoder’s logits, leaves the model as it was, and leaks nothing', () => {
    const { model } = trainCausalmmm(data, options, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    const M = panel.nodeCount;
    const encoder = tf.tidy(() => {
      const { x } = batchTensors(data, all);
      return model.edgeLogits(model.encoderInput(x), 'shop').dataSync() as Float32Array;
    });
    model.discardPendingStatistics();
    const tensors = tf.memory().numTensors;
    const weights = model.variables.map((v) => Array.from(v.dataSync()));
    const refined = shopEdgeLogits(model, data, 3);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(model.variables.map((v) => Array.from(v.dataSync()))).toEqual(weights);
    expect(Array.from(shopEdgeLogits(model, data, 3))).toEqual(Array.from(refined));
    // The expected ELBO over the whole series, 16 fixed noise draws, under each set of logits.
    const elbo = (logits: Float32Array) =>
      tf.tidy(() => {
        const { x, context } = batchTensors(data, all);
        const l = tf.tensor3d(logits, [panel.shops, M, M]);
        let total = 0;
        const rng = new Rng(9);
        for (let d = 0; d < 16; d++)
          total += oneStepElbo(model, x, context, l, logisticNoise(rng, panel.shops, M)).dataSync()[0];
        return total / 16;
      });
    expect(elbo(refined)).toBeLessThan(elbo(encoder));
    expect(Array.from(refined)).not.toEqual(Array.from(encoder));
    // The probabilities are σ of the refined logits.
    const probs = edgeProbabilities(model, data, 3);
    expect(probs[1][1 * M + 2]).toBeCloseTo(1 / (1 + Math.exp(-refined[M * M + M + 2])), 6);
    // Forecasts from given logits are the encoder's own when they are the encoder's logits.
    expect(Array.from(forecastShops(model, data, 4, 0, undefined, encoder))).toEqual(
      Array.from(forecastShops(model, data, 4, 0)),
    );
    expect(Array.from(forecastShops(model, data, 4, 0, undefined, refined))).not.toEqual(
      Array.from(forecastShops(model, data, 4, 0)),
    );
    model.dispose();
  });
});

/** The released architecture, small: these tests cover the defaults, not the testConfig's choices. */
const released = { hidden: 16, batchSize: 8, learningRate: 5e-3, patience: 0, trainWindow: 40 };

describe('CausalMMM training', () => {
  const panel = simulate({ preset: 'var', seed: 5, shops: 24, p: 4, steps: 60, sparsity: 0.4 });
  const base = causalmmm.options.parse({ ...released, epochs: 4 });

  it('keeps tf.memory().numTensors flat across epochs', () => {
    const counts: number[] = [];
    const result = trainCausalmmm(
      prepareSeries(panel, base.scale),
      base,
      0,
      { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices },
      () => counts.push(tf.memory().numTensors),
    );
    result.model.dispose();
    // from epoch 2 on, the best-checkpoint copy exists: the count must not grow after that
    expect(counts.length).toBe(4);
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('releases every tensor once the trained model is disposed', () => {
    const before = tf.memory().numTensors;
    const { model } = trainCausalmmm(prepareSeries(panel, base.scale), { ...base, epochs: 2 }, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("graphAverage epochs: the graph is the mean of the kept epochs' graphs; the model and memory are left as they were", () => {
    const before = tf.memory().numTensors;
    const data = prepareSeries(panel, base.scale);
    const shapeOf = { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices };
    const perEpoch: Float64Array[][] = [];
    // Validation early stopping keeps the best epoch; the snapshots stop there too.
    const options = {
      ...base,
      epochs: 12,
      learningRate: 0.01,
      graphAverage: 'epochs' as const,
      valFraction: 0.25,
    };
    const result = trainCausalmmm(data, options, 0, shapeOf, (_, model) =>
      perEpoch.push(edgeProbabilities(model, data)),
    );
    expect(result.snapshots).toHaveLength(result.bestEpoch);
    // (here epoch 11 of 12 is the best: the last epoch's snapshot is dropped)
    expect(result.bestEpoch).toBeLessThan(12);
    const kept = edgeProbabilities(result.model, data);
    const averaged = averagedEdgeProbabilities(result.model, result.snapshots, data);
    expect(edgeProbabilities(result.model, data)).toEqual(kept);
    const expected = averaged.map((shop, s) =>
      shop.map(
        (_, k) => perEpoch.slice(0, result.bestEpoch).reduce((sum, e) => sum + e[s][k], 0) / result.bestEpoch,
      ),
    );
    for (const [s, shop] of averaged.entries())
      for (const [k, v] of shop.entries()) expect(v).toBeCloseTo(expected[s][k], 6);
    // More than one epoch kept, and not every epoch's graph alike: the mean is not the last graph.
    expect(result.bestEpoch).toBeGreaterThan(1);
    expect(averaged).not.toEqual(kept);
    disposeTrainResult(result);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('graphAverage epochs with refineSteps: the refinement starts from the mean graph', () => {
    const before = tf.memory().numTensors;
    const data = prepareSeries(panel, base.scale);
    const shapeOf = { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices };
    // A step too small to move the logits shows where the refinement starts.
    const options = { ...base, epochs: 4, graphAverage: 'epochs' as const, refineSteps: 2, refineRate: 1e-9 };
    const result = trainCausalmmm(data, options, 0, shapeOf);
    expect(result.snapshots.length).toBeGreaterThan(1);
    const averaged = averagedEdgeProbabilities(result.model, result.snapshots, data);
    const refined = edgeProbabilities(
      result.model,
      data,
      0,
      refinedAverageLogits(result.model, result.snapshots, data, 0),
    );
    for (const [s, shop] of averaged.entries())
      for (const [k, v] of shop.entries()) expect(refined[s][k]).toBeCloseTo(v, 5);
    expect(refined).not.toEqual(edgeProbabilities(result.model, data));
    disposeTrainResult(result);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes windowsPerShop crops of each training shop per epoch', () => {
    const steps = (windowsPerShop: number) => {
      const spy = vi.spyOn(CausalmmmModel.prototype, 'losses');
      try {
        const options = {
          ...base,
          epochs: 1,
          batchSize: 4,
          trainWindow: 20,
          windowsPerShop,
          valFraction: 0.25,
        };
        const result = trainCausalmmm(prepareSeries(panel, base.scale), options, 0, {
          targetIndex: panel.targetIndex,
          channelIndices: panel.channelIndices,
        });
        result.model.dispose();
        return spy.mock.calls.filter((call) => call[3] === 'train').length;
      } finally {
        spy.mockRestore();
      }
    };
    // 24 shops, 6 held out: 18 training shops in batches of 4
    expect(steps(1)).toBe(5);
    expect(steps(3)).toBe(Math.ceil((18 * 3) / 4));
  });

  it('takes stepsPerEpoch Adam steps of batchSize crops per epoch, whatever the shop count', () => {
    const run = (data: typeof panel, stepsPerEpoch: number, epochs: number) => {
      const spy = vi.spyOn(CausalmmmModel.prototype, 'losses');
      try {
        const options = { ...base, epochs, batchSize: 4, trainWindow: 20, stepsPerEpoch, valFraction: 0.25 };
        const result = trainCausalmmm(prepareSeries(data, base.scale), options, 0, {
          targetIndex: data.targetIndex,
          channelIndices: data.channelIndices,
        });
        result.model.dispose();
        const batches = spy.mock.calls.filter((call) => call[3] === 'train').map((call) => call[0].shape[0]);
        return { steps: batches.length, batches, epochs: result.history.length };
      } finally {
        spy.mockRestore();
      }
    };
    const oneShop = panel.selectShops([0]);
    for (const data of [panel, oneShop]) {
      const { steps, batches, epochs } = run(data, 7, 2);
      expect(epochs).toBe(2);
      expect(steps).toBe(14);
      expect(new Set(batches)).toEqual(new Set([4]));
    }
    // 0 keeps one pass over the training shops: 18 of 24 in batches of 4, 1 shop in one batch
    expect(run(panel, 0, 1).steps).toBe(5);
    expect(run(oneShop, 0, 1).steps).toBe(1);
  });

  it('freezes the encoder after encoderEpochs while the decoder trains on', () => {
    const snapshots = (encoderEpochs: number) => {
      const seen: { encoder: number[][]; decoder: number[][] }[] = [];
      const result = trainCausalmmm(
        prepareSeries(panel, base.scale),
        { ...base, epochs: 4, encoderEpochs, patience: 0 },
        0,
        { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices },
        (_report, model) => {
          const values = (vs: tf.Variable[]) => vs.map((v) => Array.from(v.dataSync()));
          const decoder = model.variables.filter((v) => !model.encoderVariables.includes(v));
          seen.push({ encoder: values(model.encoderVariables), decoder: values(decoder) });
        },
      );
      expect(result.model.encoderVariables.length).toBeGreaterThan(0);
      result.model.dispose();
      return seen;
    };
    const frozen = snapshots(2);
    expect(frozen[2].encoder).toEqual(frozen[1].encoder);
    expect(frozen[3].encoder).toEqual(frozen[1].encoder);
    expect(frozen[3].decoder).not.toEqual(frozen[1].decoder);
    // the same training without the freeze moves the encoder in those epochs
    const free = snapshots(0);
    expect(free[0].encoder).toEqual(frozen[0].encoder);
    expect(free[3].encoder).not.toEqual(free[1].encoder);
  });

  it('splits batches over worker threads (threads) computing what one thread does, deterministically', {
    timeout: 60_000,
  }, () => {
    const data = prepareSeries(panel, base.scale);
    const shapeOf = { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices };
    // 18 training shops in batches of 5 (parts of 3 and 2, the last batch 2 and 1); the encoder
    // frozen after one epoch, so both kinds of step go through the workers; the epoch-end
    // tensor counts must stay flat with workers too.
    const train = (threads: number) => {
      const counts: number[] = [];
      const result = trainCausalmmm(
        data,
        { ...base, epochs: 3, batchSize: 5, valFraction: 0.25, encoderEpochs: 1, threads },
        0,
        shapeOf,
        () => counts.push(tf.memory().numTensors),
      );
      const values = (vs: readonly tf.Tensor[]) => vs.flatMap((v) => Array.from(v.dataSync()));
      const out = {
        history: result.history.map((e) => [e.loss, e.nll, e.kl, e.mse, e.valLoss]),
        weights: values(result.model.variables),
        statistics: values(result.model.statistics),
        counts,
      };
      result.model.dispose();
      return out;
    };
    const one = train(1);
    const two = train(2);
    const close = (a: number[], b: number[], tolerance: number) =>
      a.every((x, i) => Math.abs(x - b[i]) <= tolerance * Math.max(1, Math.abs(x)));
    expect(close(one.history.flat(), two.history.flat(), 1e-4)).toBe(true);
    expect(close(one.weights, two.weights, 1e-3)).toBe(true);
    expect(close(one.statistics, two.statistics, 1e-3)).toBe(true);
    // not the same numbers by accident of a path that never split: the sums ran in another order
    expect(two.weights).not.toEqual(one.weights);
    expect(train(2)).toEqual(two);
    expect(new Set(two.counts.slice(1)).size).toBe(1);
    // Two workers: every worker answers the step it was posted.
    const three = train(3);
    expect(close(one.history.flat(), three.history.flat(), 1e-4)).toBe(true);
    expect(close(one.weights, three.weights, 1e-3)).toBe(true);
  });

  it('refuses threads with dropout, and reports a worker that cannot start', () => {
    const data = prepareSeries(panel, base.scale);
    const shapeOf = { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices };
    const before = tf.memory().numTensors;
    expect(() => trainCausalmmm(data, { ...base, threads: 2, dropout: 0.1 }, 0, shapeOf)).toThrow(UserError);
    expect(tf.memory().numTensors).toBe(before);
    const setup = {
      backend: 'wasm',
      shape: { nodes: 4, encoderSteps: 40, contextSize: 0, ...shapeOf },
      options: base,
      data,
      trainLength: 40,
      variableSizes: [1, 2, 3],
      maxPart: 4,
      statisticsSize: 16,
    };
    expect(() => new GradientWorkers(1, setup, 4)).toThrow(/gradient worker failed: .*variables of sizes/);
  });

  it('reports a NaN loss as a numerical error naming the epoch', () => {
    const bad = simulate({ preset: 'var', seed: 5, shops: 4, p: 4, steps: 60 });
    bad.values[17] = Number.NaN;
    expect(() =>
      trainCausalmmm(prepareSeries(bad, 'none'), base, 0, {
        targetIndex: bad.targetIndex,
        channelIndices: bad.channelIndices,
      }),
    ).toThrow(/loss became NaN in epoch 1/);
  });

  it('runs every ablation from its option', async () => {
    const { history, future } = panel.splitTime(5);
    const ablations: Partial<CausalmmmOptions>[] = [
      { graph: 'full' },
      { graph: 'empty' },
      { temporal: 'none' },
      { temporal: 'adstock' },
      { saturation: 'none' },
      { saturation: 'hill' },
      { context: 'none' },
      { decoder: 'markov' },
      { candidate: 'tanh' },
      { evalEdges: 'hard', hardTraining: true },
      { evalEdges: 'mean', evalNorm: 'running' },
      { encoderWindow: 'history', prior: 'sparse' },
      { encoderWindow: 'disjoint', trainWindow: 20, aggregate: 'normalized' },
      { nodeIdentity: 'embedding', messages: 'hidden-input' },
      { messages: 'own-lags', messageLags: 4, edgeFeatures: 'lagged-correlation', windowsPerShop: 2 },
      { edgePrior: 'pair', edgePriorRate: 5, predictSteps: 1 },
      { dropout: 0.1, clipNorm: 1 },
      { output: 'residual' },
    ];
    for (const ablation of ablations) {
      const options = causalmmm.options.parse({ ...released, epochs: 1, ...ablation });
      const output = await causalmmm.run({ panel: history, horizon: 5, seed: 0 }, options);
      expect(output.forecasts, JSON.stringify(ablation)).toHaveLength(panel.shops * panel.nodeCount * 5);
      expect(output.forecasts!.every(Number.isFinite)).toBe(true);
      expect(output.graphScores === undefined, JSON.stringify(ablation)).toBe(ablation.graph !== undefined);
    }
    expect(future.steps).toBe(5);
  });

  it('averages the graphs and forecasts of ensemble members, each trained from its own seed', async () => {
    const { history } = panel.splitTime(5);
    const run = (seed: number, ensemble: number) =>
      causalmmm.run(
        { panel: history, horizon: 5, seed },
        causalmmm.options.parse({ ...released, epochs: 2, ensemble }),
      );
    const [pair, first, second] = [await run(3, 2), await run(3, 1), await run(ensembleSeed(3, 1), 1)];
    expect(ensembleSeed(3, 0)).toBe(3);
    expect(first.graphScores).not.toEqual(second.graphScores);
    pair.graphScores!.forEach((p, s) => {
      p.forEach((v, k) => {
        expect(v).toBeCloseTo((first.graphScores![s][k] + second.graphScores![s][k]) / 2, 12);
      });
    });
    pair.forecasts!.forEach((v, k) => {
      expect(v).toBeCloseTo((first.forecasts![k] + second.forecasts![k]) / 2, 4);
    });
    expect(pair.info).toEqual({ ...first.info, ensemble: 2 });
  });

  it('uses known future spends: channels are the plan, the target follows it', async () => {
    const { history, future } = panel.splitTime(5);
    const C = panel.channelIndices.length;
    const planned = new Float32Array(panel.shops * C * 5);
    for (let s = 0; s < panel.shops; s++) {
      for (const [c, n] of panel.channelIndices.entries()) {
        planned.set(future.series(s, n), (s * C + c) * 5);
      }
    }
    const options = causalmmm.options.parse({ ...released, epochs: 2 });
    const withPlan = await causalmmm.run(
      { panel: history, horizon: 5, seed: 0, futureChannels: planned },
      options,
    );
    const without = await causalmmm.run({ panel: history, horizon: 5, seed: 0 }, options);
    const [c0] = panel.channelIndices;
    expect(Array.from(withPlan.forecasts!.subarray(c0 * 5, c0 * 5 + 5))).toEqual(
      Array.from(future.series(0, c0)),
    );
    expect(withPlan.forecasts).not.toEqual(without.forecasts);
  });

  it('needs two disjoint training windows for encoderWindow disjoint', () => {
    const data = prepareSeries(panel, base.scale);
    const train = (trainWindow: number) => () =>
      trainCausalmmm(data, { ...base, encoderWindow: 'disjoint', trainWindow, epochs: 1 }, 0, {
        targetIndex: panel.targetIndex,
        channelIndices: panel.channelIndices,
      }).model.dispose();
    expect(train(0)).toThrow(/encoderWindow disjoint needs trainWindow > 0/);
    expect(train(31)).toThrow(/2 · trainWindow ≤ the series' 60 steps/);
    expect(train(30)).not.toThrow();
  });

  it('needs an encoder window long enough for the VAR of edgeFeatures granger', () => {
    const data = prepareSeries(panel, base.scale);
    const train = (trainWindow: number) => () =>
      trainCausalmmm(
        data,
        { ...base, edgeFeatures: 'granger', grangerLags: 2, trainWindow, predictSteps: 1, epochs: 1 },
        0,
        {
          targetIndex: panel.targetIndex,
          channelIndices: panel.channelIndices,
        },
      ).model.dispose();
    // p = 4 nodes, lag 2: 2 + 2 · 5 = 12 steps
    expect(train(11)).toThrow(
      /edgeFeatures granger fits a VAR\(2\) over 4 nodes on the encoder's 11-step window, which needs at least 12/,
    );
    expect(train(12)).not.toThrow();
  });

  it('rejects unknown and out-of-range options', () => {
    expect(() => causalmmm.options.parse({ hiden: 3 })).toThrow();
    expect(() => causalmmm.options.parse({ tau: 0 })).toThrow();
    expect(() => causalmmm.options.parse({ graph: 'dense' })).toThrow();
    expect(() => nri.options.parse({ epochs: -1 })).toThrow();
    expect(() => causalmmm.options.parse({ messageLags: 0 })).toThrow();
    expect(() => causalmmm.options.parse({ windowsPerShop: 0 })).toThrow();
    expect(() => causalmmm.options.parse({ edgeFeatures: 'granger-f' })).toThrow();
    expect(() => causalmmm.options.parse({ grangerLags: 0 })).toThrow();
  });

  it('makes nri the CausalMMM code with the Markov decoder and no saturation', () => {
    const options = nri.options.parse({});
    expect(options.decoder).toBe('markov');
    expect(options.saturation).toBe('none');
    expect(options.hidden).toBe(causalmmm.options.parse({}).hidden);
  });
});

describe.skipIf(!existsSync(path.join(shared, 'datasets/causalmmm-release')))(
  'CausalMMM on the released shops',
  () => {
    // Above the Granger VAR(2)'s 0.842, but the release's AUROC is mostly its population
    // structure: scoring every pair into a non-channel node 1 reaches 0.90 (README).
    it("ranks the true edges of the authors' shops above the Granger VAR(2)'s 0.842 after one epoch", async () => {
      const panel = readCausalmmmRelease(path.join(shared, 'datasets/causalmmm-release')).selectShops(
        Array.from({ length: 100 }, (_, s) => s),
      );
      const options = causalmmm.options.parse({ hidden: 64, batchSize: 1, epochs: 1, scale: 'none' });
      const output = await causalmmm.run({ panel, horizon: 0, seed: 0 }, options);
      const truths = Array.from({ length: panel.shops }, (_, s) => panel.trueGraph(s)!);
      const { auroc } = graphMetrics(truths, output.graphScores!, undefined, panel.nodeCount);
      expect(auroc).toBeGreaterThan(0.85);
    }, 600_000);
  },
);
