/**
 * The methods `causalmmm fit` can train, save and load, behind one interface: their options,
 * their default edge threshold, training and loading. Adding one is adding an entry here and
 * a {@link ScenarioModel}; `fit`, `whatif` and the analyses never ask which method they run.
 */
import type { z } from 'zod';
import { causalmmm, nri } from '../causalmmm/method.js';
import type { CausalmmmOptions } from '../causalmmm/options.js';
import { loadCausalmmmFolder, type ModelFolder, readModelFolder } from '../causalmmm/persist.js';
import { prepareSeries, trainCausalmmm } from '../causalmmm/train.js';
import type { Panel } from '../data/panel.js';
import { UserError } from '../errors.js';
import { CausalmmmScenarioModel, type ScenarioModel } from './scenario.js';
import {
  fitVarParameters,
  loadVarModel,
  type VarFitOptions,
  VarScenarioModel,
  varFitOptions,
} from './var-model.js';

export interface FitMethod {
  /** The schema of the method's options (the fit config's `options`). */
  options: z.ZodType;
  /** The edge score from which an edge counts as present when the fit config sets none. */
  edgeThreshold: number;
  /** What an analyst must know about the method's numbers (index.html); none when they were checked. */
  caveat?: string;
  /** The model's {@link ScenarioModel.readSteps} under these (parsed) options, known before training. */
  readSteps(options: unknown): number;
  /** Trains on every shop of the panel; `training` is the record `fit` keeps (it adds the wall time). */
  train(
    panel: Panel,
    options: unknown,
    seed: number,
    log: (line: string) => void,
  ): { model: ScenarioModel; training: Record<string, unknown> };
  load(folder: ModelFolder): ScenarioModel;
}

function neuralFitMethod(name: string, schema: z.ZodObject): FitMethod {
  return {
    options: schema.refine((o) => (o as CausalmmmOptions).ensemble === 1, {
      path: ['ensemble'],
      message: 'fit saves one model: use 1 (an ensemble is for run)',
    }),
    edgeThreshold: 0.5,
    caveat: `On simulated shops, ${name}'s contributions give about the same share to every channel instead of the true ones (README, "Fit your own data"); --method granger-var's track the truth.`,
    readSteps: () => 1,
    train(panel, raw, seed, log) {
      const options = raw as CausalmmmOptions;
      const series = prepareSeries(panel, options.scale);
      const trained = trainCausalmmm(
        series,
        options,
        seed,
        { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices },
        (r) =>
          log(
            `epoch ${r.epoch}/${r.epochs}: loss ${r.loss.toPrecision(4)}, val ${r.valLoss.toPrecision(4)} (${r.seconds.toFixed(1)} s)`,
          ),
      );
      return {
        model: new CausalmmmScenarioModel(name, trained.model, panel, series, trained.snapshots),
        training: {
          epochs: trained.history.length,
          bestEpoch: trained.bestEpoch,
          trainShops: trained.trainShops,
          valShops: trained.valShops,
          finalLoss: trained.history.at(-1)?.loss,
        },
      };
    },
    load(folder) {
      const saved = loadCausalmmmFolder(folder);
      return new CausalmmmScenarioModel(name, saved.model, saved.panel, saved.series, saved.snapshots);
    },
  };
}

export const FIT_METHODS: Record<string, FitMethod> = {
  causalmmm: neuralFitMethod('causalmmm', causalmmm.options),
  nri: neuralFitMethod('nri', nri.options),
  'granger-var': {
    options: varFitOptions,
    // 1 − q ≥ 0.95: the edges found at a false discovery rate of 5 %.
    edgeThreshold: 0.95,
    readSteps: (options) => (options as VarFitOptions).lag,
    train(panel, raw, _seed, _log) {
      const options = raw as VarFitOptions;
      return {
        model: new VarScenarioModel(panel, options, fitVarParameters(panel, options)),
        training: { shops: panel.shops },
      };
    },
    load: loadVarModel,
  },
};

export function fitMethod(name: string, source: string): FitMethod {
  const method = FIT_METHODS[name];
  if (!method) throw new UserError(`${source} ${name}: fit supports ${Object.keys(FIT_METHODS).join(', ')}`);
  return method;
}

/** Loads the model of a model folder, whichever method (`fit`) wrote it. */
export function loadFitModel(dir: string): { model: ScenarioModel; folder: ModelFolder; fit: FitMethod } {
  const folder = readModelFolder(dir);
  const fit = fitMethod(folder.meta.method, `${dir}/model.json: method`);
  return { model: fit.load(folder), folder, fit };
}
