import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineMethod } from '../src/methods/method.js';
import {
  fitShopsIsta,
  groupSoftThreshold,
  offDiagonalScores,
  tanhViaSigmoid,
  trainIsta,
  uniformVariable,
} from '../src/methods/neural.js';
import { checkSteps } from '../src/methods/series.js';
import type { Rng } from '../src/rng.js';

export const clstmOptions = z.strictObject({
  /** Hidden units of each component LSTM. */
  hidden: z.int().min(1).default(100),
  /** Length of the training windows (truncated back-propagation through time). */
  context: z.int().min(1).default(10),
  /** Weight λ of the group lasso on the input-weight columns. */
  lambda: z.number().min(0).default(10),
  /** Ridge on the recurrent and output weights. */
  ridge: z.number().min(0).default(0.01),
  /** Step size of the proximal gradient (ISTA) iterations. */
  lr: z.number().positive().default(1e-3),
  maxIter: z.int().positive().default(1000),
  checkEvery: z.int().positive().default(50),
  lookback: z.int().positive().default(5),
  /**
   * At most this many training windows per shop, evenly spaced (the reference uses every one of
   * the T − context overlapping windows); bounds the per-shop cost.
   */
  maxWindows: z.int().positive().default(200),
  standardize: z.boolean().default(true),
});

export type ClstmOptions = z.output<typeof clstmOptions>;

/**
 * Windows of one shop: starts s = 0, stride, …; inputs x[s … s + C − 1], targets x[s + 1 … s + C].
 * Returns inputs [C·W, N] and targets [C·W, N] (row-major), step-major: row c·W + w is step c of
 * window w.
 */
function windows(x: Float64Array, N: number, T: number, C: number, maxWindows: number) {
  const available = T - C;
  const stride = Math.max(1, Math.ceil(available / maxWindows));
  const starts: number[] = [];
  for (let s = 0; s < available; s += stride) starts.push(s);
  const W = starts.length;
  const inputs = new Float32Array(C * W * N);
  const targets = new Float32Array(C * W * N);
  for (let c = 0; c < C; c++) {
    starts.forEach((s, w) => {
      for (let n = 0; n < N; n++) {
        inputs[(c * W + w) * N + n] = x[n * T + s + c];
        targets[(c * W + w) * N + n] = x[n * T + s + c + 1];
      }
    });
  }
  return { inputs, targets, W };
}

/**
 * Trains the N component LSTMs of one shop jointly (disjoint parameters, summed losses) and
 * returns the N × N matrix of input-weight column norms, `[i * N + j]` = ‖W_ih[i][j, :]‖ over
 * all four gates (j → i).
 *
 * Shapes: inputs of all steps [N targets, C·W, N sources] (step-major rows); W_ih [N, N, 4H],
 * W_hh [N, H, 4H], b [N, 1, 4H] (gate order input, forget, cell, output); W_out [N, H, 1];
 * outputs [N, C·W, 1]. The input and output projections of all C steps are one product each
 * (fewer, larger kernels: tfjs's per-op overhead dominates at these sizes); only the
 * recurrence runs step by step.
 */
