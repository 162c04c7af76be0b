/**
 * Scenario rollouts of a trained model — the {@link ScenarioModel} interface every fit method
 * implements, and CausalMMM's implementation through its decoder: "what would the KPIs and GMV have been
 * (or be) had the channels spent this instead". Every analysis of `causalmmm fit` and
 * `causalmmm whatif` — forecasts under planned spends, contributions (a channel set to zero),
 * response curves (a channel scaled) and edge-cut path attributions — is a set of scenarios
 * run through the same function, so they agree with each other by construction.
 *
 * A scenario is a window of one shop: its first `truthSteps` steps are read from the
 * observed series (teacher forcing), after which the decoder feeds back its own KPI and
 * GMV predictions. The channel rows come from the scenario over the whole window, so a
 * channel set to zero is zero in the observed part as well. The graph the decoder follows
 * is the shop's learned graph (inferred once from its observed series: a budget change
 * does not change who influences whom), optionally with some edges cut.
 */
import * as tf from '@tensorflow/tfjs';
import type { CausalmmmModel } from '../causalmmm/model.js';
import { type SaveInfo, saveModel } from '../causalmmm/persist.js';
import { learnedGraph, logisticNoise, type ShopSeries } from '../causalmmm/train.js';
import type { Panel } from '../data/panel.js';
import { Rng } from '../rng.js';

/**
 * A trained model as `fit` and `whatif` use it: every shop's graph, scenario rollouts and its
 * model folder. CausalMMM and NRI ({@link CausalmmmScenarioModel}) and the per-shop VAR
 * (`./var-model.ts`) implement it, so the analyses never ask which method they run.
 */
export interface ScenarioModel {
  /** The method that trained it (`causalmmm`, `nri`, `granger-var`). */
  readonly method: string;
  /** Observed steps a scenario must read before the model predicts on its own (its `truthSteps` ≥ this). */
  readonly readSteps: number;
  /** Steps per shop the model needs to infer a graph. */
  readonly minSteps: number;
  /** Every shop's graph, inferred once (`seed` draws the edges of a model that samples them). */
  graphs(seed: number): ShopGraphs;
  /** Per scenario, every node's predictions over window steps [truthSteps, length): see {@link runScenarios}. */
  run(graphs: ShopGraphs, scenarios: readonly Scenario[]): Float32Array[];
  /** Writes the model folder (`model.json`, `weights.bin`, `history.bin`). */
  save(dir: string, info: Omit<SaveInfo, 'method'>): void;
  dispose(): void;
}

/** CausalMMM's (or NRI's) trained encoder and decoder with the shops' scaled series. */
export class CausalmmmScenarioModel implements ScenarioModel {
  readonly readSteps = 1;
  readonly minSteps: number;

  constructor(
    readonly method: string,
    readonly model: CausalmmmModel,
    readonly panel: Panel,
    readonly series: ShopSeries,
    /** The encoder's states along training (`graphAverage: epochs`; `TrainResult.snapshots`). */
    readonly snapshots: readonly Float32Array[] = [],
  ) {
    this.minSteps = model.shape.encoderSteps;
  }

  graphs(seed: number): ShopGraphs {
    return inferGraphs(this.model, this.series, seed, this.snapshots);
  }

  run(graphs: ShopGraphs, scenarios: readonly Scenario[]): Float32Array[] {
    return runScenarios(this.model, this.series, graphs, scenarios);
  }

