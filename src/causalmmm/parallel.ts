/**
 * Data-parallel training passes over worker threads (`threads` > 1).
 *
 * Why threads and not tfjs's own: the wasm backend runs every kernel on one thread in Node (its
 * multi-threaded build does not start there), so a second core can only be used by a second
 * tfjs instance. Each worker thread holds its own tfjs, its own copy of the model and the
 * training series; per step the main thread writes the current weights and one part of the batch
 * (shops, crop starts, Gumbel noise) into shared memory, computes its own part meanwhile, then
 * waits for the workers' gradients and batch-norm statistics. Everything is synchronous
 * (`Atomics.wait`), so the training loop stays a plain loop.
 *
 * Layout of one worker's shared memory (P = total number of weights, V = number of variables,
 * Bmax = the largest part, N = nodes, R = batch-norm statistics values):
 * control Int32[6] (ready, job sequence, done sequence, failed, message bytes, statistics
 * values written), message Uint8[8192], weights Float32[P], grads Float32[P], present Int32[V],
 * job Int32[2 + 3·Bmax] (shops in the part, train the encoder, then shop, crop, encoder crop per
 * shop), noise Float32[Bmax·N·N], losses Float64[4] (loss, nll, kl, mse of the part), statistics
 * Float32[R].
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import { NumericalError } from '../errors.js';
import { packValues } from './params.js';

/** One part of a training batch: its shops, their crop starts ([decoder's, encoder's]) and noise. */
export interface BatchPart {
  shops: readonly number[];
  crops: readonly (readonly number[])[];
  /** Logistic noise [shops, N, N]. */
  noise: Float32Array;
}

/** What a worker returns for its part. */
export interface PartResult {
  /** Gradient of the part's mean loss per variable (model order); undefined where it has none. */
  grads: (Float32Array | undefined)[];
  /** loss, nll, kl, mse of the part (means over its shops). */
  losses: [number, number, number, number];
  /** The part's batch-norm statistics (mean and variance per call, in call order), flattened. */
  statistics: Float32Array;
}

/** What a worker needs to rebuild the model and read the batches: sent once, at start. */
export interface WorkerSetup {
  backend: string;
  /** Arguments of `new CausalmmmModel` and of the batches' tensors (structured-cloneable). */
  shape: unknown;
  options: unknown;
  data: unknown;
  trainLength: number;
  /** Sizes of the model's variables, in order (a check that both sides built the same model). */
  variableSizes: number[];
  maxPart: number;
  statisticsSize: number;
}

/** Shared memory of one worker, as typed views (see the module comment). */
export interface WorkerMemory {
  control: Int32Array;
  message: Uint8Array;
  weights: Float32Array;
  grads: Float32Array;
  present: Int32Array;
  job: Int32Array;
  noise: Float32Array;
  losses: Float64Array;
  statistics: Float32Array;
}

export const CONTROL = { ready: 0, job: 1, done: 2, failed: 3, messageBytes: 4, statistics: 5 } as const;
const MESSAGE_BYTES = 8192;
/** Worker start-up (tsx, tfjs, the model) takes ~1–2 s; allow for a loaded machine. */
const START_TIMEOUT_MS = 120_000;

export function allocateWorkerMemory(setup: WorkerSetup, nodes: number): SharedArrayBuffer[] {
  const P = setup.variableSizes.reduce((a, b) => a + b, 0);
  const V = setup.variableSizes.length;
  return [
    new SharedArrayBuffer(6 * 4),
    new SharedArrayBuffer(MESSAGE_BYTES),
    new SharedArrayBuffer(P * 4),
    new SharedArrayBuffer(P * 4),
    new SharedArrayBuffer(V * 4),
    new SharedArrayBuffer((2 + 3 * setup.maxPart) * 4),
    new SharedArrayBuffer(setup.maxPart * nodes * nodes * 4),
    new SharedArrayBuffer(4 * 8),
    new SharedArrayBuffer(Math.max(setup.statisticsSize, 1) * 4),
  ];
}

export function workerMemory(buffers: SharedArrayBuffer[]): WorkerMemory {
  const [control, message, weights, grads, present, job, noise, losses, statistics] = buffers;
  return {
    control: new Int32Array(control),
    message: new Uint8Array(message),
    weights: new Float32Array(weights),
    grads: new Float32Array(grads),
    present: new Int32Array(present),
    job: new Int32Array(job),
    noise: new Float32Array(noise),
    losses: new Float64Array(losses),
    statistics: new Float32Array(statistics),
  };
}

/** Writes an error text for the other side and raises the `failed` flag. */
export function reportFailure(memory: WorkerMemory, text: string): void {
  const bytes = new TextEncoder().encode(text).subarray(0, MESSAGE_BYTES);
  memory.message.set(bytes);
  Atomics.store(memory.control, CONTROL.messageBytes, bytes.length);
  Atomics.store(memory.control, CONTROL.failed, 1);
  Atomics.notify(memory.control, CONTROL.ready);
  Atomics.notify(memory.control, CONTROL.done);
}

function failure(memory: WorkerMemory): string {
  const length = Atomics.load(memory.control, CONTROL.messageBytes);
  return new TextDecoder().decode(memory.message.slice(0, length));
}

/** Throws the worker's error, if it has failed. */
function throwIfFailed(memory: WorkerMemory): void {
  if (!Atomics.load(memory.control, CONTROL.failed)) return;
  const text = failure(memory);
  // A NaN loss in a worker's part is the same user-facing condition as in the main thread's.
  if (text.startsWith('NumericalError: ')) throw new NumericalError(text.slice('NumericalError: '.length));
  throw new Error(`causalmmm threads: a gradient worker failed: ${text}`);
}

