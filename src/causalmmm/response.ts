/**
 * The learned saturation of a trained CausalMMM: the Hill curve the decoder puts on the
 * target's prediction, ŷ = y·f^α / (f^α + γ^α) with f = max(y, 0.1), where α and γ are affine
 * in the shop's context (`saturation: hill-context`) or constants (`hill`), each clamped at 0.1.
 * A run reports a few shops' curves so that the report can draw how saturation varies with the
 * context (experiments/figures.ts `response-<dataset>`); y and ŷ are in the model's scaled units
 * (option `scale`: under `max`, 1 is the shop's largest target value).
 */
import * as tf from '@tensorflow/tfjs';
import type { HillResponse } from '../methods/method.js';
import type { CausalmmmModel } from './model.js';
import type { ShopSeries } from './train.js';

/** The model's Hill curve in plain numbers (hillSaturation in model.ts computes it on tensors). */
export function hillCurve(y: number, alpha: number, gamma: number): number {
  const f = Math.max(y, 0.1);
  // y·σ(α(log f − log γ)), as the model computes it: no overflow of f^α for large α.
  return y / (1 + Math.exp(-alpha * (Math.log(f) - Math.log(gamma))));
}

/**
 * α and γ of the target's Hill curve for each of S shops, from their context [S, k] (C order),
 * exactly as the decoder gets them; undefined when the model has no saturation.
 */
export function hillParametersOf(
  model: CausalmmmModel,
  context: Float32Array | undefined,
  shops: number,
): { alpha: Float32Array; gamma: Float32Array } | undefined {
  if (model.saturationKind === 'none') return undefined;
  const k = context ? context.length / shops : 0;
  return tf.tidy(() => {
    // As in decode(): the context reaches the curve only under `hill-context`.
    const used =
      model.saturationKind === 'hill-context' && context ? tf.tensor2d(context, [shops, k]) : undefined;
    const { alpha, logGamma } = model.hillParameters(used, shops);
    return { alpha: alpha.dataSync() as Float32Array, gamma: logGamma.exp().dataSync() as Float32Array };
  });
}

/** The shops' order quantiles the report draws (lowest, quartiles, highest). */
export const RESPONSE_QUANTILES = [0, 0.25, 0.5, 0.75, 1];

/** Six significant digits: plenty for a figure. */
const short = (x: number) => Number(x.toPrecision(6));

/**
 * The learned saturation of the scored shops, for results.json: the range of the scaled target
 * they feed the curve, and the curves of the shops at quantiles `RESPONSE_QUANTILES` of the
 * saturated share ŷ/y at the top of that range (how much a shop's curve bends where it matters
 * most); under `hill` every shop shares one curve. Undefined without saturation.
 */
export function hillResponse(
  model: CausalmmmModel,
  series: ShopSeries,
  shopIds: readonly string[],
): HillResponse | undefined {
  const { shops: S, nodes: N, steps: T, contextSize: k } = series;
  const params = hillParametersOf(model, series.context, S);
  if (!params) return undefined;
  const target = model.shape.targetIndex;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let s = 0; s < S; s++) {
    for (const v of series.values.subarray((s * N + target) * T, (s * N + target + 1) * T)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const input: [number, number] = [short(Math.min(lo, 0)), short(hi)];
  const curveOf = (s: number, quantile?: number) => ({
    shop: shopIds[s],
    ...(quantile === undefined ? {} : { quantile }),
    alpha: short(params.alpha[s]),
    gamma: short(params.gamma[s]),
    ...(k > 0 && series.context
      ? { context: [...series.context.subarray(s * k, (s + 1) * k)].map(short) }
      : {}),
  });
  const base = {
    kind: model.saturationKind as HillResponse['kind'],
    scale: model.options.scale,
    input,
    shops: S,
  };
  if (model.saturationKind === 'hill') {
    return {
      ...base,
      curves: [{ shop: 'every shop', alpha: short(params.alpha[0]), gamma: short(params.gamma[0]) }],
    };
  }
  const top = hi > 0 ? hi : 1;
  const share = (s: number) => hillCurve(top, params.alpha[s], params.gamma[s]) / top;
  const order = Array.from({ length: S }, (_, s) => s).sort((a, b) => share(a) - share(b) || a - b);
  const picked = new Map<number, number>();
  for (const q of RESPONSE_QUANTILES) {
    const s = order[Math.round(q * (S - 1))];
    if (!picked.has(s)) picked.set(s, q);
  }
  return { ...base, curves: [...picked].map(([s, q]) => curveOf(s, q)) };
}
