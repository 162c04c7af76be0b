/**
 * Training data of the global (cross-shop) neural forecasters: per-shop scaling fitted on each
 * shop's training steps only, and forecast origins split in time into training and validation.
 *
 * An origin o of a series of length T is the first forecast step: inputs come from steps < o,
 * targets from steps o … o + H − 1.
 */
import type { Panel } from '../data/panel.js';
import { UserError } from '../errors.js';

/** One shop's series, scaled per node: (x − center) / scale, N × T row-major. */
export interface ScaledShop {
  values: Float64Array;
  center: Float64Array;
  scale: Float64Array;
  steps: number;
  /** Context scaled by the statistics of every shop the method sees, [k]. */
  context: Float64Array;
}

/**
 * Scales every shop of `panels` by its own mean and sd per node over the steps the panel holds
 * (the training data of that shop: a history window, or a training shop's full series), and
 * the context columns by their mean and sd over all the shops given.
 */
export function scaleShops(panels: readonly Panel[]): ScaledShop[] {
  const k = panels[0].contextSize;
  const contextRows = panels.flatMap((p) =>
    Array.from({ length: p.shops }, (_, s) => p.shopContext(s) ?? new Float32Array(0)),
  );
  const cCenter = new Float64Array(k);
  const cScale = new Float64Array(k).fill(1);
  for (let j = 0; j < k; j++) {
    const column = contextRows.map((row) => row[j]);
    const mean = column.reduce((a, b) => a + b, 0) / column.length;
    const sd = Math.sqrt(column.reduce((a, b) => a + (b - mean) ** 2, 0) / column.length);
    cCenter[j] = mean;
    if (sd > 1e-12) cScale[j] = sd;
  }
  const out: ScaledShop[] = [];
  for (const panel of panels) {
    const { nodeCount: N, steps: T } = panel;
    for (let s = 0; s < panel.shops; s++) {
      const values = new Float64Array(N * T);
      const center = new Float64Array(N);
      const scale = new Float64Array(N).fill(1);
      for (let n = 0; n < N; n++) {
        const series = panel.series(s, n);
        let mean = 0;
        for (let t = 0; t < T; t++) mean += series[t];
        mean /= T;
        let ss = 0;
        for (let t = 0; t < T; t++) ss += (series[t] - mean) ** 2;
        const sd = Math.sqrt(ss / T);
        center[n] = mean;
        // A flat series (e.g. a channel that never ran) is only centred.
        if (sd > 1e-9 * Math.max(1, Math.abs(mean))) scale[n] = sd;
        for (let t = 0; t < T; t++) values[n * T + t] = (series[t] - mean) / scale[n];
      }
      const raw = panel.shopContext(s);
      const context = Float64Array.from({ length: k }, (_, j) => (raw![j] - cCenter[j]) / cScale[j]);
      out.push({ values, center, scale, steps: T, context });
    }
  }
  return out;
}

export interface Origin {
  shop: number;
  origin: number;
}

/**
 * Forecast origins of every shop, split in time: the last `validationOrigins` origins of each
 * shop validate, and training origins stop so that their targets end before the first
 * validation target — no validation step is ever a training target.
 */
export function splitOrigins(
  shops: readonly ScaledShop[],
  lookback: number,
  horizon: number,
  validationOrigins: number,
  method: string,
): { train: Origin[]; validation: Origin[] } {
  const train: Origin[] = [];
  const validation: Origin[] = [];
  shops.forEach((shop, s) => {
    const last = shop.steps - horizon;
    const firstValidation = Math.max(lookback, last - validationOrigins + 1);
    for (let o = lookback; o <= last; o++) {
      if (o >= firstValidation) validation.push({ shop: s, origin: o });
      else if (o + horizon <= firstValidation) train.push({ shop: s, origin: o });
    }
  });
  if (train.length === 0) {
    const shortest = Math.min(...shops.map((s) => s.steps));
    throw new UserError(
      `${method}: ${shortest} steps of history are too few for lookback ${lookback}, horizon ${horizon} and ${validationOrigins} validation origins`,
    );
  }
  return { train, validation };
}

/** Undoes the target's scaling of scaled GMV forecasts [S, horizon] of the first S shops. */
export function unscaleTarget(
  scaled: ArrayLike<number>,
  shops: readonly ScaledShop[],
  target: number,
  S: number,
  horizon: number,
): Float64Array {
  return Float64Array.from({ length: S * horizon }, (_, i) => {
    const shop = shops[Math.floor(i / horizon)];
    return scaled[i] * shop.scale[target] + shop.center[target];
  });
}
