/**
 * The cells of an experiment grid as units of work: their order, their resume keys, the
 * deterministic share a cluster shard runs, and the one-file-per-cell store under
 * `<out>/cells/` that makes a run resumable and shards mergeable.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'safe-stable-stringify';
import { z } from 'zod';
import { UserError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io.js';
import { parseOrThrow } from '../src/validation.js';
import { type ExperimentConfig, type ForecastSplit, forecastProtocolSchema } from './config.js';
import { datasetName } from './datasets.js';
import { forecastProtocol } from './protocol.js';
import type { CellResult, RunStatement } from './results.js';

/** One cell of the grid before it runs: what a worker needs to run it, and its resume key. */
export interface PlannedCell {
  /** Position in the full grid: seed-major, then dataset, then method variant (config order). */
  index: number;
  seed: number;
  datasetIndex: number;
  /** Index into the variants expanded from `config.methods`, in config order. */
  variantIndex: number;
  dataset: string;
  method: string;
  label: string;
  options: Record<string, unknown>;
  /** The forecast split this cell is evaluated under (absent for structure-only cells). */
  split?: ForecastSplit;
  key: string;
}

/** What a cell's numbers depend on besides the cell itself. */
export interface RunIdentity {
  codeVersion: string;
  /** The backend that runs the cells (`wasm`, `cpu`, `tensorflow`), not the configured choice. */
  backend: string;
}

/**
 * The resume key of a cell: a hash of the dataset spec (as written, without its display name),
 * the method, the options that differ from the method's defaults, the seed, the forecast
 * protocol (horizon, horizons; `graphShops` when set) and the backend. Display names (dataset `name`, method `label`)
 * are left out, so renaming a row does not recompute it; so are options at their defaults, so
 * a new option (whose default keeps the old behaviour) or a default spelt out does not either.
 * The code version is not in the key but in the cell's record: the runner decides whether a
 * cell finished by other code counts (see `RunOptions.reuseOtherCode`).
 */
export function cellKey(
  config: ExperimentConfig,
  datasetIndex: number,
  method: string,
  options: Record<string, unknown>,
  seed: number,
  identity: RunIdentity,
  split?: ForecastSplit,
): string {
  const { name: _name, ...dataset } = config.datasets[datasetIndex];
  const text = stringify({
    dataset,
    method,
    options,
    seed,
    split,
    protocol: split
      ? forecastProtocol(config)
      : {
          horizon: config.horizon,
          horizons: config.horizons,
          ...(config.graphShops !== undefined ? { graphShops: config.graphShops } : {}),
        },
    backend: identity.backend,
  });
  return createHash('sha256')
    .update(text ?? '')
    .digest('hex')
    .slice(0, 24);
}

/**
 * Every (seed × dataset × variant × forecast split) cell of `config`, in grid order. A method
 * that does not forecast (or any method at horizon 0) has one cell per dataset; a forecaster
 * one per split of the protocol.
 */
export function planCells(
  config: ExperimentConfig,
  variants: readonly {
    method: { name: string; produces: readonly string[] };
    label: string;
    options: Record<string, unknown>;
    /** The options that differ from the method's defaults (what the key hashes; all of them if absent). */
    keyOptions?: Record<string, unknown>;
  }[],
  identity: RunIdentity,
): PlannedCell[] {
  const cells: PlannedCell[] = [];
  for (const seed of config.seeds) {
    for (const [datasetIndex, spec] of config.datasets.entries()) {
      for (const [variantIndex, variant] of variants.entries()) {
        const forecasts = config.horizon > 0 && variant.method.produces.includes('forecast');
        for (const split of forecasts ? config.splits : [undefined]) {
          cells.push({
            index: cells.length,
            seed,
            datasetIndex,
            variantIndex,
            dataset: datasetName(spec),
            method: variant.method.name,
            label: variant.label,
            options: variant.options,
            ...(split ? { split } : {}),
            key: cellKey(
              config,
              datasetIndex,
              variant.method.name,
              variant.keyOptions ?? variant.options,
              seed,
              identity,
              split,
            ),
          });
        }
      }
    }
  }
  return cells;
}

/** Shard `index` of `count` (0-based), as given by `--shard i/n`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `--shard i/n` (0 ≤ i < n): Slurm's array task id and Kubernetes' completion index are 0-based. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : Number.NaN;
  const count = match ? Number(match[2]) : Number.NaN;
  if (!(count >= 1 && index < count)) {
    throw new UserError(`--shard: expected i/n with 0 ≤ i < n (e.g. 0/4), got "${text}"`);
  }
  return { index, count };
}

/**
 * The cells shard `index` of `count` runs: every count-th cell of the grid, starting at
 * `index`. It depends on the config alone, so every shard agrees on it without talking to
 * the others, and neighbouring (similar-cost) cells spread over the shards.
 */
