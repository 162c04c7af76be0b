import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperimentConfig } from '../experiments/config.js';
import {
  compareMetrics,
  formatDriftReport,
  hasDrift,
  type ReferenceFile,
  readMetricsFile,
  toleranceFor,
  toReference,
  withinTolerance,
} from '../experiments/drift.js';
import { runExperiment } from '../experiments/runner.js';
import { cli, expectUserError, repoRoot, useBackend, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
useBackend();

function reference(): ReferenceFile {
  return {
    experiment: 'x',
    createdAt: '2026-01-01T00:00:00Z',
    codeVersion: 'abc',
    backend: 'wasm',
    cells: [
      { dataset: 'var', method: 'granger-var', seed: 0, status: 'ok', metrics: { auroc: 0.9, 'mse@1': 2 } },
      {
        dataset: 'var',
        method: 'causalmmm',
        label: 'full',
        seed: 0,
        split: 'time',
        status: 'ok',
        metrics: { auroc: 0.7, 'mse@1': 1, shd: 4 },
      },
      { dataset: 'var', method: 'gvar', seed: 1, status: 'failed', metrics: {} },
    ],
  };
}

const copy = (r: ReferenceFile): ReferenceFile => JSON.parse(JSON.stringify(r));

describe('metric drift check', () => {
  it('takes tolerances from the exact metric, then its horizon family, then the defaults', () => {
    expect(toleranceFor('auroc')).toEqual({ abs: 0.01, rel: 0 });
    expect(toleranceFor('mse@7')).toEqual({ abs: 1e-9, rel: 0.02 });
    expect(toleranceFor('mse@7', { 'mse@h': { rel: 0.1 } })).toEqual({ abs: 1e-9, rel: 0.1 });
    expect(toleranceFor('mse@7', { 'mse@h': { rel: 0.1 }, 'mse@7': { abs: 1 } })).toEqual({
      abs: 1,
      rel: 0.1,
    });
    expect(toleranceFor('something-new')).toEqual({ abs: 1e-9, rel: 0.01 });
  });

  it('compares as abs + rel·|reference|, and NaN agrees only with NaN', () => {
    const tol = { abs: 0.1, rel: 0.1 };
    expect(withinTolerance(10, 11.1, tol)).toBe(true);
    expect(withinTolerance(10, 11.2, tol)).toBe(false);
    expect(withinTolerance(-10, -8.8, tol)).toBe(false);
    expect(withinTolerance(null, null, tol)).toBe(true);
    expect(withinTolerance(null, 1, tol)).toBe(false);
    expect(withinTolerance(1, null, tol)).toBe(false);
  });

  it('passes an identical run and catches an injected drift, naming the cell and metric', () => {
    const ref = reference();
    const same = compareMetrics(copy(ref), ref);
    expect(hasDrift(same)).toBe(false);
    expect(same.compared).toBe(3);
    expect(formatDriftReport(same)).toContain('no drift');

    const drifted = copy(ref);
    drifted.cells[1].metrics.auroc = 0.68; // 0.02 > abs 0.01
    drifted.cells[1].metrics['mse@1'] = 1.01; // within rel 0.02
    drifted.cells[0].metrics['mse@1'] = 2.1; // 0.1 > 0.04
    const report = compareMetrics(drifted, ref);
    expect(hasDrift(report)).toBe(true);
    expect(report.drifted.map((d) => [d.cell, d.metric])).toEqual([
      ['var · granger-var · seed 0', 'mse@1'],
      ['var · full · seed 0 · time', 'auroc'],
    ]);
    const text = formatDriftReport(report);
    expect(text).toContain(
      '| var · full · seed 0 · time | auroc | 0.700000 | 0.680000 | -0.0200000 | 0.0100000 |',
    );
    expect(text).toMatch(/^drift: 2 value\(s\)/m);
  });

  it('uses the run’s tolerances from its config over the defaults', () => {
    const ref = reference();
    const drifted = copy(ref);
    drifted.cells[1].metrics.auroc = 0.68;
    expect(hasDrift(compareMetrics({ ...drifted, tolerances: { auroc: { abs: 0.05 } } }, ref))).toBe(false);
  });

  it('reports new and missing cells, status changes and missing metrics as drift', () => {
    const ref = reference();
    const run = copy(ref);
    run.cells[0].seed = 5; // the reference's seed-0 cell is missing, a seed-5 cell is new
    run.cells[2].status = 'ok';
    run.cells[2].metrics = { auroc: 0.5 };
    delete run.cells[1].metrics.shd;
    run.cells[1].metrics.f1 = 0.3;
    const report = compareMetrics(run, ref);
    expect(report.missingCells).toEqual(['var · granger-var · seed 0']);
    expect(report.newCells).toEqual(['var · granger-var · seed 5']);
    expect(report.drifted.map((d) => `${d.metric}:${d.current}`)).toEqual(['shd:absent', 'status:ok']);
    expect(report.newMetrics).toEqual(['f1']);
    const text = formatDriftReport(report);
    expect(text).toContain('  + var · granger-var · seed 5');
    expect(text).toContain('  - var · granger-var · seed 0');
  });

  it('refuses a malformed reference with one line naming the file and field', () => {
    const dir = tempDir('causalmmm-drift-');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ experiment: 'x', cells: [{ dataset: 'a', method: 'm', seed: 0 }] }));
    expectUserError(() => readMetricsFile(bad), 'bad.json', 'cells[0].status');
    const twice = path.join(dir, 'twice.json');
    const cell = { dataset: 'a', method: 'm', seed: 0, status: 'ok', metrics: {} };
    writeFileSync(twice, JSON.stringify({ experiment: 'x', cells: [cell, cell] }));
    expectUserError(() => readMetricsFile(twice), 'twice.json', 'cells[1] repeats cells[0]');
    expectUserError(() => readMetricsFile(path.join(dir, 'none.json')), 'none.json', 'cannot read');
  });

  it('finds no drift between two runs of a grid with a tfjs method: they are bit-identical', async () => {
    const yaml = `
experiment: drift-rerun
seeds: [0, 1]
horizon: 5
horizons: [1, 3]
datasets:
  - { name: rl, kind: simulate, simulate: { preset: release-like, shops: 6, steps: 60 } }
methods:
  - method: granger-var
  - method: causalmmm
    options: { hidden: 8, epochs: 2, batchSize: 3, patience: 0, trainWindow: 30 }
`;
    const config = parseExperimentConfig(yaml, path.join(repoRoot, 'configs', 'drift-rerun.yaml'));
    const first = toReference(await runExperiment(config));
    const second = toReference(await runExperiment(config));
    expect(first.cells.every((c) => c.status === 'ok')).toBe(true);
    const report = compareMetrics(second, first);
    expect(hasDrift(report)).toBe(false);
    expect(report.compared).toBe(4);
    expect(second.cells.map((c) => c.metrics)).toEqual(first.cells.map((c) => c.metrics));
  }, 120_000);
});

