import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpyDir } from '../src/data/npy-dir.js';
import { simulate } from '../src/data/simulate.js';
import { repoRoot, shared, useTempDirs } from './helpers.js';

const bin = path.join(repoRoot, 'bin/causalmmm.js');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tempDir = useTempDirs();

/** One clear line on stderr, exit code 2, no stack trace. */
function expectUserFailure(r: ReturnType<typeof cli>, ...parts: string[]) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  for (const part of parts) expect(lines[0]).toContain(part);
  expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
}

describe('causalmmm fit and whatif', () => {
  const dir = tempDir('causalmmm-fit-');
  const data = path.join(dir, 'sim');
  writeNpyDir(simulate({ preset: 'release-like', seed: 5, shops: 4, steps: 30 }), data);
  const config = path.join(dir, 'fit.yaml');
  writeFileSync(
    config,
    'horizon: 6\nwarmup: 10\ncurve: { points: 3 }\noptions: { hidden: 8, epochs: 2, batchSize: 4, predictSteps: 3 }\n',
  );
  const out = path.join(dir, 'out');

  it('fits a panel and writes every shop’s graph, forecast, contributions, curves, the index and the model', () => {
    const r = cli(['fit', '--data', data, '--config', config, '--out', out]);
    expect(r.stderr).toContain('epoch 2/2');
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.shops).toHaveLength(4);
    expect(summary.horizon).toBe(6);
    expect(Array.isArray(summary.warnings)).toBe(true);
    for (const file of [
      'graph.json',
      'graph.dot',
      'heatmap.svg',
      'heatmap.png',
      'forecast.json',
      'forecast.csv',
      'contributions.json',
      'curves.json',
      'curves.svg',
    ]) {
      expect(existsSync(path.join(out, 'shops', '3', file))).toBe(true);
    }
    const png = readFileSync(path.join(out, 'shops/3/heatmap.png'));
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(png.length).toBeGreaterThan(1000);
    const forecast = JSON.parse(readFileSync(path.join(out, 'shops/0/forecast.json'), 'utf8'));
    expect(forecast.values.gmv).toHaveLength(6);
    expect(forecast.values.gmv.every(Number.isFinite)).toBe(true);
    const contributions = JSON.parse(readFileSync(path.join(out, 'shops/0/contributions.json'), 'utf8'));
    expect(contributions.channels.map((c: { channel: string }) => c.channel)).toEqual([
      'x0',
      'x1',
      'x2',
      'x3',
      'x4',
    ]);
    expect(contributions.channels[0].perStep).toHaveLength(29);
    const curves = JSON.parse(readFileSync(path.join(out, 'shops/0/curves.json'), 'utf8'));
    expect(curves.curves[0].factors).toEqual([0, 1, 2]);
    const truth = JSON.parse(readFileSync(path.join(out, 'truth.json'), 'utf8'));
    expect(truth.channels).toHaveLength(5);
    expect(truth.graph.auroc).toBeGreaterThanOrEqual(0);
    const html = readFileSync(path.join(out, 'index.html'), 'utf8');
    expect(html).toContain('shops/3/heatmap.svg');
    expect(html).toContain('graph AUROC');
    expect(existsSync(path.join(out, 'model', 'model.json'))).toBe(true);
    // The default graph is the mean over the encoder's epoch snapshots, saved with the model.
    const model = JSON.parse(readFileSync(path.join(out, 'model', 'model.json'), 'utf8'));
    expect(model).toMatchObject({ options: { graphAverage: 'epochs' }, graphSnapshots: 2 });
    expect(existsSync(path.join(out, 'model', 'graph-snapshots.bin'))).toBe(true);
  });

  it('gives the fitted graphs again from the saved model (fit --model)', () => {
    const again = path.join(dir, 'again');
    const r = cli(['fit', '--data', data, '--model', out, '--config', config, '--out', again]);
    expect(r.code).toBe(0);
    for (const shop of ['0', '3']) {
      const graph = (root: string) => readFileSync(path.join(root, 'shops', shop, 'graph.json'), 'utf8');
      expect(graph(again)).toBe(graph(out));
    }
  });

  it('answers what-ifs from the saved model, with the paths they flow through', () => {
    const r = cli([
      'whatif',
      '--model',
      out,
      '--shop',
      '1',
      '--spend',
      'x0=+20%',
      '--spend',
      'x1=-10%',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ shop: '1', horizon: 6, changes: { x0: 0.2, x1: -0.1 } });
    expect(result.baseGmv).toHaveLength(6);
    expect(result.flows.map((f: { channel: string }) => f.channel)).toEqual(['x0', 'x1']);
    const text = cli(['whatif', '--model', out, '--shop', '1', '--spend', 'x0=+20%']);
    expect(text.stdout).toContain('GMV: ');
    expect(text.stdout).toContain('paths from x0 to GMV');
  });

  it('refuses bad flags, configs, shops, channels and a model of another schema with exit 2 and no output', () => {
    const fresh = path.join(dir, 'never');
    expectUserFailure(cli(['fit', '--data', path.join(dir, 'missing.csv'), '--out', fresh]), 'missing.csv');
    expectUserFailure(
      cli(['fit', '--data', path.join(shared, 'datasets/causalmmm-release/AirMMM_10s.csv'), '--out', fresh]),
      '--schema',
    );
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'horizon: 0\noptions: { hiden: 8 }\n');
    expectUserFailure(cli(['fit', '--data', data, '--config', bad, '--out', fresh]), 'bad.yaml', 'horizon');
    writeFileSync(bad, 'options: { hiden: 8 }\n');
    expectUserFailure(
      cli(['fit', '--data', data, '--config', bad, '--out', fresh]),
      'bad.yaml: options',
      'hiden',
    );
    writeFileSync(bad, 'options: { ensemble: 2 }\n');
    expectUserFailure(
      cli(['fit', '--data', data, '--config', bad, '--out', fresh]),
      'options: ensemble',
      'use 1',
    );
    writeFileSync(bad, 'options: { graphAverage: mean }\n');
    expectUserFailure(
      cli(['fit', '--data', data, '--config', bad, '--out', fresh]),
      'bad.yaml: options: graphAverage',
      'epochs',
    );
    expectUserFailure(
      cli(['fit', '--data', data, '--method', 'ngc-cmlp', '--out', fresh]),
      '--method ngc-cmlp',
    );
    const other = path.join(dir, 'other');
    writeNpyDir(simulate({ preset: 'funnel-12', seed: 1, shops: 2, steps: 30 }), other);
    expectUserFailure(cli(['fit', '--data', other, '--model', out, '--out', fresh]), other, 'do not match');
    expect(existsSync(fresh)).toBe(false);
    expectUserFailure(cli(['whatif', '--model', out, '--shop', 'nope', '--spend', 'x0=+1%']), '--shop nope');
    expectUserFailure(
      cli(['whatif', '--model', out, '--shop', '1', '--spend', 'tv=+1%']),
      '--spend tv',
      'channels: x0',
    );
    expectUserFailure(cli(['whatif', '--model', dir, '--shop', '1', '--spend', 'x0=+1%']), 'no model.json');
  });

  it('fits the per-shop VAR (--method granger-var) and answers what-ifs from its model folder', () => {
    const varOut = path.join(dir, 'var');
    const r = cli([
      'fit',
      '--data',
      data,
      '--method',
      'granger-var',
      '--config',
      'configs/fit-var.yaml',
      '--out',
      varOut,
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(varOut, 'summary.json'), 'utf8'));
    expect(summary.method).toBe('granger-var');
    expect(summary.training.fit.edgeThreshold).toBe(0.95);
    expect(summary.truth.channels).toHaveLength(5);
    const contributions = JSON.parse(readFileSync(path.join(varOut, 'shops/0/contributions.json'), 'utf8'));
    // The VAR reads its 2 lags before it predicts: 30 − 2 measured steps.
    expect(contributions.channels[0].perStep).toHaveLength(28);
    const model = JSON.parse(readFileSync(path.join(varOut, 'model/model.json'), 'utf8'));
    expect(model).toMatchObject({ method: 'granger-var', options: { lag: 2, transform: 'log' } });
    const w = cli(['whatif', '--model', varOut, '--shop', '2', '--spend', 'x3=+50%', '--json']);
    expect(w.code).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ shop: '2', horizon: 14, changes: { x3: 0.5 } });
    const varConfig = path.join(dir, 'var.yaml');
    writeFileSync(varConfig, 'warmup: 1\noptions: { lag: 2 }\n');
    expectUserFailure(
      cli([
        'fit',
        '--data',
        data,
        '--method',
        'granger-var',
        '--config',
        varConfig,
        '--out',
        path.join(dir, 'v2'),
      ]),
      'var.yaml: warmup 1',
    );
    expect(existsSync(path.join(dir, 'v2'))).toBe(false);
  });

  it.skipIf(!existsSync(path.join(shared, 'datasets/causalmmm-release/AirMMM_10s.csv')))(
    'fits the authors’ AirMMM sample with the example schema and config',
    () => {
      const air = path.join(dir, 'air');
      const r = cli([
        'fit',
        '--data',
        path.join(shared, 'datasets/causalmmm-release/AirMMM_10s.csv'),
        '--schema',
        'configs/schemas/airmmm.schema.json',
        '--config',
        'configs/fit-airmmm.yaml',
        '--out',
        air,
      ]);
      expect(r.code).toBe(0);
      const summary = JSON.parse(readFileSync(path.join(air, 'summary.json'), 'utf8'));
      expect(summary.shops.map((s: { shop: string }) => s.shop)).toEqual(['434', '68']);
      const forecast = readFileSync(path.join(air, 'shops/434/forecast.csv'), 'utf8').trim().split('\n');
      expect(forecast[0]).toBe('step,x0,x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,pv,gmv');
      expect(forecast).toHaveLength(8);
    },
  );
});
