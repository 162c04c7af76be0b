import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readCellRecord } from '../experiments/cells.js';
import { repoRoot, useTempDirs } from './helpers.js';

const bin = path.join(repoRoot, 'bin/causalmmm.js');
const tempDir = useTempDirs();

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cellLines = (stderr: string) => stderr.split('\n').filter((l) => /\[\d+\/\d+\] /.test(l));
const metricsOf = (dir: string) =>
  JSON.stringify(
    JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')).cells.map(
      (c: { label: string; seed: number; status: string; metrics: object; perShop: object }) => [
        c.label,
        c.seed,
        c.status,
        c.metrics,
        c.perShop,
      ],
    ),
  );

describe('run under faults', () => {
  it('survives kill -9: finished cells stay whole, the rerun runs only the rest and matches an uninterrupted run', async () => {
    const dir = tempDir('causalmmm-kill-');
    const config = path.join(dir, 'slow.yaml');
    // 12 cells of a fraction of a second each (pairwise Granger tests on 30 funnel-20 shops).
    writeFileSync(
      config,
      [
        'experiment: kill-test',
        'seeds: 6',
        'backend: cpu',
        'datasets:',
        '  - kind: simulate',
        '    simulate: { preset: funnel-20, shops: 30 }',
        'methods:',
        '  - method: granger-var',
        '    options: { test: pairwise }',
        '    grid: { lag: [1, 2] }',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'out');
    const cellsDir = path.join(out, 'cells');
    const finished = () =>
      existsSync(cellsDir) ? readdirSync(cellsDir).filter((f) => !f.startsWith('.')) : [];
    const child = spawn(
      process.execPath,
      [bin, 'run', config, '--out', out, '--workers', '2', '--no-local-start'],
      {
        cwd: repoRoot,
        stdio: 'ignore',
        env: { ...process.env, CI: 'true' },
      },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 90_000;
    while (finished().length < 3 && Date.now() < deadline) await sleep(20);
    child.kill('SIGKILL');
    await exited;
    const atKill = finished().length;
    expect(atKill).toBeGreaterThanOrEqual(3);
    expect(atKill).toBeLessThan(12);
    // The orphaned workers stop: no cell appears after the kill.
    await sleep(1500);
    expect(finished()).toHaveLength(atKill);
    expect(existsSync(path.join(out, 'results.json'))).toBe(false);
    for (const file of finished()) expect(readCellRecord(path.join(cellsDir, file)).cell.status).toBe('ok');

    const resumed = cli(['run', config, '--out', out, '--workers', '2']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`kill-test: 12 cells, ${atKill} already done`);
    expect(cellLines(resumed.stderr)).toHaveLength(12 - atKill);
    expect(finished()).toHaveLength(12);

    const reference = path.join(dir, 'reference');
    expect(cli(['run', config, '--out', reference, '--workers', '1']).code).toBe(0);
    expect(metricsOf(out)).toBe(metricsOf(reference));
  }, 180_000);

  it('runs shards from the CLI and merges them; failed cells show in the tables and in the exit code', () => {
    const dir = tempDir('causalmmm-shards-');
    const config = path.join(dir, 'c.yaml');
    writeFileSync(
      config,
      [
        'experiment: shard-test',
        'seeds: 2',
        'backend: cpu',
        'datasets:',
        '  - kind: simulate',
        '    simulate: { preset: var, shops: 2, steps: 200 }',
        'methods:',
        '  - method: granger-var',
        '  - method: granger-var',
        '    label: too-long-lag',
        '    options: { lag: 150 }',
        '',
      ].join('\n'),
    );
    const shardDirs = ['a', 'b'].map((name) => path.join(dir, name));
    // Grid order is seed, dataset, variant: shard 0 gets both granger-var cells, shard 1 the failing ones.
    const runs = shardDirs.map((out, i) =>
      cli(['run', config, '--shard', `${i}/2`, '--out', out, '--workers', '1']),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 1]);
    expect(runs.map((r) => cellLines(r.stderr).length)).toEqual([2, 2]);
    expect(runs[1].stderr).toMatch(/FAILED \(UserError: .*lag/);
    const merged = path.join(dir, 'merged');
    const partial = cli(['merge', shardDirs[0], '--out', path.join(dir, 'partial')]);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toContain('2 of 4 cells are missing');
    const r = cli(['merge', ...shardDirs, '--out', merged]);
    expect(r.stderr).toContain('2 of 4 cells failed');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\| too-long-lag \| failed \|/);
    const results = JSON.parse(readFileSync(path.join(merged, 'results.json'), 'utf8'));
    expect(results.cells.map((c: { label: string; seed: number }) => `${c.label}/${c.seed}`)).toEqual([
      'granger-var/0',
      'too-long-lag/0',
      'granger-var/1',
      'too-long-lag/1',
    ]);
    expect(readFileSync(path.join(merged, 'table.md'), 'utf8')).toContain('| too-long-lag | failed |');
    // The merged folder resumes like a run: nothing is left to compute.
    const rerun = cli(['run', config, '--out', merged]);
    expect(rerun.stderr).toContain('4 cells, 4 already done');
    expect(cellLines(rerun.stderr)).toHaveLength(0);
  }, 120_000);
});
