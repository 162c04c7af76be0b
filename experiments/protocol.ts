/**
 * The forecast evaluation protocol: which data a forecaster sees, what it must predict, and
 * what is known at forecast time. Every method goes through the same settings; none is
 * special-cased.
 *
 * - `time` split: every shop's last M = `horizon` steps are held out; the method sees the
 *   first T − M steps of every shop and predicts the last M.
 * - `shops` split: a seeded fraction `heldOutShops` of the shops is held out. The method sees
 *   the full series of the other shops (`trainPanel`, to train on) and the first T − M steps
 *   of the held-out shops (`panel`), and predicts the held-out shops' last M steps; only the
 *   held-out shops are scored.
 * - `futureSpend: known` passes the channel spends of the horizon (planned budgets) as
 *   `futureChannels` [S, C, M]; nothing else of the horizon reaches a method.
 * - `shopContext: unknown` strips the static context from everything a method sees.
 */

import type { z } from 'zod';
import { Panel } from '../src/data/panel.js';
import { UserError } from '../src/errors.js';
import type { Method, MethodInput } from '../src/methods/method.js';
import { Rng } from '../src/rng.js';
import type { ExperimentConfig, ForecastSplit, forecastProtocolSchema } from './config.js';

/** What a config says about forecasting, recorded in results.json and stated in every table. */
export type ForecastProtocol = z.infer<typeof forecastProtocolSchema>;

export function forecastProtocol(config: ExperimentConfig): ForecastProtocol {
  return {
    horizon: config.horizon,
    horizons: config.horizons,
    futureSpend: config.futureSpend,
    shopContext: config.shopContext,
    splits: config.splits,
    heldOutShops: config.heldOutShops,
  };
}

/** One way of presenting a dataset to a method, with what its output is scored against. */
export interface EvaluationSetting {
  /** The forecast split, or undefined when no forecast is asked for (horizon 0 or a graph-only method). */
  split?: ForecastSplit;
  /** Full-length panel of the scored shops: graph truth, and the shops forecasts are scored on. */
  scored: Panel;
  /** What the method sees: `scored` itself without a forecast, else its first T − M steps. */
  input: MethodInput;
  /** The held-out last M steps of the scored shops. */
  future?: Panel;
}

/** The same panel without its static context (`shopContext: unknown`). */
function withoutContext(panel: Panel): Panel {
  if (!panel.context) return panel;
  return new Panel({
    shape: [panel.shops, panel.nodeCount, panel.steps],
    values: panel.values,
    nodes: [...panel.nodes],
    shopIds: [...panel.shopIds],
    graph: panel.graph,
    contributions: panel.contributions,
    source: panel.source,
  });
}

/** Channel values of a panel, [S, C, T] in C order, channels in `channelIndices` order. */
export function channelValues(panel: Panel): Float32Array {
  const channels = panel.channelIndices;
  const T = panel.steps;
  const out = new Float32Array(panel.shops * channels.length * T);
  for (let s = 0; s < panel.shops; s++) {
    channels.forEach((node, c) => {
      out.set(panel.series(s, node), (s * channels.length + c) * T);
    });
  }
  return out;
}

/**
 * Indices of the shops held out under the `shops` split, and of the training shops, each in
 * file order. The draw depends only on the seed, so every method of a cell sees the same split.
 */
export function heldOutShopIndices(
  shops: number,
  fraction: number,
  seed: number,
  source: string,
): { heldOut: number[]; train: number[] } {
  const count = Math.round(fraction * shops);
  if (count < 1 || count >= shops) {
    throw new UserError(
      `${source}: heldOutShops ${fraction} of ${shops} shops leaves no ${count < 1 ? 'held-out' : 'training'} shop`,
    );
  }
  const { sample, rest } = seededShopSample(shops, count, seed, 'held-out-shops');
  return { heldOut: sample, train: rest };
}

/** `count` of `shops` shop indices drawn by `seed` (stream `stream`), and the others; each ascending. */
function seededShopSample(shops: number, count: number, seed: number, stream: string) {
  const order = new Rng(seed).fork(stream).shuffle(Array.from({ length: shops }, (_, s) => s));
  const byIndex = (a: number, b: number) => a - b;
  return { sample: order.slice(0, count).sort(byIndex), rest: order.slice(count).sort(byIndex) };
}

