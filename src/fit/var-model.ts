/**
 * A per-shop vector autoregression as a `fit` model (`--method granger-var`): the transparent,
 * linear yardstick beside CausalMMM, and, as measured against the simulator's truth (README,
 * "Fit your own data"), the method whose channel contributions are informative today.
 *
 * Model, per shop and node n (channels, KPIs and GMV alike):
 *   u_n,t = log(1 + x_n,t / m_n)  (`transform: log`; u = x with `transform: none`),
 *   z_n,t = (u_n,t − center_n) / scale_n,
 *   z_t   = c + Σ_{l=1..K} A_l z_{t−l} + e_t,
 * with m_n the node's mean over the shop's history (1 if it is not positive), so the transform
 * does not depend on the units of the data, and the VAR(K) fitted by least squares
 * ({@link grangerShop}, conditional test). The log makes the implied response of GMV to a
 * channel concave (diminishing returns) instead of a straight line.
 *
 * Graph: P(j → i) is reported as 1 − q, q being the Benjamini–Hochberg adjusted p-value of the
 * Granger F-test of j → i among the shop's N(N − 1) pairs, so an edge threshold t keeps the
 * edges found at false discovery rate 1 − t (the method's default threshold is 0.95). It is a
 * score, not a posterior probability.
 *
 * Rollouts: the first `readSteps` = K steps of a scenario are read from the data; then every
 * KPI and GMV follows the VAR on its own predictions while the channels follow the scenario.
 * The full VAR is rolled out (every coefficient, not only the edges above the threshold); a
 * scenario's cut edges set j's lags to zero in i's equation. Shop context is not used.
 *
 * Parameters are kept as float32 (what the model folder stores), so a loaded model rolls out
 * exactly what the fitted one did.
 *
 * Layout: coefficients [S, 1 + N·K, N] — per shop, row 0 the intercepts, row 1 + j·K + (l − 1)
 * lag l of node j, column the equation (as in {@link GrangerShopResult.coef}); level, center,
 * scale [S, N]; probabilities [S, N, N] with `[i * N + j]` about j → i.
 */
import { z } from 'zod';
import { grangerShop } from '../../baselines/granger-var.js';
import { type ModelFolder, type SaveInfo, writeModelFolder } from '../causalmmm/persist.js';
import type { Panel } from '../data/panel.js';
import { benjaminiHochbergLog10Q } from '../stats/fdr.js';
import { parseOrThrow } from '../validation.js';
import { checkObservedSteps, type Scenario, type ScenarioModel, type ShopGraphs } from './scenario.js';

export const varFitOptions = z.strictObject({
  /** Lag order K of the VAR. */
  lag: z.int().min(1).default(2),
  /** `log`: the VAR runs on log(1 + x / mean of x), `none`: on x itself. */
  transform: z.enum(['log', 'none']).default('log'),
  /** Ridge added to ZᵀZ (0: least squares, with the automatic fallback for singular designs). */
  ridge: z.number().min(0).default(0),
});
export type VarFitOptions = z.output<typeof varFitOptions>;

/** The fitted parameters of every shop (float32, as stored). */
export interface VarParameters {
  shops: number;
  nodes: number;
  lag: number;
  coef: Float32Array;
  level: Float32Array;
  center: Float32Array;
  scale: Float32Array;
  probabilities: Float32Array;
}

/** Fits the VAR of every shop of the panel. */
export function fitVarParameters(panel: Panel, options: VarFitOptions): VarParameters {
  const { shops: S, nodeCount: N, steps: T } = panel;
  const K = options.lag;
  const P = 1 + N * K;
  const params: VarParameters = {
    shops: S,
    nodes: N,
    lag: K,
    coef: new Float32Array(S * P * N),
    level: new Float32Array(S * N),
    center: new Float32Array(S * N),
    scale: new Float32Array(S * N),
    probabilities: new Float32Array(S * N * N),
  };
  for (let s = 0; s < S; s++) {
    const raw = panel.shopValues(s);
    const level = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let t = 0; t < T; t++) sum += raw[n * T + t];
      level[n] = sum > 0 ? sum / T : 1;
    }
    params.level.set(level, s * N);
    const u = new Float64Array(N * T);
    for (let n = 0; n < N; n++)
      for (let t = 0; t < T; t++) u[n * T + t] = forward(options, raw[n * T + t], level[n]);
    const fit = grangerShop(u, N, T, {
      lag: K,
      test: 'conditional',
      ridge: options.ridge,
      standardize: true,
    });
    params.coef.set(fit.coef, s * P * N);
    params.center.set(fit.center, s * N);
    params.scale.set(fit.scale, s * N);
    const q = benjaminiHochbergLog10Q(fit.log10p);
    for (let k = 0; k < N * N; k++)
      params.probabilities[s * N * N + k] = Number.isNaN(q[k]) ? 0 : 1 - 10 ** q[k];
  }
  return params;
}

function forward(options: VarFitOptions, x: number, level: number): number {
  return options.transform === 'log' ? Math.log1p(x / level) : x;
}

function inverse(options: VarFitOptions, u: number, level: number): number {
  return options.transform === 'log' ? Math.expm1(u) * level : u;
}

/** The per-shop VAR behind `fit --method granger-var` (see the module comment). */
export class VarScenarioModel implements ScenarioModel {
  readonly method = 'granger-var';
  readonly readSteps: number;
  readonly minSteps: number;

  constructor(
    readonly panel: Panel,
    readonly options: VarFitOptions,
    readonly params: VarParameters,
  ) {
    this.readSteps = params.lag;
    this.minSteps = params.lag;
  }

