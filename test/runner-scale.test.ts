import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cellFile, parseShard, planCells, shardCells } from '../experiments/cells.js';
import { parseExperimentConfig } from '../experiments/config.js';
import { mergeRuns } from '../experiments/merge.js';
import type { CellResult } from '../experiments/results.js';
import { codeVersion, expandMethodSpec, runCell, runExperiment } from '../experiments/runner.js';
import { simulate } from '../src/data/simulate.js';
import { defineMethod } from '../src/methods/method.js';
import { plainProgress } from '../src/progress.js';
import { expectUserError, repoRoot, smallGridYaml, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

const yaml = smallGridYaml('scale-test');
const config = () => parseExperimentConfig(yaml, path.join(repoRoot, 'configs/scale-test.yaml'));
/** Everything a cell computed, as bytes: what must not depend on workers, shards or resuming. */
const numbers = (cells: readonly CellResult[]) =>
  JSON.stringify(cells.map((c) => [c.dataset, c.label, c.seed, c.status, c.error, c.metrics, c.perShop]));

/** A run's progress lines, with the number of cells it actually ran. */
function recorder() {
  const lines: string[] = [];
  return { lines, progress: plainProgress((line) => lines.push(line)) };
}
const ranCells = (lines: string[]) => lines.filter((l) => /\[\d+\/\d+\]/.test(l)).length;

describe('runner at scale', () => {
  it('gives byte-identical numbers on 1 worker (in-process), on a pool of 2 worker processes, and on a mixed start', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const one = await runExperiment(config(), { workers: 1 });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const two = await runExperiment(config(), { workers: 2, localStart: false });
    expect(two.cells).toHaveLength(12);
    expect(two.cells.filter((c) => c.status === 'failed').map((c) => c.label)).toEqual(
      Array(4).fill('too-long-lag'),
    );
    expect(numbers(two.cells)).toBe(numbers(one.cells));
    // The default pool starts on cells in this process while workers load: same numbers.
    const mixed = await runExperiment(config(), { workers: 2 });
    expect(numbers(mixed.cells)).toBe(numbers(one.cells));
    expect(two.cells.map((c) => c.shops)).toEqual(one.cells.map((c) => c.shops));
  });

  it('writes one file per cell, skips finished cells on a rerun, reports the finished ones alone, recomputes with force or a damaged file', async () => {
    const cellsDir = path.join(tempDir('causalmmm-resume-'), 'cells');
    const first = recorder();
    const a = await runExperiment(config(), { cellsDir, progress: first.progress });
    expect(ranCells(first.lines)).toBe(12);
    const files = readdirSync(cellsDir);
    expect(files).toHaveLength(12);
    const record = JSON.parse(readFileSync(path.join(cellsDir, files[0]), 'utf8'));
    expect(record).toMatchObject({
      experiment: 'scale-test',
      codeVersion: codeVersion(),
      backend: 'cpu',
      total: 12,
    });

    const second = recorder();
    const b = await runExperiment(config(), { cellsDir, progress: second.progress, workers: 2 });
    expect(ranCells(second.lines)).toBe(0);
    expect(second.lines[0]).toMatch(/12 cells, 12 already done/);
    expect(numbers(b.cells)).toBe(numbers(a.cells));

    // A damaged cell file and a temp file left by a killed write: the cell reruns, the temp goes.
    const keys = planCells(config(), config().methods.flatMap(expandMethodSpec), {
      codeVersion: codeVersion(),
      backend: 'cpu',
    }).map((c) => c.key);
    writeFileSync(cellFile(cellsDir, keys[3]), '{"key": "trunc');
    const temp = path.join(cellsDir, `.${keys[4]}.json.tmp-1-1`);
    writeFileSync(temp, '{');
    utimesSync(temp, new Date(0), new Date(0));
    const third = recorder();
    const c = await runExperiment(config(), { cellsDir, progress: third.progress });
    expect(ranCells(third.lines)).toBe(1);
    expect(readdirSync(cellsDir)).toHaveLength(12);
    expect(numbers(c.cells)).toBe(numbers(a.cells));

    // A look at an unfinished run: the finished cells only, nothing run, the rest counted.
    for (const key of keys.slice(5, 8)) rmSync(cellFile(cellsDir, key));
    const look = recorder();
    const partial = await runExperiment(config(), { cellsDir, progress: look.progress, finishedOnly: true });
    expect(ranCells(look.lines)).toBe(0);
    expect(partial.unfinished).toBe(3);
    expect(readdirSync(cellsDir)).toHaveLength(9);
    const lookedAt = new Set(
      partial.cells.map((cell) => JSON.stringify([cell.dataset, cell.label, cell.seed])),
    );
    expect(numbers(partial.cells)).toBe(
      numbers(a.cells.filter((cell) => lookedAt.has(JSON.stringify([cell.dataset, cell.label, cell.seed])))),
    );
    expect(lookedAt.size).toBe(9);
    const resumed = recorder();
    const whole = await runExperiment(config(), { cellsDir, progress: resumed.progress });
    expect(ranCells(resumed.lines)).toBe(3);
    expect(whole.unfinished).toBeUndefined();

    const forced = recorder();
    await runExperiment(config(), { cellsDir, progress: forced.progress, force: true });
    expect(ranCells(forced.lines)).toBe(12);

    // Two cells finished by another commit: recomputed by default, reused (and reported) on request.
    for (const key of keys.slice(0, 2)) {
      const file = cellFile(cellsDir, key);
      writeFileSync(
        file,
        JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), codeVersion: 'older' }),
      );
    }
    const logged: string[] = [];
    const reused = recorder();
    const d = await runExperiment(config(), {
      cellsDir,
      progress: reused.progress,
      reuseOtherCode: true,
      log: (line) => logged.push(line),
    });
    expect(ranCells(reused.lines)).toBe(0);
    expect(d.otherCode).toEqual({ older: 2 });
    expect(logged.join('\n')).toContain('2 by older');
    const recomputed = recorder();
    const e = await runExperiment(config(), { cellsDir, progress: recomputed.progress });
    expect(ranCells(recomputed.lines)).toBe(2);
    expect(e.otherCode).toBeUndefined();
    expect(JSON.parse(readFileSync(cellFile(cellsDir, keys[0]), 'utf8')).codeVersion).toBe(codeVersion());
    expect(numbers(e.cells)).toBe(numbers(a.cells));
  });

  it('splits the grid into disjoint shards that merge back into the whole run', async () => {
    const whole = await runExperiment(config());
    const dirs = [0, 1, 2].map((i) => tempDir(`causalmmm-shard${i}-`));
    const shards = await Promise.all(
      dirs.map((dir, i) =>
        runExperiment(config(), { shard: { index: i, count: 3 }, cellsDir: path.join(dir, 'cells') }),
      ),
    );
    expect(shards.map((s) => s.cells.length)).toEqual([4, 4, 4]);
    expect(shards[1].shard).toBe('1/3');
    const partial = mergeRuns(dirs.slice(0, 2));
    expect(partial.missing).toBe(4);
    const merged = mergeRuns(dirs);
    expect(merged.missing).toBe(0);
    expect(merged.tableMetrics).toEqual(['auroc', 'auprc']);
    expect(numbers(merged.results.cells)).toBe(numbers(whole.cells));
    // The forecast protocol a whole run states is stated by the merge too.
    expect(whole.protocol).toBeDefined();
    expect(merged.results.protocol).toEqual(whole.protocol);
    expectUserError(() => mergeRuns([path.join(dirs[0], 'nowhere')]), 'nowhere: no such directory');
    expectUserError(() => mergeRuns([path.join(dirs[0], 'cells')]), 'no cells/ folder');
  });

  it('assigns cells to shards by grid position and rejects a bad --shard', () => {
    const cells = Array.from({ length: 10 }, (_, index) => ({ index }));
    const parts = [0, 1, 2].map((index) => shardCells(cells, { index, count: 3 }).map((c) => c.index));
    expect(parts).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ]);
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['4/4', '1/0', '-1/3', 'a/b', '1', '1/2/3'])
      expectUserError(() => parseShard(bad), '--shard');
  });

  it('keys cells by what they compute: not by display names, but by options, seed and data', () => {
    const variants = config().methods.flatMap(expandMethodSpec);
    const identity = { codeVersion: 'v1', backend: 'cpu' };
    const keys = planCells(config(), variants, identity).map((c) => c.key);
    expect(new Set(keys).size).toBe(12);
    const renamed = parseExperimentConfig(
      yaml.replace('name: netsim', 'name: netsim-renamed').replace('label: too-long-lag', 'label: other'),
      path.join(repoRoot, 'configs/scale-test.yaml'),
    );
    expect(planCells(renamed, renamed.methods.flatMap(expandMethodSpec), identity).map((c) => c.key)).toEqual(
      keys,
    );
    // The code version lives in the cell's record, not its key (the runner decides what to reuse).
    expect(planCells(config(), variants, { ...identity, codeVersion: 'v2' }).map((c) => c.key)).toEqual(keys);
    expect(planCells(config(), variants, { ...identity, backend: 'wasm' })[0].key).not.toBe(keys[0]);
    // Options at their defaults are not in the key: spelling one out, or a new option with a
    // default, leaves it alone; a value off the default changes it.
    const spelt = parseExperimentConfig(
      yaml.replace('options: { lag: 90 }', 'options: { lag: 90, test: conditional, fdr: 0.05 }'),
      path.join(repoRoot, 'configs/scale-test.yaml'),
    );
    expect(planCells(spelt, spelt.methods.flatMap(expandMethodSpec), identity).map((c) => c.key)).toEqual(
      keys,
    );
    const changed = parseExperimentConfig(
      yaml.replace('options: { lag: 90 }', 'options: { lag: 90, fdr: 0.1 }'),
      path.join(repoRoot, 'configs/scale-test.yaml'),
    );
    const changedKeys = planCells(changed, changed.methods.flatMap(expandMethodSpec), identity).map(
      (c) => c.key,
    );
    expect(changedKeys.filter((k) => !keys.includes(k))).toHaveLength(4);
    const longer = parseExperimentConfig(
      yaml.replace('horizon: 5', 'horizon: 6'),
      path.join(repoRoot, 'configs/x.yaml'),
    );
    expect(planCells(longer, variants, identity)[0].key).not.toBe(keys[0]);
  });

  it('fails a cell whose training loss turns NaN or infinite, and one whose method throws', async () => {
    const trainer = (losses: number[]) =>
      defineMethod({
        name: 'fake-trainer',
        title: 'test double reporting a fixed loss sequence',
        paper: '—',
        produces: ['graph'],
        options: z.strictObject({}),
        testConfig: {},
        async run({ panel, onProgress }) {
          losses.forEach((loss, i) => {
            onProgress?.({ epoch: i + 1, epochs: losses.length, loss });
          });
          return {
            graphScores: Array.from({ length: panel.shops }, () => new Float64Array(panel.nodeCount ** 2)),
          };
        },
      });
    const panel = simulate({ preset: 'var', seed: 0, shops: 1, steps: 50 });
    const run = (losses: number[]) => {
      const seen: number[] = [];
      const outcome = runCell(
        { method: trainer(losses), label: 'fake', options: {} },
        { scored: panel, input: { panel, horizon: 0, seed: 0 } },
        [1],
        (e) => seen.push(e.epoch),
      );
      return outcome.then((o) => ({ ...o, seen }));
    };
    const ok = await run([1, 0.5, 0.25]);
    expect(ok.status).toBe('ok');
    expect(ok.seen).toEqual([1, 2, 3]);
    const nan = await run([1, Number.NaN, 0.2]);
    expect(nan.status).toBe('failed');
    expect(nan.error).toBe('NumericalError: training loss is NaN at epoch 2');
    expect(nan.seen).toEqual([1]);
    expect((await run([1, Number.POSITIVE_INFINITY])).error).toMatch(/Infinity at epoch 2/);
    const throwing = defineMethod({ ...trainer([]), run: () => Promise.reject(new RangeError('boom')) });
    const thrown = await runCell(
      { method: throwing, label: 'x', options: {} },
      { scored: panel, input: { panel, horizon: 0, seed: 0 } },
      [1],
    );
    expect(thrown).toMatchObject({ status: 'failed', error: 'RangeError: boom' });
  });
});
