import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { checkSameSchema, loadModel, saveModel } from '../src/causalmmm/persist.js';
import {
  edgeProbabilities,
  forecastShops,
  learnedGraph,
  prepareSeries,
  trainCausalmmm,
} from '../src/causalmmm/train.js';
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
    const { model, snapshots } = trainCausalmmm(series, options, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    expect(snapshots).toHaveLength(2);
    const dir = tempDir('causalmmm-model-');
    const meta = saveModel(
      dir,
      model,
      panel,
      series,
      { method: 'causalmmm', seed: 0, codeVersion: 'test' },
      snapshots,
    );
    expect(meta.graphSnapshots).toBe(2);
    const before = {
      edges: edgeProbabilities(model, series),
      graph: learnedGraph(model, snapshots, series, 0),
      forecast: forecastShops(model, series, 5, 1),
    };
    model.dispose();

    const tensors = tf.memory().numTensors;
    const loaded = loadModel(dir);
    expect(loaded.meta.nodes.map((n) => n.name)).toEqual(panel.nodes.map((n) => n.name));
    expect(Array.from(loaded.panel.values)).toEqual(Array.from(panel.values));
    expect(edgeProbabilities(loaded.model, loaded.series)).toEqual(before.edges);
    // The default graph, the mean over the snapshots, is the trained model's own.
    expect(loaded.snapshots).toEqual(snapshots);
    expect(learnedGraph(loaded.model, loaded.snapshots, loaded.series, 0)).toEqual(before.graph);
    expect(before.graph?.probabilities).not.toEqual(before.edges);
    expect(Array.from(forecastShops(loaded.model, loaded.series, 5, 1))).toEqual(Array.from(before.forecast));
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('saves no snapshots under graphAverage last, and reads older folders as last', () => {
    const series = prepareSeries(panel, options.scale);
    const last = { ...options, epochs: 1, graphAverage: 'last' as const };
    const { model, snapshots } = trainCausalmmm(series, last, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    expect(snapshots).toHaveLength(0);
    const dir = tempDir('causalmmm-model-');
    const meta = saveModel(dir, model, panel, series, { method: 'causalmmm', seed: 0, codeVersion: 'test' });
    const edges = edgeProbabilities(model, series);
    model.dispose();
    expect(meta.graphSnapshots).toBeUndefined();
    expect(existsSync(path.join(dir, 'graph-snapshots.bin'))).toBe(false);
    const { graphAverage: _, ...older } = meta.options as Record<string, unknown>;
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, options: older }));
    const loaded = loadModel(dir);
    expect(loaded.meta.options.graphAverage).toBe('last');
    expect(learnedGraph(loaded.model, loaded.snapshots, loaded.series, 0)?.probabilities).toEqual(edges);
    loaded.model.dispose();
  });

  it('refuses data with other nodes or context, and broken model files, as user errors', () => {
    const series = prepareSeries(panel, options.scale);
    const { model, snapshots } = trainCausalmmm(series, { ...options, epochs: 1 }, 0, {
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    });
    const dir = tempDir('causalmmm-model-');
    const info = { method: 'causalmmm', seed: 0, codeVersion: 'test' };
    expect(() => saveModel(dir, model, panel, series, info)).toThrow(/snapshots/);
    const meta = saveModel(dir, model, panel, series, info, snapshots);
    model.dispose();
    const renamed = simulate({ preset: 'funnel-12', seed: 3, shops: 2, steps: 30 });
    expectUserError(() => checkSameSchema(meta, dir, renamed, 'other.csv'), 'other.csv', 'do not match', dir);
    const noContext = panel.selectShops([0]);
    Object.assign(noContext, { contextNames: [] });
    expectUserError(() => checkSameSchema(meta, dir, noContext, 'nocontext.csv'), 'context columns');

    const snapshotsFile = path.join(dir, 'graph-snapshots.bin');
    const snapshotBytes = readFileSync(snapshotsFile);
    writeFileSync(snapshotsFile, snapshotBytes.subarray(4));
    expectUserError(() => loadModel(dir), 'graph-snapshots.bin', 'snapshot');
    rmSync(snapshotsFile);
    expectUserError(() => loadModel(dir), 'graph-snapshots.bin', 'no such file');
    writeFileSync(snapshotsFile, snapshotBytes);
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, graphSnapshots: undefined }));
    expectUserError(() => loadModel(dir), 'model.json', 'graphSnapshots');

    writeFileSync(path.join(dir, 'weights.bin'), new Uint8Array(8));
    expectUserError(() => loadModel(dir), 'weights.bin', 'numbers');
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, formatVersion: 99 }));
    expectUserError(() => loadModel(dir), 'model.json', 'formatVersion');
    expectUserError(() => loadModel(path.join(dir, 'missing')), 'model.json', 'no such file');
  });
});
