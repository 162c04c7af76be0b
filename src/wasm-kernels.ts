/**
 * Replacements for six tfjs-backend-wasm 4.22 kernels that are slow in ways that dominate some of
 * this project's models (scripts/bench-wasm-kernels.ts measures each against the original):
 *
 * - **Slice, SplitV, Unpack** start with `backend.readSync(x)`, which copies the whole input out
 *   of the wasm heap into a fresh buffer — on every call, and once per output for SplitV and
 *   Unpack, so `tf.unstack` over T steps is O(T²) in copies. The replacements view the input in
 *   the heap (`typedArrayFromHeap`) and copy only the sliced rows; results are bit-identical.
 * - **BatchMatMul** runs XNNPACK's GEMM only for one batch and no transposed operand; anything
 *   else takes a scalar loop ~10× slower ([8, 90, 20] × [8, 20, 80]: 1.2 ms against 8 × 27 µs).
 *   The replacement transposes explicitly (as the Transpose replacement below does) — the
 *   transposed operand, or, when that moves fewer elements, the other operand and the result,
 *   as op(A)·op(B) = (op(B)ᵀ·op(A)ᵀ)ᵀ — folds a batch of A into its rows when B has one batch,
 *   and otherwise multiplies batch by batch on the fast path when a batch is large enough to
 *   repay the per-call overhead. Results agree with the scalar loop up to float32 summation
 *   order.
 *
 * - **Transpose** moves ~28 ns per element; swapping the last two axes (the transposes of matrix
 *   products and their gradients, here and in BatchMatMul above) is done in 8 × 8 tiles in JS
 *   instead, ~7× faster ([16384, 256]: 115 → 15 ms). Other permutations keep the original.
 * - **Identity** allocates and copies; the replacement shares the input's buffer (tensors are
 *   immutable), as tfjs's cpu backend does.
 *
 * String tensors, which do not live in the heap, and shapes these kernels do not handle keep the
 * original kernels.
 */
import * as tf from '@tensorflow/tfjs';

/** The part of the wasm backend these kernels use (tfjs-backend-wasm does not export its type). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId): boolean;
}

type Views = Float32Array | Int32Array | Uint8Array;

/**
 * Copies x[begin : begin + size] (any rank) into `out`, one contiguous innermost run at a time;
 * trailing axes taken whole are merged into one run.
 */
function copySlice(
  x: Views,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: Views,
): void {
  const rank = shape.length;
  if (rank === 0) {
    out.set(x.subarray(0, 1));
    return;
  }
  // tfjs's strides leave out the innermost axis, whose stride is 1.
  const xStrides = [...tf.util.computeStrides(shape as number[]), 1];
  // The innermost axes that are taken whole (and the first partial one) form one run.
  let runAxis = rank - 1;
  while (runAxis > 0 && size[runAxis] === shape[runAxis] && begin[runAxis] === 0) runAxis--;
  const run = tf.util.sizeFromShape(size.slice(runAxis));
  const outer = size.slice(0, runAxis);
  const count = tf.util.sizeFromShape(outer);
  const index = new Array<number>(runAxis).fill(0);
  let offsetOut = 0;
  for (let r = 0; r < count; r++) {
    let offsetIn = begin[runAxis] * xStrides[runAxis];
    for (let axis = 0; axis < runAxis; axis++) offsetIn += (begin[axis] + index[axis]) * xStrides[axis];
    copyRun(x, offsetIn, out, offsetOut, run);
    offsetOut += run;
    for (let axis = runAxis - 1; axis >= 0; axis--) {
      if (++index[axis] < outer[axis]) break;
      index[axis] = 0;
    }
  }
}

/**
 * Below this many elements a run is copied element by element: `subarray` allocates a view object
 * per call, which dominated slices made of short runs (unstacking [16, 8, 100] over its last axis,
 * runs of one element: ~750 → ~250 µs).
 */
const SHORT_RUN = 64;

/** Copies `length` elements from `from[at…]` to `to[into…]`. */
function copyRun(from: Views, at: number, to: Views, into: number, length: number): void {
  if (length < SHORT_RUN) {
    for (let k = 0; k < length; k++) to[into + k] = from[at + k];
  } else {
    to.set(from.subarray(at, at + length), into);
  }
}

