import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseExperimentConfig } from '../experiments/config.js';
import { runExperiment } from '../experiments/runner.js';
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
