import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseExperimentConfig } from '../experiments/config.js';
import { runExperiment } from '../experiments/runner.js';
import type { GridProgress } from '../src/progress.js';
import { smallGridYaml } from './helpers.js';

const configsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../configs');

const yaml = smallGridYaml('runner-test');

describe('runner', () => {
  it('runs the grid, scores graphs and forecasts, and records failed cells without stopping', async () => {
    const config = parseExperimentConfig(yaml, path.join(configsDir, 'runner-test.yaml'));
    const results = await runExperiment(config);
    expect(results.backend).toBe('cpu');
    expect(results.cells).toHaveLength(2 * 2 * 3);
    const ok = results.cells.filter((c) => c.status === 'ok');
    expect(ok).toHaveLength(8);
    for (const c of ok) {
      expect(c.metrics.auroc).toBeGreaterThan(0.5);
      expect(c.metrics.auroc).toBeLessThanOrEqual(1);
      expect(c.metrics['mse@1']).toBeGreaterThanOrEqual(0);
      expect(c.metrics['mse@3']).toBeGreaterThanOrEqual(0);
      expect(c.perShop?.auroc).toHaveLength(c.shops);
      // One thread: the process's CPU time over the cell is about its wall time, never far above.
      expect(c.cpuSeconds).toBeGreaterThanOrEqual(0);
      expect(c.cpuSeconds).toBeLessThan(2 * c.seconds + 0.05);
    }
    const failed = results.cells.filter((c) => c.status === 'failed');
    expect(failed.map((c) => c.label)).toEqual(Array(4).fill('too-long-lag'));
    expect(failed[0].error).toMatch(/lag/);
    // Simulated data are drawn anew for each seed; the NPY dataset stays the same.
    const mse = (dataset: string) =>
      ok
        .filter((c) => c.dataset === dataset && c.label === 'granger-var(lag=1)')
        .map((c) => c.metrics['mse@1']);
    expect(mse('var-small')[0]).not.toBe(mse('var-small')[1]);
    expect(mse('netsim')[0]).toBe(mse('netsim')[1]);
  });

  it('computes cells that differ only in their label once, and reports each under its own label', async () => {
    const config = parseExperimentConfig(
      `experiment: twins-test
seeds: [0, 1]
backend: cpu
datasets:
  - kind: simulate
    simulate: { preset: var, shops: 2, steps: 120 }
methods:
  - method: granger-var
    label: centre
    options: { lag: 2 }
  - method: granger-var
    grid: { lag: [1, 2] }
`,
      path.join(configsDir, 'twins-test.yaml'),
    );
    const started: string[] = [];
    const finishedCells: string[] = [];
    const progress: GridProgress = {
      begin() {},
      cellStarted: (_slot, cell) => started.push(cell),
      training() {},
      cellFinished: (_slot, cell) => finishedCells.push(cell),
      note() {},
      end() {},
    };
    const results = await runExperiment(config, { progress });
    expect(results.cells).toHaveLength(2 * 3);
    // per seed: centre (= lag 2) once, lag 1 once
    expect(started).toHaveLength(2 * 2);
    expect(finishedCells).toHaveLength(2 * 3);
    for (const seed of [0, 1]) {
      const ofSeed = results.cells.filter((c) => c.seed === seed);
      expect(ofSeed.map((c) => c.label)).toEqual(['centre', 'granger-var(lag=1)', 'granger-var(lag=2)']);
      expect(ofSeed[0].metrics).toEqual(ofSeed[2].metrics);
      expect(ofSeed[0].metrics).not.toEqual(ofSeed[1].metrics);
    }
  });

  it('gives identical metrics when run twice with the same config and seeds', async () => {
    const config = parseExperimentConfig(yaml, path.join(configsDir, 'runner-test.yaml'));
    const strip = (cells: { metrics: object; perShop?: object }[]) =>
      cells.map((c) => [c.metrics, c.perShop]);
    const a = await runExperiment(config);
    const b = await runExperiment(config);
    expect(strip(b.cells)).toEqual(strip(a.cells));
  });

  it('reports both forecast splits with the protocol, and scores only the held-out shops under the shops split', async () => {
    const config = parseExperimentConfig(
      `experiment: split-test
horizon: 5
horizons: [1, 5]
futureSpend: known
splits: [time, shops]
heldOutShops: 0.25
datasets:
  - kind: simulate
    simulate: { preset: release-like, shops: 8 }
methods:
  - method: persistence
  - method: granger-var
`,
      path.join(configsDir, 'split-test.yaml'),
    );
    const results = await runExperiment(config);
    expect(results.protocol).toMatchObject({ futureSpend: 'known', splits: ['time', 'shops'], horizon: 5 });
    expect(results.cells.map((c) => [c.method, c.split, c.shops])).toEqual([
      ['persistence', 'time', 8],
      ['persistence', 'shops', 2],
      ['granger-var', 'time', 8],
      ['granger-var', 'shops', 2],
    ]);
    for (const c of results.cells) expect(c.metrics['mse@5']).toBeGreaterThan(0);
  });
});
