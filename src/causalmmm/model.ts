/**
 * CausalMMM (Gong et al., WSDM 2024) on TensorFlow.js: a causal relational encoder that
 * infers each shop's Granger-causal graph from its series, and a marketing response decoder
 * that predicts the series through that graph, with carry-over (recurrence) and
 * context-dependent Hill saturation on the target.
 *
 * Orientation: an edge score `[b, i, j]` is about j → i (i receives, j sends), as in
 * `A[i][j] = 1` ⇔ j → i. Shapes: B shops in a batch, N nodes, T steps, H hidden, k context.
 *
 * Two rewrites make the released computation cheaper without changing it:
 *  - the first message layer W1·[h_j, h_i] is W1s·h_j + W1r·h_i, computed per node
 *    (N rows) and broadcast over the N × N pairs, instead of per edge;
 *  - tanh(z) = 2σ(2z) − 1 with the affine parts folded into the next matrix product,
 *    because tfjs-wasm's sigmoid is vectorised and ~18× faster than its tanh.
 * The diagonal pairs (i = i) are computed and masked out, which is cheaper in tfjs than
 * gathering the N(N − 1) off-diagonal rows.
 */
import * as tf from '@tensorflow/tfjs';
import { grangerShop } from '../../baselines/granger-var.js';
import { tanhViaSigmoid } from '../methods/neural.js';
import type { Rng } from '../rng.js';
import type { CausalmmmOptions } from './options.js';
import { type BatchNormParams, type Linear, type MlpBlock, ParamFactory, packValues } from './params.js';

/** How BatchNorm layers get their statistics in a forward pass. */
export type NormMode = 'train' | 'shop' | 'running';

export interface ModelShape {
  nodes: number;
  /** Steps of the encoder's input window (its first layer's width). */
  encoderSteps: number;
  /** Context features per shop (0 when the data has none). */
  contextSize: number;
  targetIndex: number;
  channelIndices: readonly number[];
}

interface RecurrentDecoderParams {
  kind: 'recurrent';
  msgSend: tf.Variable;
  msgRecv: tf.Variable;
  msgBias: tf.Variable;
  msg2: Linear;
  /**
   * Aggregate-to-gate maps [H, H] each: reset, update, candidate (separate matrices: a split
   * of one [H, 3H] product along columns is a slow strided copy in tfjs-wasm).
   */
  gateHidden: [tf.Variable, tf.Variable, tf.Variable];
  /** Input-to-gate maps [1, H] each (node dimension 1, no bias, as released). */
  gateInput: [tf.Variable, tf.Variable, tf.Variable];
  out1: Linear;
  out2: Linear;
  out3: Linear;
  /** Per-node input embedding [1, H] used instead of the hidden state when `temporal: none`. */
  embed?: Linear;
  /** Current-value terms [1, H] of the first message layer (sender, receiver), `messages: hidden-input`. */
  msgInput?: [tf.Variable, tf.Variable];
  /**
   * `messages: own-lags`: the receiver's own last K values' term [K, H] of the first message
   * layer (the sender's is `msgSend`, then [K, H] instead of [H, H]).
   */
  msgRecvLags?: tf.Variable;
  /** [N, H] per-sender vectors added to the first message layer (`senderIdentity: embedding`). */
  senderEmbedding?: tf.Variable;
}

interface MarkovDecoderParams {
  kind: 'markov';
  msgSend: tf.Variable;
  msgRecv: tf.Variable;
  msgBias: tf.Variable;
  msg2: Linear;
  outInput: tf.Variable;
  outAgg: tf.Variable;
  outBias: tf.Variable;
  out2: Linear;
  out3: Linear;
  /** [N, H] per-sender vectors added to the first message layer (`senderIdentity: embedding`). */
  senderEmbedding?: tf.Variable;
}

interface SaturationParams {
  /** Context → α and γ maps ([k, 1] weights and a bias), or constants when `w` is absent. */
  alpha: { w?: tf.Variable; b: tf.Variable };
  gamma: { w?: tf.Variable; b: tf.Variable };
}

export interface Losses {
  loss: tf.Scalar;
  nll: tf.Scalar;
  kl: tf.Scalar;
  mse: tf.Scalar;
}

const BN_EPS = 1e-5;
const BN_MOMENTUM = 0.1;

export class CausalmmmModel {
  readonly variables: tf.Variable[];
  /** The encoder's share of `variables` (none under a fixed graph). */
  readonly encoderVariables: tf.Variable[];
  readonly statistics: tf.Variable[];
  /** Learning-rate multiplier of each of `variables` (1 unless an option says otherwise). */
  readonly learningRates: number[];
  private readonly encoder?: {
    f1: MlpBlock;
    f2: MlpBlock;
    f3: MlpBlock;
    f4: MlpBlock;
    out: Linear;
    /** [N, H] per-node vectors added to the node features (`nodeIdentity: embedding`). */
    nodeEmbedding?: tf.Variable;
    /** [F, H] map of a pair's F features (`edgeFeatures`) into f2's first layer. */
    pairFeatures?: tf.Variable;
    /** [N, N] logits added to every shop's (`edgePrior: pair`). */
    pairLogits?: tf.Variable;
  };
  private readonly decoder: RecurrentDecoderParams | MarkovDecoderParams;
  private readonly saturation?: SaturationParams;
  private readonly adstockLogit?: tf.Variable;
  /** Batch statistics of the last training forward pass, folded into the running ones after the step. */
  private pendingStats: { norm: BatchNormParams; mean: tf.Tensor; variance: tf.Tensor }[] = [];
  readonly saturationKind: 'hill-context' | 'hill' | 'none';
  /** The Hill curve's maps; their gradient is zero where the 0.1 clamps are active. */
  get saturationVariables(): tf.Variable[] {
    const sat = this.saturation;
    return sat ? [sat.alpha.w, sat.alpha.b, sat.gamma.w, sat.gamma.b].filter((v) => v !== undefined) : [];
  }