  save(dir: string, info: Omit<SaveInfo, 'method'>): void {
    saveModel(dir, this.model, this.panel, this.series, { ...info, method: this.method }, this.snapshots);
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** The graph of every shop: edge probabilities (what we report) and the decoder's edge weights. */
export interface ShopGraphs {
  /** P(j → i) per shop, N × N row-major, zero diagonal. */
  probabilities: Float64Array[];
  /** The weights the decoder uses, [S, N, N] (a seeded draw when the model evaluates with Gumbel samples). */
  weights: Float32Array;
}

/**
 * Infers every shop's graph once, from its most recent encoder window: `learnedGraph`'s, as the
 * experiment runner scores it (under `graphAverage: epochs` the mean over `snapshots`).
 */
export function inferGraphs(
  model: CausalmmmModel,
  series: ShopSeries,
  seed: number,
  snapshots: readonly Float32Array[] = [],
): ShopGraphs {
  const { shops: S, nodes: N, steps: T } = series;
  const rng = new Rng(seed).fork('fit/edges');
  const probabilities: Float64Array[] = [];
  const weights = new Float32Array(S * N * N);
  const width = model.shape.encoderSteps;
  if (T < width) {
    throw new RangeError(`the model's encoder reads ${width} steps; the series have ${T}`);
  }
  const learned = learnedGraph(model, snapshots, series, seed);
  for (let start = 0; start < S; start += 64) {
    const B = Math.min(64, S - start);
    const [fixed, w] = tf.tidy(() => {
      const logits = learned
        ? tf.tensor3d(learned.logits.subarray(start * N * N, (start + B) * N * N), [B, N, N])
        : undefined;
      const noise = logisticNoise(rng, B, N);
      const used = model.edgeWeights(logits, noise, model.options.evalEdges).dataSync() as Float32Array;
      // A fixed graph (`full`, `empty`) has no learned probabilities: report its own edge weights.
      const mean = learned
        ? undefined
        : (model.edgeWeights(undefined, noise, 'mean').dataSync() as Float32Array);
      return [mean, used] as const;
    });
    weights.set(w, start * N * N);
    if (fixed) {
      for (let b = 0; b < B; b++)
        probabilities.push(Float64Array.from(fixed.subarray(b * N * N, (b + 1) * N * N)));
    }
  }
  return { probabilities: learned?.probabilities ?? probabilities, weights };
}

export interface Scenario {
  shop: number;
  /** Index in the shop's observed series where the window starts. */
  start: number;
  /** Observed steps read before the decoder runs on its own (≥ 1). */
  truthSteps: number;
  /** Window length (truthSteps + steps predicted); may run past the end of the observed series. */
  length: number;
  /** Channel values over the window, [C, length], original units, channels in model order. */
  channels: Float32Array;
  /** Edges removed from the shop's graph, as [cause, effect] node indices. */
  cut?: readonly (readonly [number, number])[];
}

/** Refuses a scenario whose observed steps [start, start + truthSteps) fall outside the T observed. */
export function checkObservedSteps(sc: Scenario, T: number): void {
  if (sc.start < 0 || sc.start + sc.truthSteps > T) {
    throw new RangeError(`scenario reads observed steps [${sc.start}, ${sc.start + sc.truthSteps}) of ${T}`);
  }
}

/** Floats of the pair tensors one decoder pass may hold at once (the tape of a tidy keeps every step). */
const PAIR_BUDGET = 1.5e7;

/**
 * Runs scenarios (all of the same `length` and `truthSteps`) in batches and returns, per
 * scenario, the predictions of every node for window steps [truthSteps, length), original
 * units, [N, length − truthSteps] row-major. Channel rows hold the scenario's channels.
 */
export function runScenarios(
  model: CausalmmmModel,
  series: ShopSeries,
  graphs: ShopGraphs,
  scenarios: readonly Scenario[],
): Float32Array[] {
  if (scenarios.length === 0) return [];
  const { nodes: N, steps: T, contextSize: k } = series;
  const { truthSteps: K, length: L } = scenarios[0];
  if (scenarios.some((s) => s.truthSteps !== K || s.length !== L)) {
    throw new RangeError('runScenarios: every scenario of a call must share truthSteps and length');
  }
  const channels = model.shape.channelIndices;
  const P = L - K;
  const channelMask = new Float32Array(N);
  for (const n of channels) channelMask[n] = 1;
  const batchSize = Math.max(1, Math.min(256, Math.floor(PAIR_BUDGET / (N * N * model.options.hidden * L))));
  const out: Float32Array[] = [];
  for (let first = 0; first < scenarios.length; first += batchSize) {
    const batch = scenarios.slice(first, first + batchSize);
    const B = batch.length;
    const x = new Float32Array(B * N * L);
    const edges = new Float32Array(B * N * N);
    const context = k > 0 && series.context ? new Float32Array(B * k) : undefined;
    for (const [b, sc] of batch.entries()) {
      checkObservedSteps(sc, T);
      for (let n = 0; n < N; n++) {
        const row = (sc.shop * N + n) * T + sc.start;
        x.set(series.values.subarray(row, row + K), (b * N + n) * L);
      }
      for (const [c, n] of channels.entries()) {
        const r = sc.shop * N + n;
        for (let t = 0; t < L; t++) {
          x[(b * N + n) * L + t] = (sc.channels[c * L + t] - series.center[r]) / series.scale[r];
        }
      }
      edges.set(graphs.weights.subarray(sc.shop * N * N, (sc.shop + 1) * N * N), b * N * N);
      for (const [cause, effect] of sc.cut ?? []) edges[b * N * N + effect * N + cause] = 0;
      if (context && series.context)
        context.set(series.context.subarray(sc.shop * k, (sc.shop + 1) * k), b * k);
    }
    const predicted = tf.tidy(() => {
      const xt = tf.tensor3d(x, [B, N, L]);
      const all = model.decode(
        xt,
        tf.tensor3d(edges, [B, N, N]),
        context ? tf.tensor2d(context, [B, k]) : undefined,
        K,
        L - 1,
        undefined,
        { values: xt, mask: tf.tensor1d(channelMask) },
      );
      return all.slice([0, 0, K - 1], [B, N, P]).dataSync() as Float32Array;
    });
    for (const [b, sc] of batch.entries()) {
      const result = new Float32Array(N * P);
      for (let n = 0; n < N; n++) {
        const r = sc.shop * N + n;
        for (let p = 0; p < P; p++) {
          result[n * P + p] = predicted[(b * N + n) * P + p] * series.scale[r] + series.center[r];
        }
      }
      for (const [c, n] of channels.entries()) result.set(sc.channels.subarray(c * L + K, c * L + L), n * P);
      out.push(result);
    }
  }
  return out;
}
