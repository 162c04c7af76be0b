import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { tanhViaSigmoid } from '../src/methods/neural.js';
import { Rng } from '../src/rng.js';
import { useFastWasmKernels } from '../src/wasm-kernels.js';

/**
 * Runs `f` with the in-place wasm kernels and then with tfjs's own; returns both results as
 * arrays, tfjs's first. The replacements run first so that their outputs cannot land in heap
 * blocks the originals just freed, which would already hold the right values.
 */
function both(f: () => tf.Tensor | tf.Tensor[]): [number[][], number[][]] {
  const run = (inPlace: boolean) => {
    useFastWasmKernels(inPlace);
    return tf.tidy(() => {
      const out = f();
      return (Array.isArray(out) ? out : [out]).map((t) => [...t.shape, -1, ...t.dataSync()]);
    });
  };
  const inPlace = run(true);
  return [run(false), inPlace];
}

describe('replacement Identity, Slice, SplitV, Unpack, Transpose and BatchMatMul kernels for tfjs-wasm', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  afterAll(() => useFastWasmKernels(true));

  it('slices every rank 1–5 exactly as tfjs does, for random begins and sizes', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const rank = 1 + (trial % 5);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor(rng.uniform() * 5));
      const begin = shape.map((s) => Math.floor(rng.uniform() * s));
      const size = shape.map((s, a) =>
        rng.uniform() < 0.3 ? -1 : Math.floor(rng.uniform() * (s - begin[a] + 1)),
      );
      const x = tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5),
        shape,
      );
      const [original, inPlace] = both(() => x.slice(begin, size));
      expect(inPlace, `shape ${shape} begin ${begin} size ${size}`).toEqual(original);
      x.dispose();
    }
  });

  it('splits and unstacks along every axis exactly as tfjs does, int32 included', () => {
    const x = tf.range(0, 4 * 6 * 3 * 2).reshape([4, 6, 3, 2]);
    const xi = tf.range(0, 24, 1, 'int32').reshape([2, 3, 4]);
    for (let axis = 0; axis < 4; axis++) {
      const [a, b] = both(() => tf.unstack(x, axis));
      expect(b).toEqual(a);
      const parts = axis === 1 ? [1, 2, 3] : axis === 2 ? 3 : 2;
      const [c, d] = both(() => tf.split(x, parts, axis));
      expect(d).toEqual(c);
    }
    const [e, f] = both(() => [...tf.split(xi, [1, 3], 2), ...tf.unstack(xi, 1)]);
    expect(f).toEqual(e);
    tf.dispose([x, xi]);
  });

  it('gives the same gradients through split and unstack, and leaks no tensor', () => {
    const x = tf.tensor3d(
      Array.from({ length: 2 * 3 * 8 }, (_, i) => Math.sin(i)),
      [2, 3, 8],
    );
    const loss = (v: tf.Tensor) => {
      const [a, , c] = tf.split(v, [2, 4, 2], 2);
      const steps = tf.unstack(v.slice([0, 1, 0], [2, 2, 8]), 2);
      return a.square().sum().add(c.mul(3).sum()).add(steps[5].mul(steps[2]).sum());
    };
    const [original, inPlace] = both(() => tf.grad(loss)(x));
    expect(inPlace).toEqual(original);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grad(loss)(x);
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('transposes exactly as tfjs does, for every permutation of ranks 2–4, int32 and bool included', () => {
    const permutations = (n: number): number[][] =>
      n === 1
        ? [[0]]
        : permutations(n - 1).flatMap((p) =>
            Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]),
          );
    /** out[i] = x[perm⁻¹(i)] on flat row-major arrays: an index computation independent of tfjs. */
    const reference = (values: number[], shape: number[], perm: number[]) => {
      const outShape = perm.map((axis) => shape[axis]);
      const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, q) => p * q, 1));
      return values.map((_, flat) => {
        let rest = flat;
        let from = 0;
        for (let a = outShape.length - 1; a >= 0; a--) {
          from += (rest % outShape[a]) * strides[perm[a]];
          rest = Math.floor(rest / outShape[a]);
        }
        return values[from];
      });
    };
    // sides that are not multiples of the 8-wide tile, and ones that are
    const shapes = [
      [9, 17],
      [16, 8],
      [3, 10, 7],
      [2, 3, 11, 5],
      [1, 1],
    ];
    for (const shape of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: size }, (_, i) => i);
      const x = tf.tensor(
        values.map((v) => v + 0.25),
        shape,
      );
      const xi = tf.tensor(values, shape, 'int32');
      const xb = tf.tensor(
        values.map((v) => v % 3 === 0),
        shape,
        'bool',
      );
      for (const perm of permutations(shape.length)) {
        const [original, tiled] = both(() => [x.transpose(perm), xi.transpose(perm), xb.transpose(perm)]);
        expect(tiled, `shape ${shape} perm ${perm}`).toEqual(original);
        const expected = reference(values, shape, perm);
        expect(tiled[1].slice(perm.length + 1), `shape ${shape} perm ${perm}`).toEqual(expected);
        expect(tiled[0].slice(perm.length + 1)).toEqual(expected.map((v) => v + 0.25));
        expect(tiled[2].slice(perm.length + 1)).toEqual(expected.map((v) => Number(v % 3 === 0)));
      }
      tf.dispose([x, xi, xb]);
    }
  });

  it('multiplies like tfjs for every transpose, batch and broadcast case, up to float32 rounding', () => {
    const rng = new Rng(5);
    const random = (shape: number[]) =>
      tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        shape,
      );
    // [outer A, outer B, M, K, N]: large enough for the batch loop, small (scalar loop), broadcasts.
    const cases: [number[], number[], number, number, number][] = [
      [[], [], 90, 20, 80],
      [[], [], 8, 256, 256],
      [[1], [1], 4, 300, 200],
      [[8], [8], 90, 20, 80],
      [[8], [], 90, 20, 80],
      [[], [8], 90, 20, 80],
      [[1], [8], 90, 20, 80],
      [[2, 3], [2, 3], 40, 30, 20],
      [[2, 3], [], 4, 5, 6],
      [[128], [128], 1, 8, 16],
      [[2, 1], [1, 3], 40, 30, 20],
    ];
    for (const [outerA, outerB, M, K, N] of cases) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = random([...outerA, ...(transposeA ? [K, M] : [M, K])]);
          const b = random([...outerB, ...(transposeB ? [N, K] : [K, N])]);
          const [[original], [replaced]] = both(() => tf.matMul(a, b, transposeA, transposeB));
          const label = `${outerA}|${outerB} ${M}×${K}×${N} ${transposeA} ${transposeB}`;
          expect(replaced.length, label).toBe(original.length);
          expect(replaced.slice(0, replaced.indexOf(-1)), label).toEqual(
            original.slice(0, original.indexOf(-1)),
          );
          const worst = Math.max(...original.map((v, i) => Math.abs(v - replaced[i]) / (1 + Math.abs(v))));
          expect(worst, label).toBeLessThan(1e-4);
          tf.dispose([a, b]);
        }
      }
    }
  });

  it('computes tanh as 2σ(2x) − 1 to float32 rounding, gradient included', () => {
    const x = tf.linspace(-6, 6, 49);
    const [viaSigmoid, exact] = [tanhViaSigmoid(x), tf.tanh(x)].map((t) => [...t.dataSync()]);
    const [dViaSigmoid, dExact] = [tf.grad(tanhViaSigmoid)(x), tf.grad(tf.tanh)(x)].map((t) => [
      ...t.dataSync(),
    ]);
    for (let k = 0; k < exact.length; k++) {
      expect(viaSigmoid[k]).toBeCloseTo(exact[k], 6);
      expect(dViaSigmoid[k]).toBeCloseTo(dExact[k], 5);
    }
    expect(viaSigmoid[24]).toBe(0);
    x.dispose();
  });

  it('clones by sharing the buffer, and a variable assigned later does not change its clone', () => {
    useFastWasmKernels(true);
    const dataBefore = tf.engine().backend.numDataIds();
    const x = tf.tensor1d([1, 2, 3]);
    const copy = x.clone();
    expect(tf.engine().backend.numDataIds()).toBe(dataBefore + 1);
    const v = tf.variable(copy);
    const next = tf.tensor1d([7, 8, 9]);
    v.assign(next);
    expect([...x.dataSync(), ...copy.dataSync(), ...v.dataSync()]).toEqual([1, 2, 3, 1, 2, 3, 7, 8, 9]);
    tf.dispose([x, copy, v, next]);
    expect(tf.engine().backend.numDataIds()).toBe(dataBefore);
  });

  it('leaks no tensor through a batched product and its gradient', () => {
    const a = tf.randomNormal([8, 90, 20], 0, 1, 'float32', 1);
    const w = tf.randomNormal([8, 20, 80], 0, 1, 'float32', 2);
    useFastWasmKernels(true);
    const before = tf.memory().numTensors;
    const dataBefore = tf.engine().backend.numDataIds();
    tf.tidy(() => {
      tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).square().sum())([a, w]);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataBefore);
    tf.dispose([a, w]);
  });
});