  constructor(
    readonly shape: ModelShape,
    readonly options: CausalmmmOptions,
    rng: Rng,
  ) {
    const H = options.hidden;
    const params = new ParamFactory(rng);
    if (options.graph === 'learned') {
      this.encoder = {
        f1: params.mlpBlock([shape.encoderSteps], H, H),
        f2: params.mlpBlock([H, H], H, H),
        f3: params.mlpBlock([H], H, H),
        f4: params.mlpBlock([H, H, H], H, H),
        out: { w: params.xavierWeight(H, 2), b: params.constant(2, 0.1) },
        ...(options.nodeIdentity === 'embedding'
          ? { nodeEmbedding: params.xavierWeight(shape.nodes, H) }
          : {}),
        ...(options.edgeFeatures !== 'none'
          ? { pairFeatures: params.xavierWeight(pairFeatureCount(options), H) }
          : {}),
        ...(options.edgePrior === 'pair'
          ? { pairLogits: params.constant(shape.nodes * shape.nodes, 0) }
          : {}),
      };
    }
    const encoderVariableCount = params.trainable.length;
    // Drawn last in the decoder, so the other options' draws stay what they were.
    const senderEmbedding = () =>
      options.senderIdentity === 'embedding' ? { senderEmbedding: params.xavierWeight(shape.nodes, H) } : {};
    if (options.decoder === 'recurrent') {
      // msg1 is one PyTorch Linear(2H → H) in the released code, stored as its two halves.
      const K = options.messageLags;
      const ownLags = options.messages === 'own-lags';
      this.decoder = {
        kind: 'recurrent',
        msgSend: ownLags ? params.torchWeight(H + 2 * K, K, H) : params.torchWeight(2 * H, H, H),
        msgRecv: params.torchWeight(2 * H, H, H),
        msgBias: params.torchBias(2 * H, H),
        msg2: params.torchLinear(H, H),
        gateHidden: [params.torchWeight(H, H, H), params.torchWeight(H, H, H), params.torchWeight(H, H, H)],
        gateInput: [params.torchWeight(1, 1, H), params.torchWeight(1, 1, H), params.torchWeight(1, 1, H)],
        out1: params.torchLinear(H, H),
        out2: params.torchLinear(H, H),
        out3: params.torchLinear(H, 1),
        ...(options.temporal === 'none' ? { embed: params.torchLinear(1, H) } : {}),
        ...(options.messages === 'hidden-input' && options.temporal !== 'none'
          ? {
              msgInput: [params.torchWeight(2 * H, 1, H), params.torchWeight(2 * H, 1, H)] as [
                tf.Variable,
                tf.Variable,
              ],
            }
          : {}),
        ...(ownLags ? { msgRecvLags: params.torchWeight(H + 2 * K, K, H) } : {}),
        ...senderEmbedding(),
      };
    } else {
      this.decoder = {
        kind: 'markov',
        msgSend: params.torchWeight(2, 1, H),
        msgRecv: params.torchWeight(2, 1, H),
        msgBias: params.torchBias(2, H),
        msg2: params.torchLinear(H, H),
        outInput: params.torchWeight(1 + H, 1, H),
        outAgg: params.torchWeight(1 + H, H, H),
        outBias: params.torchBias(1 + H, H),
        out2: params.torchLinear(H, H),
        out3: params.torchLinear(H, 1),
        ...senderEmbedding(),
      };
    }
    const k = options.context === 'none' ? 0 : shape.contextSize;
    this.saturationKind = options.saturation === 'hill-context' && k === 0 ? 'hill' : options.saturation;
    if (this.saturationKind !== 'none') {
      // `identity` starts every shop's curve near y ↦ y (α = 2, γ = 0.2: f^α/(f^α + γ^α) ≥ 0.86
      // for f ≥ 0.5) and lets training bend it, through the context too: its weights start at
      // zero, since random ones give each shop a random curve at the start that a decoder shared
      // by all shops cannot undo. `released` draws weights and biases as PyTorch does.
      const identity = options.hillInit === 'identity';
      const map = (identityBias: number) => {
        const b = identity ? params.constant(1, identityBias) : params.torchBias(Math.max(k, 1), 1);
        if (this.saturationKind !== 'hill-context') return { b };
        return { w: identity ? params.zeros(k, 1) : params.torchWeight(k, k, 1), b };
      };
      this.saturation = { alpha: map(2), gamma: map(0.2) };
    }
    if (options.temporal === 'adstock') this.adstockLogit = params.constant(shape.nodes, -2);
    this.variables = params.trainable;
    this.encoderVariables = this.variables.slice(0, encoderVariableCount);
    this.statistics = params.statistics;
    const pairLogits = this.encoder?.pairLogits;
    this.learningRates = this.variables.map((v) => (v === pairLogits ? options.edgePriorRate : 1));
  }

