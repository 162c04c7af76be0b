import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../src/backend.js';
import { initBackend } from '../src/backend.js';
import type { Panel } from '../src/data/panel.js';
import { NumericalError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io.js';
import type { Method, MethodOutput } from '../src/methods/method.js';
import { getMethod } from '../src/methods/registry.js';
import { forecastMetrics } from '../src/metrics/forecast.js';
import { graphMetrics } from '../src/metrics/graph.js';
import type { ExperimentConfig, MethodSpec } from './config.js';
import { datasetName, dependsOnSeed, loadDataset } from './datasets.js';
import {
  describeProtocol,
  type EvaluationSetting,
  evaluationSettings,
  forecastProtocol,
  settingsPerDataset,
} from './protocol.js';
import type { CellResult, ResultsFile } from './results.js';
import { csvTable, markdownTables, summarize } from './tables.js';

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
    return {
      method,
      label: gridText ? `${base}(${gridText})` : base,
      options: method.options.parse({ ...spec.options, ...point }) as Record<string, unknown>,
    };
  });
}

function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new NumericalError(`${what} contains ${values[i]} at index ${i}`);
  }
}

/** Metrics of one method output against the dataset's truth. */
export function scoreOutput(
  output: MethodOutput,
  panel: Panel,
  future: Panel | undefined,
  horizons: readonly number[],
): { metrics: Record<string, number>; perShop: Record<string, number[]> } {
  const metrics: Record<string, number> = {};
  const perShop: Record<string, number[]> = {};
  const N = panel.nodeCount;
  if (output.graphScores && panel.graph) {
    for (const [s, scores] of output.graphScores.entries()) {
      assertFinite(scores, `graph scores of shop ${panel.shopIds[s]}`);
    }
    const truths = Array.from({ length: panel.shops }, (_, s) => panel.trueGraph(s)!);
    const { perShop: graphPerShop, ...means } = graphMetrics(truths, output.graphScores, output.graphs, N);
    Object.assign(perShop, graphPerShop);
    for (const [key, value] of Object.entries(means)) if (value !== undefined) metrics[key] = value;
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
  return { metrics, perShop };
}

type CellOutcome = Pick<
  CellResult,
  'status' | 'error' | 'metrics' | 'perShop' | 'info' | 'seconds' | 'shops' | 'split'
>;

/**
 * Runs one method variant under one evaluation setting (see protocol.ts) and scores it. A
 * throw becomes a failed outcome, so the grid goes on.
 */
async function runCell(
  variant: MethodVariant,
  setting: EvaluationSetting,
  horizons: readonly number[],
): Promise<CellOutcome> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const where = { shops: setting.scored.shops, ...(setting.split ? { split: setting.split } : {}) };
  try {
    const output = await variant.method.run(setting.input, variant.options);
    const scored = scoreOutput(output, setting.scored, setting.future, horizons);
    return {
      status: 'ok',
      ...scored,
      seconds: seconds(),
      ...where,
      ...(output.info ? { info: output.info } : {}),
    };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { status: 'failed', error, metrics: {}, seconds: seconds(), ...where };
  }
}

export interface RunOptions {
  /** Overrides the config's backend. */
  backend?: BackendChoice;
  /** Progress lines go here (stderr in the CLI). */
  log?: (line: string) => void;
}

/** Runs every (seed × dataset × method variant) cell of an experiment. */
export async function runExperiment(
  config: ExperimentConfig,
  options: RunOptions = {},
): Promise<ResultsFile> {
  const log = options.log ?? (() => {});
  const backend = await initBackend((options.backend ?? config.backend) as BackendChoice);
  const variants = config.methods.flatMap(expandMethodSpec);
  const protocol = forecastProtocol(config);
  const perDataset = variants.reduce((n, v) => n + settingsPerDataset(v.method, protocol), 0);
  const total = config.seeds.length * config.datasets.length * perDataset;
  const cells: CellResult[] = [];
  // Files are read before the first cell runs, so a bad data file stops the run at once.
  const fixedData = new Map<number, Panel>();
  config.datasets.forEach((spec, d) => {
    if (!dependsOnSeed(spec)) fixedData.set(d, loadDataset(spec, config.seeds[0], config.baseDir));
  });
  let done = 0;
  for (const seed of config.seeds) {
    for (const [d, spec] of config.datasets.entries()) {
      const name = datasetName(spec);
      const panel = fixedData.get(d) ?? loadDataset(spec, seed, config.baseDir);
      for (const variant of variants) {
        for (const setting of evaluationSettings(variant.method, panel, protocol, seed)) {
          const cell: CellResult = {
            dataset: name,
            method: variant.method.name,
            label: variant.label,
            seed,
            options: variant.options,
            ...(await runCell(variant, setting, config.horizons)),
          };
          cells.push(cell);
          done++;
          const shown = config.metrics
            .filter((m) => m in cell.metrics)
            .map((m) => `${m} ${cell.metrics[m].toFixed(3)}`)
            .join(', ');
          const split = cell.split ? ` [${cell.split} split]` : '';
          log(
            `[${done}/${total}] ${name}${split} × ${variant.label} seed ${seed}: ${cell.status === 'ok' ? shown || 'ok' : `FAILED (${cell.error})`} (${cell.seconds.toFixed(2)} s)`,
          );
        }
      }
    }
  }
  return {
    experiment: config.experiment,
    createdAt: new Date().toISOString(),
    codeVersion: codeVersion(),
    backend,
    config: path.relative(process.cwd(), path.resolve(config.file)),
    ...(config.horizon > 0 ? { protocol } : {}),
    cells,
  };
}

/**
 * Writes results.json, table.md and table.csv into `outDir`. Each file is replaced
 * atomically, after every cell has run, so an interrupted run leaves the previous results.
 */
export function writeResults(results: ResultsFile, outDir: string, metrics: readonly string[]): string {
  const rows = summarize(results.cells);
  const protocol = results.protocol ? `${describeProtocol(results.protocol)}\n\n` : '';
  const markdown = `# ${results.experiment}\n\nbackend: ${results.backend} · code: ${results.codeVersion}\n\n${protocol}${markdownTables(rows, metrics)}`;
  writeFileAtomic(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileAtomic(path.join(outDir, 'table.csv'), csvTable(rows));
  writeFileAtomic(path.join(outDir, 'table.md'), markdown);
  return markdown;
}
