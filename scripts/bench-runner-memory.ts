/**
 * Memory of the runner on a large dataset: runs one registered method, cell after cell, on a
 * 1000-shop funnel-12 panel (forecast split of 10 steps, as in configs/quick.yaml) and prints
 * tf.memory().numTensors and the process RSS after every cell and at every training epoch the
 * method reports (through MethodInput.onProgress). Flat numTensors and RSS across epochs and
 * cells, and RSS under 2 GB, are the targets. Prints one JSON object as the last line.
 *
 * Usage: node --expose-gc --import tsx scripts/bench-runner-memory.ts [--method granger-var]
 *        [--shops 1000] [--cells 5] [--options '{"lag": 2}'] [--backend auto]
 * With --expose-gc, a full garbage collection runs before each after-cell sample, so RSS growth
 * there is retained memory, not garbage the collector has not reached yet.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { codeVersion, runCell } from '../experiments/runner.js';
import { type BackendChoice, initBackend } from '../src/backend.js';
import { simulate } from '../src/data/simulate.js';
import { getMethod } from '../src/methods/registry.js';

const { values: args } = parseArgs({
  options: {
    method: { type: 'string', default: 'granger-var' },
    shops: { type: 'string', default: '1000' },
    cells: { type: 'string', default: '5' },
    options: { type: 'string', default: '{}' },
    backend: { type: 'string', default: 'auto' },
  },
});

const backend = await initBackend(args.backend as BackendChoice);
const method = getMethod(args.method);
const options = method.options.parse(JSON.parse(args.options)) as Record<string, unknown>;
const cells = Number(args.cells);
const panel = simulate({ preset: 'funnel-12', seed: 0, shops: Number(args.shops) });
const split = panel.splitTime(10);
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const sample = () => ({ numTensors: tf.memory().numTensors, rssMB: mb(process.memoryUsage().rss) });

console.log(
  `${method.name} ${JSON.stringify(options)} on funnel-12: ${panel.shops} shops × ${panel.nodeCount} nodes × ${panel.steps} steps; backend ${backend}; code ${codeVersion()}`,
);
const before = sample();
console.log(`before: numTensors ${before.numTensors}, RSS ${before.rssMB} MB`);
const afterCell: ReturnType<typeof sample>[] = [];
const epochSamples: (ReturnType<typeof sample> & { cell: number; epoch: number })[] = [];
for (let cell = 1; cell <= cells; cell++) {
  const forecasting = method.produces.includes('forecast');
  const outcome = await runCell(
    { method, label: method.name, options },
    forecasting
      ? {
          split: 'time',
          scored: panel,
          input: { panel: split.history, horizon: 10, seed: 0 },
          future: split.future,
        }
      : { scored: panel, input: { panel, horizon: 0, seed: 0 } },
    [1, 3, 7],
    (event) => {
      const s = { cell, epoch: event.epoch, ...sample() };
      epochSamples.push(s);
      console.log(
        `  cell ${cell} epoch ${event.epoch}${event.epochs ? `/${event.epochs}` : ''}: loss ${event.loss.toPrecision(4)}, numTensors ${s.numTensors}, RSS ${s.rssMB} MB`,
      );
    },
  );
  (globalThis as { gc?: () => void }).gc?.();
  const s = sample();
  afterCell.push(s);
  const status = outcome.status === 'ok' ? `auroc ${outcome.metrics.auroc?.toFixed(3)}` : outcome.error;
  console.log(
    `cell ${cell}: ${status}, ${outcome.seconds.toFixed(2)} s, numTensors ${s.numTensors}, RSS ${s.rssMB} MB`,
  );
}
const rss = [...afterCell, ...epochSamples].map((s) => s.rssMB);
const result = {
  bench: 'runner-memory',
  method: method.name,
  shops: panel.shops,
  backend,
  node: process.version,
  gcBeforeSamples: typeof (globalThis as { gc?: unknown }).gc === 'function',
  numTensorsBefore: before.numTensors,
  numTensorsAfterCells: afterCell.map((s) => s.numTensors),
  numTensorsOverEpochs: epochSamples.length
    ? [Math.min(...epochSamples.map((s) => s.numTensors)), Math.max(...epochSamples.map((s) => s.numTensors))]
    : null,
  rssAfterCellsMB: afterCell.map((s) => s.rssMB),
  maxRssMB: Math.max(...rss),
  /** RSS growth from the first cell to the last: flat means a few MB of allocator noise. */
  rssGrowthMB: afterCell[afterCell.length - 1].rssMB - afterCell[0].rssMB,
  under2GB: Math.max(...rss) < 2048,
};
console.log(JSON.stringify(result));
