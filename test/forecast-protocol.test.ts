import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { grangerVar } from '../baselines/granger-var.js';
import { fitLstm, lstm } from '../baselines/lstm.js';
import { seasonalNaive } from '../baselines/seasonal-naive.js';
import { fitWideDeep, wideDeep } from '../baselines/wide-deep.js';
import { planCells, readCellRecord } from '../experiments/cells.js';
import type { ExperimentConfig } from '../experiments/config.js';
import { parseExperimentConfig } from '../experiments/config.js';
import { mergeRuns } from '../experiments/merge.js';
import {
  channelValues,
  evaluationSettings,
  forecastProtocol,
  graphShopIndices,
  heldOutShopIndices,
} from '../experiments/protocol.js';
import { expandMethodSpec, runExperiment, writeTables } from '../experiments/runner.js';
import { Panel } from '../src/data/panel.js';
import type { MethodInput } from '../src/methods/method.js';
import { METHODS } from '../src/methods/registry.js';
import { easyForecastPanel } from './forecast-easy.js';
import { expectUserError, useBackend } from './helpers.js';

useBackend();

function config(extra: string): ExperimentConfig {
  return parseExperimentConfig(
    `experiment: t\nhorizon: 5\n${extra}\ndatasets: [{ kind: simulate, simulate: { preset: var } }]\nmethods: [{ method: persistence }]\n`,
    'test.yaml',
  );
}

/** The panel with every non-channel value of the last `horizon` steps of `shops` replaced by junk. */
function corruptHorizonTargets(panel: Panel, horizon: number, shops: readonly number[]): Panel {
  const values = panel.values.slice();
  const channels = new Set(panel.channelIndices);
  for (const s of shops) {
    for (let n = 0; n < panel.nodeCount; n++) {
      if (channels.has(n)) continue;
      for (let t = panel.steps - horizon; t < panel.steps; t++)
        values[(s * panel.nodeCount + n) * panel.steps + t] = 1e6 * (t + 1);
    }
  }
  return new Panel({
    shape: [panel.shops, panel.nodeCount, panel.steps],
    values,
    nodes: [...panel.nodes],
    context: panel.context,
    contextNames: [...panel.contextNames],
    source: panel.source,
  });
}