/** One slice of `x` as a new wasm tensor; the input view is taken after the output exists, since allocating may grow (and detach) the heap. */
function sliceInPlace(
  backend: WasmBackend,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (size.every((s) => s > 0))
    copySlice(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
  return out;
}

const originals = new Map<string, tf.KernelFunc>();
let fast = false;

/** The original wasm kernel `name` (valid once `useFastWasmKernels` has run). */
function original(name: string): tf.KernelFunc {
  return originals.get(name) as tf.KernelFunc;
}

/**
 * Switches the wasm backend's Identity, Slice, SplitV, Unpack, Transpose and BatchMatMul
 * kernels to the replacements (`on`) or back to tfjs's own (for benchmarks and the equivalence
 * tests). Call after the wasm backend is registered; a no-op where it is not.
 */
export function useFastWasmKernels(on: boolean): void {
  if (originals.size === 0) {
    const kernels = [...Object.keys(replacements), 'Reshape'].map((name) => tf.getKernel(name, 'wasm'));
    if (kernels.some((kernel) => !kernel)) return;
    for (const kernel of kernels as tf.KernelConfig[]) originals.set(kernel.kernelName, kernel.kernelFunc);
  }
  if (on === fast) return;
  fast = on;
  for (const [name, replacement] of Object.entries(replacements)) {
    const kernelFunc: tf.KernelFunc = on
      ? (args) =>
          (args.inputs.x ?? args.inputs.value ?? args.inputs.a)?.dtype === 'string'
            ? original(name)(args)
            : replacement(args)
      : original(name);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  }
}

const replacements: Record<string, tf.KernelFunc> = {
  // Swapping the last two axes (every transpose of a matrix product and its gradient) moves
  // ~28 ns per element in tfjs-wasm's kernel, ~4 ns in swapLastAxes; other permutations keep it.
  Transpose: (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const perm = args.attrs?.perm as number[];
    const rank = perm.length;
    const swapsLastTwo =
      rank >= 2 &&
      perm[rank - 2] === rank - 1 &&
      perm[rank - 1] === rank - 2 &&
      perm.slice(0, -2).every((axis, i) => axis === i);
    return swapsLastTwo ? swapLastAxes(args.backend as tf.KernelBackend, x) : original('Transpose')(args);
  },

  // tensors are immutable, so a copy shares the input's buffer (as the cpu backend does)
  // instead of allocating and copying one: tfjs calls Identity for every clone and custom
  // gradient, ~7 000 times per shop in a CausalMMM training pass.
  Identity: ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    (backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },

  Slice: ({ inputs, attrs = {}, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(
      x as tf.Tensor,
      attrs.begin as number | number[],
      attrs.size as number | number[],
    );
    return sliceInPlace(backend as unknown as WasmBackend, x, begin, size);
  },

  SplitV: ({ inputs, attrs = {}, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(
      x as tf.Tensor,
      attrs.numOrSizeSplits as number | number[],
      axis,
    );
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const out = sliceInPlace(backend as unknown as WasmBackend, x, begin, size);
      begin[axis] += s;
      return out;
    });
  },

  Unpack: ({ inputs, attrs = {}, backend }) => {
    const value = inputs.value as tf.TensorInfo;
    const rank = value.shape.length;
    const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : (attrs.axis as number);
    const outShape = value.shape.filter((_, a) => a !== axis);
    const begin = new Array<number>(rank).fill(0);
    const size = [...value.shape];
    size[axis] = 1;
    return Array.from({ length: value.shape[axis] }, (_, i) => {
      begin[axis] = i;
      const out = sliceInPlace(backend as unknown as WasmBackend, value, begin, size);
      return { ...out, shape: outShape };
    });
  },
};

/**
 * Smallest multiply-adds per fast-path call (M·K·N) worth leaving the scalar kernel for: a call,
 * or an explicit transpose, costs ~10 µs of overhead; the scalar loop ~1 ns per multiply-add.
 */
const FAST_PATH_MIN_WORK = 16_384;

/** Side of the square tiles the transpose moves: 8 measured fastest here (16: 1.4×, 32: 2.9× slower). */
const TRANSPOSE_TILE = 8;

/**
 * x with its last two axes swapped ([…, R, C] → […, C, R]) as a new tensor, tile by tile so that
 * both the reads and the writes of a tile stay in cache.
 */
function swapLastAxes(backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  const wasm = backend as unknown as WasmBackend;
  const rank = x.shape.length;
  const R = x.shape[rank - 2];
  const C = x.shape[rank - 1];
  const out = wasm.makeOutput([...x.shape.slice(0, -2), C, R], x.dtype);
  // The input view is taken after the output exists: allocating may grow (and detach) the heap.
  const from = wasm.typedArrayFromHeap(x);
  const to = wasm.typedArrayFromHeap(out);
  const T = TRANSPOSE_TILE;
  for (let base = 0; base < from.length; base += R * C) {
    for (let r0 = 0; r0 < R; r0 += T) {
      const r1 = Math.min(r0 + T, R);
      for (let c0 = 0; c0 < C; c0 += T) {
        const c1 = Math.min(c0 + T, C);
        for (let r = r0; r < r1; r++) {
          const row = base + r * C;
          for (let c = c0; c < c1; c++) to[base + c * R + r] = from[row + c];
        }
      }
    }
  }
  return out;
}

function reshapeInfo(backend: tf.KernelBackend, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return original('Reshape')({ inputs: { x }, backend, attrs: { shape } }) as tf.TensorInfo;
}

/** A [M, K] × B [K, N] (both rank 2, untransposed): the XNNPACK path. */
function fastMatMul(backend: tf.KernelBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  return original('BatchMatMul')({
    inputs: { a, b },
    backend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
}

function batchMatMul(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, attrs = {} } = args;
  const backend = args.backend as tf.KernelBackend;
  const wasm = backend as unknown as WasmBackend;
  let a = inputs.a as tf.TensorInfo;
  let b = inputs.b as tf.TensorInfo;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const transposeA = attrs.transposeA as boolean;
  const transposeB = attrs.transposeB as boolean;
  const M = a.shape[a.shape.length - (transposeA ? 1 : 2)];
  const K = a.shape[a.shape.length - (transposeA ? 2 : 1)];
  const N = b.shape[b.shape.length - (transposeB ? 2 : 1)];
  const broadcastable = batchB === 1 || batchA === 1 || tf.util.arraysEqual(outerA, outerB);
  const workPerCall = (batchB === 1 ? batchA : 1) * M * K * N;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !broadcastable || workPerCall < FAST_PATH_MIN_WORK) {
    return original('BatchMatMul')(args) as tf.TensorInfo;
  }
  const outer = batchB === 1 ? outerA : batchA === 1 ? outerB : outerA;
  const temporaries: tf.TensorInfo[] = [];
  const keep = (t: tf.TensorInfo) => {
    temporaries.push(t);
    return t;
  };
  try {
    if (batchA === 1 && batchB === 1 && (transposeA || transposeB)) {
      // Transposing costs per element. C = op(A)·op(B) can also be had as (op(B)ᵀ·op(A)ᵀ)ᵀ, where
      // a transposed operand is free and the [N, M] result needs one transpose: cheaper when the
      // transposed operand is a large weight and the other side has few rows (a gradient dY·Wᵀ).
      const direct = (transposeA ? M * K : 0) + (transposeB ? K * N : 0);
      const swapped = (transposeA ? 0 : M * K) + (transposeB ? 0 : K * N) + M * N;
      if (swapped < direct) {
        const bT = transposeB ? b : keep(swapLastAxes(backend, b));
        const aT = transposeA ? a : keep(swapLastAxes(backend, a));
        const productT = keep(
          fastMatMul(backend, keep(reshapeInfo(backend, bT, [N, K])), keep(reshapeInfo(backend, aT, [K, M]))),
        );
        const product = keep(swapLastAxes(backend, productT));
        return reshapeInfo(backend, product, [...outer, M, N]);
      }
    }
    if (transposeA) a = keep(swapLastAxes(backend, a));
    if (transposeB) b = keep(swapLastAxes(backend, b));
    if (batchB === 1) {
      // A's batches are rows of one [batchA·M, K] matrix.
      const rows = keep(reshapeInfo(backend, a, [batchA * M, K]));
      const product2d = keep(fastMatMul(backend, rows, keep(reshapeInfo(backend, b, [K, N]))));
      return reshapeInfo(backend, product2d, [...outer, M, N]);
    }
    const out = wasm.makeOutput([...outer, M, N], 'float32');
    const a3 = keep(reshapeInfo(backend, a, [batchA, M, K]));
    const b3 = keep(reshapeInfo(backend, b, [batchB, K, N]));
    /** Batch `batch` of a [batches, rows, cols] tensor, as a [rows, cols] one. */
    const matrix = (t: tf.TensorInfo, batch: number, rows: number, cols: number) =>
      keep(reshapeInfo(backend, keep(sliceInPlace(wasm, t, [batch, 0, 0], [1, rows, cols])), [rows, cols]));
    const aShared = batchA === 1 ? keep(reshapeInfo(backend, a3, [M, K])) : undefined;
    for (let batch = 0; batch < batchB; batch++) {
      const ai = aShared ?? matrix(a3, batch, M, K);
      const ci = keep(fastMatMul(backend, ai, matrix(b3, batch, K, N)));
      wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(ci), batch * M * N);
    }
    return out;
  } finally {
    for (const t of temporaries) wasm.disposeData(t.dataId);
  }
}

replacements.BatchMatMul = batchMatMul as tf.KernelFunc;
