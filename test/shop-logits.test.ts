import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { fitShopLogits } from '../src/causalmmm/shop-logits.js';
import { simulate } from '../src/data/simulate.js';
import { graphMetrics } from '../src/metrics/graph.js';
import { useBackend } from './helpers.js';

useBackend();

describe('fitShopLogits (the graph the ELBO prefers)', () => {
  const panel = simulate({ preset: 'var', seed: 11, shops: 6, p: 5, steps: 300, sparsity: 0.4 });
  const options = causalmmmOptions.parse({
    hidden: 16,
    messages: 'own-lags',
    candidate: 'tanh',
    predictSteps: 1,
  });
  const settings = { steps: 150, batchSize: 16, window: 40, learningRate: 5e-3, edgeRate: 10, seed: 3 };

  it("recovers each shop's graph of an easy VAR, and leaves no tensor behind", () => {
    const before = tf.memory().numTensors;
    const checkpoints: number[] = [];
    const logits = fitShopLogits(panel, options, settings, (step) => checkpoints.push(step), 50);
    expect(tf.memory().numTensors).toBe(before);
    expect(checkpoints).toEqual([50, 100, 150]);
    expect(logits).toHaveLength(6);
    const truth = Array.from({ length: 6 }, (_, s) => panel.trueGraph(s)!);
    expect(graphMetrics(truth, logits, undefined, 5).auroc).toBeGreaterThan(0.9);
  }, 120_000);

  it('gives the same logits for the same seed, and rejects a window longer than the series', () => {
    const short = { ...settings, steps: 5 };
    expect(fitShopLogits(panel, options, short)).toEqual(fitShopLogits(panel, options, short));
    expect(() => fitShopLogits(panel, options, { ...short, window: 301 })).toThrow(
      /window 301 must be within 3…300/,
    );
  });
});
