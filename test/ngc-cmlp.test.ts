import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { cmlpOptions, cmlpProx, ngcCmlp } from '../baselines/ngc-cmlp.js';
import {
  easyVar,
  expectBadOptions,
  expectDeterministicAndTidy,
  runScored,
  smallLorenz,
  useBackend,
} from './structure-helpers.js';

useBackend();

describe('ngc-cmlp', () => {
  it('recovers the graph of a 5-series VAR', async () => {
    const { auroc } = await runScored(ngcCmlp, easyVar, ngcCmlp.testConfig);
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('recovers a small Lorenz-96', async () => {
    const { auroc } = await runScored(ngcCmlp, smallLorenz, {
      lag: 3,
      hidden: 10,
      maxIter: 300,
      checkEvery: 50,
      lr: 0.2,
    });
    expect(auroc).toBeGreaterThanOrEqual(0.9);
  });

  it('applies the group-lasso and hierarchical proximal steps exactly', () => {
    // One target, one source, K = 2 lags, H = 1: lag 1 weight 3, lag 2 weight 4 (norm 5).
    const w = tf.tensor4d([3, 4], [1, 1, 2, 1]);
    const gl = cmlpProx(w, 'GL', 1).dataSync();
    expect(gl[0]).toBeCloseTo(3 * (1 - 1 / 5), 6);
    expect(gl[1]).toBeCloseTo(4 * (1 - 1 / 5), 6);
    // Hierarchical: first {lag 2} alone (4 → 3), then {lag 1, lag 2} (norm √18).
    const h = cmlpProx(w, 'H', 1).dataSync();
    const shrink = 1 - 1 / Math.sqrt(18);
    expect(h[0]).toBeCloseTo(3 * shrink, 6);
    expect(h[1]).toBeCloseTo(3 * shrink, 6);
    // A large threshold removes the far lag first, then the whole group.
    expect(Array.from(cmlpProx(w, 'H', 4).dataSync())).toEqual([0, 0]);
    tf.dispose(w);
  });

  it('is deterministic and keeps the tensor count flat', async () => {
    await expectDeterministicAndTidy(ngcCmlp, easyVar.selectShops([0]), ngcCmlp.testConfig);
  });

  it('rejects bad options by name', () => {
    expectBadOptions(cmlpOptions, [
      { lag: 0 },
      { hidden: 2.5 },
      { penalty: 'L1' },
      { lr: 0 },
      { lambda: -1 },
      { hiden: 3 },
    ]);
  });
});