  /** Folds the last training pass's batch statistics into the running ones (momentum 0.1). */
  updateRunningStatistics(): void {
    tf.tidy(() => {
      for (const { norm, mean, variance } of this.pendingStats) {
        norm.runningMean.assign(norm.runningMean.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM)));
        norm.runningVar.assign(norm.runningVar.mul(1 - BN_MOMENTUM).add(variance.mul(BN_MOMENTUM)));
      }
    });
    this.discardPendingStatistics();
  }

  /**
   * The last training pass's batch statistics as one flat array (mean then variance of each
   * BatchNorm call, in call order), discarding them: what a data-parallel worker hands back.
   */
  takePendingStatistics(): Float32Array {
    const values = packValues(this.pendingStats.flatMap(({ mean, variance }) => [mean, variance]));
    this.discardPendingStatistics();
    return values;
  }

  /**
   * Replaces the pending batch statistics by the weighted mean of this pass's (weight
   * `weights[0]`) and other parts' of the same batch (`others[k]`, from
   * {@link takePendingStatistics}, weight `weights[k + 1]`): the statistics of the whole batch,
   * since each is a mean over its part's shops.
   */
  combinePendingStatistics(others: readonly Float32Array[], weights: readonly number[]): void {
    let offset = 0;
    const combine = (own: tf.Tensor) => {
      const size = own.size;
      const combined = tf.tidy(() =>
        others.reduce(
          (sum, other, k) =>
            sum.add(tf.tensor(other.subarray(offset, offset + size), own.shape).mul(weights[k + 1])),
          own.mul(weights[0]),
        ),
      );
      offset += size;
      own.dispose();
      return tf.keep(combined);
    };
    for (const s of this.pendingStats) {
      s.mean = combine(s.mean);
      s.variance = combine(s.variance);
    }
    for (const other of others) {
      if (other.length !== offset)
        throw new Error(`batch-norm statistics of ${other.length} values, expected ${offset}`);
    }
  }

  discardPendingStatistics(): void {
    for (const s of this.pendingStats) tf.dispose([s.mean, s.variance]);
    this.pendingStats = [];
  }

  dispose(): void {
    this.discardPendingStatistics();
    tf.dispose([...this.variables, ...this.statistics]);
  }

  /**
   * BatchNorm over the rows of each shop: x [B, R, H]. Statistics per shop make a batch of
   * B shops compute what B separate passes of one shop compute (the released code's B = 1).
   * `mask` [1, R, 1] leaves the diagonal pairs out of the statistics.
   */
  private batchNorm(x: tf.Tensor3D, norm: BatchNormParams, mode: NormMode, mask?: tf.Tensor3D): tf.Tensor3D {
    const N = this.shape.nodes;
    if (mode === 'running') {
      return x.sub(norm.runningMean).mul(norm.runningVar.add(BN_EPS).rsqrt()).mul(norm.gamma).add(norm.beta);
    }
    const rows = mask ? N * (N - 1) : x.shape[1];
    const mean = (mask ? x.mul(mask) : x).sum(1, true).div(rows);
    const centred = x.sub(mean);
    const squares = centred.square();
    const variance = (mask ? squares.mul(mask) : squares).sum(1, true).div(rows);
    if (mode === 'train') {
      // Running variance is unbiased, as in PyTorch; averaged over the batch's shops.
      this.pendingStats.push({
        norm,
        mean: tf.keep(mean.mean([0, 1])),
        variance: tf.keep(variance.mean([0, 1]).mul(rows / Math.max(rows - 1, 1))),
      });
    }
    return centred.mul(variance.add(BN_EPS).rsqrt()).mul(norm.gamma).add(norm.beta) as tf.Tensor3D;
  }

  /** Linear → ELU → Dropout → Linear → ELU → BatchNorm, given the first layer's pre-activation [B, R, H]. */
  private mlpTail(
    pre: tf.Tensor3D,
    block: MlpBlock,
    mode: NormMode,
    dropout: Dropout,
    mask?: tf.Tensor3D,
  ): tf.Tensor3D {
    const [B, R, H] = pre.shape;
    const hidden = dropout(tf.elu(pre).reshape([B * R, H]) as tf.Tensor2D);
    const out = dense(hidden, block.second.w, block.second.b!, 'elu').reshape([B, R, -1]) as tf.Tensor3D;
    return this.batchNorm(out, block.norm, mode, mask);
  }

  /**
   * The causal relational encoder (NRI factor-graph encoder).
   * @param x [B, N, encoderSteps] each node's input window
   * @returns logit differences l₁ − l₀ [B, N, N]; the diagonal is meaningless
   */
  edgeLogits(x: tf.Tensor3D, mode: NormMode, dropout: Dropout = noDropout): tf.Tensor3D {
    const enc = this.encoder;
    if (!enc) throw new Error('edgeLogits: the graph is fixed (graph: full or empty), there is no encoder');
    const [B, N] = x.shape;
    const H = this.options.hidden;
    const mask = offDiagonal(N).reshape([1, N * N, 1]) as tf.Tensor3D;
    const perNode = (t: tf.Tensor3D) => t.reshape([B * N, -1]) as tf.Tensor2D;
    // pairs(r, s): [B, N, N, H] with element (i, j) = r_i + s_j.
    const pairs = (recv: tf.Tensor, send: tf.Tensor) =>
      recv.reshape([B, N, 1, H]).add(send.reshape([B, 1, N, H]));

    const x2 = perNode(x);
    const h = this.mlpTail(
      dense(x2, enc.f1.first[0], enc.f1.firstBias).reshape([B, N, H]) as tf.Tensor3D,
      enc.f1,
      mode,
      dropout,
    );
    // f2 on [h_i, h_j] (receiver first, as released)
    const h2 = perNode(enc.nodeEmbedding ? h.add(enc.nodeEmbedding) : h);
    let edgePre = pairs(mm(h2, enc.f2.first[0]), mm(h2, enc.f2.first[1])).add(enc.f2.firstBias);
    if (enc.pairFeatures) {
      const features = pairFeatures(x, this.options);
      edgePre = edgePre.add(mm(features.reshape([B * N * N, -1]), enc.pairFeatures).reshape([B, N, N, H]));
    }
    const edges = this.mlpTail(edgePre.reshape([B, N * N, H]) as tf.Tensor3D, enc.f2, mode, dropout, mask);
    // edge → node: sum of incoming edges divided by N, as released
    const incoming = edges.mul(mask).reshape([B, N, N, H]).sum(2).div(N) as tf.Tensor3D;
    const v = this.mlpTail(
      dense(perNode(incoming), enc.f3.first[0], enc.f3.firstBias).reshape([B, N, H]) as tf.Tensor3D,
      enc.f3,
      mode,
      dropout,
    );
    // f4 on [v_i, v_j, h_ij] (skip connection from the first edge features)
    const v2 = perNode(v);
    const skip = mm(edges.reshape([B * N * N, H]), enc.f4.first[2]).reshape([B, N, N, H]);
    const finalPre = pairs(mm(v2, enc.f4.first[0]), mm(v2, enc.f4.first[1])).add(skip).add(enc.f4.firstBias);
    const final = this.mlpTail(finalPre.reshape([B, N * N, H]) as tf.Tensor3D, enc.f4, mode, dropout, mask);
    const logits = dense(final.reshape([B * N * N, H]), enc.out.w, enc.out.b!);
    const [noEdge, edge] = tf.split(logits, 2, 1);
    const shopLogits = edge.sub(noEdge).reshape([B, N, N]) as tf.Tensor3D;
    return enc.pairLogits ? (shopLogits.add(enc.pairLogits.reshape([1, N, N])) as tf.Tensor3D) : shopLogits;
  }

  /** α and γ of the target's Hill curve per shop, [B] each (log γ returned). */
  hillParameters(context: tf.Tensor2D | undefined, B: number): { alpha: tf.Tensor1D; logGamma: tf.Tensor1D } {
    const sat = this.saturation!;
    const affine = (map: { w?: tf.Variable; b: tf.Variable }) =>
      (map.w && context ? mm(context, map.w).reshape([B]).add(map.b) : map.b.tile([B])) as tf.Tensor1D;
    return {
      alpha: tf.maximum(affine(sat.alpha), 0.1) as tf.Tensor1D,
      logGamma: tf.maximum(affine(sat.gamma), 0.1).log() as tf.Tensor1D,
    };
  }

  /**
   * Runs the decoder over a window. Steps s < `truthSteps` read the ground truth x[:, :, s];
   * later steps read the model's own previous prediction (with known channel values
   * substituted when given). Step s predicts x[:, :, s + 1].
   * @param x [B, N, ≥ truthSteps] ground truth (only the first `truthSteps` steps are read)
   * @param edges [B, N, N] edge weights z_ij (j → i), zero diagonal
   * @param context [B, k] or undefined
   * @param known optional [B, N, steps] values that replace predicted inputs where `knownMask` [N] is 1
   * @returns predictions [B, N, steps]
   */
  decode(
    x: tf.Tensor3D,
    edges: tf.Tensor3D,
    context: tf.Tensor2D | undefined,
    truthSteps: number,
    steps: number,
    dropout: Dropout = noDropout,
    known?: { values: tf.Tensor3D; mask: tf.Tensor1D },
  ): tf.Tensor3D {
    const [B, N] = x.shape;
    const H = this.options.hidden;
    const dec = this.decoder;
    const usedContext = this.saturationKind === 'hill-context' ? context : undefined;
    const hill = this.saturation ? this.hillParameters(usedContext, B) : undefined;
    const target = tf.oneHot([this.shape.targetIndex], N).reshape([1, N]).toFloat() as tf.Tensor2D;
    const adstock = this.adstockLogit ? tf.sigmoid(this.adstockLogit) : undefined;
    const truth = tf.unstack(
      x.slice([0, 0, 0], [B, N, Math.min(truthSteps, x.shape[2])]),
      2,
    ) as tf.Tensor2D[];
    const knownSteps = known ? (tf.unstack(known.values, 2) as tf.Tensor2D[]) : [];

    // Edge weights as a [B·N, 1, N] batch of rows: aggregation is one batched matmul.
    const edgeRows = edges.reshape([B * N, 1, N]);
    const edgeSum = edges.sum(2).reshape([B * N, 1]);
    const step =
      dec.kind === 'recurrent'
        ? this.recurrentStep(dec, B, N, H, edgeRows, edgeSum, dropout)
        : this.markovStep(dec, B, N, H, edgeRows);

    // Predictions of teacher-forced steps are never read back, so they are saturated in one
    // batched op after the loop; from the last teacher-forced step on, each is saturated
    // before it becomes the next input.
    const fedBack = Math.max(0, Math.min(truthSteps - 1, steps));
    const saturate = (pred: tf.Tensor2D): tf.Tensor2D => (hill ? hillSaturation(pred, target, hill) : pred);

    const predictions: tf.Tensor2D[] = [];
    let carried: tf.Tensor2D | undefined;
    for (let s = 0; s < steps; s++) {
      let input: tf.Tensor2D;
      if (s < truthSteps) input = truth[s];
      else {
        input = predictions[s - 1];
        if (known) input = input.add(knownSteps[s].sub(input).mul(known.mask)) as tf.Tensor2D;
      }
      if (adstock) {
        carried = carried ? (input.add(carried.mul(adstock)) as tf.Tensor2D) : input;
        input = carried;
      }
      const raw = step(input);
      predictions.push(s < fedBack ? raw : saturate(raw));
    }
    if (!hill || fedBack === 0) return tf.stack(predictions, 2) as tf.Tensor3D;
    // [B·S, N] rows, one per (shop, step), saturated at once with α, γ repeated per step
    const forced = tf.stack(predictions.slice(0, fedBack), 1).reshape([B * fedBack, N]) as tf.Tensor2D;
    const repeat = (v: tf.Tensor1D) =>
      v
        .reshape([B, 1])
        .tile([1, fedBack])
        .reshape([B * fedBack]) as tf.Tensor1D;
    const saturated = hillSaturation(forced, target, {
      alpha: repeat(hill.alpha),
      logGamma: repeat(hill.logGamma),
    })
      .reshape([B, fedBack, N])
      .transpose([0, 2, 1]);
    if (fedBack === steps) return saturated as tf.Tensor3D;
    return tf.concat([saturated, tf.stack(predictions.slice(fedBack), 2)], 2) as tf.Tensor3D;
  }

  private recurrentStep(
    dec: RecurrentDecoderParams,
    B: number,
    N: number,
    H: number,
    edgeRows: tf.Tensor,
    edgeSum: tf.Tensor,
    dropout: Dropout,
  ): (input: tf.Tensor2D) => tf.Tensor2D {
    // m1 = tanh(W1s·h_j + W1r·h_i + b1) = 2·Y1 − 1 with Y1 = σ(2·(…))
    const msgSend = dec.msgSend.mul(2);
    const msgRecv = dec.msgRecv.mul(2);
    // Products that read the same operand run as one wider product and are split after: at
    // small B a step's cost is mostly per-kernel overhead, not arithmetic.
    const msgBoth = dec.msgRecvLags ? undefined : (tf.concat([msgSend, msgRecv], 1) as tf.Tensor2D);
    const gateHidden = tf.concat(dec.gateHidden, 1) as tf.Tensor2D; // [H, 3H]: reset, update, candidate
    const gateInput = tf.concat(dec.gateInput, 1) as tf.Tensor2D; // [1, 3H]
    const msg1Bias = dec.msgBias.mul(2);
    const msgInput = dec.msgInput?.map((w) => w.mul(2));
    const msgRecvLags = dec.msgRecvLags?.mul(2);
    const senderBias = dec.senderEmbedding?.mul(2).reshape([1, N, H]);
    const K = this.options.messageLags;
    // m2 = tanh(m1·W2 + b2) = 2·Y2 − 1 with Y2 = σ(Y1·4W2 + 2(b2 − Σ_rows W2))
    const msg2 = dec.msg2.w.mul(4);
    const msg2Bias = dec.msg2.b!.sub(dec.msg2.w.sum(0)).mul(2);
    // agg_i = (1/N) Σ_j z_ij m2_ij = (2/N)·Σ_j z_ij Y2_ij − (1/N)·Σ_j z_ij
    const aggOffset = edgeSum.div(N);
    // N / Σ_j z_ij turns the mean over N senders into the mean over the edges' weight.
    const normalizer =
      this.options.aggregate === 'normalized' ? edgeSum.add(1e-3).reciprocal().mul(N) : undefined;
    const candidateTanh = this.options.candidate === 'tanh';
    const noMemory = this.options.temporal === 'none';
    const residual = this.options.output === 'residual';
    let hidden: tf.Tensor2D = tf.zeros([B * N, H]);
    // [B·N, K]: each node's last K values, newest first (`messages: own-lags`)
    let lags: tf.Tensor2D = tf.zeros([B * N, K]);
    return (input: tf.Tensor2D) => {
      const x = input.reshape([B * N, 1]) as tf.Tensor2D;
      const source = dec.embed ? (tf.tanh(dense(x, dec.embed.w, dec.embed.b!)) as tf.Tensor2D) : hidden;
      let send: tf.Tensor2D;
      let recv: tf.Tensor2D;
      if (msgRecvLags) {
        lags = K === 1 ? x : (tf.concat([x, lags.slice([0, 0], [B * N, K - 1])], 1) as tf.Tensor2D);
        send = mm(lags, msgSend);
        recv = mm(source, msgRecv).add(mm(lags, msgRecvLags));
      } else {
        [send, recv] = tf.split(mm(source, msgBoth!), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
        if (msgInput) {
          // + x·u (rank one: the node's value is a scalar)
          send = send.add(x.mul(msgInput[0]));
          recv = recv.add(x.mul(msgInput[1]));
        }
      }
      const sent = senderBias ? send.reshape([B, N, H]).add(senderBias) : send;
      const y1 = tf.sigmoid(
        recv
          .reshape([B, N, 1, H])
          .add(sent.reshape([B, 1, N, H]))
          .add(msg1Bias)
          .reshape([B * N * N, H]),
      );
      const y2 = dense(dropout(y1 as tf.Tensor2D), msg2, msg2Bias, 'sigmoid').reshape([B * N, N, H]);
      const weighted = tf
        .matMul(edgeRows as tf.Tensor3D, y2 as tf.Tensor3D)
        .reshape([B * N, H])
        .mul(2 / N)
        .sub(aggOffset);
      const agg = normalizer ? weighted.mul(normalizer) : weighted;
      const [gateGates, gn] = tf.split(mm(agg, gateHidden), [2 * H, H], 1);
      const [xGates, xn] = tf.split(x.mul(gateInput), [2 * H, H], 1);
      const [reset, update] = tf.split(tf.sigmoid(xGates.add(gateGates)), 2, 1);
      const candidatePre = xn.add(reset.mul(gn));
      const candidate = candidateTanh ? tanhViaSigmoid(candidatePre) : tf.sigmoid(candidatePre);
      hidden = (noMemory ? candidate : candidate.add(update.mul(hidden.sub(candidate)))) as tf.Tensor2D;
      const o1 = dropout(dense(hidden, dec.out1.w, dec.out1.b!, 'relu'));
      const o2 = dropout(dense(o1, dec.out2.w, dec.out2.b!, 'relu'));
      const out = dense(o2, dec.out3.w, dec.out3.b!);
      return (residual ? x.add(out) : out).reshape([B, N]) as tf.Tensor2D;
    };
  }

  /** NRI's MLP decoder: messages from the current inputs only, residual prediction. */
  private markovStep(
    dec: MarkovDecoderParams,
    B: number,
    N: number,
    H: number,
    edgeRows: tf.Tensor,
  ): (input: tf.Tensor2D) => tf.Tensor2D {
    return (input: tf.Tensor2D) => {
      const x = input.reshape([B * N, 1]);
      const sent = mm(x, dec.msgSend).reshape([B, 1, N, H]);
      const send = dec.senderEmbedding ? sent.add(dec.senderEmbedding.reshape([1, 1, N, H])) : sent;
      const recv = mm(x, dec.msgRecv).reshape([B, N, 1, H]);
      const m1 = tf.relu(recv.add(send).add(dec.msgBias)).reshape([B * N * N, H]);
      const m2 = dense(m1, dec.msg2.w, dec.msg2.b!, 'relu').reshape([B * N, N, H]);
      const agg = tf.matMul(edgeRows as tf.Tensor3D, m2 as tf.Tensor3D).reshape([B * N, H]);
      const o1 = tf.relu(mm(x, dec.outInput).add(mm(agg, dec.outAgg)).add(dec.outBias));
      const o2 = dense(o1, dec.out2.w, dec.out2.b!, 'relu');
      return x.add(dense(o2, dec.out3.w, dec.out3.b!)).reshape([B, N]) as tf.Tensor2D;
    };
  }

  /**
   * Edge weights fed to the decoder: a Gumbel-softmax sample from the logits (soft, or hard
   * with straight-through gradients), q itself, or the fixed full/empty graph.
   * @param noise [B, N, N] standard logistic noise (g₁ − g₀ of two Gumbel draws)
   */
  edgeWeights(
    logits: tf.Tensor3D | undefined,
    noise: tf.Tensor3D,
    how: 'soft' | 'hard' | 'mean',
  ): tf.Tensor3D {
    const [B, N] = noise.shape;
    const mask = offDiagonal(N).reshape([1, N, N]);
    if (!logits) {
      const value = this.options.graph === 'full' ? 1 : 0;
      return mask.mul(value).tile([B, 1, 1]) as tf.Tensor3D;
    }
    if (how === 'mean') return tf.sigmoid(logits).mul(mask) as tf.Tensor3D;
    // Two-class Gumbel-softmax: softmax((l + g)/τ)₁ = σ((l₁ − l₀ + g₁ − g₀)/τ)
    const soft = tf.sigmoid(logits.add(noise).div(this.options.tau));
    if (how === 'soft') return soft.mul(mask) as tf.Tensor3D;
    return straightThrough(soft).mul(mask) as tf.Tensor3D;
  }

  /**
   * The negative ELBO of a batch: Gaussian NLL of every one-step prediction (teacher-forced,
   * then free-running for the last `predictSteps`) plus λ·KL(q ‖ prior), both per shop and
   * node as released (sum / N), averaged over the batch.
   * @param x [B, N, T] scaled series; @param context [B, k]; @param noise [B, N, N] logistic noise
   * @param encoderX [B, N, encoderSteps] what the encoder reads, when not a window of x
   */
  losses(
    x: tf.Tensor3D,
    context: tf.Tensor2D | undefined,
    noise: tf.Tensor3D,
    mode: NormMode,
    dropout: Dropout = noDropout,
    encoderX?: tf.Tensor3D,
  ): Losses {
    const [B, N, T] = x.shape;
    const opt = this.options;
    const M = opt.predictSteps;
    const skip = opt.encoderWindow === 'history' ? M : 0;
    const logits = this.encoder
      ? this.edgeLogits(encoderX ?? this.encoderInput(x, skip), mode, dropout)
      : undefined;
    const how = mode === 'train' ? (opt.hardTraining ? 'hard' : 'soft') : opt.evalEdges;
    const edges = this.edgeWeights(logits, noise, how);
    const predictions = this.decode(x, edges, context, T - M, T - 1, dropout);
    const target = x.slice([0, 0, 1], [B, N, T - 1]);
    const squared = predictions.sub(target).square().sum() as tf.Scalar;
    const nll = this.gaussianNll(squared, B);
    const mse = squared.div(B * N * (T - 1)) as tf.Scalar;
    const kl = logits ? this.klDivergence(logits) : tf.scalar(0);
    return { loss: nll.add(kl.mul(opt.klWeight)) as tf.Scalar, nll, kl, mse };
  }

  /**
   * Gaussian NLL (variance `nllVariance`, constants dropped) of a batch of B shops from its sum
   * of squared one-step errors, per shop summed over nodes and divided by N as released.
   */
  gaussianNll(squared: tf.Scalar, B: number): tf.Scalar {
    return squared.div(2 * this.options.nllVariance * this.shape.nodes * B) as tf.Scalar;
  }

  /** KL(q(z | x) ‖ prior) over the off-diagonal pairs, divided by N and averaged over the batch. */
  klDivergence(logits: tf.Tensor3D): tf.Scalar {
    const [B, N] = logits.shape;
    const p1 = this.options.prior === 'sparse' ? this.options.priorEdge : 0.5;
    // log σ(l) = −softplus(−l); tf.logSigmoid's gradient loses a saved tensor under variableGrads.
    const logQ1 = tf.softplus(logits.neg()).neg();
    const logQ0 = tf.softplus(logits).neg();
    const kl = tf
      .exp(logQ1)
      .mul(logQ1.sub(Math.log(p1)))
      .add(tf.exp(logQ0).mul(logQ0.sub(Math.log(1 - p1))));
    return kl
      .mul(offDiagonal(N).reshape([1, N, N]))
      .sum()
      .div(N * B) as tf.Scalar;
  }

  /**
   * The encoder's window of a series batch [B, N, T]: the `encoderSteps` steps that end
   * `skipLast` steps before the end (the rollout's steps in training with `encoderWindow:
   * history`; 0 at inference, where the most recent window is read).
   */
  encoderInput(x: tf.Tensor3D, skipLast = 0): tf.Tensor3D {
    const [B, N, T] = x.shape;
    const width = this.shape.encoderSteps;
    const start = T - skipLast - width;
    if (start < 0) throw new Error(`the encoder reads ${width} steps; the series has ${T - skipLast}`);
    return x.slice([0, 0, start], [B, N, width]);
  }
}

