/**
 * A pool of worker processes that run grid cells: each worker is a separate Node process
 * (its own tfjs backend and memory), forked with tsx's loader so it runs the TypeScript
 * sources like the CLI does, under vitest too. The parent hands out one cell at a time, in
 * grid order, to whichever worker is free; results are keyed by the cell's grid index, so
 * they do not depend on the pool size or on which worker ran what.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from '../src/errors.js';
import type { TrainingProgress } from '../src/methods/method.js';
import type { PlannedCell } from './cells.js';
import type { ExperimentConfig } from './config.js';
import { dependsOnSeed } from './datasets.js';
import type { CellRun } from './runner.js';

export type ToWorker =
  | { type: 'init'; config: ExperimentConfig; backend: string }
  | { type: 'run'; cell: PlannedCell };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; index: number; event: TrainingProgress }
  | { type: 'done'; index: number; outcome: CellRun }
  | { type: 'fatal'; message: string; stack?: string; userError: boolean };

export interface PoolEvents {
  started(slot: number, cell: PlannedCell): void;
  training(slot: number, cell: PlannedCell, event: TrainingProgress): void;
  /**
   * `lost` is true when the worker died while running the cell (killed, out of memory):
   * the failure says nothing about the cell, so it is not saved and a rerun retries it.
   */
  finished(slot: number, cell: PlannedCell, outcome: CellRun, lost: boolean): void;
}

const workerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** Runs one cell in the calling process (the runner's in-process path). */
export type LocalRunner = (
  cell: PlannedCell,
  onProgress: (event: TrainingProgress) => void,
) => Promise<CellRun>;

/**
 * Runs `cells` on `size` worker processes; resolves when every cell has finished.
 *
 * A worker takes seconds to start (loading tfjs), about as long as this process took to get
 * here. With `runLocal`, this process starts on the cells itself and forks the workers only once
 * the work left (its mean cell time so far × cells left) exceeds twice that start-up time, so a
 * small grid never pays for workers; it stops taking cells as soon as a worker is ready, and
 * from then on only hands them out.
 */
export function runInPool(
  config: ExperimentConfig,
  backend: string,
  cells: readonly PlannedCell[],
  size: number,
  events: PoolEvents,
  runLocal?: LocalRunner,
): Promise<void> {
  const queue = [...cells];
  const dataKey = (cell: PlannedCell) =>
    dependsOnSeed(config.datasets[cell.datasetIndex])
      ? `${cell.datasetIndex}@${cell.seed}`
      : `${cell.datasetIndex}`;
  /**
   * The next cell for a worker: among the next few in grid order, one on the data the worker
   * loaded last, so that workers do not each load (or simulate) the same dataset.
   */
  const takeNext = (lastData: string | undefined): PlannedCell | undefined => {
    const window = Math.min(queue.length, 2 * size);
    const i = lastData === undefined ? -1 : queue.slice(0, window).findIndex((c) => dataKey(c) === lastData);
    return queue.splice(Math.max(i, 0), 1)[0];
  };
  const byIndex = new Map(cells.map((cell) => [cell.index, cell]));
  let remaining = cells.length;
  let anyReady = false;
  const children: ChildProcess[] = [];
  const readyChildren = new Set<ChildProcess>();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const stopAll = () => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      stopAll();
      reject(err);
    };
    const finishIfDone = () => {
      if (remaining > 0 || settled) return;
      settled = true;
      for (const child of children) {
        // A worker still starting has nothing to do: stop it rather than wait for its start-up.
        if (!readyChildren.has(child) && child.exitCode === null) child.kill('SIGTERM');
        else if (child.connected) child.disconnect();
      }
      resolve();
    };
    let spawned = false;
    const spawnAll = () => {
      spawned = true;
      for (let slot = 0; slot < Math.min(size, queue.length); slot++) spawn(slot);
    };
    const runLocally = async (local: LocalRunner) => {
      const startupMs = Math.min(Math.max(performance.now(), 500), 10_000);
      const began = performance.now();
      let ran = 0;
      while (!anyReady && !settled && queue.length > 0) {
        const cell = queue.shift()!;
        events.started(0, cell);
        const run = await local(cell, (event) => events.training(0, cell, event));
        remaining--;
        ran++;
        events.finished(0, cell, run, false);
        const leftMs = ((performance.now() - began) / ran) * queue.length;
        if (!spawned && leftMs > 2 * startupMs) spawnAll();
        // Let a worker's "ready" message in before taking the next cell.
        await new Promise((resolve) => setImmediate(resolve));
      }
      finishIfDone();
    };

    const spawn = (slot: number) => {
      // Explicit execArgv: the parent's (vitest's, a debugger's) flags must not leak in.
      const child = fork(workerFile, [], {
        execArgv: ['--import', tsxLoader],
        serialization: 'advanced',
        // A worker's stray output (tfjs notices) goes to stderr: stdout carries the tables.
        stdio: ['ignore', 2, 2, 'ipc'],
      });
      children[slot] = child;
      let ready = false;
      let current: PlannedCell | undefined;
      let lastData: string | undefined;
      const next = () => {
        current = takeNext(lastData);
        if (current) {
          lastData = dataKey(current);
          events.started(slot, current);
          child.send({ type: 'run', cell: current } satisfies ToWorker);
        } else if (child.connected) {
          child.disconnect();
        }
      };
      child.on('message', (message: FromWorker) => {
        if (settled) return;
        switch (message.type) {
          case 'ready':
            ready = true;
            anyReady = true;
            readyChildren.add(child);
            next();
            break;
          case 'progress':
            events.training(slot, byIndex.get(message.index)!, message.event);
            break;
          case 'done':
            remaining--;
            events.finished(slot, byIndex.get(message.index)!, message.outcome, false);
            current = undefined;
            next();
            finishIfDone();
            break;
          case 'fatal':
            if (message.userError) fail(new UserError(message.message));
            else fail(Object.assign(new Error(message.message), { stack: message.stack }));
            break;
        }
      });
      // The process could not be started or messaged (e.g. out of process slots).
      child.on('error', (err) => fail(err));
      child.on('exit', (code, signal) => {
        if (settled) return;
        if (!ready) {
          fail(new Error(`worker process ${slot + 1} exited during start-up (${signal ?? `code ${code}`})`));
          return;
        }
        if (current) {
          const reason = `worker process exited (${signal ?? `code ${code}`}) while running this cell`;
          remaining--;
          events.finished(
            slot,
            current,
            { status: 'failed', error: reason, metrics: {}, seconds: 0, shops: 0 },
            true,
          );
          current = undefined;
        }
        // Replace a lost worker while work is left; a worker that ran out of work just ends.
        if (queue.length > 0) spawn(slot);
        finishIfDone();
      });
      child.send({ type: 'init', config, backend } satisfies ToWorker);
    };

    if (!runLocal) spawnAll();
    else
      runLocally(runLocal).catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
  });
}
