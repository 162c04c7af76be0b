import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseShard } from '../experiments/cells.js';
import { loadExperimentConfig } from '../experiments/config.js';
import {
  compareMetrics,
  formatDriftReport,
  hasDrift,
  type ReferenceFile,
  readMetricsFile,
  toReference,
} from '../experiments/drift.js';
import { mergeRuns, writeMergedCells } from '../experiments/merge.js';
import { readResultsFile, tableMetricsOf, writeOutputs } from '../experiments/report.js';
import type { ResultsFile } from '../experiments/results.js';
import { runExperiment } from '../experiments/runner.js';
import { describeOverrides, shrinkConfig } from '../experiments/shrink.js';
import { BACKEND_CHOICES, type BackendChoice } from './backend.js';
import { writeNpyDir } from './data/npy-dir.js';
import { PRESETS, parseSimulationSpec, simulateWithTruth } from './data/simulate.js';
import { USER_ERROR_EXIT_CODE, UserError } from './errors.js';
import { type FitArgs, runFit, runWhatIf, type WhatIfArgs, whatIfText } from './fit/command.js';
import { writeFileAtomic } from './io.js';
import { progressFor } from './progress.js';

const stderr = (line: string) => process.stderr.write(`${line}\n`);

interface RunArgs {
  config: string;
  out?: string;
  backend?: string;
  workers: number;
  shard?: string;
  force: boolean;
  reuseOtherCode: boolean;
  finishedOnly: boolean;
  localStart: boolean;
  seeds?: number;
  maxShops?: number;
}

function checkWorkers(workers: number): number {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new UserError(`--workers: expected a whole number ≥ 1, got ${workers}`);
  }
  return workers;
}

/** Prints the tables and where they went; exit code 1 when some cells failed. */
function reportWritten(results: ResultsFile, outDir: string, markdown: string): void {
  process.stdout.write(`${markdown}\n`);
  const failed = results.cells.filter((c) => c.status === 'failed').length;
  stderr(
    `wrote ${path.relative(process.cwd(), outDir) || '.'}/{results.json,table.md,table.csv,table.tex,figures/,report.html,cells/}`,
  );
  if (failed > 0) {
    stderr(`${failed} of ${results.cells.length} cells failed`);
    process.exitCode = 1;
  }
}

async function runCommand(args: RunArgs): Promise<void> {
  const workers = checkWorkers(args.workers);
  if (args.finishedOnly && args.force) {
    throw new UserError('--finished-only runs nothing, so --force has nothing to recompute: use one of them');
  }
  const shard = args.shard === undefined ? undefined : parseShard(args.shard);
  const config = shrinkConfig(loadExperimentConfig(args.config), {
    seeds: args.seeds,
    maxShops: args.maxShops,
  });
  // A shrunk run's default folder is its own, so it cannot replace the full run's results.
  const defaultOut = path.join('results', `${config.experiment}${config.overrides ? '-shrunk' : ''}`);
  const outDir = path.resolve(args.out ?? defaultOut);
  if (config.overrides) stderr(describeOverrides(config.overrides));
  const results = await runExperiment(config, {
    backend: args.backend as BackendChoice | undefined,
    progress: progressFor(process.stderr),
    log: stderr,
    workers,
    shard,
    force: args.force,
    reuseOtherCode: args.reuseOtherCode,
    finishedOnly: args.finishedOnly,
    localStart: args.localStart,
    cellsDir: path.join(outDir, 'cells'),
  });
  if (results.unfinished) {
    stderr(
      `${results.unfinished} of ${results.cells.length + results.unfinished} cells are unfinished: the tables cover the finished ones (resume with the same command without --finished-only)`,
    );
  }
  reportWritten(results, outDir, await writeOutputs(results, outDir, config.metrics));
}

async function mergeCommand(args: { dirs: string[]; out: string }): Promise<void> {
  const merged = mergeRuns(args.dirs);
  const outDir = path.resolve(args.out);
  writeMergedCells(merged, outDir);
  reportWritten(merged.results, outDir, await writeOutputs(merged.results, outDir, merged.tableMetrics));
  if (merged.missing > 0) {
    stderr(`${merged.missing} of ${merged.records[0].total} cells are missing (a shard has not finished)`);
    process.exitCode = 1;
  }
}

/** Redraws the tables, figures and report.html of a run from its results.json, running nothing. */
async function reportCommand(args: { dir: string }): Promise<void> {
  const results = readResultsFile(args.dir);
  process.stdout.write(
    `${await writeOutputs(results, path.resolve(args.dir), tableMetricsOf(results), true)}\n`,
  );
  stderr(`wrote ${args.dir}/{table.md,table.csv,table.tex,figures/,report.html}`);
}