export type Dropout = (x: tf.Tensor2D) => tf.Tensor2D;
export const noDropout: Dropout = (x) => x;

/** A dropout that draws its masks from a seeded stream (the same seed gives the same masks). */
export function seededDropout(rate: number, rng: Rng): Dropout {
  if (rate === 0) return noDropout;
  return (x) => {
    const seed = rng.int(2 ** 31);
    return x.mul(
      tf
        .randomUniform(x.shape, 0, 1, 'float32', seed)
        .greaterEqual(rate)
        .toFloat()
        .div(1 - rate),
    );
  };
}

/**
 * x·w for 2-D x [rows, in] and w [in, out]. Its gradient's transposed products are fast on wasm
 * through the BatchMatMul replacement (src/wasm-kernels.ts), which also picks the cheaper side
 * to transpose: for dY·wᵀ with few rows, dY and the result rather than the weight.
 */
function mm(x: tf.Tensor, w: tf.Tensor): tf.Tensor2D {
  return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
}

type Activation = 'linear' | 'relu' | 'sigmoid' | 'elu';

/** d activation / d pre-activation, from the activation's output y. */
function activationSlope(y: tf.Tensor, activation: Activation): tf.Tensor | undefined {
  switch (activation) {
    case 'linear':
      return undefined;
    case 'relu':
      return y.greater(0).toFloat();
    case 'sigmoid':
      return y.mul(tf.sub(1, y));
    case 'elu':
      return tf.where(y.greater(0), tf.onesLike(y), y.add(1));
  }
}

