import { describe, expect, it } from 'vitest';
import { ingra, ingraOptions } from '../baselines/ingra.js';
import { simulate } from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';
import { graphAuroc } from '../src/metrics/graph.js';
import {
  easyVar,
  expectBadOptions,
  expectDeterministicAndTidy,
  runScored,
  useBackend,
} from './structure-helpers.js';

useBackend();

describe('ingra', () => {
  it('recovers the graph of a 5-series VAR with one global model', async () => {
    const { auroc } = await runScored(ingra, easyVar, ingra.testConfig);
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('recovers a small Lorenz-96 pooled over shops', async () => {
    const lorenz = simulate({ preset: 'lorenz96', seed: 2, shops: 3, p: 8, steps: 300 });
    const { auroc } = await runScored(ingra, lorenz, {
      lag: 3,
      hidden: 16,
      iterations: 150,
      lr: 0.04,
      batchShops: 3,
    });
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('infers the graphs of shops it never trained on (inductive)', async () => {
    const panel = simulate({ preset: 'var', seed: 9, shops: 8, p: 5, steps: 300, sparsity: 0.4 });
    const { output } = await runScored(ingra, panel, { ...ingra.testConfig, trainFraction: 0.5 });
    expect(output.info?.trainShops).toBe(4);
    for (const s of [4, 5, 6, 7]) {
      expect(graphAuroc(panel.trueGraph(s)!, output.graphScores![s], panel.nodeCount)).toBeGreaterThanOrEqual(
        0.9,
      );
    }
  });

  it('is deterministic and keeps the tensor count flat', async () => {
    await expectDeterministicAndTidy(ingra, easyVar, ingra.testConfig);
  });

  it('rejects bad options by name, and held-out shops without pooling', async () => {
    expectBadOptions(ingraOptions, [
      { prototypes: 0 },
      { temperature: 0 },
      { trainFraction: 0 },
      { pool: 1 },
      { protos: 2 },
    ]);
    await expect(
      ingra.run(
        { panel: easyVar, horizon: 0, seed: 0 },
        ingraOptions.parse({ pool: false, trainFraction: 0.5 }),
      ),
    ).rejects.toThrow(UserError);
  });
});
