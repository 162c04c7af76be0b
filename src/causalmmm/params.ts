import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../rng.js';

/** A dense layer y = x·W + b with W [in, out] and b [out]. */
export interface Linear {
  w: tf.Variable;
  b?: tf.Variable;
}

/** BatchNorm affine parameters and its running statistics (not trained by gradient). */
export interface BatchNormParams {
  gamma: tf.Variable;
  beta: tf.Variable;
  runningMean: tf.Variable;
  runningVar: tf.Variable;
}

/**
 * The encoder's MLP block: Linear → ELU → Dropout → Linear → ELU → BatchNorm. The first
 * linear layer is kept as a list of weight blocks, one per concatenated input part, so that
 * a part that is per node can be multiplied per node before it is broadcast to the edges.
 */
export interface MlpBlock {
  first: tf.Variable[];
  firstBias: tf.Variable;
  second: Linear;
  norm: BatchNormParams;
}

/**
 * Creates the trainable variables of a model from one seeded stream, in a fixed order, so
 * the same seed gives the same initial weights. Every variable is also listed in `all` (the
 * optimizer's list) unless it is a running statistic.
 */
/** tfjs variable names are global to the process; a counter keeps them unique. */
let nextVariableId = 0;

export class ParamFactory {
  readonly trainable: tf.Variable[] = [];
  readonly statistics: tf.Variable[] = [];

  constructor(private readonly rng: Rng) {}

  private variable(values: Float32Array, shape: number[], trainable = true): tf.Variable {
    // tidy disposes the initial tensor; the variable keeps its own reference to the data.
    const name = `causalmmm_${nextVariableId++}`;
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable, name));
    (trainable ? this.trainable : this.statistics).push(v);
    return v;
  }

  private fill(size: number, draw: () => number): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = draw();
    return out;
  }

  /** Xavier-normal weights, constant bias 0.1: the released encoder's initialisation. */
  xavierWeight(fanIn: number, fanOut: number, rows = fanIn): tf.Variable {
    const sd = Math.sqrt(2 / (fanIn + fanOut));
    return this.variable(
      this.fill(rows * fanOut, () => this.rng.normal(0, sd)),
      [rows, fanOut],
    );
  }

  constant(size: number, value: number): tf.Variable {
    return this.variable(new Float32Array(size).fill(value), [size]);
  }

  /** A [rows, cols] matrix of zeros. */
  zeros(rows: number, cols: number): tf.Variable {
    return this.variable(new Float32Array(rows * cols), [rows, cols]);
  }

  /** PyTorch's default Linear initialisation, U(±1/√fanIn) for weights and bias. */
  torchLinear(fanIn: number, fanOut: number, bias = true, rows = fanIn): Linear {
    const bound = 1 / Math.sqrt(fanIn);
    const draw = () => this.rng.between(-bound, bound);
    const w = this.variable(this.fill(rows * fanOut, draw), [rows, fanOut]);
    return bias ? { w, b: this.variable(this.fill(fanOut, draw), [fanOut]) } : { w };
  }

  /**
   * A [rows, fanOut] block of a PyTorch Linear with `fanIn` inputs in all (one part of a
   * concatenated input, or a bias-free layer).
   */
  torchWeight(fanIn: number, rows: number, fanOut: number): tf.Variable {
    return this.torchLinear(fanIn, fanOut, false, rows).w;
  }

  /** The bias of a PyTorch Linear with `fanIn` inputs. */
  torchBias(fanIn: number, size: number): tf.Variable {
    const bound = 1 / Math.sqrt(fanIn);
    return this.variable(
      this.fill(size, () => this.rng.between(-bound, bound)),
      [size],
    );
  }

  /**
   * The encoder block; `parts` are the widths of the concatenated inputs of its first layer
   * (e.g. [H, H] for [h_i, h_j]); Xavier fan-in is their sum, as for one concatenated layer.
   */
  mlpBlock(parts: number[], hidden: number, out: number): MlpBlock {
    const fanIn = parts.reduce((a, b) => a + b, 0);
    return {
      first: parts.map((rows) => this.xavierWeight(fanIn, hidden, rows)),
      firstBias: this.constant(hidden, 0.1),
      second: { w: this.xavierWeight(hidden, out), b: this.constant(out, 0.1) },
      norm: this.batchNorm(out),
    };
  }

  batchNorm(size: number): BatchNormParams {
    return {
      gamma: this.constant(size, 1),
      beta: this.constant(size, 0),
      runningMean: this.variable(new Float32Array(size), [size], false),
      runningVar: this.variable(new Float32Array(size).fill(1), [size], false),
    };
  }

  /** A free parameter vector drawn uniformly from [low, high). */
  uniform(size: number, low: number, high: number): tf.Variable {
    return this.variable(
      this.fill(size, () => this.rng.between(low, high)),
      [size],
    );
  }
}

/**
 * The values of `tensors` one after another in one array (`out`, or a new one): how a model's
 * weights are saved and handed to a gradient worker.
 */
export function packValues(
  tensors: readonly tf.Tensor[],
  out: Float32Array<ArrayBufferLike> = new Float32Array(tensors.reduce((n, t) => n + t.size, 0)),
): Float32Array<ArrayBufferLike> {
  let offset = 0;
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, offset);
    offset += t.size;
  }
  return out;
}

/** Assigns consecutive slices of `values` (as {@link packValues} lays them out) to `variables`. */
export function assignPacked(variables: readonly tf.Variable[], values: Float32Array<ArrayBufferLike>): void {
  let offset = 0;
  tf.tidy(() => {
    for (const v of variables) {
      v.assign(tf.tensor(values.subarray(offset, offset + v.size), v.shape));
      offset += v.size;
    }
  });
}

/** Copies of every variable's values, to restore the best checkpoint. */
export function snapshot(variables: readonly tf.Variable[]): tf.Tensor[] {
  return variables.map((v) => tf.keep(v.clone()));
}

export function restore(variables: readonly tf.Variable[], values: readonly tf.Tensor[]): void {
  variables.forEach((v, i) => {
    v.assign(values[i]);
  });
}
