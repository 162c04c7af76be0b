import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../src/backend.js';
import { initBackend } from '../src/backend.js';
import type { Panel } from '../src/data/panel.js';
import { NumericalError, UserError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io.js';
import { keyOptions, type Method, type MethodOutput, type TrainingProgress } from '../src/methods/method.js';
import { getMethod } from '../src/methods/registry.js';
import { forecastMetrics } from '../src/metrics/forecast.js';
import { graphMetrics, offDiagonalPairs } from '../src/metrics/graph.js';
import { rocCurve } from '../src/metrics/ranking.js';
import { type GridProgress, plainProgress } from '../src/progress.js';
import {
  findCellRecord,
  type PlannedCell,
  planCells,
  removeStaleTemps,
  type Shard,
  shardCells,
  writeCellRecord,
} from './cells.js';
import { compareWithBaselines, comparisonMarkdown } from './compare.js';
import type { ExperimentConfig, MethodSpec } from './config.js';
import { DatasetCache } from './datasets.js';
import { runInPool } from './pool.js';
import { type EvaluationSetting, evaluationLines, evaluationSettings, forecastProtocol } from './protocol.js';
import { type CellResult, type GraphExample, type ResultsFile, runStatement } from './results.js';
import { describeOverrides } from './shrink.js';
import { csvTable, latexTables, markdownTables, summarize } from './tables.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The git commit of the checkout, else the package version. */
export function codeVersion(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    if (sha) return sha;
  } catch {
    // not a git checkout (e.g. an npm tarball): fall through to the package version
  }
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** One runnable (method, options) variant of a config entry: a point of its option grid. */
export interface MethodVariant {
  method: Method;
  label: string;
  options: Record<string, unknown>;
  /** What a cell's key hashes of `options` ({@link keyOptions}; all of `options` if absent). */
  keyOptions?: Record<string, unknown>;
}

/** Expands an entry's option grid (cartesian product) into variants with validated options. */
export function expandMethodSpec(spec: MethodSpec): MethodVariant[] {
  const method = getMethod(spec.method);
  const grid = Object.entries(spec.grid as Record<string, unknown[]>).filter(
    ([, values]) => values !== undefined,
  );
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of grid) {
    points = points.flatMap((point) => values.map((value) => ({ ...point, [key]: value })));
  }
  return points.map((point) => {
    const gridText = Object.entries(point)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',');
    const base = spec.label ?? spec.method;
    const options = method.options.parse({ ...spec.options, ...point }) as Record<string, unknown>;
    return {
      method,
      label: gridText ? `${base}(${gridText})` : base,
      options,
      keyOptions: keyOptions(method, options),
    };
  });
}

function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new NumericalError(`${what} contains ${values[i]} at index ${i}`);
  }
}

/** ROC points kept per cell: enough for a figure, small in results.json. */
const ROC_POINTS = 101;

/** Six significant digits: plenty for a figure, a third of the characters in results.json. */
const short = (x: number) => Number(x.toPrecision(6));

/** At most `max` points of a curve, evenly spaced by index, first and last kept. */
export function thinCurve(
  xs: readonly number[],
  ys: readonly number[],
  max: number,
): { x: number[]; y: number[] } {
  if (xs.length <= max) return { x: xs.map(short), y: ys.map(short) };
  const picks = Array.from({ length: max }, (_, k) => Math.round((k * (xs.length - 1)) / (max - 1)));
  return { x: picks.map((i) => short(xs[i])), y: picks.map((i) => short(ys[i])) };
}

/** The pooled ROC curve of every shop's off-diagonal pairs, and shop 0's graph for heatmaps. */
function graphFigures(
  panel: Panel,
  graphScores: readonly Float64Array[],
): Pick<CellResult, 'roc' | 'example'> {
  const N = panel.nodeCount;
  const labels: number[] = [];
  const scores: number[] = [];
  for (const [s, shopScores] of graphScores.entries()) {
    const pairs = offDiagonalPairs(panel.trueGraph(s)!, shopScores, N);
    labels.push(...pairs.labels);
    scores.push(...pairs.scores);
  }
  const curve = rocCurve(labels, scores);
  const thin = thinCurve(curve.fpr, curve.tpr, ROC_POINTS);
  const example: GraphExample = {
    shop: panel.shopIds[0],
    nodes: panel.nodes.map((n) => n.name),
    truth: [...panel.trueGraph(0)!],
    scores: [...graphScores[0]].map(short),
  };
  return { ...(thin.x.every(Number.isFinite) ? { roc: { fpr: thin.x, tpr: thin.y } } : {}), example };
}