export function fitClstmShop(
  x: Float64Array,
  N: number,
  T: number,
  o: ClstmOptions,
  rng: Rng,
  shop: number,
): { scores: Float64Array; iterations: number; windows: number } {
  const H = o.hidden;
  const C = o.context;
  const data = windows(x, N, T, C, o.maxWindows);
  const W = data.W;
  const allInputs = tf.tidy(() =>
    tf
      .tensor2d(data.inputs, [C * W, N])
      .expandDims(0)
      .tile([N, 1, 1]),
  );
  const allTargets = tf.tidy(() =>
    tf
      .tensor2d(data.targets, [C * W, N])
      .transpose()
      .expandDims(2),
  );
  const bound = 1 / Math.sqrt(H);
  const Wih = uniformVariable(rng.fork('Wih'), [N, N, 4 * H], bound);
  const Whh = uniformVariable(rng.fork('Whh'), [N, H, 4 * H], bound);
  const b = uniformVariable(rng.fork('b'), [N, 1, 4 * H], bound);
  const Wout = uniformVariable(rng.fork('Wout'), [N, H, 1], bound);
  const bout = uniformVariable(rng.fork('bout'), [N, 1, 1], bound);
  const params = [Wih, Whh, b, Wout, bout];
  const smoothLoss = () => {
    const inputGates = tf.unstack(
      tf
        .matMul(allInputs, Wih)
        .add(b)
        .reshape([N, C, W, 4 * H]),
      1,
    );
    let h: tf.Tensor3D | undefined;
    let c: tf.Tensor | undefined;
    const hidden: tf.Tensor[] = [];
    for (let step = 0; step < C; step++) {
      // Each window starts from a zero state: step 0 has no recurrent term and no carried cell.
      const gates = h ? inputGates[step].add(tf.matMul(h, Whh)) : inputGates[step];
      const [gi, gf, gg, go] = tf.split(gates, 4, 2);
      const written = tf.sigmoid(gi).mul(tanhViaSigmoid(gg));
      c = c ? tf.sigmoid(gf).mul(c).add(written) : written;
      h = tf.sigmoid(go).mul(tanhViaSigmoid(c)) as tf.Tensor3D;
      hidden.push(h);
    }
    const out = tf.matMul(tf.concat(hidden, 1) as tf.Tensor3D, Wout).add(bout);
    const sse = out.sub(allTargets).square().sum();
    const ridge = Whh.square().sum().add(Wout.square().sum()).mul(o.ridge);
    return sse.div(W * C).add(ridge) as tf.Scalar;
  };
  try {
    const iterations = trainIsta(
      {
        params,
        smooth: smoothLoss,
        penalty: () => Wih.square().sum(2).sqrt().sum().mul(o.lambda) as tf.Scalar,
        proximal: () => Wih.assign(groupSoftThreshold(Wih, [2], o.lr * o.lambda)),
        scale: N,
      },
      o,
      { method: 'ngc-clstm', shop },
    );
    const norms = tf.tidy(() => Wih.square().sum(2).sqrt().dataSync());
    return { scores: offDiagonalScores(norms, N), iterations, windows: W };
  } finally {
    tf.dispose([allInputs, allTargets, ...params]);
  }
}

/**
 * Neural Granger causality with component-wise LSTMs (cLSTM, Tank et al.), fitted to each shop
 * separately.
 *
 * Model: for each target i an LSTM reads all N series and predicts x_i one step ahead; the
 * columns of its input weights W_ih (one per source, spanning the four gates) carry a group
 * lasso λ Σ_j ‖W_ih[:, j]‖, applied by proximal gradient steps (ISTA) after each gradient step
 * on the MSE plus a ridge on the recurrent and output weights; early stopping as the reference.
 * Training data: windows of `context` steps, truncated back-propagation through time, each
 * window starting from a zero state. Score of j → i: ‖W_ih[i][:, j]‖.
 *
 * Cost per shop ∝ maxIter · windows · context · N · H(N + H): `maxWindows` caps the windows
 * (evenly spaced starts instead of all T − context), and maxIter caps the iterations, so a shop
 * of any length costs at most maxIter · maxWindows · context LSTM cell steps per target.
 *
 * Shapes and orientation: input panel [S, N, T]; per shop an N × N score matrix, `[i * N + j]`
 * about j → i, diagonal 0. Series z-scored per shop (`standardize`).
 *
 * Implementation: tfjs, for autodiff through time (a hand-written LSTM backward pass is long
 * and error-prone) and because the cost is matmul-bound ([N, W, ·] batch matmuls per step).
 */
export const ngcClstm = defineMethod({
  name: 'ngc-clstm',
  title: 'Neural Granger causality, component-wise LSTM (cLSTM)',
  paper:
    'A. Tank, I. Covert, N. Foti, A. Shojaie, E. B. Fox, "Neural Granger Causality", IEEE TPAMI 44(8):4267–4279, 2022',
  scaleDown:
    'reference defaults (hidden 100, context 10, λ 10, ridge 0.01, lr 1e-3, early stopping every 50 iterations) but at most 1000 ISTA iterations instead of 20 000 and at most 200 evenly spaced training windows per shop instead of all T − 10; series z-scored per shop',
  produces: ['graph'] as const,
  options: clstmOptions,
  testConfig: { hidden: 8, context: 3, lambda: 0.05, lr: 0.5, maxIter: 30, checkEvery: 30, maxWindows: 30 },
  async run(input, options) {
    const { nodeCount: N, steps: T } = input.panel;
    checkSteps('ngc-clstm', 'context', options.context, T);
    const { fits, graphScores, meanIterations } = fitShopsIsta(
      input,
      'ngc-clstm',
      options.standardize,
      (x, rng, s) => fitClstmShop(x, N, T, options, rng, s),
    );
    return { graphScores, info: { meanIterations, windows: fits[0].windows } };
  },
});