  graphs(): ShopGraphs {
    const { shops: S, nodes: N } = this.params;
    return {
      probabilities: Array.from({ length: S }, (_, s) =>
        Float64Array.from(this.params.probabilities.subarray(s * N * N, (s + 1) * N * N)),
      ),
      weights: new Float32Array(S * N * N).fill(1),
    };
  }

  run(_graphs: ShopGraphs, scenarios: readonly Scenario[]): Float32Array[] {
    const { nodes: N, lag: K } = this.params;
    const T = this.panel.steps;
    const P = 1 + N * K;
    const channels = this.panel.channelIndices;
    // position[n]: node n's row in a scenario's channels, or −1 for a KPI or the target.
    const position = new Int32Array(N).fill(-1);
    channels.forEach((n, c) => {
      position[n] = c;
    });
    return scenarios.map((sc) => {
      const { shop: s, truthSteps: R, length: L } = sc;
      if (R < K) throw new RangeError(`scenario reads ${R} observed steps; the VAR needs its ${K} lags`);
      checkObservedSteps(sc, T);
      const coef = this.params.coef.subarray(s * P * N, (s + 1) * P * N);
      // The shop's coefficients with the scenario's cut edges zeroed (a copy only when it cuts).
      const used = sc.cut?.length ? coef.slice() : coef;
      for (const [cause, effect] of sc.cut ?? []) {
        for (let l = 1; l <= K; l++) used[(1 + cause * K + (l - 1)) * N + effect] = 0;
      }
      const at = (n: number) => s * N + n;
      const toZ = (n: number, x: number) =>
        (forward(this.options, x, this.params.level[at(n)]) - this.params.center[at(n)]) /
        this.params.scale[at(n)];
      // z[n * L + t]: the standardised transformed window.
      const zs = new Float64Array(N * L);
      for (let n = 0; n < N; n++) {
        const observed = this.panel.series(s, n);
        for (let t = 0; t < R; t++) zs[n * L + t] = toZ(n, observed[sc.start + t]);
      }
      for (const [c, n] of channels.entries()) {
        for (let t = 0; t < L; t++) zs[n * L + t] = toZ(n, sc.channels[c * L + t]);
      }
      for (let t = R; t < L; t++) {
        for (let i = 0; i < N; i++) {
          if (position[i] >= 0) continue;
          let v = used[i];
          for (let j = 0; j < N; j++) {
            for (let l = 1; l <= K; l++) v += used[(1 + j * K + (l - 1)) * N + i] * zs[j * L + t - l];
          }
          zs[i * L + t] = v;
        }
      }
      const result = new Float32Array(N * (L - R));
      for (let n = 0; n < N; n++) {
        const r = at(n);
        for (let t = R; t < L; t++) {
          result[n * (L - R) + t - R] =
            position[n] >= 0
              ? sc.channels[position[n] * L + t]
              : inverse(
                  this.options,
                  zs[n * L + t] * this.params.scale[r] + this.params.center[r],
                  this.params.level[r],
                );
        }
      }
      return result;
    });
  }

  /** `weights.bin`: coefficients, levels, probabilities (see the module comment); scalers: center and scale. */
  save(dir: string, info: Omit<SaveInfo, 'method'>): void {
    const { shops: S, nodes: N, lag: K } = this.params;
    const { coef, level, probabilities } = this.params;
    const weights = new Float32Array(coef.length + level.length + probabilities.length);
    weights.set(coef);
    weights.set(level, coef.length);
    weights.set(probabilities, coef.length + level.length);
    writeModelFolder(
      dir,
      this.panel,
      { ...info, method: this.method },
      {
        options: this.options,
        shape: varShape(this.panel, K),
        scalers: { center: this.params.center, scale: this.params.scale },
        weights,
        layout: varLayout(S, N, K),
      },
    );
  }

  dispose(): void {}
}

/** The model shape a VAR folder records: `encoderSteps` holds the lag K, the steps a graph and a rollout read. */
function varShape(panel: Panel, K: number) {
  return {
    nodes: panel.nodeCount,
    encoderSteps: K,
    contextSize: panel.contextNames.length,
    targetIndex: panel.targetIndex,
    channelIndices: panel.channelIndices,
  };
}

function varLayout(S: number, N: number, K: number) {
  return [
    { shape: [S, 1 + N * K, N], statistic: false },
    { shape: [S, N], statistic: false },
    { shape: [S, N, N], statistic: false },
  ];
}

/** The VAR of a model folder written by {@link VarScenarioModel.save}. */
export function loadVarModel(folder: ModelFolder): VarScenarioModel {
  const { meta, panel, weights, fail } = folder;
  const options = parseOrThrow(varFitOptions, meta.options, `${folder.dir}/model.json: options`);
  const S = panel.shops;
  const N = panel.nodeCount;
  const K = options.lag;
  if (meta.shape.encoderSteps !== K)
    fail(`shape.encoderSteps ${meta.shape.encoderSteps} but options.lag ${K}`);
  const want = varLayout(S, N, K);
  const listed = meta.weights.map((w) => w.shape.join('×')).join(', ');
  if (listed !== want.map((w) => w.shape.join('×')).join(', ')) {
    fail(`weights [${listed}] do not match a VAR(${K}) of ${S} shops × ${N} nodes`);
  }
  const coefSize = S * (1 + N * K) * N;
  return new VarScenarioModel(panel, options, {
    shops: S,
    nodes: N,
    lag: K,
    coef: weights.slice(0, coefSize),
    level: weights.slice(coefSize, coefSize + S * N),
    probabilities: weights.slice(coefSize + S * N),
    center: Float32Array.from(meta.scalers.center.flat()),
    scale: Float32Array.from(meta.scalers.scale.flat()),
  });
}
