/**
 * A gradient worker thread of data-parallel training (see `parallel.ts`): rebuilds the model,
 * then, per job, loads the weights from shared memory and computes its part's gradients, loss
 * terms and batch-norm statistics, exactly as the main thread computes its own part.
 */
import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { type BackendChoice, initBackend } from '../backend.js';
import { Rng } from '../rng.js';
import { CausalmmmModel, type ModelShape } from './model.js';
import type { CausalmmmOptions } from './options.js';
import { CONTROL, reportFailure, type WorkerSetup, workerMemory } from './parallel.js';
import { assignPacked } from './params.js';
import { partGradients, type ShopSeries } from './train.js';

const { setup, buffers } = workerData as { setup: WorkerSetup; buffers: SharedArrayBuffer[] };
const memory = workerMemory(buffers);

function serve(model: CausalmmmModel, data: ShopSeries): void {
  const N = data.nodes;
  let handled = 0;
  for (;;) {
    Atomics.wait(memory.control, CONTROL.job, handled);
    const job = Atomics.load(memory.control, CONTROL.job);
    if (job === -1) return;
    assignPacked(model.variables, memory.weights);
    const count = memory.job[0];
    const trainEncoder = memory.job[1] === 1;
    const shops: number[] = [];
    const crops: number[][] = [];
    for (let b = 0; b < count; b++) {
      shops.push(memory.job[2 + 3 * b]);
      const encoderCrop = memory.job[4 + 3 * b];
      crops.push(encoderCrop >= 0 ? [memory.job[3 + 3 * b], encoderCrop] : [memory.job[3 + 3 * b]]);
    }
    const part = { shops, crops, noise: memory.noise.slice(0, count * N * N) };
    const trained = trainEncoder
      ? model.variables
      : model.variables.filter((v) => !model.encoderVariables.includes(v));
    const result = partGradients(model, data, part, trained, setup.trainLength);
    let offset = 0;
    model.variables.forEach((v, i) => {
      const g = result.grads[v.name];
      memory.present[i] = g ? 1 : 0;
      if (g) memory.grads.set(g.dataSync(), offset);
      offset += v.size;
    });
    result.losses.forEach((t, i) => {
      memory.losses[i] = t.dataSync()[0];
    });
    tf.dispose([...Object.values(result.grads), ...result.losses]);
    const statistics = model.takePendingStatistics();
    if (statistics.length > memory.statistics.length) {
      throw new Error(`${statistics.length} batch-norm statistics do not fit in ${memory.statistics.length}`);
    }
    memory.statistics.set(statistics);
    Atomics.store(memory.control, CONTROL.statistics, statistics.length);
    handled = job;
    Atomics.store(memory.control, CONTROL.done, job);
    Atomics.notify(memory.control, CONTROL.done);
  }
}

try {
  await initBackend(setup.backend as BackendChoice);
  const options = setup.options as CausalmmmOptions;
  // The initial weights are overwritten by every job; the seed only has to be some seed.
  const model = new CausalmmmModel(setup.shape as ModelShape, options, new Rng(0));
  const sizes = model.variables.map((v) => v.size);
  if (sizes.join() !== setup.variableSizes.join()) {
    throw new Error(
      `the worker's model has variables of sizes ${sizes.join()}, the main thread's ${setup.variableSizes.join()}`,
    );
  }
  Atomics.store(memory.control, CONTROL.ready, 1);
  Atomics.notify(memory.control, CONTROL.ready);
  serve(model, setup.data as ShopSeries);
  model.dispose();
} catch (err) {
  const text = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  reportFailure(memory, text);
}
