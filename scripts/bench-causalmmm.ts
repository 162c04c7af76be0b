/**
 * CausalMMM throughput and memory, with the authors' sizes (N = 8, T = 100, H = 256) on
 * release-like data:
 *  - training shops/s (forward + backward + Adam) at B = 1, 16 and (not on wasm) 32 and 64, median
 *    of 3 epochs, and at B = 16 split over `--threads` threads (data-parallel; 1 skips it);
 *  - inference shops/s (graph by one encoder pass, plus a 10-step forecast);
 *  - seconds per epoch versus number of shops (should grow linearly), at `--scalingHidden`;
 *  - tf.memory().numTensors and RSS after every epoch of a multi-epoch run (should be flat).
 * The last line of output is one JSON object (scripts read it).
 * Usage: npx tsx scripts/bench-causalmmm.ts [--backend wasm] [--shops 100,300,1000,3000]
 *        [--scalingHidden 256] [--epochs 3] [--threads 2]
 * `--backend tensorflow` needs @tensorflow/tfjs-node (scripts/tfjs-node-from-wheel.sh builds it);
 * the JSON's `onednn` records TF_ENABLE_ONEDNN_OPTS (src/backend.ts sets 0 unless it is set).
 */
import * as tf from '@tensorflow/tfjs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type BackendChoice, initBackend } from '../src/backend.js';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { edgeProbabilities, forecastShops, prepareSeries, trainCausalmmm } from '../src/causalmmm/train.js';
import { simulate } from '../src/data/simulate.js';

const args = yargs(hideBin(process.argv))
  .option('backend', { type: 'string', default: 'auto' })
  .option('shops', { type: 'string', default: '100,300,1000,3000' })
  .option('scalingHidden', { type: 'number', default: 256 })
  .option('epochs', { type: 'number', default: 3 })
  .option('threads', { type: 'number', default: 2 })
  .strict()
  .parseSync();

const backend = await initBackend(args.backend as BackendChoice);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const panelOf = (shops: number) => simulate({ preset: 'release-like', seed: 0, shops, steps: 100 });
const shape = (panel: ReturnType<typeof panelOf>) => ({
  targetIndex: panel.targetIndex,
  channelIndices: panel.channelIndices,
});

/** Trains `epochs` epochs without validation; returns per-epoch seconds, tensors and RSS. */
function trainEpochs(shops: number, hidden: number, batchSize: number, epochs: number, threads = 1) {
  const panel = panelOf(shops);
  const options = causalmmmOptions.parse({ hidden, batchSize, epochs, valFraction: 0, patience: 0, threads });
  const perEpoch: { seconds: number; tensors: number; rssMb: number }[] = [];
  const { model } = trainCausalmmm(prepareSeries(panel, options.scale), options, 0, shape(panel), (r) => {
    perEpoch.push({
      seconds: r.seconds,
      tensors: tf.memory().numTensors,
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    });
  });
  return { model, panel, options, perEpoch };
}

const result: Record<string, unknown> = { bench: 'causalmmm', backend, node: process.version, hidden: 256 };

if (backend === 'tensorflow') result.onednn = process.env.TF_ENABLE_ONEDNN_OPTS;
// B ≥ 32 at H = 256 holds more than wasm32's 4 GB heap on the tape (it aborts in _register_tensor).
const wasmHeapBound = backend === 'wasm';
if (wasmHeapBound)
  console.log('train B=32, B=64: skipped on wasm (the tape at H = 256 exceeds the 4 GB wasm heap)');
for (const [B, shops, threads] of [
  [1, 16, 1],
  [16, 64, 1],
  ...(wasmHeapBound
    ? []
    : ([
        [32, 64, 1],
        [64, 128, 1],
      ] as const)),
  ...(args.threads > 1 ? [[16, 64, args.threads] as const] : []),
] as const) {
  const { model, perEpoch } = trainEpochs(shops, 256, B, args.epochs, threads);
  model.dispose();
  const rate = shops / median(perEpoch.map((e) => e.seconds));
  const label = threads > 1 ? `B=${B}, ${threads} threads` : `B=${B}`;
  console.log(
    `train ${label}: ${round(rate, 2)} shops/s (epochs: ${perEpoch.map((e) => e.seconds.toFixed(2)).join(', ')} s)`,
  );
  if (threads > 1) {
    result.threads = threads;
    result[`trainShopsPerSecB${B}Threads`] = round(rate, 2);
  } else result[`trainShopsPerSecB${B}`] = round(rate, 2);
}

{
  const { model, options } = trainEpochs(16, 256, 16, 1);
  const infer = panelOf(300);
  const data = prepareSeries(infer, options.scale);
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const started = performance.now();
    edgeProbabilities(model, data);
    forecastShops(model, data, 10, 0);
    times.push((performance.now() - started) / 1000);
  }
  model.dispose();
  const rate = infer.shops / median(times);
  console.log(`inference (graph + 10-step forecast): ${round(rate, 1)} shops/s over ${infer.shops} shops`);
  result.inferShopsPerSec = round(rate, 1);
}

const scaling: { shops: number; secondsPerEpoch: number }[] = [];
for (const shops of args.shops.split(',').map(Number)) {
  const { model, perEpoch } = trainEpochs(shops, args.scalingHidden, 16, 1);
  model.dispose();
  scaling.push({ shops, secondsPerEpoch: round(perEpoch[0].seconds, 2) });
  console.log(
    `epoch over ${shops} shops (H = ${args.scalingHidden}, B = 16): ${perEpoch[0].seconds.toFixed(2)} s`,
  );
}
result.scaling = scaling;
result.scalingHidden = args.scalingHidden;

{
  const { model, perEpoch } = trainEpochs(64, 256, 16, Math.max(args.epochs, 4));
  model.dispose();
  console.log(`numTensors per epoch: ${perEpoch.map((e) => e.tensors).join(', ')}`);
  console.log(`RSS MB per epoch: ${perEpoch.map((e) => e.rssMb).join(', ')}`);
  result.tensorsPerEpoch = perEpoch.map((e) => e.tensors);
  result.rssMbPerEpoch = perEpoch.map((e) => e.rssMb);
}
console.log(JSON.stringify(result));