/** Metrics of one method output against the dataset's truth, and the curves its figures draw. */
export function scoreOutput(
  output: MethodOutput,
  panel: Panel,
  future: Panel | undefined,
  horizons: readonly number[],
): { metrics: Record<string, number>; perShop: Record<string, number[]> } & Pick<
  CellResult,
  'roc' | 'example'
> {
  const metrics: Record<string, number> = {};
  const perShop: Record<string, number[]> = {};
  let figures: Pick<CellResult, 'roc' | 'example'> = {};
  const N = panel.nodeCount;
  if (output.graphScores && panel.graph) {
    if (output.graphScores.length !== panel.shops) {
      throw new Error(
        `the method returned graph scores for ${output.graphScores.length} shops; ${panel.shops} are scored`,
      );
    }
    for (const [s, scores] of output.graphScores.entries()) {
      assertFinite(scores, `graph scores of shop ${panel.shopIds[s]}`);
    }
    const truths = Array.from({ length: panel.shops }, (_, s) => panel.trueGraph(s)!);
    const { perShop: graphPerShop, ...means } = graphMetrics(truths, output.graphScores, output.graphs, N);
    Object.assign(perShop, graphPerShop);
    for (const [key, value] of Object.entries(means)) if (value !== undefined) metrics[key] = value;
    figures = graphFigures(panel, output.graphScores);
  }
  if (output.forecasts && future) {
    assertFinite(output.forecasts, 'forecasts');
    const H = future.steps;
    const usable = horizons.filter((h) => h <= H);
    Object.assign(
      metrics,
      forecastMetrics(future.values, output.forecasts, future.shops, N, H, future.targetIndex, usable),
    );
  }
  return { metrics, perShop, ...figures };
}

/** A cell's outcome, with the number of shops it scored and its forecast split. */
export type CellRun = Pick<
  CellResult,
  | 'status'
  | 'error'
  | 'metrics'
  | 'perShop'
  | 'info'
  | 'seconds'
  | 'cpuSeconds'
  | 'shops'
  | 'split'
  | 'roc'
  | 'example'
  | 'curve'
  | 'response'
>;

/** Forwards a method's training reports, failing the cell on a NaN or infinite loss. */
function guardLoss(report?: (event: TrainingProgress) => void): (event: TrainingProgress) => void {
  return (event) => {
    if (!Number.isFinite(event.loss)) {
      throw new NumericalError(`training loss is ${event.loss} at epoch ${event.epoch}`);
    }
    report?.(event);
  };
}

/**
 * Runs one method variant under one evaluation setting (see protocol.ts) and scores it. A
 * throw (or a NaN/Inf training loss) becomes a failed outcome, so the grid goes on.
 */
export async function runCell(
  variant: MethodVariant,
  setting: EvaluationSetting,
  horizons: readonly number[],
  onProgress?: (event: TrainingProgress) => void,
): Promise<CellRun> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const timing = () => {
    const cpu = process.cpuUsage(cpuStarted);
    return { seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  };
  const where = {
    shops: setting.scored.shops,
    nodes: setting.scored.nodeCount,
    ...(setting.split ? { split: setting.split } : {}),
  };
  const curve: number[] = [];
  const report = (event: TrainingProgress) => {
    curve.push(short(event.loss));
    onProgress?.(event);
  };
  try {
    const output = await variant.method.run(
      { ...setting.input, onProgress: guardLoss(report) },
      variant.options,
    );
    const scored = scoreOutput(output, setting.scored, setting.future, horizons);
    return {
      status: 'ok',
      ...scored,
      ...timing(),
      ...where,
      ...(output.info ? { info: output.info } : {}),
      ...(curve.length > 0 ? { curve } : {}),
      ...(output.response ? { response: output.response } : {}),
    };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { status: 'failed', error, metrics: {}, ...timing(), ...where };
  }
}

/** Runs one planned cell: its dataset (from `data`), its evaluation setting, the method variant. */
export async function runPlannedCell(
  config: ExperimentConfig,
  cell: PlannedCell,
  variant: MethodVariant,
  data: DatasetCache,
  onProgress?: (event: TrainingProgress) => void,
): Promise<CellRun> {
  const panel = data.get(cell.datasetIndex, cell.seed);
  const settings = evaluationSettings(
    variant.method,
    panel,
    forecastProtocol(config),
    cell.seed,
    config.graphShops,
  );
  const setting = settings.find((s) => s.split === cell.split);
  if (!setting) throw new Error(`cell ${cell.index}: no evaluation setting for split ${cell.split}`);
  return runCell(variant, setting, config.horizons, onProgress);
}