/**
 * act(x·w + b) in one fused kernel (XNNPACK's GEMM with bias and activation), with a
 * gradient that reduces the bias gradient by a matmul with a row of ones (a column sum is ~10×
 * slower in tfjs-wasm).
 */
const denseCache = new Map<Activation, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>();
function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, activation: Activation = 'linear'): tf.Tensor2D {
  let op = denseCache.get(activation);
  if (!op) {
    op = tf.customGrad((...args) => {
      const [xi, wi, bi] = args as tf.Tensor2D[];
      const y = tf.fused.matMul({
        a: xi,
        b: wi,
        bias: bi,
        activation:
          activation === 'sigmoid'
            ? 'sigmoid'
            : activation === 'elu'
              ? 'elu'
              : activation === 'relu'
                ? 'relu'
                : 'linear',
      });
      (args[3] as tf.GradSaveFunc)([xi, wi, y]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, ws, ys] = saved as tf.Tensor2D[];
          const slope = activationSlope(ys, activation);
          const dPre = (slope ? dy.mul(slope) : dy) as tf.Tensor2D;
          return [
            tf.matMul(dPre, ws, false, true),
            tf.matMul(xs, dPre, true, false),
            tf.matMul(tf.ones([1, dPre.shape[0]]), dPre).reshape([dPre.shape[1]]),
          ];
        },
      };
    }) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
    denseCache.set(activation, op);
  }
  return op(x, w, b);
}