describe('causalmmm check', () => {
  it('exits 0 on a match, 1 with a table on drift, and --update rewrites the reference printing the diff', () => {
    const dir = tempDir('causalmmm-check-');
    const run = path.join(dir, 'run');
    const refFile = path.join(dir, 'reference.json');
    const results = { ...reference(), config: 'c.yaml' };
    writeFileSync(refFile, JSON.stringify(toReference(results)));
    const runFile = path.join(dir, 'results.json');
    writeFileSync(runFile, JSON.stringify(results));
    expect(cli(['check', runFile, '--reference', refFile]).code).toBe(0);

    results.cells[0].metrics.auroc = 0.8;
    mkdirSync(run);
    writeFileSync(path.join(run, 'results.json'), JSON.stringify(results));
    const drift = cli(['check', run, '--reference', refFile]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('| var · granger-var · seed 0 | auroc | 0.900000 | 0.800000 |');
    expect(drift.stderr).toContain('--update');

    const update = cli(['check', run, '--reference', refFile, '--update']);
    expect(update.code).toBe(0);
    expect(update.stdout).toContain('| var · granger-var · seed 0 | auroc | 0.900000 | 0.800000 |');
    expect(readMetricsFile(refFile).cells[0].metrics.auroc).toBe(0.8);
    expect(cli(['check', run, '--reference', refFile]).code).toBe(0);
  });

  it('answers a missing reference or run with exit code 2 and one line', () => {
    const dir = tempDir('causalmmm-check-');
    const runFile = path.join(dir, 'results.json');
    writeFileSync(runFile, JSON.stringify(reference()));
    const noRef = cli(['check', runFile, '--reference', path.join(dir, 'nope.json')]);
    expect(noRef.code).toBe(2);
    expect(noRef.stderr.trim().split('\n')).toHaveLength(1);
    expect(noRef.stderr).toContain('nope.json: no such reference');
    const noRun = cli(['check', path.join(dir, 'missing'), '--reference', runFile]);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('missing');
  });

  it('keeps the committed quick reference in the shape the check reads', () => {
    const ref = readMetricsFile(path.join(repoRoot, 'results/reference/quick.json'));
    expect(ref.experiment).toBe('quick');
    const config = readFileSync(path.join(repoRoot, 'configs/quick.yaml'), 'utf8');
    expect(ref.cells.some((c) => c.method === 'causalmmm')).toBe(true);
    expect(config).toContain('method: causalmmm');
  });
});