export function shardCells<T extends { index: number }>(cells: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...cells];
  return cells.filter((cell) => cell.index % shard.count === shard.index);
}

/** One finished cell on disk: `<out>/cells/<key>.json`, with what its run states (`RunStatement`). */
export interface CellRecord extends RunStatement {
  key: string;
  /** The cell's position in its grid and the grid's size, for merging shards in grid order. */
  index: number;
  total: number;
  experiment: string;
  codeVersion: string;
  backend: string;
  /** The config file, relative to the working directory of the run. */
  config: string;
  /** The metrics the config shows in tables. */
  tableMetrics: string[];
  cell: CellResult;
}

const finiteOrNull = z.number().nullable();
const cellRecordSchema = z.object({
  key: z.string().regex(/^[0-9a-f]+$/),
  index: z.int().nonnegative(),
  total: z.int().positive(),
  experiment: z.string(),
  codeVersion: z.string(),
  backend: z.string(),
  config: z.string(),
  tableMetrics: z.array(z.string()),
  overrides: z
    .strictObject({
      seeds: z.int().positive().optional(),
      maxShops: z.int().positive().optional(),
      cappedDatasets: z.array(z.strictObject({ dataset: z.string(), from: z.int(), to: z.int() })).optional(),
    })
    .optional(),
  graphShops: z.int().positive().optional(),
  protocol: forecastProtocolSchema.optional(),
  cell: z.looseObject({
    dataset: z.string(),
    method: z.string(),
    label: z.string(),
    seed: z.int(),
    options: z.record(z.string(), z.unknown()),
    status: z.enum(['ok', 'failed']),
    error: z.string().optional(),
    // JSON has no NaN: an undefined metric of some shop comes back as null.
    metrics: z.record(z.string(), finiteOrNull),
    perShop: z.record(z.string(), z.array(finiteOrNull)).optional(),
    shops: z.int().nonnegative(),
    seconds: z.number(),
    cpuSeconds: z.number().optional(),
  }),
});

export function cellFile(cellsDir: string, key: string): string {
  return path.join(cellsDir, `${key}.json`);
}

/** Writes a finished cell atomically: a reader (or a killed run) sees the whole file or none. */
export function writeCellRecord(cellsDir: string, record: CellRecord): void {
  writeFileAtomic(cellFile(cellsDir, record.key), `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads and checks a cell file; a bad one is a UserError naming it. */
export function readCellRecord(file: string): CellRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const reason =
      err instanceof SyntaxError ? 'not valid JSON' : `cannot read (${(err as { code?: string }).code})`;
    throw new UserError(`${file}: ${reason}`);
  }
  const record = parseOrThrow(cellRecordSchema, raw, file) as CellRecord;
  if (path.basename(file) !== `${record.key}.json`) {
    throw new UserError(`${file}: holds cell ${record.key}, which belongs in ${record.key}.json`);
  }
  return record;
}

/** The finished cell of `key` in `cellsDir`, or undefined when there is none or it is unreadable. */
export function findCellRecord(cellsDir: string, key: string): CellRecord | undefined {
  const file = cellFile(cellsDir, key);
  if (!existsSync(file)) return undefined;
  try {
    return readCellRecord(file);
  } catch {
    return undefined;
  }
}

/** Every cell file in `cellsDir`, checked; the folder must exist. */
export function listCellRecords(cellsDir: string): CellRecord[] {
  return readdirSync(cellsDir)
    .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
    .sort()
    .map((name) => readCellRecord(path.join(cellsDir, name)));
}

/** A temp file this old cannot belong to a live write (a cell file takes milliseconds). */
const STALE_TEMP_MS = 60_000;

/**
 * Removes temporary files that a killed run left behind mid-write (they never replaced a
 * cell). Young ones are kept: another shard sharing the folder may be writing them now.
 */
export function removeStaleTemps(cellsDir: string, now = Date.now()): number {
  if (!existsSync(cellsDir)) return 0;
  let removed = 0;
  for (const name of readdirSync(cellsDir)) {
    if (!(name.startsWith('.') && name.includes('.tmp-'))) continue;
    const file = path.join(cellsDir, name);
    const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? now;
    if (now - mtime < STALE_TEMP_MS) continue;
    rmSync(file, { force: true });
    removed++;
  }
  return removed;
}