/** Forward: the hard 0/1 edge; backward: the soft sample's gradient (straight-through estimator). */
const straightThrough = tf.customGrad((...inputs) => {
  const soft = inputs[0] as tf.Tensor;
  return { value: soft.greater(0.5).toFloat(), gradFunc: (dy: tf.Tensor) => dy };
}) as (soft: tf.Tensor) => tf.Tensor;

/**
 * The saturation module: the target column of `pred` [B, N] (one-hot `target` [1, N]) becomes
 * y·f^α/(f^α + γ^α) with f = max(y, 0.1), computed as y·σ(α(log f − log γ)).
 * @param hill α [B] and log γ [B], already clamped at 0.1
 */
export function hillSaturation(
  pred: tf.Tensor2D,
  target: tf.Tensor2D,
  hill: { alpha: tf.Tensor1D; logGamma: tf.Tensor1D },
): tf.Tensor2D {
  const y = pred.mul(target).sum(1) as tf.Tensor1D;
  const force = tf.maximum(y, 0.1).log();
  const saturated = y.mul(tf.sigmoid(hill.alpha.mul(force.sub(hill.logGamma))));
  return pred.add(saturated.sub(y).reshape([-1, 1]).mul(target)) as tf.Tensor2D;
}

/** Pair features of `edgeFeatures: lagged-correlation`: levels and differences, lags −L…L each. */
export function correlationFeatureCount(lags: number): number {
  return 2 * (2 * lags + 1);
}

