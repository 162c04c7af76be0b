import path from 'node:path';
import { readPanelCsv } from '../src/data/csv.js';
import { readCausalmmmRelease, readNpyDir } from '../src/data/npy-dir.js';
import type { Panel } from '../src/data/panel.js';
import { simulate } from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';
import type { DatasetSpec } from './config.js';

/** The name a dataset has in results: its `name`, else the preset or the file's base name. */
export function datasetName(spec: DatasetSpec): string {
  if (spec.name) return spec.name;
  if (spec.kind === 'simulate') return spec.simulate.preset;
  return path.basename(path.resolve(spec.path)).replace(/\.[^.]+$/, '');
}

/** True when the data differ between seeds (simulated data without a pinned seed). */
export function dependsOnSeed(spec: DatasetSpec): boolean {
  return spec.kind === 'simulate' && spec.seed === undefined;
}

function firstShops(panel: Panel, limit: number | undefined, where: string): Panel {
  if (limit === undefined) return panel;
  if (limit > panel.shops) throw new UserError(`${where}: shops ${limit} but the data hold ${panel.shops}`);
  return panel.selectShops(Array.from({ length: limit }, (_, s) => s));
}

/** Loads or simulates one dataset; relative paths resolve against `baseDir` (the config's folder). */
export function loadDataset(spec: DatasetSpec, seed: number, baseDir: string): Panel {
  const resolve = (p: string) => path.resolve(baseDir, p);
  switch (spec.kind) {
    case 'simulate':
      return simulate({ ...spec.simulate, seed: spec.seed ?? seed });
    case 'npy':
      return firstShops(readNpyDir(resolve(spec.path)), spec.shops, spec.path);
    case 'csv':
      return firstShops(
        readPanelCsv(resolve(spec.path), resolve(spec.schema), spec.graph ? resolve(spec.graph) : undefined),
        spec.shops,
        spec.path,
      );
    case 'causalmmm-release':
      return firstShops(readCausalmmmRelease(resolve(spec.path)), spec.shops, spec.path);
  }
}

/**
 * The datasets of a config, loaded on first use and kept for the next cells that use them:
 * fixed data (files, pinned simulations) once per run, seed-dependent simulations per seed.
 * Holds at most `capacity` panels, dropping the least recently used.
 */
export class DatasetCache {
  private readonly panels = new Map<string, Panel>();

  constructor(
    private readonly datasets: readonly DatasetSpec[],
    private readonly baseDir: string,
    private readonly capacity = 4,
  ) {}

  get(datasetIndex: number, seed: number): Panel {
    const spec = this.datasets[datasetIndex];
    const key = dependsOnSeed(spec) ? `${datasetIndex}@${seed}` : String(datasetIndex);
    let panel = this.panels.get(key);
    if (panel) {
      this.panels.delete(key);
    } else {
      panel = loadDataset(spec, seed, this.baseDir);
      if (this.panels.size >= this.capacity) this.panels.delete(this.panels.keys().next().value!);
    }
    this.panels.set(key, panel);
    return panel;
  }
}
