import { describe, expect, it } from 'vitest';
import { gvar, gvarOptions, stabilityGraph } from '../baselines/gvar.js';
import { graphMetrics } from '../src/metrics/graph.js';
import {
  easyVar,
  expectBadOptions,
  expectDeterministicAndTidy,
  runScored,
  smallLorenz,
  useBackend,
} from './structure-helpers.js';

useBackend();

describe('gvar', () => {
  it('recovers the graph of a 5-series VAR, with a stability-thresholded binary graph', async () => {
    const { auroc, output } = await runScored(gvar, easyVar, { ...gvar.testConfig, stability: true });
    expect(auroc).toBeGreaterThanOrEqual(0.9);
    expect(output.graphs).toHaveLength(easyVar.shops);
    const truth = easyVar.trueGraph(0)!;
    const m = graphMetrics([truth, truth, truth], output.graphScores!, output.graphs, easyVar.nodeCount);
    expect(m.f1).toBeGreaterThan(0.5);
  });

  it('recovers a small Lorenz-96', async () => {
    const { auroc } = await runScored(gvar, smallLorenz, {
      lag: 2,
      hiddenLayers: 1,
      hiddenSize: 16,
      epochs: 80,
      batchSize: 400,
      lr: 0.02,
      lambda: 0.3,
    });
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('picks the quantile where the forward and reversed graphs agree', () => {
    // Both fits rank the same 3 off-diagonal entries of a 4 × 4 matrix far above the rest.
    const N = 4;
    const forward = new Float64Array(16).map((_, k) => 0.01 * k);
    const reversed = Float64Array.from(forward).reverse();
    for (const k of [1, 6, 11]) {
      forward[k] = 5 + k;
      reversed[k] = 9 - k / 10;
    }
    const { graph, agreement } = stabilityGraph(forward, reversed, N, 20);
    expect(agreement).toBe(1);
    expect(Array.from(graph).flatMap((v, k) => (v ? [k] : []))).toEqual([1, 6, 11]);
  });

  it('is deterministic and keeps the tensor count flat', async () => {
    await expectDeterministicAndTidy(gvar, easyVar.selectShops([0]), gvar.testConfig);
  });

  it('rejects bad options by name', () => {
    expectBadOptions(gvarOptions, [{ lag: 0 }, { alpha: 2 }, { gamma: -1 }, { quantiles: 1 }, { epoch: 3 }]);
  });
});
