/**
 * Progress of an experiment grid. On a terminal: a live display (cli-progress) with the cells
 * done out of the total, the ETA, and one line per worker naming its cell and, for a method
 * that reports training, the epoch and loss. Elsewhere (CI, logs, pipes): plain timestamped
 * lines, one per finished cell, plus a throttled line for long trainings.
 */
import cliProgress from 'cli-progress';
import type { TrainingProgress } from './methods/method.js';

export interface GridStart {
  experiment: string;
  /** Cells of this run (this shard's, when sharded). */
  total: number;
  /** Cells already finished by an earlier run (resumed). */
  done: number;
  workers: number;
}

/** What the runner tells the display; `slot` is the worker (0 when cells run in-process). */
export interface GridProgress {
  begin(start: GridStart): void;
  cellStarted(slot: number, cell: string): void;
  training(slot: number, cell: string, event: TrainingProgress): void;
  /** `summary` is the headline metrics and time, or the failure reason. */
  cellFinished(slot: number, cell: string, summary: string, failed: boolean): void;
  /** A free line (e.g. a warning), shown without disturbing the display. */
  note(line: string): void;
  end(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function trainingText(event: TrainingProgress): string {
  const epochs = event.epochs ? `/${event.epochs}` : '';
  return `epoch ${event.epoch}${epochs} loss ${event.loss.toPrecision(4)}`;
}

/** Seconds left, from the pace of the cells finished in this run. */
function eta(startedMs: number, nowMs: number, finishedHere: number, remaining: number): number {
  if (finishedHere === 0) return Number.NaN;
  return (((nowMs - startedMs) / 1000) * remaining) / finishedHere;
}

/** A training line is printed at most this often per worker in plain mode. */
const PLAIN_TRAINING_INTERVAL_MS = 30_000;

/** Timestamped lines for logs: `2026-01-01T10:00:00.000Z [3/12] var × granger-var seed 0: auroc 0.97 (0.1 s)`. */
export function plainProgress(write: (line: string) => void, clock: () => number = Date.now): GridProgress {
  let total = 0;
  let done = 0;
  let finishedHere = 0;
  let startedMs = 0;
  const lastTrainingLine = new Map<number, number>();
  const line = (text: string) => write(`${new Date(clock()).toISOString()} ${text}`);
  return {
    begin(start) {
      total = start.total;
      done = start.done;
      startedMs = clock();
      const resumed = start.done > 0 ? `, ${start.done} already done` : '';
      line(`${start.experiment}: ${start.total} cells${resumed}; ${start.workers} worker(s)`);
    },
    cellStarted(slot) {
      lastTrainingLine.set(slot, clock());
    },
    training(slot, cell, event) {
      const now = clock();
      if (now - (lastTrainingLine.get(slot) ?? 0) < PLAIN_TRAINING_INTERVAL_MS) return;
      lastTrainingLine.set(slot, now);
      line(`  ${cell}: ${trainingText(event)}`);
    },
    cellFinished(_slot, cell, summary, failed) {
      done++;
      finishedHere++;
      const left = total - done;
      const etaText = left > 0 ? `; ETA ${formatDuration(eta(startedMs, clock(), finishedHere, left))}` : '';
      line(`[${done}/${total}] ${cell}: ${failed ? `FAILED (${summary})` : summary}${etaText}`);
    },
    note(text) {
      line(text);
    },
    end() {},
  };
}

/** The live terminal display; `stream` must be a TTY. */
export function terminalProgress(stream: NodeJS.WriteStream): GridProgress {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 20,
      fps: 5,
      barsize: 30,
      autopadding: true,
      format: (options, params, payload: { line?: string; experiment?: string }) => {
        if (payload.line !== undefined) return payload.line;
        const size = options.barsize ?? 30;
        const filled = Math.round(params.progress * size);
        const bar = `${'█'.repeat(filled)}${'░'.repeat(size - filled)}`;
        const etaText = params.value >= params.total ? 'done' : `ETA ${formatDuration(params.eta)}`;
        return `${payload.experiment} ${bar} ${params.value}/${params.total} cells · ${etaText}`;
      },
    },
    cliProgress.Presets.shades_classic,
  );
  let main: cliProgress.SingleBar | undefined;
  const workers: cliProgress.SingleBar[] = [];
  const show = (slot: number, text: string) => workers[slot]?.update({ line: `  [${slot + 1}] ${text}` });
  // Ctrl-C: give the terminal its cursor back, then die as an interrupted process does (finished
  // cells are on disk already).
  const interrupted = () => {
    multibar.stop();
    process.exit(130);
  };
  return {
    begin(start) {
      process.once('SIGINT', interrupted);
      main = multibar.create(start.total, start.done, { experiment: start.experiment });
      for (let slot = 0; slot < Math.max(1, start.workers); slot++) {
        workers.push(multibar.create(1, 0, { line: `  [${slot + 1}] idle` }));
      }
    },
    cellStarted(slot, cell) {
      show(slot, cell);
    },
    training(slot, cell, event) {
      show(slot, `${cell} · ${trainingText(event)}`);
    },
    cellFinished(slot, cell, summary, failed) {
      if (failed) multibar.log(`FAILED ${cell}: ${summary}\n`);
      main?.increment();
      show(slot, 'idle');
    },
    note(text) {
      multibar.log(`${text}\n`);
    },
    end() {
      process.removeListener('SIGINT', interrupted);
      multibar.update(); // flushes lines logged since the last frame; stop() would drop them
      multibar.stop();
    },
  };
}

/** The terminal display on a TTY (unless CI is set), plain lines otherwise. */
export function progressFor(stream: NodeJS.WriteStream): GridProgress {
  if (stream.isTTY && !process.env.CI) return terminalProgress(stream);
  return plainProgress((line) => stream.write(`${line}\n`));
}
