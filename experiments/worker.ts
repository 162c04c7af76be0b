/**
 * A worker process of the pool (experiments/pool.ts): initialises tfjs on the backend the
 * parent chose, then runs the cells it is sent, one at a time, and reports each outcome and
 * the training progress of long cells. It exits when the parent disconnects or dies.
 */

import type { BackendChoice } from '../src/backend.js';
import { initBackend } from '../src/backend.js';
import { UserError } from '../src/errors.js';
import type { TrainingProgress } from '../src/methods/method.js';
import type { ExperimentConfig } from './config.js';
import { DatasetCache } from './datasets.js';
import type { FromWorker, ToWorker } from './pool.js';
import { expandMethodSpec, type MethodVariant, runPlannedCell } from './runner.js';

/** Training reports are forwarded at most this often: a fast loop must not flood the pipe. */
const PROGRESS_INTERVAL_MS = 200;

let state: { config: ExperimentConfig; variants: MethodVariant[]; data: DatasetCache } | undefined;

const send = (message: FromWorker) => process.send!(message);

async function handle(message: ToWorker): Promise<void> {
  if (message.type === 'init') {
    await initBackend(message.backend as BackendChoice);
    const { config } = message;
    state = {
      config,
      variants: config.methods.flatMap(expandMethodSpec),
      data: new DatasetCache(config.datasets, config.baseDir),
    };
    send({ type: 'ready' });
    return;
  }
  const { config, variants, data } = state!;
  const { cell } = message;
  let lastSent = 0;
  const onProgress = (event: TrainingProgress) => {
    const now = Date.now();
    if (now - lastSent < PROGRESS_INTERVAL_MS && event.epoch !== event.epochs) return;
    lastSent = now;
    send({ type: 'progress', index: cell.index, event });
  };
  const outcome = await runPlannedCell(config, cell, variants[cell.variantIndex], data, onProgress);
  send({ type: 'done', index: cell.index, outcome });
}

process.on('message', (message: ToWorker) => {
  handle(message).catch((err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    send({
      type: 'fatal',
      message: error.message,
      stack: error.stack,
      userError: error instanceof UserError,
    });
  });
});
// The parent is gone (finished, or killed): nothing will read what this process computes.
process.on('disconnect', () => process.exit(0));
