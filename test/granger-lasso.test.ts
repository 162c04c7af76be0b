import { describe, expect, it } from 'vitest';
import {
  grangerLasso,
  grangerLassoOptions,
  lassoMoments,
  lassoPathScores,
} from '../baselines/granger-lasso.js';
import { Panel } from '../src/data/panel.js';
import { simulate } from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';
import { shopSeries } from '../src/methods/series.js';
import {
  easyVar,
  expectBadOptions,
  expectDeterministicAndTidy,
  runScored,
  smallLorenz,
} from './structure-helpers.js';

describe('granger-lasso', () => {
  it('recovers the graph of a 5-series VAR per shop and pooled', async () => {
    for (const pool of [false, true]) {
      const { auroc, output } = await runScored(grangerLasso, easyVar, { ...grangerLasso.testConfig, pool });
      expect(auroc).toBeGreaterThanOrEqual(0.95);
      if (pool) expect(output.graphScores![1]).toEqual(output.graphScores![0]);
    }
  });

  it('recovers most of a small Lorenz-96 with a short lag', async () => {
    const { auroc } = await runScored(grangerLasso, smallLorenz, { lag: 2, pathLength: 30 });
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('scores by entry on the path: the first group to enter gets λ_max, scores are tie-free', () => {
    // Two independent designs: x1 drives x0 strongly, x2 weakly, x3 not at all (K = 1, N = 4).
    const N = 4;
    const K = 1;
    const gram = new Float64Array(16);
    for (let a = 0; a < N; a++) gram[a * N + a] = 1;
    const cross = new Float64Array(N * N);
    cross[1 * N + 0] = 0.8; // ⟨x1[t−1], x0[t]⟩
    cross[2 * N + 0] = 0.3;
    cross[3 * N + 0] = 0.05;
    const o = grangerLassoOptions.parse({ lag: 1 });
    const { scores, lambdaMax } = lassoPathScores({ gram, cross, P: N * K }, N, K, 0, o);
    expect(lambdaMax).toBeCloseTo(0.8, 12);
    // Orthonormal design: group j enters exactly at λ = |⟨x_j, y⟩|.
    expect(scores[1]).toBeCloseTo(0.8, 12);
    expect(scores[2]).toBeCloseTo(0.3, 12);
    expect(scores[3]).toBeCloseTo(0.05, 12);
  });

  it('is deterministic', async () => {
    await expectDeterministicAndTidy(grangerLasso, easyVar, grangerLasso.testConfig);
  });

  it('rejects bad options by name and a lag too large for the data', async () => {
    expectBadOptions(grangerLassoOptions, [
      { lag: 0 },
      { pathLength: 1 },
      { minRatio: 1 },
      { pool: 'yes' },
      { lags: 2 },
    ]);
    const short = new Panel({ shape: [1, 3, 5], values: new Float32Array(15).map((_, k) => Math.sin(k)) });
    await expect(
      grangerLasso.run({ panel: short, horizon: 0, seed: 0 }, grangerLassoOptions.parse({ lag: 4 })),
    ).rejects.toThrow(UserError);
  });
});

describe('granger-lasso path', () => {
  it('stops the path once every source is scored, with the scores of the full path', () => {
    const panel = simulate({ preset: 'funnel-12', seed: 3, shops: 2 });
    const { nodeCount: N, steps: T } = panel;
    const o = grangerLassoOptions.parse({});
    let shortened = 0;
    for (let s = 0; s < panel.shops; s++) {
      const m = lassoMoments([shopSeries(panel.shopValues(s), N, T, true)], N, T, o.lag);
      for (let target = 0; target < N; target++) {
        const early = lassoPathScores(m, N, o.lag, target, o);
        const full = lassoPathScores(m, N, o.lag, target, o, true);
        expect(Array.from(early.scores)).toEqual(Array.from(full.scores));
        expect(early.sweeps).toBeLessThanOrEqual(full.sweeps);
        if (early.sweeps < full.sweeps) shortened++;
      }
    }
    // the exit must actually be taken on this data, or the comparison proves nothing
    expect(shortened).toBeGreaterThan(panel.nodeCount);
  });
});