/** Blocks until control[index] equals `value`, the worker fails (throws) or the time is up (throws). */
function waitUntil(
  memory: WorkerMemory,
  index: number,
  value: number,
  timeoutMs: number,
  what: string,
): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = Atomics.load(memory.control, index);
    if (current === value) return;
    throwIfFailed(memory);
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`causalmmm threads: a gradient worker did not ${what} within ${timeoutMs / 1000} s`);
    Atomics.wait(memory.control, index, current, Math.min(left, 1000));
  }
}

// tsx's ESM API (its exports map's `import` target: `require.resolve` would give the CJS one).
const tsxApi = pathToFileURL(
  path.join(
    path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
    'dist/esm/api/index.mjs',
  ),
).href;
const workerModule = new URL('./gradient-worker.ts', import.meta.url).href;

/** The worker threads of one training run; close them with {@link GradientWorkers.close}. */
export class GradientWorkers {
  private readonly workers: Worker[] = [];
  private readonly memories: WorkerMemory[] = [];
  private readonly variableSizes: readonly number[];
  /** Sequence number of the last step posted; every worker answers with it. */
  private sequence = 0;
  private posted = 0;

  /** Starts `count` workers and blocks until each has built its model. */
  constructor(
    readonly count: number,
    setup: WorkerSetup,
    nodes: number,
  ) {
    this.variableSizes = setup.variableSizes;
    // The worker's entry is TypeScript: register tsx inside it first (execArgv's --import does
    // not reach a worker thread's entry module). A failure to load is written to the shared
    // memory: the main thread is blocked in Atomics.wait and would never see an 'error' event.
    const bootstrap = `
      const { workerData } = require('node:worker_threads');
      import(${JSON.stringify(tsxApi)})
        .then((m) => { m.register(); return import(${JSON.stringify(workerModule)}); })
        .catch((err) => {
          const control = new Int32Array(workerData.buffers[0]);
          const message = new Uint8Array(workerData.buffers[1]);
          const bytes = new TextEncoder().encode(String((err && err.stack) || err)).subarray(0, message.length);
          message.set(bytes);
          Atomics.store(control, ${CONTROL.messageBytes}, bytes.length);
          Atomics.store(control, ${CONTROL.failed}, 1);
          Atomics.notify(control, ${CONTROL.ready});
        });`;
    try {
      for (let k = 0; k < count; k++) {
        const buffers = allocateWorkerMemory(setup, nodes);
        const memory = workerMemory(buffers);
        const worker = new Worker(bootstrap, { eval: true, workerData: { setup, buffers }, stdout: true });
        // Stray output (tfjs notices) goes to stderr: stdout carries the CLI's tables.
        worker.stdout.pipe(process.stderr);
        worker.unref();
        this.workers.push(worker);
        this.memories.push(memory);
      }
      for (const memory of this.memories) waitUntil(memory, CONTROL.ready, 1, START_TIMEOUT_MS, 'start');
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Hands parts 1, 2, … of a batch (part 0 is the main thread's) to workers 0, 1, … with the
   * current weights, packed once; returns at once.
   */
  post(parts: readonly BatchPart[], variables: readonly tf.Variable[], trainEncoder: boolean): void {
    this.sequence = (this.sequence % 0x3fffffff) + 1;
    this.posted = parts.length - 1;
    const weights = packValues(variables, this.memories[0].weights);
    parts.slice(1).forEach((part, k) => {
      const memory = this.memories[k];
      if (k > 0) memory.weights.set(weights);
      memory.job[0] = part.shops.length;
      memory.job[1] = trainEncoder ? 1 : 0;
      part.shops.forEach((s, b) => {
        memory.job[2 + 3 * b] = s;
        memory.job[3 + 3 * b] = part.crops[b][0];
        memory.job[4 + 3 * b] = part.crops[b][1] ?? -1;
      });
      memory.noise.set(part.noise);
      Atomics.store(memory.control, CONTROL.job, this.sequence);
      Atomics.notify(memory.control, CONTROL.job);
    });
  }

  /** Blocks until the workers given parts by the last {@link post} have answered; their answers, in part order. */
  collect(): PartResult[] {
    return this.memories.slice(0, this.posted).map((memory) => {
      // No real time limit: a part's pass takes as long as it takes on a loaded machine.
      waitUntil(memory, CONTROL.done, this.sequence, 2 ** 31, 'answer');
      let offset = 0;
      const grads = this.variableSizes.map((size, i) => {
        const g = memory.present[i] ? memory.grads.slice(offset, offset + size) : undefined;
        offset += size;
        return g;
      });
      const l = memory.losses;
      return {
        grads,
        losses: [l[0], l[1], l[2], l[3]],
        statistics: memory.statistics.slice(0, Atomics.load(memory.control, CONTROL.statistics)),
      };
    });
  }

  /** Asks every worker to exit and lets it go. */
  close(): void {
    for (const [k, memory] of this.memories.entries()) {
      Atomics.store(memory.control, CONTROL.job, -1);
      Atomics.notify(memory.control, CONTROL.job);
      void this.workers[k].terminate();
    }
  }
}

/**
 * Splits a batch into `parts` contiguous parts of near-equal size (the first ones one shop
 * larger), keeping each shop's crops and noise.
 */
export function splitBatch(batch: BatchPart, parts: number, nodes: number): BatchPart[] {
  const B = batch.shops.length;
  const count = Math.min(parts, B);
  const out: BatchPart[] = [];
  let start = 0;
  for (let k = 0; k < count; k++) {
    const size = Math.floor(B / count) + (k < B % count ? 1 : 0);
    out.push({
      shops: batch.shops.slice(start, start + size),
      crops: batch.crops.slice(start, start + size),
      noise: batch.noise.subarray(start * nodes * nodes, (start + size) * nodes * nodes),
    });
    start += size;
  }
  return out;
}
