import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpyDir } from '../src/data/npy-dir.js';
import { cli, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const tmp = () => tempDir('causalmmm-cli-');

describe('causalmmm CLI', () => {
  it('runs a config and writes results.json, table.md and table.csv', () => {
    const dir = tmp();
    const config = path.join(dir, 'c.yaml');
    writeFileSync(
      config,
      `experiment: cli-test\nbackend: cpu\ndatasets:\n  - kind: simulate\n    simulate: { preset: var, shops: 2, steps: 300 }\nmethods:\n  - method: granger-var\n`,
    );
    const out = path.join(dir, 'out');
    const r = cli(['run', config, '--out', out]);
    expect(r.stderr).toContain('[1/1] var × granger-var seed 0: auroc');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('| granger-var |');
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.experiment).toBe('cli-test');
    expect(results.backend).toBe('cpu');
    expect(results.cells[0]).toMatchObject({ dataset: 'var', method: 'granger-var', seed: 0, status: 'ok' });
    expect(results.cells[0].metrics.auroc).toBeGreaterThan(0.5);
    expect(readFileSync(path.join(out, 'table.csv'), 'utf8')).toMatch(
      /^dataset,method,metric,mean,std,n,failed,split\nvar,granger-var,/,
    );
  });

  it('reports a run that has not finished from its finished cells, running nothing (--finished-only)', () => {
    const dir = tmp();
    const config = path.join(dir, 'c.yaml');
    writeFileSync(
      config,
      `experiment: cli-partial\nbackend: cpu\nseeds: 2\ndatasets:\n  - kind: simulate\n    simulate: { preset: var, shops: 2, steps: 300 }\nmethods:\n  - method: granger-var\n`,
    );
    const out = path.join(dir, 'out');
    const none = cli(['run', config, '--out', out, '--finished-only']);
    expect(none.code).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/no finished cell/);
    expect(existsSync(out)).toBe(false);
    expect(cli(['run', config, '--out', out, '--finished-only', '--force']).code).toBe(2);

    expect(cli(['run', config, '--out', out]).code).toBe(0);
    const cells = path.join(out, 'cells');
    rmSync(path.join(cells, readdirSync(cells)[0]));
    const look = cli(['run', config, '--out', out, '--finished-only']);
    expect(look.code).toBe(0);
    expect(look.stderr).not.toMatch(/\[\d\/2\]/);
    expect(look.stderr).toContain('1 of 2 cells are unfinished');
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.unfinished).toBe(1);
    expect(results.cells).toHaveLength(1);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('Partial: 1 of 2 cells finished');
    expect(readdirSync(cells)).toHaveLength(1);
  });

  it('answers a bad config with one line naming the field, exit code 2 and no output folder', () => {
    const dir = tmp();
    const config = path.join(dir, 'bad.yaml');
    writeFileSync(
      config,
      'experiment: x\ndatasets:\n  - kind: simulate\n    simulate: { preset: var }\nmethods:\n  - method: granger-var\n    options: { lag: -1 }\n',
    );
    const out = path.join(dir, 'out');
    const r = cli(['run', config, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/bad\.yaml: methods\[0\]\.options\.lag: /);
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(existsSync(out)).toBe(false);
  });

  it('answers a missing data file and unknown flags with exit code 2', () => {
    const dir = tmp();
    const config = path.join(dir, 'c.yaml');
    writeFileSync(
      config,
      'experiment: x\ndatasets:\n  - kind: npy\n    path: nowhere\nmethods:\n  - method: granger-var\n',
    );
    const r = cli(['run', config, '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nowhere/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const flag = cli(['run', config, '--colour', 'red']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/colour/);
    expect(cli([]).code).toBe(2);
  });

  it('simulates a preset into an NPY directory that reads back', () => {
    const out = path.join(tmp(), 'sim');
    const r = cli(['simulate', 'release-like', '--seed', '3', '--shops', '4', '--out', out]);
    expect(r.code).toBe(0);
    const panel = readNpyDir(out);
    expect([panel.shops, panel.nodeCount, panel.steps]).toEqual([4, 8, 100]);
    expect(panel.graph).toBeDefined();
    expect(panel.contributions).toBeDefined();
    const truth = JSON.parse(readFileSync(path.join(out, 'truth.json'), 'utf8'));
    expect(truth.preset).toBe('release-like');
    expect(truth.shops).toHaveLength(4);
    // The parameters describe the graph that was written: same edges for shop 0.
    const edges = truth.shops[0].edges.map((e: { cause: number; effect: number }) => e.effect * 8 + e.cause);
    const fromGraph = [...panel.trueGraph(0)!.entries()]
      .filter(([k, v]) => v === 1 && k % 9 !== 0)
      .map(([k]) => k);
    expect(edges.sort((a: number, b: number) => a - b)).toEqual(fromGraph);
    expect(cli(['simulate', 'release-like', '--shops', '-1', '--out', out]).code).toBe(2);
  });

  it('writes byte-identical files for the same preset and seed', () => {
    const dir = tmp();
    const files = ['series.npy', 'graph.npy', 'context.npy', 'contributions.npy', 'meta.json', 'truth.json'];
    const read = (out: string) => files.map((f) => readFileSync(path.join(out, f)));
    for (const name of ['a', 'b', 'c']) {
      const seed = name === 'c' ? '2' : '1';
      expect(
        cli(['simulate', 'funnel-12', '--seed', seed, '--shops', '3', '--out', path.join(dir, name)]).code,
      ).toBe(0);
    }
    const [a, b, c] = ['a', 'b', 'c'].map((name) => read(path.join(dir, name)));
    expect(a.map((bytes, i) => bytes.equals(b[i]))).toEqual(files.map(() => true));
    expect(a[0].equals(c[0])).toBe(false);
  });

  it('prints help', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('causalmmm run <config>');
    expect(r.stdout).toContain('causalmmm simulate <preset>');
  });
});
