/**
 * Merges the outputs of sharded runs (`causalmmm run --shard i/n --out DIR_i`) into one: the
 * finished cells of every `DIR_i/cells/`, in grid order, become one results.json and its
 * tables. The merged folder gets the cells too, so `causalmmm run <config> --out <merged>`
 * afterwards only runs the cells that no shard finished.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/errors.js';
import { type CellRecord, listCellRecords, writeCellRecord } from './cells.js';
import { type ResultsFile, runStatement } from './results.js';

export interface MergedRun {
  results: ResultsFile;
  /** Metrics the tables show (the config's `metrics`). */
  tableMetrics: string[];
  /** Cells of the grid that no folder holds. */
  missing: number;
  records: CellRecord[];
}

/** Values of `field` must agree across the folders' cells; a mix is a user error naming two folders. */
function agree(
  records: { record: CellRecord; dir: string }[],
  field: 'experiment' | 'codeVersion' | 'backend' | 'total' | 'overrides',
) {
  const first = records[0];
  // `overrides` is an object (or absent): compared as JSON, which is also how it is shown.
  const text = (r: { record: CellRecord }) => JSON.stringify(r.record[field]) ?? 'none';
  const other = records.find((r) => text(r) !== text(first));
  if (other) {
    throw new UserError(
      `${other.dir}: cells with ${field} ${text(other)}, but ${first.dir} has ${text(first)}; merge only shards of one run`,
    );
  }
}

/** Reads the cells of every folder in `dirs` and assembles one results file. */
export function mergeRuns(dirs: readonly string[]): MergedRun {
  const found: { record: CellRecord; dir: string }[] = [];
  for (const dir of dirs) {
    const cellsDir = path.join(dir, 'cells');
    if (!existsSync(dir)) throw new UserError(`${dir}: no such directory`);
    if (!statSync(cellsDir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new UserError(`${dir}: no cells/ folder (not the output folder of causalmmm run)`);
    }
    for (const record of listCellRecords(cellsDir)) found.push({ record, dir });
  }
  if (found.length === 0) throw new UserError(`${dirs.join(', ')}: no finished cells to merge`);
  for (const field of ['experiment', 'codeVersion', 'backend', 'total', 'overrides'] as const)
    agree(found, field);

  // A cell may sit in two folders (a shard rerun elsewhere): same key, same cell.
  const byKey = new Map<string, CellRecord>();
  for (const { record } of found) if (!byKey.has(record.key)) byKey.set(record.key, record);
  const records = [...byKey.values()].sort((a, b) => a.index - b.index);
  for (let i = 1; i < records.length; i++) {
    if (records[i].index === records[i - 1].index) {
      const where = (key: string) => found.find((f) => f.record.key === key)!.dir;
      throw new UserError(
        `${where(records[i].key)}: grid cell ${records[i].index} differs from the one in ${where(records[i - 1].key)}; the shards ran different configs`,
      );
    }
  }
  const first = records[0];
  const missing = first.total - records.length;
  return {
    results: {
      experiment: first.experiment,
      createdAt: new Date().toISOString(),
      codeVersion: first.codeVersion,
      backend: first.backend,
      config: first.config,
      tableMetrics: first.tableMetrics,
      ...runStatement(first),
      cells: records.map((r) => r.cell),
    },
    tableMetrics: first.tableMetrics,
    missing,
    records,
  };
}

/** Copies the merged cells into `outDir/cells/`, so the merged folder can be resumed like a run. */
export function writeMergedCells(merged: MergedRun, outDir: string): void {
  const cellsDir = path.join(outDir, 'cells');
  for (const record of merged.records) writeCellRecord(cellsDir, record);
}
