import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCells } from '../experiments/cells.js';
import { loadExperimentConfig } from '../experiments/config.js';
import { expandMethodSpec, runExperiment } from '../experiments/runner.js';
import { METHODS } from '../src/methods/registry.js';
import { repoRoot, useBackend } from './helpers.js';

useBackend();

const paperDir = path.join(repoRoot, 'configs/paper');
const load = (name: string) => loadExperimentConfig(path.join(paperDir, `${name}.yaml`));
const identity = { codeVersion: 'test', backend: 'wasm' };

describe('paper configs', () => {
  it('are the six experiments of the paper, each valid, with five seeds and data that exist', () => {
    expect(readdirSync(paperDir).sort()).toEqual(
      ['ablation', 'case-study', 'forecast', 'scaling', 'sensitivity', 'structure'].map((n) => `${n}.yaml`),
    );
    for (const name of ['ablation', 'case-study', 'forecast', 'scaling', 'sensitivity', 'structure']) {
      const config = load(name);
      expect(config.experiment).toBe(`paper-${name}`);
      expect(config.seeds).toEqual([0, 1, 2, 3, 4]);
      for (const dataset of config.datasets) {
        if (dataset.kind !== 'simulate')
          expect(existsSync(path.resolve(config.baseDir, dataset.path))).toBe(true);
      }
    }
  });

  it('cover every graph method in structure and every forecaster in forecast', () => {
    const methodsOf = (name: string) => new Set(load(name).methods.map((m) => m.method));
    const producing = (kind: string) =>
      METHODS.filter((m) => m.produces.includes(kind as never)).map((m) => m.name);
    expect(methodsOf('structure')).toEqual(new Set(producing('graph')));
    expect(methodsOf('forecast')).toEqual(new Set(producing('forecast')));
    const structure = load('structure');
    expect(structure.datasets.map((d) => d.name)).toEqual([
      'release-like',
      'funnel-12',
      'funnel-20',
      'var',
      'lorenz96',
      'netsim',
    ]);
    expect(load('forecast').horizons).toEqual([1, 3, 7, 10]);
  });

  it('ablate each part of CausalMMM once and sweep λ, τ and the hidden size', () => {
    const labels = load('ablation')
      .methods.flatMap(expandMethodSpec)
      .map((v) => v.label);
    expect(labels).toEqual([
      'full',
      'graph-full',
      'graph-empty',
      'no-temporal',
      'adstock',
      'no-saturation',
      'no-context',
      'markov-decoder',
    ]);
    const sensitivity = load('sensitivity');
    const variants = sensitivity.methods.flatMap(expandMethodSpec);
    expect(variants.map((v) => v.label)).toContain('kl(klWeight=1000)');
    expect(variants.map((v) => v.label)).toContain('tau(tau=0.1)');
    expect(variants.find((v) => v.label === 'hidden(hidden=16)')?.options.hidden).toBe(16);
    const grid = planCells(sensitivity, variants, identity);
    expect(grid).toHaveLength(5 * 3 * 12);
  });

  it('run end to end on a one-cell shard (structure: Granger VAR on 100 release-like shops)', async () => {
    const config = load('structure');
    const total = planCells(config, config.methods.flatMap(expandMethodSpec), identity).length;
    const results = await runExperiment(config, { shard: { index: 0, count: total } });
    expect(results.cells).toHaveLength(1);
    expect(results.cells[0]).toMatchObject({ dataset: 'release-like', method: 'granger-var', status: 'ok' });
    expect(results.cells[0].metrics.auroc).toBeGreaterThan(0.7);
  }, 60_000);
});
