/**
 * Wall time of a config's full grid, estimated from shrunk runs of it (`run --seeds 1
 * --max-shops n`) or from the cells a run of the config itself has finished: each cell of the
 * full grid gets the seconds its method variant and split took on the same dataset family
 * (simulator preset, or the same file) in those runs, carried to the full shop count along a
 * least-squares line in the number of shops (through the runs' shop counts; with one count, in
 * proportion to the shops). Every seed costs what the measured seeds cost. A cell's seconds are
 * its CPU seconds where recorded (`cpuSeconds`), else its wall seconds, which a paused run or
 * other jobs stretch. The grid's CPU seconds divided by the cores is its wall time when the pool
 * keeps every core busy — true when the cells are many and none is a large share of the total.
 * A shrunk run scores every shop, so under `graphShops` it overstates the per-shop methods' cost
 * (they fit only the sampled shops); a partial run of the config itself does not.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { type CellRecord, listCellRecords, planCells } from './cells.js';
import type { ExperimentConfig } from './config.js';
import { readMetricsFile } from './drift.js';
import { linearFit } from './figures.js';
import type { ResultsFile } from './results.js';
import { expandMethodSpec } from './runner.js';

/**
 * One finished cell of a run: its method variant, split, dataset, that dataset's shops then, and
 * seconds (its CPU seconds when recorded, else its wall seconds).
 */
export interface TimedCell {
  dataset: string;
  label: string;
  split?: string;
  seed: number;
  /** From a run of the config itself (no `--seeds`/`--max-shops` overrides): the cell is done. */
  done: boolean;
  /** Shops of the dataset in that run (before any held-out split). */
  shops: number;
  seconds: number;
}

/** Seconds at `shops` from (shops, seconds) points: a least-squares line, or proportional with one shop count. */
export function secondsAt(points: readonly { shops: number; seconds: number }[], shops: number): number {
  const sizes = new Set(points.map((p) => p.shops));
  const proportional = () => Math.max(...points.map((p) => (p.seconds * shops) / p.shops));
  if (sizes.size < 2) return proportional();
  const fit = linearFit(
    points.map((p) => p.shops),
    points.map((p) => p.seconds),
  );
  // Noise can tilt a line through near-equal times downwards; then the proportional bound.
  if (fit.slope <= 0) return proportional();
  return Math.max(fit.intercept, 0) + fit.slope * shops;
}

/** Shops of dataset `index` as the config has it: the simulator's count, else the file's limit. */
function configShops(config: ExperimentConfig, index: number): number | undefined {
  const spec = config.datasets[index];
  return spec.kind === 'simulate' ? spec.simulate.shops : spec.shops;
}

/** Cells of shrunk runs of `config`, with each dataset's shop count in that run (from its overrides). */
export function timedCells(config: ExperimentConfig, runs: readonly ResultsFile[]): TimedCell[] {
  const names = planCells(config, config.methods.flatMap(expandMethodSpec), { codeVersion: '', backend: '' });
  const fullShops = (dataset: string) => {
    const index = names.find((c) => c.dataset === dataset)?.datasetIndex;
    return index === undefined ? undefined : configShops(config, index);
  };
  return runs.flatMap((run) =>
    run.cells.flatMap((cell) => {
      const capped = run.overrides?.cappedDatasets?.find((d) => d.dataset === cell.dataset)?.to;
      const shops = capped ?? fullShops(cell.dataset);
      if (cell.status !== 'ok' || shops === undefined) return [];
      // CPU seconds where the cell has them: its wall seconds count other jobs and pauses too.
      const seconds = cell.cpuSeconds ?? cell.seconds;
      const timed = { dataset: cell.dataset, label: cell.label, split: cell.split, seed: cell.seed };
      return [{ ...timed, done: run.overrides === undefined, shops, seconds }];
    }),
  );
}

export interface WallTimeEstimate {
  cells: number;
  /** Cells of the full grid no shrunk run measured (left out of the sums). */
  unmeasured: number;
  cpuSeconds: number;
  wallSeconds: number;
  /** Cells of the grid that a run of the config itself has finished, and the CPU seconds of the rest. */
  doneCells: number;
  remainingCpuSeconds: number;
  /** The longest cell's estimate: the wall time is at least this. */
  longestCell: number;
  /** CPU seconds per table row (method variant), largest first. */
  byLabel: [string, number][];
}

/**
 * Estimates the full grid of `config` from `timed` (see the module comment). Datasets are
 * matched by family: a simulated dataset's measurements count for every dataset of the same
 * preset (sensitivity's 50-, 100- and 200-shop release-like datasets give one line), a file's for
 * itself. Files without a `shops` limit count their measured size as the full one.
 */
export function estimateWallTime(
  config: ExperimentConfig,
  timed: readonly TimedCell[],
  cores: number,
): WallTimeEstimate {
  const cells = planCells(config, config.methods.flatMap(expandMethodSpec), { codeVersion: '', backend: '' });
  const family = (dataset: string) => {
    const index = cells.find((c) => c.dataset === dataset)?.datasetIndex;
    const spec = index === undefined ? undefined : config.datasets[index];
    return spec?.kind === 'simulate' ? `simulate:${spec.simulate.preset}` : dataset;
  };
  let cpuSeconds = 0;
  let remainingCpuSeconds = 0;
  let doneCells = 0;
  let unmeasured = 0;
  let longestCell = 0;
  const byLabel = new Map<string, number>();
  for (const cell of cells) {
    const points = timed.filter(
      (t) => t.label === cell.label && t.split === cell.split && family(t.dataset) === family(cell.dataset),
    );
    const shops = configShops(config, cell.datasetIndex) ?? Math.max(...points.map((p) => p.shops));
    if (points.length === 0) {
      unmeasured++;
      continue;
    }
    const seconds = secondsAt(points, shops);
    cpuSeconds += seconds;
    if (points.some((p) => p.done && p.seed === cell.seed && p.dataset === cell.dataset)) doneCells++;
    else remainingCpuSeconds += seconds;
    longestCell = Math.max(longestCell, seconds);
    byLabel.set(cell.label, (byLabel.get(cell.label) ?? 0) + seconds);
  }
  return {
    cells: cells.length,
    unmeasured,
    cpuSeconds,
    wallSeconds: Math.max(cpuSeconds / cores, longestCell),
    doneCells,
    remainingCpuSeconds,
    longestCell,
    byLabel: [...byLabel].sort((a, b) => b[1] - a[1]),
  };
}

/** The cells of a run folder: its results.json, else (a run killed early) its cell files. */
export function readRunCells(dir: string): ResultsFile {
  const hasResults = readdirSync(dir).includes('results.json');
  if (hasResults) return readMetricsFile(path.join(dir, 'results.json')) as unknown as ResultsFile;
  const records: CellRecord[] = listCellRecords(path.join(dir, 'cells'));
  if (records.length === 0) throw new UserError(`${dir}: no results.json and no finished cell`);
  const first = records[0];
  return {
    experiment: first.experiment,
    createdAt: '',
    codeVersion: first.codeVersion,
    backend: first.backend,
    config: first.config,
    ...(first.overrides ? { overrides: first.overrides } : {}),
    cells: records.map((r) => r.cell),
  };
}
