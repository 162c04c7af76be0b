/**
 * Shrinking a config for a smoke or timing run (`causalmmm run <config> --seeds n --max-shops
 * n`): the first n of the config's seeds, and at most n shops per dataset. The shrunk specs are
 * what the cells' resume keys hash, so a shrunk cell is never taken for a cell of the full run
 * (except where shrinking changed nothing about it: then it is the same computation). The
 * overrides go into results.json, the cell files, the tables' header and report.html, so a
 * shrunk run cannot pass for the full one.
 */
import { UserError } from '../src/errors.js';
import type { ExperimentConfig } from './config.js';
import { datasetName, loadDataset } from './datasets.js';

/** What a run changed from its config file (`run --seeds`, `--max-shops`). */
export interface RunOverrides {
  /** Seeds run: the first `seeds` of the config's. */
  seeds?: number;
  /** Every dataset capped at this many shops (its first ones). */
  maxShops?: number;
  /** Datasets whose shop count the cap changed: name, shops in the config, shops run. */
  cappedDatasets?: { dataset: string; from: number; to: number }[];
}

/** A `--flag n` value that must be a whole number ≥ 1 (yargs hands over NaN for text). */
export function checkCount(flag: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) {
    throw new UserError(`--${flag}: expected a whole number ≥ 1, got ${value}`);
  }
  return value;
}

/** Shops a dataset of `config` has as written: the simulator's count, a file's limit or its size. */
function shopsOf(config: ExperimentConfig, index: number): number {
  const spec = config.datasets[index];
  if (spec.kind === 'simulate') return spec.simulate.shops;
  if (spec.shops !== undefined) return spec.shops;
  // A file's size is known only by reading it (files do not depend on the seed).
  return loadDataset(spec, 0, config.baseDir).shops;
}

/**
 * The config with the overrides applied, and the overrides as recorded (with the datasets the
 * cap changed). No override: the config itself, untouched.
 */
export function shrinkConfig(
  config: ExperimentConfig,
  requested: { seeds?: number; maxShops?: number },
): ExperimentConfig & { overrides?: RunOverrides } {
  const seeds = checkCount('seeds', requested.seeds);
  const maxShops = checkCount('max-shops', requested.maxShops);
  if (seeds === undefined && maxShops === undefined) return config;
  if (seeds !== undefined && seeds > config.seeds.length) {
    throw new UserError(
      `--seeds: ${seeds} is more than the ${config.seeds.length} seeds of ${config.file} (it can only shrink a run)`,
    );
  }
  const capped: NonNullable<RunOverrides['cappedDatasets']> = [];
  const datasets = config.datasets.map((spec, index) => {
    if (maxShops === undefined) return spec;
    const shops = shopsOf(config, index);
    if (shops <= maxShops) return spec;
    capped.push({ dataset: datasetName(spec), from: shops, to: maxShops });
    return spec.kind === 'simulate'
      ? { ...spec, simulate: { ...spec.simulate, shops: maxShops } }
      : { ...spec, shops: maxShops };
  });
  const overrides: RunOverrides = {
    ...(seeds !== undefined ? { seeds } : {}),
    ...(maxShops !== undefined ? { maxShops, cappedDatasets: capped } : {}),
  };
  return {
    ...config,
    seeds: seeds === undefined ? config.seeds : config.seeds.slice(0, seeds),
    datasets,
    overrides,
  };
}

/** One line for the terminal and the tables: `seeds 1 of the config's, at most 5 shops (a 100 → 5, …)`. */
export function describeOverrides(overrides: RunOverrides): string {
  const parts: string[] = [];
  if (overrides.seeds !== undefined) parts.push(`the first ${overrides.seeds} seed(s) of the config's`);
  if (overrides.maxShops !== undefined) {
    const changed = overrides.cappedDatasets ?? [];
    const list = changed.map((d) => `${d.dataset} ${d.from} → ${d.to}`).join(', ');
    parts.push(`at most ${overrides.maxShops} shops per dataset (${list || 'no dataset had more'})`);
  }
  return `shrunk run, not the config's full grid: ${parts.join('; ')}`;
}
