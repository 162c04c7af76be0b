/**
 * Data preparation shared by the causal-discovery baselines: per-series standardisation of a
 * shop and the lagged design x_{t−1…t−K} → x_t. Orientation: node-major N × T blocks as
 * `Panel.shopValues` returns them.
 */
import type { Panel } from '../data/panel.js';
import { UserError } from '../errors.js';
import type { MethodInput } from './method.js';

/**
 * Copies an N × T block to doubles, centred and scaled per series when asked. A series with
 * (numerically) zero spread is only centred: it becomes all zeros, not amplified rounding noise.
 */
export function prepareShop(values: ArrayLike<number>, N: number, T: number, standardize: boolean) {
  const x = new Float64Array(N * T);
  const center = new Float64Array(N);
  const scale = new Float64Array(N).fill(1);
  for (let n = 0; n < N; n++) {
    let mean = 0;
    for (let t = 0; t < T; t++) mean += values[n * T + t];
    mean /= T;
    let ss = 0;
    for (let t = 0; t < T; t++) ss += (values[n * T + t] - mean) ** 2;
    const sd = Math.sqrt(ss / T);
    const constant = !(sd > 1e-9 * Math.abs(mean));
    if (standardize) {
      center[n] = mean;
      if (!constant) scale[n] = sd;
    }
    for (let t = 0; t < T; t++) {
      x[n * T + t] = standardize && constant ? 0 : (values[n * T + t] - center[n]) / scale[n];
    }
  }
  return { x, center, scale };
}

/** The shop's block as doubles, z-scored per series when asked (see {@link prepareShop}). */
export function shopSeries(
  values: ArrayLike<number>,
  N: number,
  T: number,
  standardize: boolean,
): Float64Array {
  return prepareShop(values, N, T, standardize).x;
}

/** The indices of the shops a method returns graphs for: `scoredShops`, else every shop of `panel`. */
export function shopsToScore({ panel, scoredShops }: Pick<MethodInput, 'panel' | 'scoredShops'>): number[] {
  return scoredShops ? [...scoredShops] : Array.from({ length: panel.shops }, (_, s) => s);
}

/**
 * Runs `fitShop` on each of `shops` (every shop of `panel` by default) in order, with the shop's
 * (standardised) N × T series and its index in `panel`; the per-shop loop of the methods that
 * fit one model per shop. A fit sees its own shop only, so fitting a subset gives the same
 * scores as fitting every shop and keeping the subset's.
 */
export function mapShops<R>(
  panel: Panel,
  standardize: boolean,
  fitShop: (x: Float64Array, shop: number) => R,
  shops: readonly number[] = shopsToScore({ panel }),
): R[] {
  const { nodeCount: N, steps: T } = panel;
  return shops.map((s) => fitShop(shopSeries(panel.shopValues(s), N, T, standardize), s));
}

/**
 * Lagged design of one shop: rows = T − K samples, `inputs[(r * N + j) * K + (l − 1)]` =
 * x_j[t − l] and `targets[r * N + i]` = x_i[t], t = K + r. Float32 for tfjs.
 */
export function laggedDesign(
  x: Float64Array,
  N: number,
  T: number,
  K: number,
): { inputs: Float32Array; targets: Float32Array; rows: number } {
  const rows = T - K;
  const inputs = new Float32Array(rows * N * K);
  const targets = new Float32Array(rows * N);
  for (let r = 0; r < rows; r++) {
    const t = K + r;
    for (let j = 0; j < N; j++) {
      for (let l = 1; l <= K; l++) inputs[(r * N + j) * K + (l - 1)] = x[j * T + t - l];
      targets[r * N + j] = x[j * T + t];
    }
  }
  return { inputs, targets, rows };
}

/** A time series reversed in time (the GVAR stability check fits it as a second data set). */
export function reverseTime(x: Float64Array, N: number, T: number): Float64Array {
  const out = new Float64Array(N * T);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) out[n * T + t] = x[n * T + T - 1 - t];
  return out;
}

/** Throws a UserError naming the method and option when T steps cannot feed a lag/context of `K`. */
export function checkSteps(method: string, option: string, K: number, T: number, minRows = 2): void {
  if (T - K < minRows) {
    throw new UserError(
      `${method}: option "${option}" = ${K} is too large for ${T} time steps (needs at least ${minRows} samples after the first ${K} steps)`,
    );
  }
}