describe('forecast protocol', () => {
  const panel = easyForecastPanel(10, 60, 3);

  it('defaults keep the old behaviour: time split, future spends unknown', () => {
    const c = config('');
    expect(forecastProtocol(c)).toMatchObject({
      futureSpend: 'unknown',
      shopContext: 'known',
      splits: ['time'],
    });
    const [setting] = evaluationSettings(seasonalNaive, panel, forecastProtocol(c), 0);
    expect(setting.split).toBe('time');
    expect(setting.input.futureChannels).toBeUndefined();
    expect(setting.input.trainPanel).toBeUndefined();
    expect(setting.input.panel.steps).toBe(55);
    expect(setting.future!.steps).toBe(5);
  });

  it('holds out disjoint shops, passes known spends and strips context when asked', () => {
    const protocol = forecastProtocol(
      config('futureSpend: known\nshopContext: unknown\nsplits: [time, shops]\nheldOutShops: 0.3'),
    );
    const [time, shops] = evaluationSettings(seasonalNaive, panel, protocol, 4);
    expect(time.input.futureChannels).toEqual(channelValues(panel.splitTime(5).future));
    expect(time.input.panel.context).toBeUndefined();
    expect(shops.split).toBe('shops');
    const { heldOut, train } = heldOutShopIndices(10, 0.3, 4, 'x');
    expect(heldOut).toHaveLength(3);
    expect([...heldOut, ...train].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(shops.scored.shopIds).toEqual(heldOut.map(String));
    expect(shops.input.panel.shopIds).toEqual(heldOut.map(String));
    expect(shops.input.trainPanel!.shopIds).toEqual(train.map(String));
    expect(shops.input.trainPanel!.steps).toBe(60);
    expect(shops.input.panel.steps).toBe(55);
    expect(shops.input.futureChannels).toHaveLength(3 * 2 * 5);
    // A graph-only view (horizon 0) is the whole panel, once.
    expect(evaluationSettings(seasonalNaive, panel, { ...protocol, horizon: 0 }, 4)).toHaveLength(1);
  });

  it('graphShops: every method of a (dataset, seed) scores the same seeded sample and sees every shop', () => {
    const protocol = { ...forecastProtocol(config('')), horizon: 0 };
    const [sampled] = evaluationSettings(seasonalNaive, panel, protocol, 4, 3);
    const [again] = evaluationSettings(grangerVar, panel, protocol, 4, 3);
    const scored = sampled.input.scoredShops!;
    expect(scored).toHaveLength(3);
    expect(scored).toEqual([...scored].sort((a, b) => a - b));
    expect(again.input.scoredShops).toEqual(scored);
    expect(sampled.input.panel).toBe(panel);
    expect(sampled.scored.shopIds).toEqual(scored.map((s) => panel.shopIds[s]));
    const otherSeeds = [5, 6, 7].map((seed) => graphShopIndices(10, 3, seed));
    expect(otherSeeds.some((other) => other!.join() !== scored.join())).toBe(true);
    // No sample when the dataset has no more shops than asked for, or none is asked for.
    for (const graphShops of [10, 12, undefined]) {
      const [whole] = evaluationSettings(seasonalNaive, panel, protocol, 4, graphShops);
      expect(whole.input.scoredShops).toBeUndefined();
      expect(whole.scored).toBe(panel);
    }
  });

  it('graphShops: a run scores the sample, and says so in results.json, its table and a merge of its shards', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'graph-shops-'));
    try {
      const sampled = parseExperimentConfig(
        'experiment: sampled\nseeds: 2\ngraphShops: 3\ndatasets: [{ kind: simulate, simulate: { preset: var, shops: 8, steps: 80 } }]\nmethods: [{ method: granger-var }]\n',
        path.join(dir, 'sampled.yaml'),
      );
      const shards = [0, 1].map((index) => path.join(dir, `shard${index}`));
      const runs = await Promise.all(
        shards.map((out, index) =>
          runExperiment(sampled, { shard: { index, count: 2 }, cellsDir: path.join(out, 'cells') }),
        ),
      );
      const cells = runs.flatMap((r) => r.cells);
      expect(cells.map((c) => c.shops)).toEqual([3, 3]);
      expect(cells.map((c) => c.metrics.auroc).every(Number.isFinite)).toBe(true);
      expect(runs[0].graphShops).toBe(3);
      const merged = mergeRuns(shards);
      expect(merged.results.graphShops).toBe(3);
      expect(writeTables(merged.results, dir, ['auroc'])).toContain('seeded sample of at most 3 shops');

      // A record's protocol is validated as the config's fields are: a fraction of 5 is refused.
      const cellsDir = path.join(shards[0], 'cells');
      const file = path.join(cellsDir, readdirSync(cellsDir)[0]);
      const record = JSON.parse(readFileSync(file, 'utf8'));
      const protocol = { ...forecastProtocol(config('')), heldOutShops: 0.2 };
      writeFileSync(file, JSON.stringify({ ...record, protocol }));
      expect(readCellRecord(file).protocol).toEqual(protocol);
      writeFileSync(file, JSON.stringify({ ...record, protocol: { ...protocol, heldOutShops: 5 } }));
      expectUserError(() => readCellRecord(file), `${file}: protocol.heldOutShops: Too big`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('graphShops: structure experiments only; in the cell key only when set', () => {
    const structure = (extra: string) =>
      parseExperimentConfig(
        `experiment: t\n${extra}\ndatasets: [{ kind: simulate, simulate: { preset: var } }]\nmethods: [{ method: granger-var }]\n`,
        'structure.yaml',
      );
    const keyOf = (c: ExperimentConfig) =>
      planCells(c, c.methods.flatMap(expandMethodSpec), { codeVersion: 'v', backend: 'cpu' })[0].key;
    expect(keyOf(structure('graphShops: 20'))).not.toBe(keyOf(structure('')));
    expect(keyOf(structure('horizon: 0'))).toBe(keyOf(structure('')));
    expectUserError(
      () => structure('graphShops: 20\nhorizon: 5'),
      "structure.yaml: graphShops: scores a sample of the shops' graphs in structure experiments only",
    );
  });

  it('rejects a held-out fraction that leaves no shop on one side', () => {
    expect(() => heldOutShopIndices(3, 0.1, 0, 'data.npy')).toThrow(/data.npy: heldOutShops 0.1 of 3 shops/);
  });

  it('seasonal naive repeats the value one period back', async () => {
    const output = await seasonalNaive.run(
      { panel: panel.sliceTime(0, 20), horizon: 9, seed: 0 },
      { period: 7 },
    );
    const gmv = panel.series(0, 3);
    const forecast = output.forecasts!.subarray(3 * 9, 4 * 9);
    expect(Array.from(forecast)).toEqual([13, 14, 15, 16, 17, 18, 19, 13, 14].map((t) => gmv[t]));
  });

  describe.each(METHODS.filter((m) => m.produces.includes('forecast')).map((m) => [m.name, m] as const))(
    'no horizon leakage: %s',
    (_, method) => {
      it.each(['time', 'shops'] as const)(
        'gives the same forecast when the scored horizon targets are corrupted (%s split)',
        async (split) => {
          const protocol = forecastProtocol(
            config(`futureSpend: known\nsplits: [${split}]\nheldOutShops: 0.3`),
          );
          const options = method.options.parse(method.testConfig);
          // The training shops' full series are training data under the shops split; the scored shops' horizon is not.
          const scored =
            split === 'time' ? [...Array(panel.shops).keys()] : heldOutShopIndices(10, 0.3, 1, 'x').heldOut;
          const [clean] = evaluationSettings(method, panel, protocol, 1);
          const [dirty] = evaluationSettings(method, corruptHorizonTargets(panel, 5, scored), protocol, 1);
          expect(dirty.future!.values).not.toEqual(clean.future!.values);
          const a = await method.run(clean.input, options);
          const b = await method.run(dirty.input, options);
          expect(b.forecasts).toEqual(a.forecasts);
        },
      );
    },
  );

  it('Granger VAR forecasts use the known future spends', async () => {
    const granger = METHODS.find((m) => m.name === 'granger-var')!;
    const { history, future } = panel.splitTime(5);
    const known = channelValues(future);
    const options = granger.options.parse({});
    const a = await granger.run({ panel: history, horizon: 5, seed: 0, futureChannels: known }, options);
    const b = await granger.run(
      { panel: history, horizon: 5, seed: 0, futureChannels: known.map((v) => 2 * v) },
      options,
    );
    // Step 1 depends on the past only; later GMV steps follow the known spends.
    const gmv = (f: Float32Array) => Array.from(f.subarray(3 * 5, 4 * 5));
    expect(gmv(b.forecasts!)[0]).toBe(gmv(a.forecasts!)[0]);
    expect(gmv(b.forecasts!)[2]).not.toBe(gmv(a.forecasts!)[2]);
  });

  type Fit = (input: MethodInput, onEpoch: () => void) => Promise<unknown>;
  const fewEpochs = { epochs: 4, patience: 10 };
  it.each([
    [
      'lstm',
      ((input, onEpoch) =>
        fitLstm(input, lstm.options.parse({ ...lstm.testConfig, ...fewEpochs }), onEpoch)) as Fit,
    ],
    [
      'wide-deep',
      ((input, onEpoch) =>
        fitWideDeep(input, wideDeep.options.parse({ ...wideDeep.testConfig, ...fewEpochs }), onEpoch)) as Fit,
    ],
  ])('%s keeps tf.memory().numTensors flat across epochs and releases its model', async (_, train) => {
    const { history, future } = panel.splitTime(5);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await train({ panel: history, horizon: 5, seed: 0, futureChannels: channelValues(future) }, () =>
      counts.push(tf.memory().numTensors),
    );
    expect(counts).toHaveLength(4);
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("lstm's recursive strategy rolls every node forward, keeps known spends, and beats persistence", async () => {
    const { history, future } = panel.splitTime(5);
    const known = channelValues(future);
    const options = lstm.options.parse({ ...lstm.testConfig, strategy: 'recursive' });
    const { forecasts } = await lstm.run(
      { panel: history, horizon: 5, seed: 0, futureChannels: known },
      options,
    );
    let model = 0;
    let persistence = 0;
    for (let s = 0; s < panel.shops; s++) {
      const last = history.series(s, 3).at(-1)!;
      future.series(s, 3).forEach((truth, h) => {
        model += (forecasts![(s * 4 + 3) * 5 + h] - truth) ** 2;
        persistence += (last - truth) ** 2;
      });
    }
    expect(model).toBeLessThan(persistence);
    expect(Array.from(forecasts!.subarray(0, 5))).toEqual(Array.from(known.subarray(0, 5)));
    // The KPI is forecast by the model too, not held at its last value.
    const kpi = forecasts!.subarray(2 * 5, 3 * 5);
    expect(new Set(kpi).size).toBeGreaterThan(1);
  });
});