/** Features per ordered pair of the chosen `edgeFeatures`. */
export function pairFeatureCount(
  options: Pick<CausalmmmOptions, 'edgeFeatures' | 'correlationLags' | 'grangerLags'>,
): number {
  if (options.edgeFeatures === 'lagged-correlation') return correlationFeatureCount(options.correlationLags);
  if (options.edgeFeatures === 'granger') return options.grangerLags + 1;
  return 0;
}

/** The pair features of `edgeFeatures`, [B, N, N, pairFeatureCount(options)]. */
function pairFeatures(
  x: tf.Tensor3D,
  options: Pick<CausalmmmOptions, 'edgeFeatures' | 'correlationLags' | 'grangerLags'>,
): tf.Tensor4D {
  if (options.edgeFeatures === 'lagged-correlation') return laggedCorrelations(x, options.correlationLags);
  if (options.edgeFeatures === 'granger') return grangerFeatures(x, options.grangerLags);
  throw new Error(`pairFeatures: edgeFeatures ${options.edgeFeatures} has no features`);
}

/**
 * Shortest window on which `grangerFeatures` can fit its VAR(lags) over N nodes: the T − lags
 * rows must exceed the 1 + N · lags regressors by at least one residual degree of freedom.
 */
export function grangerWindowMinimum(N: number, lags: number): number {
  return 2 + lags * (N + 1);
}

