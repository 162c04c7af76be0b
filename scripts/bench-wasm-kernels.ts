/**
 * tfjs-wasm's own Slice / SplitV / Unpack / Transpose / BatchMatMul kernels against the replacements
 * (src/wasm-kernels.ts): microseconds per op on shapes this project slices, and seconds per shop of
 * the cLSTM baseline (configs/paper/structure.yaml's options, one release-like shop), each the
 * median of interleaved runs. Last line JSON.
 * Usage: npx tsx scripts/bench-wasm-kernels.ts [runs]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend.js';
import { simulate } from '../src/data/simulate.js';
import { getMethod } from '../src/methods/registry.js';
import { useFastWasmKernels } from '../src/wasm-kernels.js';

const runs = Number(process.argv[2] ?? 5);
const backend = await initBackend('wasm');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median over `runs` interleaved rounds of the mean time of `reps` calls, per kernel set. */
async function compare(reps: number, fn: () => unknown): Promise<{ original: number; fast: number }> {
  const times = { original: [] as number[], fast: [] as number[] };
  for (let round = 0; round <= runs; round++) {
    for (const fast of [false, true]) {
      useFastWasmKernels(fast);
      // Warm-up calls of this kernel set, so that the other set's garbage is collected first.
      for (let r = 0; r < Math.ceil(reps / 2); r++) await fn();
      const start = performance.now();
      for (let r = 0; r < reps; r++) await fn();
      const ms = (performance.now() - start) / reps;
      if (round > 0) times[fast ? 'fast' : 'original'].push(ms);
    }
  }
  return { original: median(times.original), fast: median(times.fast) };
}

const result: Record<string, number | string> = { bench: 'wasm-kernels', node: process.version, backend };
const gates = tf.randomNormal([8, 90, 80]);
const series = tf.randomNormal([16, 8, 100]);
const flat = tf.randomNormal([57600]);
const input = tf.randomNormal([8, 90, 20]);
const weights = tf.randomNormal([8, 20, 80]);
const flatWeights = tf.randomNormal([20, 80]);
// CausalMMM's pair layer at B = 16: B·N² = 1024 rows of H = 256
const pairs = tf.randomNormal([1024, 256]);
const pairGradient = tf.randomNormal([1024, 256]);
// Each op's result is disposed at once: a tidy would return (and keep) it.
const ops: [string, () => void][] = [
  ['batchMatMul [8, 90, 20] × [8, 20, 80] (cLSTM, one step)', () => tf.dispose(tf.matMul(input, weights))],
  [
    'transposedMatMul [720, 20] × [80, 20]ᵀ',
    () => tf.dispose(tf.matMul(input.reshape([720, 20]), flatWeights.transpose(), false, true)),
  ],
  ['transpose [1024, 256]', () => tf.dispose(pairs.transpose())],
  [
    'weightGradient [1024, 256]ᵀ × [1024, 256] (CausalMMM pair layer, B = 16)',
    () => tf.dispose(tf.matMul(pairs, pairGradient, true, false)),
  ],
  ['slice 14400 of 57600 floats', () => tf.dispose(flat.slice([0], [14400]))],
  ['split [8, 90, 80] into 4 on the last axis', () => tf.dispose(tf.split(gates, 4, 2))],
  ['unstack [16, 8, 100] over its 100 steps', () => tf.dispose(tf.unstack(series, 2))],
];
for (const [name, op] of ops) {
  const { original, fast } = await compare(200, op);
  const key = name.split(' ')[0];
  console.log(
    `${name}: ${(original * 1000).toFixed(0)} µs → ${(fast * 1000).toFixed(0)} µs (${(original / fast).toFixed(1)}×)`,
  );
  result[`${key}UsOriginal`] = Math.round(original * 1000);
  result[`${key}UsFast`] = Math.round(fast * 1000);
}
tf.dispose([gates, series, flat, input, weights, flatWeights, pairs, pairGradient]);

const panel = simulate({ preset: 'release-like', seed: 0, shops: 1 });
const clstm = getMethod('ngc-clstm');
const options = clstm.options.parse({ hidden: 20, lambda: 0.05, lr: 0.05, maxIter: 100, maxWindows: 100 });
const { original, fast } = await compare(1, () => clstm.run({ panel, horizon: 0, seed: 0 }, options));
console.log(
  `ngc-clstm, one release-like shop, 100 iterations: ${(original / 1000).toFixed(2)} s → ${(fast / 1000).toFixed(2)} s (${(original / fast).toFixed(1)}×)`,
);
result.clstmSecondsOriginal = Math.round(original) / 1000;
result.clstmSecondsFast = Math.round(fast) / 1000;
useFastWasmKernels(true);
console.log(JSON.stringify(result));
