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

/**
 * Trains (`trainOnInput`), then infers each scored shop's graph (`learnedGraph`) and forecasts
 * from its history over that graph's logits.
 */
async function runCausalmmm(input: MethodInput, options: CausalmmmOptions): Promise<MethodOutput> {
  const { horizon, seed } = input;
  if (!tf.engine().backendName) await initBackend('auto');
  const { trained, scoredPanel, scored } = trainOnInput(input, options);
  const { model } = trained;
  try {
    const output: MethodOutput = {};
    const graph = learnedGraph(model, trained.snapshots, scored, seed);
    if (graph) output.graphScores = graph.probabilities;
    if (horizon > 0)
      output.forecasts = forecastShops(model, scored, horizon, seed, input.futureChannels, graph?.logits);
    const last = trained.history[trained.history.length - 1];
    // Only numbers that the seed determines: timings live in the cell's `seconds`.
    output.info = {
      epochs: trained.history.length,
      bestEpoch: trained.bestEpoch,
      trainShops: trained.trainShops,
      valShops: trained.valShops,
      finalLoss: last.loss,
      finalValLoss: last.valLoss,
    };
    const response = hillResponse(model, scored, scoredPanel.shopIds);
    if (response) output.response = response;
    return output;
  } finally {
    disposeTrainResult(trained);
  }
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
