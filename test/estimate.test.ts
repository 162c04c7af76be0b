import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperimentConfig } from '../experiments/config.js';
import { estimateWallTime, secondsAt, timedCells } from '../experiments/estimate.js';
import type { CellResult, ResultsFile } from '../experiments/results.js';
import { repoRoot } from './helpers.js';

/** Three seeds; two release-like datasets (one family), a VAR and NetSim's first 20 subjects; two methods. */
const config = parseExperimentConfig(
  `
experiment: estimate-test
seeds: 3
datasets:
  - { name: rl-100, kind: simulate, simulate: { preset: release-like, shops: 100 } }
  - { name: rl-200, kind: simulate, simulate: { preset: release-like, shops: 200 } }
  - { name: var, kind: simulate, simulate: { preset: var, shops: 5 } }
  - { kind: npy, path: ../datasets/netsim-sim3, shops: 20 }
methods:
  - method: granger-var
  - method: granger-lasso
`,
  path.join(repoRoot, 'configs', 'estimate-test.yaml'),
);

/** A finished cell of `label` (its method) with the given timing. */
function finishedCell(
  cell: Pick<CellResult, 'dataset' | 'label' | 'seed' | 'seconds' | 'cpuSeconds'>,
): CellResult {
  return { method: cell.label, options: {}, status: 'ok', metrics: {}, shops: 1, ...cell };
}

/** A results file of this config's experiment holding `cells`. */
function runOf(cells: CellResult[]): ResultsFile {
  return { experiment: 'estimate-test', createdAt: '', codeVersion: 'x', backend: 'cpu', config: 'x', cells };
}

describe('wall-time estimate from shrunk runs', () => {
  it('carries seconds to the full shop count along a line, or in proportion with one count', () => {
    // 2 s + 0.5 s per shop, measured at 5 and 20 shops.
    const line = [
      { shops: 5, seconds: 4.5 },
      { shops: 20, seconds: 12 },
    ];
    expect(secondsAt(line, 100)).toBeCloseTo(52, 10);
    expect(secondsAt([{ shops: 5, seconds: 10 }], 100)).toBeCloseTo(200, 10);
    // A falling line (noise) gives the proportional bound from the larger ratio instead.
    expect(
      secondsAt(
        [
          { shops: 5, seconds: 10 },
          { shops: 20, seconds: 8 },
        ],
        100,
      ),
    ).toBeCloseTo(200, 10);
  });

  it('reads each dataset’s shop count in a run from its overrides', () => {
    const cell = (dataset: string, label: string, seconds: number) =>
      finishedCell({ dataset, label, seed: 0, seconds });
    const run: ResultsFile = {
      ...runOf([]),
      overrides: {
        seeds: 1,
        maxShops: 10,
        cappedDatasets: [
          { dataset: 'rl-100', from: 100, to: 10 },
          { dataset: 'netsim-sim3', from: 20, to: 10 },
        ],
      },
      cells: [
        cell('rl-100', 'granger-var', 1),
        cell('var', 'granger-var', 3),
        cell('netsim-sim3', 'granger-var', 2),
        { ...cell('rl-100', 'granger-lasso', 9), status: 'failed' },
      ],
    };
    expect(timedCells(config, [run]).map((t) => [t.dataset, t.shops])).toEqual([
      ['rl-100', 10],
      ['var', 5],
      ['netsim-sim3', 10],
    ]);
  });

  it('sums the full grid over seeds, pools a simulator preset’s datasets and counts what was not measured', () => {
    const shrunk = { seed: 0, done: false };
    const timed = [
      // release-like: 2 s + 0.5 s per shop, measured on rl-100 at 5 shops and on rl-200 at 20.
      { dataset: 'rl-100', label: 'granger-var', shops: 5, seconds: 4.5, ...shrunk },
      { dataset: 'rl-200', label: 'granger-var', shops: 20, seconds: 12, ...shrunk },
      { dataset: 'var', label: 'granger-var', shops: 5, seconds: 3, ...shrunk },
      { dataset: 'netsim-sim3', label: 'granger-var', shops: 10, seconds: 2, ...shrunk },
      { dataset: 'var', label: 'granger-lasso', shops: 5, seconds: 7, ...shrunk },
    ];
    const estimate = estimateWallTime(config, timed, 2);
    expect(estimate.cells).toBe(3 * 4 * 2);
    // granger-lasso on rl-100, rl-200 and NetSim, three seeds each.
    expect(estimate.unmeasured).toBe(9);
    // Per seed: 52 + 102 (the line) + 3 (VAR at its full size) + 4 (NetSim 10 → 20) + 7.
    expect(estimate.cpuSeconds).toBeCloseTo(3 * (52 + 102 + 3 + 4 + 7), 8);
    expect(estimate.wallSeconds).toBeCloseTo(estimate.cpuSeconds / 2, 8);
    expect(estimate.longestCell).toBeCloseTo(102, 8);
    expect(estimate.byLabel.map(([label]) => label)).toEqual(['granger-var', 'granger-lasso']);
    expect(estimate.doneCells).toBe(0);
    expect(estimate.remainingCpuSeconds).toBeCloseTo(estimate.cpuSeconds, 8);
  });

  it('prices a partial run of the config itself by its CPU seconds and counts what is left', () => {
    const cell = (dataset: string, seed: number, seconds: number, cpuSeconds?: number) =>
      finishedCell({
        dataset,
        label: 'granger-var',
        seed,
        seconds,
        ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
      });
    // var's seed 0 ran 900 s of wall time while the run was paused, 3 s of CPU.
    const run = runOf([cell('var', 0, 900, 3), cell('var', 1, 5), cell('rl-100', 0, 40, 40)]);
    const timed = timedCells(config, [run]);
    expect(timed.map((t) => [t.seed, t.seconds, t.done])).toEqual([
      [0, 3, true],
      [1, 5, true],
      [0, 40, true],
    ]);
    const estimate = estimateWallTime(config, timed, 2);
    expect(estimate.doneCells).toBe(3);
    // var: the larger of its two seeds at one shop count (3 and 5 s: 5 s) for seed 2;
    // rl-100: 40 s for seeds 1 and 2; rl-200: 80 s for each of its 3 seeds.
    expect(estimate.remainingCpuSeconds).toBeCloseTo(5 + 2 * 40 + 3 * 80, 8);
  });
});
