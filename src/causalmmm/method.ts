import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import type { Panel } from '../data/panel.js';
import { defineMethod, type MethodInput, type MethodOutput } from '../methods/method.js';
import { type CausalmmmOptions, causalmmmOptions } from './options.js';
import { hillResponse } from './response.js';
import { disposeTrainResult, forecastShops, learnedGraph, prepareSeries, trainCausalmmm } from './train.js';

const PAPER =
  'Gong et al., "CausalMMM: Learning Causal Structure for Marketing Mix Modeling", WSDM 2024 (arXiv 2406.16728)';

/**
 * Trains on `input.trainPanel` when the protocol holds shops out (cut to the evaluation
 * history's length, most recent steps), else on every shop of `panel`; returns the training
 * result and the scored shops (every shop of `panel`, or `scoredShops`), prepared as the model
 * reads them. The caller disposes the result (`disposeTrainResult`).
 */
export function trainOnInput(input: MethodInput, options: CausalmmmOptions) {
  const { panel, seed } = input;
  const trainingPanel: Panel = input.trainPanel
    ? input.trainPanel.sliceTime(input.trainPanel.steps - panel.steps, input.trainPanel.steps)
    : panel;
  const trained = trainCausalmmm(
    prepareSeries(trainingPanel, options.scale),
    options,
    seed,
    { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices },
    (report) => input.onProgress?.({ epoch: report.epoch, epochs: report.epochs, loss: report.loss }),
  );
  const scoredPanel = input.scoredShops ? panel.selectShops(input.scoredShops) : panel;
  return { trained, scoredPanel, scored: prepareSeries(scoredPanel, options.scale) };
}

/** The seed ensemble member `member` trains from: member 0 is the cell's own seed. */
export function ensembleSeed(seed: number, member: number): number {
  return seed + 10007 * member;
}

/**
 * Trains (`trainOnInput`), then infers each scored shop's graph (`learnedGraph`) and forecasts
 * from its history over that graph's logits; under `ensemble: K`, K times from
 * {@link ensembleSeed}s, averaging the graph probabilities and the forecasts. The run's info and
 * response curves are member 0's.
 */
async function runCausalmmm(input: MethodInput, options: CausalmmmOptions): Promise<MethodOutput> {
  const { horizon } = input;
  if (!tf.engine().backendName) await initBackend('auto');
  const members = options.ensemble;
  const output: MethodOutput = {};
  let graphSums: Float64Array[] | undefined;
  let forecastSums: Float64Array | undefined;
  for (let member = 0; member < members; member++) {
    const seed = ensembleSeed(input.seed, member);
    const { trained, scoredPanel, scored } = trainOnInput({ ...input, seed }, options);
    const { model } = trained;
    try {
      const graph = learnedGraph(model, trained.snapshots, scored, seed);
      if (graph) {
        graphSums ??= graph.probabilities.map((p) => new Float64Array(p.length));
        graph.probabilities.forEach((p, s) => {
          for (let k = 0; k < p.length; k++) graphSums![s][k] += p[k];
        });
      }
      if (horizon > 0) {
        const forecasts = forecastShops(model, scored, horizon, seed, input.futureChannels, graph?.logits);
        forecastSums ??= new Float64Array(forecasts.length);
        for (let k = 0; k < forecasts.length; k++) forecastSums[k] += forecasts[k];
      }
      if (member > 0) continue;
      const last = trained.history[trained.history.length - 1];
      // Only numbers that the seed determines: timings live in the cell's `seconds`.
      output.info = {
        epochs: trained.history.length,
        bestEpoch: trained.bestEpoch,
        trainShops: trained.trainShops,
        valShops: trained.valShops,
        finalLoss: last.loss,
        finalValLoss: last.valLoss,
        ...(members > 1 ? { ensemble: members } : {}),
      };
      const response = hillResponse(model, scored, scoredPanel.shopIds);
      if (response) output.response = response;
    } finally {
      disposeTrainResult(trained);
    }
  }
  if (graphSums) output.graphScores = graphSums.map((p) => p.map((v) => v / members));
  if (forecastSums) output.forecasts = Float32Array.from(forecastSums, (v) => v / members);
  return output;
}

/**
 * The structure-learning configuration measured in the README, shared by both methods' test
 * configs (the defaults are still the released architecture): per-pair population logits,
 * one-step training targets, 8 crops of 40 steps per shop and epoch.
 */
const structureTestConfig = {
  epochs: 16,
  batchSize: 16,
  learningRate: 5e-3,
  patience: 0,
  trainWindow: 40,
  windowsPerShop: 8,
  predictSteps: 1,
  edgePrior: 'pair',
} as const;

export const causalmmm = defineMethod({
  name: 'causalmmm',
  title: 'CausalMMM',
  paper: PAPER,
  produces: ['graph', 'forecast'],
  options: causalmmmOptions,
  testConfig: { ...structureTestConfig, hidden: 16, messages: 'own-lags', candidate: 'tanh' },
  // `last` until session 13: cells finished under it keep their keys.
  keyDefaults: { graphAverage: 'last' },
  run: runCausalmmm,
});

/**
 * The NRI-style amortized baseline (Kipf et al., ICML 2018; Löwe et al.'s ACD for time
 * series): CausalMMM's encoder with NRI's Markov MLP decoder and no saturation. It is the
 * CausalMMM code under its ablation options, not a copy.
 */
export const nri = defineMethod({
  name: 'nri',
  title: 'NRI (amortized, MLP decoder)',
  paper: 'Kipf et al., "Neural Relational Inference for Interacting Systems", ICML 2018',
  produces: ['graph', 'forecast'],
  options: causalmmmOptions.extend({
    decoder: causalmmmOptions.shape.decoder.default('markov'),
    saturation: causalmmmOptions.shape.saturation.default('none'),
    // NRI as published scores the graph of its trained encoder.
    graphAverage: causalmmmOptions.shape.graphAverage.default('last'),
  }),
  testConfig: { ...structureTestConfig, hidden: 32 },
  run: runCausalmmm,
});