export interface RunOptions {
  /** Overrides the config's backend. */
  backend?: BackendChoice;
  /** Plain progress lines go here when no `progress` display is given. */
  log?: (line: string) => void;
  /** Progress display (the CLI picks a live one on a terminal). */
  progress?: GridProgress;
  /**
   * Worker processes. 1 (the default) runs the cells in this process; n ≥ 2 forks a pool of
   * n processes (fewer when fewer cells are left). The numbers do not depend on it.
   */
  workers?: number;
  /**
   * Folder of finished cells (`<out>/cells`). Each cell is written there atomically as soon as
   * it finishes; cells already there are not run again (unless `force`).
   */
  cellsDir?: string;
  /** Recompute cells even when `cellsDir` holds them. */
  force?: boolean;
  /**
   * Resume also the cells that another code version (commit) finished. Off by default: a
   * cell from other code is recomputed, since the code may compute it differently. On, for a
   * long grid whose run spans commits that leave its methods' numbers alone (the drift check
   * is how to know); the reused cells' versions are reported and kept in results.json.
   */
  reuseOtherCode?: boolean;
  /** Run only this shard's cells (see experiments/cells.ts shardCells). */
  shard?: Shard;
  /**
   * Run nothing: the results hold the cells already finished in `cellsDir` and count the
   * others as `unfinished` (a look at a long run while it goes, or after it stopped).
   */
  finishedOnly?: boolean;
  /**
   * With a pool, run cells in this process too until the first worker is ready (default true);
   * false sends every cell to a worker process.
   */
  localStart?: boolean;
}

/**
 * Reads every dataset that `cells` use and checks it against the forecast horizon, so that bad
 * data stop a run before its first cell, with nothing written. Keeps them for the cells.
 */
export function loadCellData(config: ExperimentConfig, cells: readonly PlannedCell[]): DatasetCache {
  const data = new DatasetCache(config.datasets, config.baseDir, config.datasets.length + 1);
  for (const d of new Set(cells.map((cell) => cell.datasetIndex))) {
    const panel = data.get(d, cells[0].seed);
    if (config.horizon > 0) panel.splitTime(config.horizon);
  }
  return data;
}

const cellName = (cell: PlannedCell) =>
  `${cell.dataset}${cell.split ? ` [${cell.split} split]` : ''} × ${cell.label} seed ${cell.seed}`;

/** Runs every (seed × dataset × method variant) cell of an experiment (or of one shard of it). */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunOptions = {},
): Promise<ResultsFile> {
  const progress = options.progress ?? plainProgress(options.log ?? (() => {}));
  const backend = await initBackend((options.backend ?? config.backend) as BackendChoice);
  const variants = config.methods.flatMap(expandMethodSpec);
  const version = codeVersion();
  const grid = planCells(config, variants, { codeVersion: version, backend });
  const cells = shardCells(grid, options.shard);
  const configPath = path.relative(process.cwd(), path.resolve(config.file));
  const data = loadCellData(config, cells);

  const finished = new Map<number, CellResult>();
  /** Cells reused from other code versions: version → count. */
  const otherCode = new Map<string, number>();
  const { cellsDir } = options;
  if (cellsDir) {
    removeStaleTemps(cellsDir);
    if (!options.force) {
      for (const cell of cells) {
        const record = findCellRecord(cellsDir, cell.key);
        if (!record || (record.codeVersion !== version && !options.reuseOtherCode)) continue;
        finished.set(cell.index, { ...record.cell, ...identityOf(cell) });
        if (record.codeVersion !== version)
          otherCode.set(record.codeVersion, (otherCode.get(record.codeVersion) ?? 0) + 1);
      }
    }
  }
  if (otherCode.size > 0) {
    const list = [...otherCode].map(([v, n]) => `${n} by ${v}`).join(', ');
    (options.log ?? (() => {}))(`reusing cells finished by other code (--reuse-other-code): ${list}`);
  }
  const unfinished = cells.filter((cell) => !finished.has(cell.index));
  // Cells under other labels that compute the same thing (one key: a sensitivity grid's centre
  // appears once per grid) are computed once; the first in grid order stands for the others.
  const sameKey = new Map<string, PlannedCell[]>();
  for (const cell of unfinished) sameKey.set(cell.key, [...(sameKey.get(cell.key) ?? []), cell]);
  if (options.finishedOnly && finished.size === 0) {
    throw new UserError(`${cellsDir ?? 'no cells folder'}: no finished cell of this config to report`);
  }
  const todo = options.finishedOnly ? [] : unfinished.filter((cell) => sameKey.get(cell.key)?.[0] === cell);
  const workers = Math.max(1, Math.min(options.workers ?? 1, todo.length));
  progress.begin({ experiment: config.experiment, total: cells.length, done: finished.size, workers });

  const stated = runStatement({
    overrides: config.overrides,
    protocol: config.horizon > 0 ? forecastProtocol(config) : undefined,
    graphShops: config.graphShops,
  });
  const record = (slot: number, cell: PlannedCell, run: CellRun, lost: boolean) => {
    for (const twin of sameKey.get(cell.key) ?? []) {
      if (twin === cell) continue;
      finished.set(twin.index, { ...identityOf(twin), ...run });
      progress.cellFinished(slot, cellName(twin), `as ${cell.label}`, run.status === 'failed');
    }
    const result: CellResult = { ...identityOf(cell), ...run };
    finished.set(cell.index, result);
    if (cellsDir && !lost) {
      writeCellRecord(cellsDir, {
        key: cell.key,
        index: cell.index,
        total: grid.length,
        experiment: config.experiment,
        codeVersion: version,
        backend,
        config: configPath,
        tableMetrics: config.metrics,
        ...stated,
        cell: result,
      });
    }
    const failed = result.status === 'failed';
    progress.cellFinished(
      slot,
      cellName(cell),
      failed ? result.error! : cellSummary(result, config.metrics),
      failed,
    );
  };
  const runHere = (cell: PlannedCell, onProgress: (event: TrainingProgress) => void) =>
    runPlannedCell(config, cell, variants[cell.variantIndex], data, onProgress);
  try {
    if (workers === 1) {
      for (const cell of todo) {
        progress.cellStarted(0, cellName(cell));
        record(0, cell, await runHere(cell, (event) => progress.training(0, cellName(cell), event)), false);
      }
    } else {
      const events = {
        started: (slot: number, cell: PlannedCell) => progress.cellStarted(slot, cellName(cell)),
        training: (slot: number, cell: PlannedCell, event: TrainingProgress) =>
          progress.training(slot, cellName(cell), event),
        finished: record,
      };
      await runInPool(
        config,
        backend,
        todo,
        workers,
        events,
        options.localStart === false ? undefined : runHere,
      );
    }
  } finally {
    progress.end();
  }
  return {
    experiment: config.experiment,
    createdAt: new Date().toISOString(),
    codeVersion: version,
    backend,
    config: configPath,
    ...(options.shard ? { shard: `${options.shard.index}/${options.shard.count}` } : {}),
    ...stated,
    ...(otherCode.size > 0 ? { otherCode: Object.fromEntries(otherCode) } : {}),
    ...(options.finishedOnly && unfinished.length > 0 ? { unfinished: unfinished.length } : {}),
    tableMetrics: config.metrics,
    ...(config.tolerances ? { tolerances: config.tolerances } : {}),
    cells: cells.flatMap((cell) => finished.get(cell.index) ?? []),
  };
}