/**
 * Compares a run's metrics with a reference: prints the drift report, exit code 1 on drift.
 * `--update` (re)writes the reference from the run instead, after printing what changes.
 */
function checkCommand(args: { dir: string; reference: string; update: boolean }): void {
  const current = readMetricsFile(args.dir);
  const exists = existsSync(args.reference);
  if (!args.update && !exists) {
    throw new UserError(`${args.reference}: no such reference (write one from this run with --update)`);
  }
  const empty: ReferenceFile = { ...toReference(current), cells: [] };
  const reference = exists ? readMetricsFile(args.reference) : empty;
  const report = compareMetrics(current, reference);
  process.stdout.write(`${formatDriftReport(report)}\n`);
  if (args.update) {
    writeFileAtomic(args.reference, `${JSON.stringify(toReference(current), null, 2)}\n`);
    stderr(`wrote ${args.reference} from ${args.dir} (${current.cells.length} cells)`);
  } else if (hasDrift(report)) {
    stderr(`metrics drifted from ${args.reference}; if the change is intended, refresh it with --update`);
    process.exitCode = 1;
  }
}

function simulateCommand(args: {
  preset: string;
  seed: number;
  shops?: number;
  steps?: number;
  out: string;
}): void {
  const spec: Record<string, unknown> = { preset: args.preset, seed: args.seed };
  if (args.shops !== undefined) spec.shops = args.shops;
  if (args.steps !== undefined) spec.steps = args.steps;
  const { panel, params } = simulateWithTruth(parseSimulationSpec(spec, 'simulate'));
  // truth.json: every true parameter (edges with adstock and Hill parameters, noise, context).
  writeNpyDir(panel, args.out, { 'truth.json': `${JSON.stringify(params)}\n` });
  stderr(`wrote ${args.out}: ${panel.shops} shops × ${panel.nodeCount} nodes × ${panel.steps} steps`);
}

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('causalmmm')
    .usage('$0 <command> [options]')
    .command(
      'run <config>',
      'run an experiment grid from a YAML config; writes results.json and its tables (Markdown, CSV, LaTeX)',
      (y) =>
        y
          .positional('config', { type: 'string', demandOption: true, describe: 'experiment config (YAML)' })
          .option('out', { type: 'string', describe: 'output folder (default results/<experiment>)' })
          .option('backend', { choices: BACKEND_CHOICES, describe: 'tfjs backend (overrides the config)' })
          .option('workers', {
            type: 'number',
            default: availableParallelism(),
            describe: 'worker processes running cells in parallel (1 = in this process)',
          })
          .option('shard', {
            type: 'string',
            describe: 'run only shard i of n (0-based, e.g. 0/4): every n-th cell of the grid',
          })
          .option('local-start', {
            type: 'boolean',
            default: true,
            describe:
              'run cells in this process until a worker is ready, and fork workers only for grids long enough to pay their start-up (--no-local-start: every cell on a worker)',
          })
          .option('force', {
            type: 'boolean',
            default: false,
            describe: 'recompute cells already finished in DIR/cells/',
          })
          .option('reuse-other-code', {
            type: 'boolean',
            default: false,
            describe:
              'resume also cells that another code version (commit) finished; by default they are recomputed (listed in results.json as otherCode)',
          })
          .option('finished-only', {
            type: 'boolean',
            default: false,
            describe:
              'run nothing: write results.json, the tables, figures and report from the cells already finished in DIR/cells (results.json counts the rest as unfinished)',
          })
          .option('seeds', {
            type: 'number',
            describe:
              'smoke or timing run: only the first n of the config’s seeds (recorded in results.json; default folder results/<experiment>-shrunk)',
          })
          .option('max-shops', {
            type: 'number',
            describe:
              'smoke or timing run: at most n shops per dataset, its first ones (recorded in results.json; default folder results/<experiment>-shrunk)',
          }),
      (args) => runCommand(args as unknown as RunArgs),
    )
    .command(
      'merge <dirs..>',
      'merge the output folders of sharded runs into one results.json and tables',
      (y) =>
        y
          .positional('dirs', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'output folders of `run --shard`',
          })
          .option('out', { type: 'string', demandOption: true, describe: 'folder of the merged results' }),
      (args) => mergeCommand(args as unknown as { dirs: string[]; out: string }),
    )
    .command(
      'report <dir>',
      'redraw the tables, figures and report.html of a run from its results.json, without running anything',
      (y) =>
        y.positional('dir', {
          type: 'string',
          demandOption: true,
          describe: 'output folder of `run` or `merge`',
        }),
      (args) => reportCommand(args as unknown as { dir: string }),
    )
    .command(
      'check <dir>',
      'compare the metrics of a run with a reference; exit code 1 on drift, or on new or missing cells',
      (y) =>
        y
          .positional('dir', {
            type: 'string',
            demandOption: true,
            describe: 'output folder of `run` (or its results.json)',
          })
          .option('reference', {
            type: 'string',
            demandOption: true,
            describe: 'reference metrics (e.g. results/reference/quick.json)',
          })
          .option('update', {
            type: 'boolean',
            default: false,
            describe: 'rewrite the reference from this run (on purpose), printing what changes',
          }),
      (args) => checkCommand(args as unknown as { dir: string; reference: string; update: boolean }),
    )
    .command(
      'simulate <preset>',
      'simulate a dataset and write it as an NPY directory, with its true parameters in truth.json',
      (y) =>
        y
          .positional('preset', {
            choices: Object.keys(PRESETS),
            demandOption: true,
            describe: 'simulator preset',
          })
          .option('seed', { type: 'number', default: 0, describe: 'random seed' })
          .option('shops', { type: 'number', describe: 'number of shops (default: the preset’s)' })
          .option('steps', { type: 'number', describe: 'time steps per shop (default: the preset’s)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder' }),
      (args) =>
        simulateCommand(
          args as { preset: string; seed: number; shops?: number; steps?: number; out: string },
        ),
    )
    .command(
      'fit',
      'fit CausalMMM on a panel (or load a saved model) and write per shop its learned graph, forecasts, contributions, ROI and response curves, plus index.html',
      (y) =>
        y
          .option('data', { type: 'string', demandOption: true, describe: 'panel CSV or NPY directory' })
          .option('schema', { type: 'string', describe: 'schema JSON of the panel CSV (column roles)' })
          .option('method', {
            type: 'string',
            default: 'causalmmm',
            describe: 'causalmmm, nri or granger-var (a per-shop VAR)',
          })
          .option('config', {
            type: 'string',
            describe: 'fit config (YAML): seed, horizon, warmup, curve, options',
          })
          .option('model', { type: 'string', describe: 'load this saved model instead of training' })
          .option('plan', {
            type: 'string',
            describe: 'planned spends (CSV: shop column and one column per channel, one row per future step)',
          })
          .option('horizon', { type: 'number', describe: 'forecast steps (overrides the config)' })
          .option('seed', { type: 'number', describe: 'random seed (overrides the config)' })
          .option('out', {
            type: 'string',
            demandOption: true,
            describe: 'output folder (replaced when it exists)',
          }),
      async (args) => {
        const summary = await runFit({ ...(args as unknown as FitArgs), log: stderr });
        stderr(
          `wrote ${args.out}: index.html, summary.json, model/ and shops/<id>/ for ${summary.shops.length} shops`,
        );
      },
    )
    .command(
      'whatif',
      "predicted GMV change over the horizon when channels' planned spends change, with the learned-graph paths it flows through",
      (y) =>
        y
          .option('model', {
            type: 'string',
            demandOption: true,
            describe: 'a fit output folder or its model/ folder',
          })
          .option('shop', { type: 'string', demandOption: true, describe: 'shop id' })
          .option('spend', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'change of a channel’s planned spend, e.g. search=+20% (repeatable)',
          })
          .option('plan', {
            type: 'string',
            describe: 'planned spends CSV (default: each channel’s recent mean)',
          })
          .option('horizon', { type: 'number', describe: 'steps (default: the fit’s horizon)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
      async (args) => {
        const result = await runWhatIf(args as unknown as WhatIfArgs);
        process.stdout.write(args.json ? `${JSON.stringify(result, null, 1)}\n` : whatIfText(result));
      },
    )
    .demandCommand(1, 'name a command: run, merge, report, check, simulate, fit or whatif')
    .strict()
    .help()
    .version(false)
    .fail((message, error) => {
      if (error && !(error instanceof UserError)) throw error;
      throw new UserError(error?.message ?? message);
    })
    .parseAsync();
}

try {
  await main(hideBin(process.argv));
} catch (err) {
  if (err instanceof UserError) {
    stderr(`causalmmm: ${err.message.split('\n')[0]}`);
    process.exit(USER_ERROR_EXIT_CODE);
  }
  throw err;
}