/**
 * Per-window Granger evidence for every ordered pair, from one VAR(K) with intercept fitted by
 * least squares on each shop's standardised window (the `granger-var` baseline's conditional
 * test): feature (i, j, 0) = log(1 + F), F the Wald statistic that the K lags of j are zero in
 * i's equation; features 1…K = those K coefficients (lag 1 first). The encoder's MLP on
 * [h_i, h_j] would have to learn a regression to see this; handing it the statistic lets the
 * ELBO teach it how much a shop's own evidence should move the population's edge. Computed
 * from the data alone (no gradient flows into it), on the CPU: a 17-column fit per shop.
 * @param x [B, N, W], W > N·K + 2K + 1
 * @returns [B, N, N, K + 1]; zero on the diagonal
 */
export function grangerFeatures(x: tf.Tensor3D, lags: number): tf.Tensor4D {
  const [B, N, W] = x.shape;
  if (W < grangerWindowMinimum(N, lags)) {
    throw new Error(
      `grangerFeatures: a window of ${W} steps is too short for a VAR(${lags}) over ${N} nodes ` +
        `(needs at least ${grangerWindowMinimum(N, lags)} steps)`,
    );
  }
  const values = x.dataSync();
  const F = lags + 1;
  const out = new Float32Array(B * N * N * F);
  for (let b = 0; b < B; b++) {
    const shop = values.subarray(b * N * W, (b + 1) * N * W);
    const fit = grangerShop(shop, N, W, { lag: lags, test: 'conditional', ridge: 0, standardize: true });
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        if (i === j) continue;
        const at = ((b * N + i) * N + j) * F;
        out[at] = Math.log1p(Math.min(fit.F[i * N + j], 1e6));
        // coef row 1 + j·K + (l − 1) is lag l of series j; column i is i's equation.
        for (let l = 0; l < lags; l++) out[at + 1 + l] = fit.coef[(1 + j * lags + l) * N + i];
      }
    }
  }
  return tf.tensor4d(out, [B, N, N, F]);
}

/**
 * Lagged correlations of every ordered pair within each shop's window: feature (i, j, ·) holds
 * corr(x_i(t), x_j(t − l)) for l = −L…L, of the standardised levels and then of the
 * standardised first differences (which remove the trend a level correlation also sees).
 * @param x [B, N, W] with W > 2L + 1
 * @returns [B, N, N, 2 · (2L + 1)]
 */
export function laggedCorrelations(x: tf.Tensor3D, lags: number): tf.Tensor4D {
  const [B, N, W] = x.shape;
  const standardise = (s: tf.Tensor3D) => {
    const { mean, variance } = tf.moments(s, 2, true);
    return s.sub(mean).div(variance.add(1e-8).sqrt()) as tf.Tensor3D;
  };
  const diffs = x.slice([0, 0, 1], [B, N, W - 1]).sub(x.slice([0, 0, 0], [B, N, W - 1])) as tf.Tensor3D;
  const features: tf.Tensor3D[] = [];
  for (const series of [standardise(x), standardise(diffs)]) {
    const L = series.shape[2];
    if (L <= lags)
      throw new Error(`laggedCorrelations: a window of ${W} steps is too short for ${lags} lags`);
    for (let l = -lags; l <= lags; l++) {
      const span = L - Math.abs(l);
      // effect i at t, cause j at t − l
      const effect = series.slice([0, 0, Math.max(l, 0)], [B, N, span]);
      const cause = series.slice([0, 0, Math.max(-l, 0)], [B, N, span]);
      features.push(tf.matMul(effect, cause, false, true).div(span) as tf.Tensor3D);
    }
  }
  return tf.stack(features, 3) as tf.Tensor4D;
}

/** [N, N] with zeros on the diagonal. */
export function offDiagonal(N: number): tf.Tensor2D {
  return tf.ones([N, N]).sub(tf.eye(N)) as tf.Tensor2D;
}
