import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCells } from '../experiments/cells.js';
import { parseExperimentConfig } from '../experiments/config.js';
import { expandMethodSpec } from '../experiments/runner.js';
import { describeOverrides, shrinkConfig } from '../experiments/shrink.js';
import { cli, expectUserError, repoRoot, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

/** Three seeds; a 40-shop simulation, a 3-shop one (under any cap used here) and NetSim's 50 subjects. */
const yaml = `
experiment: shrink-test
seeds: [4, 7, 9]
backend: cpu
datasets:
  - { name: big, kind: simulate, simulate: { preset: release-like, shops: 40, steps: 60 } }
  - { name: small, kind: simulate, simulate: { preset: var, shops: 3, steps: 200 } }
  - { kind: npy, path: ../datasets/netsim-sim3 }
methods:
  - method: granger-var
`;
const config = parseExperimentConfig(yaml, path.join(repoRoot, 'configs', 'shrink-test.yaml'));

describe('shrinkConfig', () => {
  it('keeps the first n seeds and caps every dataset at n shops, recording what it changed', () => {
    const shrunk = shrinkConfig(config, { seeds: 2, maxShops: 4 });
    expect(shrunk.seeds).toEqual([4, 7]);
    const [big, small, netsim] = shrunk.datasets;
    expect(big.kind === 'simulate' && big.simulate.shops).toBe(4);
    expect(small).toBe(config.datasets[1]);
    // NetSim's file holds 50 subjects and the config sets no limit: the cap reads the file to know.
    expect(netsim.kind === 'npy' && netsim.shops).toBe(4);
    expect(shrunk.overrides).toEqual({
      seeds: 2,
      maxShops: 4,
      cappedDatasets: [
        { dataset: 'big', from: 40, to: 4 },
        { dataset: 'netsim-sim3', from: 50, to: 4 },
      ],
    });
    expect(describeOverrides(shrunk.overrides!)).toBe(
      "shrunk run, not the config's full grid: the first 2 seed(s) of the config's; at most 4 shops per dataset (big 40 → 4, netsim-sim3 50 → 4)",
    );
    // The config itself is untouched, and no override returns it as it is.
    expect(config.seeds).toEqual([4, 7, 9]);
    expect(shrinkConfig(config, {})).toBe(config);
    expect(shrinkConfig(config, { seeds: 1 }).datasets).toEqual(config.datasets);
  });

  it('gives capped datasets new resume keys and leaves the others’ keys alone', () => {
    const variants = config.methods.flatMap(expandMethodSpec);
    const identity = { codeVersion: 'x', backend: 'cpu' };
    const full = planCells(config, variants, identity);
    const shrunk = planCells(shrinkConfig(config, { seeds: 1, maxShops: 4 }), variants, identity);
    expect(shrunk.map((c) => c.dataset)).toEqual(['big', 'small', 'netsim-sim3']);
    expect(shrunk[0].key).not.toBe(full[0].key);
    expect(shrunk[1].key).toBe(full[1].key);
    expect(shrunk[2].key).not.toBe(full[2].key);
  });

  it('refuses counts that are not whole numbers ≥ 1, and more seeds than the config has', () => {
    expectUserError(() => shrinkConfig(config, { seeds: 0 }), '--seeds', 'whole number ≥ 1', 'got 0');
    expectUserError(() => shrinkConfig(config, { seeds: 1.5 }), '--seeds', 'got 1.5');
    expectUserError(() => shrinkConfig(config, { maxShops: Number.NaN }), '--max-shops', 'got NaN');
    expectUserError(() => shrinkConfig(config, { maxShops: -3 }), '--max-shops', 'got -3');
    expectUserError(
      () => shrinkConfig(config, { seeds: 4 }),
      '--seeds',
      '4 is more than the 3 seeds',
      'shrink-test.yaml',
    );
  });
});

describe('causalmmm run --seeds --max-shops', () => {
  const write = () => {
    const dir = tempDir('causalmmm-shrink-');
    const file = path.join(dir, 'c.yaml');
    writeFileSync(
      file,
      `experiment: shrink-cli\nseeds: 3\nbackend: cpu\ndatasets:\n  - { name: var, kind: simulate, simulate: { preset: var, shops: 6, steps: 200 } }\nmethods:\n  - method: granger-var\n`,
    );
    return { dir, file };
  };

  it('runs the shrunk grid, prints and records the overrides, and writes to its own default folder', () => {
    const { dir, file } = write();
    const r = cli(['run', file, '--seeds', '1', '--max-shops', '2', '--workers', '1'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "shrunk run, not the config's full grid: the first 1 seed(s) of the config's; at most 2 shops per dataset (var 6 → 2)",
    );
    // Not results/shrink-cli: a full run's results there must not be replaced by a smoke run's.
    expect(existsSync(path.join(dir, 'results/shrink-cli'))).toBe(false);
    const out = path.join(dir, 'results/shrink-cli-shrunk');
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.overrides).toEqual({
      seeds: 1,
      maxShops: 2,
      cappedDatasets: [{ dataset: 'var', from: 6, to: 2 }],
    });
    expect(results.cells).toHaveLength(1);
    expect(results.cells[0]).toMatchObject({ seed: 0, shops: 2, status: 'ok' });
    expect(readFileSync(path.join(out, 'table.md'), 'utf8')).toContain('**shrunk run');
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<strong>shrunk run');
  });

  it('keeps the overrides through shards and merge, and refuses to merge a shrunk shard with a full one', () => {
    const { dir, file } = write();
    const shard = (i: number, extra: string[]) => {
      const out = path.join(dir, `shard-${i}${extra.length ? '' : '-full'}`);
      const r = cli(['run', file, '--shard', `${i}/2`, '--workers', '1', '--out', out, ...extra], dir);
      expect(r.code).toBe(0);
      return out;
    };
    // Seeds as in the config, so that the grids' sizes agree and only the overrides differ.
    const small = ['--max-shops', '3'];
    const shards = [shard(0, small), shard(1, small)];
    const merged = path.join(dir, 'merged');
    expect(cli(['merge', ...shards, '--out', merged], dir).code).toBe(0);
    const results = JSON.parse(readFileSync(path.join(merged, 'results.json'), 'utf8'));
    expect(results.overrides).toEqual({ maxShops: 3, cappedDatasets: [{ dataset: 'var', from: 6, to: 3 }] });
    expect(results.cells.map((c: { seed: number; shops: number }) => [c.seed, c.shops])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    const mixed = cli(['merge', shards[0], shard(1, []), '--out', path.join(dir, 'mixed')], dir);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(
      /shard-1-full: cells with overrides none, but .*shard-0 has \{"maxShops":3.*merge only shards of one run/,
    );
  });

  it('answers a bad count with one line and exit code 2, writing nothing', () => {
    const { dir, file } = write();
    for (const [flag, value] of [
      ['--seeds', '0'],
      ['--seeds', 'two'],
      ['--max-shops', '2.5'],
      ['--seeds', '4'],
    ]) {
      const r = cli(['run', file, flag, value], dir);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(flag);
    }
    expect(existsSync(path.join(dir, 'results'))).toBe(false);
  });
});