/**
 * The shops whose graphs a structure experiment scores under `graphShops`: a sample drawn by the
 * seed alone, so every method of a (dataset, seed) scores the same shops; undefined when the
 * dataset has no more shops than `graphShops` (all are scored).
 */
export function graphShopIndices(
  shops: number,
  graphShops: number | undefined,
  seed: number,
): number[] | undefined {
  if (graphShops === undefined || graphShops >= shops) return undefined;
  return seededShopSample(shops, graphShops, seed, 'graph-shops').sample;
}

/** A forecast setting: `scored` cut at T − M, with what the protocol says is known. */
function forecastSetting(
  split: ForecastSplit,
  scored: Panel,
  trainPanel: Panel | undefined,
  protocol: ForecastProtocol,
  seed: number,
): EvaluationSetting {
  const { history, future } = scored.splitTime(protocol.horizon);
  const visible = (p: Panel) => (protocol.shopContext === 'known' ? p : withoutContext(p));
  const input: MethodInput = { panel: visible(history), horizon: protocol.horizon, seed };
  if (protocol.futureSpend === 'known') input.futureChannels = channelValues(future);
  if (trainPanel) input.trainPanel = visible(trainPanel);
  return { split, scored, input, future };
}

/**
 * The settings one method runs under on one dataset: a method that does not forecast (or any
 * method when the horizon is 0) sees the whole panel once, and is scored on every shop or on
 * the `graphShops` sample; a forecaster runs once per split.
 */
export function evaluationSettings(
  method: Method,
  panel: Panel,
  protocol: ForecastProtocol,
  seed: number,
  graphShops?: number,
): EvaluationSetting[] {
  if (protocol.horizon === 0 || !method.produces.includes('forecast')) {
    const scoredShops = graphShopIndices(panel.shops, graphShops, seed);
    if (!scoredShops) return [{ scored: panel, input: { panel, horizon: 0, seed } }];
    return [{ scored: panel.selectShops(scoredShops), input: { panel, horizon: 0, seed, scoredShops } }];
  }
  return protocol.splits.map((split) => {
    if (split === 'time') return forecastSetting('time', panel, undefined, protocol, seed);
    const { heldOut, train } = heldOutShopIndices(panel.shops, protocol.heldOutShops, seed, panel.source);
    return forecastSetting('shops', panel.selectShops(heldOut), panel.selectShops(train), protocol, seed);
  });
}

/** How many cells a method variant yields per (seed, dataset). */
export function settingsPerDataset(method: Method, protocol: ForecastProtocol): number {
  return protocol.horizon === 0 || !method.produces.includes('forecast') ? 1 : protocol.splits.length;
}

/** The lines that state how a run's methods were evaluated, for the head of its tables and report. */
export function evaluationLines(results: { protocol?: ForecastProtocol; graphShops?: number }): string[] {
  return [
    ...(results.protocol ? [describeProtocol(results.protocol)] : []),
    ...(results.graphShops !== undefined
      ? [
          `graphs scored on a seeded sample of at most ${results.graphShops} shops per dataset and seed, the same for every method; every method sees every shop; seconds_per_shop divides a cell's time by the shops it scored`,
        ]
      : []),
  ];
}

/** One line stating the protocol, for the head of every table. */
export function describeProtocol(protocol: ForecastProtocol): string {
  if (protocol.horizon === 0) return 'no forecast (horizon 0)';
  const splits = protocol.splits.map((s) =>
    s === 'time'
      ? `time (last ${protocol.horizon} steps of every shop)`
      : `shops (${Math.round(protocol.heldOutShops * 100)} % of shops held out, last ${protocol.horizon} steps scored)`,
  );
  return (
    `forecast protocol: horizon M = ${protocol.horizon}, future spend ${protocol.futureSpend}, ` +
    `shop context ${protocol.shopContext}; splits: ${splits.join('; ')}`
  );
}
