import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { checkSameSchema, loadModel, saveModel } from '../src/causalmmm/persist.js';
import { edgeProbabilities, forecastShops, prepareSeries, trainCausalmmm } from '../src/causalmmm/train.js';
import { simulate } from '../src/data/simulate.js';
import { expectUserError, useBackend, useTempDirs } from './helpers.js';

useBackend();
const tempDir = useTempDirs();

describe('CausalMMM model save/load', () => {
  const panel = simulate({ preset: 'release-like', seed: 3, shops: 4, steps: 30 });
  const options = causalmmmOptions.parse({
    hidden: 8,
    epochs: 2,
    batchSize: 2,
    predictSteps: 3,
    learningRate: 5e-3,
  });

  it('loads a model that predicts exactly what the saved one did, without leaking tensors', () => {
    const series = prepareSeries(panel, options.scale);
    const { model } = trainCausalmmm(series, options, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    const dir = tempDir('causalmmm-model-');
    saveModel(dir, model, panel, series, { method: 'causalmmm', seed: 0, codeVersion: 'test' });
    const before = {
      edges: edgeProbabilities(model, series),
      forecast: forecastShops(model, series, 5, 1),
    };
    model.dispose();

    const tensors = tf.memory().numTensors;
    const loaded = loadModel(dir);
    expect(loaded.meta.nodes.map((n) => n.name)).toEqual(panel.nodes.map((n) => n.name));
    expect(Array.from(loaded.panel.values)).toEqual(Array.from(panel.values));
    expect(edgeProbabilities(loaded.model, loaded.series)).toEqual(before.edges);
    expect(Array.from(forecastShops(loaded.model, loaded.series, 5, 1))).toEqual(Array.from(before.forecast));
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('refuses data with other nodes or context, and broken model files, as user errors', () => {
    const series = prepareSeries(panel, options.scale);
    const { model } = trainCausalmmm(series, { ...options, epochs: 1 }, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    const dir = tempDir('causalmmm-model-');
    const meta = saveModel(dir, model, panel, series, { method: 'causalmmm', seed: 0, codeVersion: 'test' });
    model.dispose();
    const renamed = simulate({ preset: 'funnel-12', seed: 3, shops: 2, steps: 30 });
    expectUserError(() => checkSameSchema(meta, dir, renamed, 'other.csv'), 'other.csv', 'do not match', dir);
    const noContext = panel.selectShops([0]);
    Object.assign(noContext, { contextNames: [] });
    expectUserError(() => checkSameSchema(meta, dir, noContext, 'nocontext.csv'), 'context columns');

    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(8));
    expectUserError(() => loadModel(dir), 'weights.bin', 'numbers');
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, formatVersion: 99 }));
    expectUserError(() => loadModel(dir), 'model.json', 'formatVersion');
    expectUserError(() => loadModel(path.join(dir, 'missing')), 'model.json', 'no such file');
  });
});