/** The fields of a result that name its cell (the current config's names, even for a resumed cell). */
function identityOf(
  cell: PlannedCell,
): Pick<CellResult, 'dataset' | 'method' | 'label' | 'seed' | 'options'> {
  return {
    dataset: cell.dataset,
    method: cell.method,
    label: cell.label,
    seed: cell.seed,
    options: cell.options,
  };
}

/** `auroc 0.912, mse@1 0.047 (1.80 s)`: the table metrics a cell has, and its time. */
function cellSummary(cell: CellResult, metrics: readonly string[]): string {
  const shown = metrics
    .filter((m) => m in cell.metrics)
    .map((m) => `${m} ${cell.metrics[m]?.toFixed(3)}`)
    .join(', ');
  return `${shown || 'ok'} (${cell.seconds.toFixed(2)} s)`;
}

/**
 * Writes results.json, table.md, table.csv and table.tex into `outDir`. Each file is replaced
 * atomically, after every cell has run, so an interrupted run leaves the previous results.
 */
export function writeResults(results: ResultsFile, outDir: string, metrics: readonly string[]): string {
  writeFileAtomic(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  return writeTables(results, outDir, metrics);
}

/** Writes table.md, table.csv and table.tex of `results` into `outDir`; returns the Markdown. */
export function writeTables(results: ResultsFile, outDir: string, metrics: readonly string[]): string {
  const rows = summarize(results.cells);
  const protocol = evaluationLines(results)
    .map((line) => `${line}\n\n`)
    .join('');
  const comparison = comparisonMarkdown(compareWithBaselines(results.cells));
  const shrunk = results.overrides ? `**${describeOverrides(results.overrides)}**\n\n` : '';
  const markdown = `# ${results.experiment}\n\nbackend: ${results.backend} · code: ${results.codeVersion}\n\n${shrunk}${protocol}${markdownTables(rows, metrics)}${comparison ? `\n${comparison}` : ''}`;
  writeFileAtomic(path.join(outDir, 'table.csv'), csvTable(rows));
  writeFileAtomic(path.join(outDir, 'table.md'), markdown);
  writeFileAtomic(path.join(outDir, 'table.tex'), latexTables(rows, metrics));
  return markdown;
}
