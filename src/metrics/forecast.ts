/**
 * Forecast errors of a multi-shop forecast. Arrays are [S, N, H] in C order
 * (`x[(s * N + n) * H + (h - 1)]` is shop s, node n, step h after the history ends).
 */

/**
 * Metrics keyed as in results.json, for each requested 1-based horizon h:
 * - `mse@h`, `mae@h`: squared / absolute error of the target node (GMV) at step h, mean over shops;
 * - `mape@h`: |error| / |truth| of the target at step h, as a fraction (0.1 = 10 %), mean over
 *   the shops whose true value there is nonzero (a zero truth has no percentage error);
 *   NaN when every truth is zero;
 * - `mse_all@h`: squared error at step h averaged over shops and all N nodes;
 * and `mse`, `mae`: the target's errors averaged over shops and all steps 1…H.
 */
export function forecastMetrics(
  truth: ArrayLike<number>,
  forecast: ArrayLike<number>,
  S: number,
  N: number,
  H: number,
  targetIndex: number,
  horizons: readonly number[],
): Record<string, number> {
  const size = S * N * H;
  if (truth.length !== size)
    throw new RangeError(`truth holds ${truth.length} values, [${S}, ${N}, ${H}] needs ${size}`);
  if (forecast.length !== size) {
    throw new RangeError(`forecast holds ${forecast.length} values, [${S}, ${N}, ${H}] needs ${size}`);
  }
  if (!(Number.isInteger(targetIndex) && targetIndex >= 0 && targetIndex < N)) {
    throw new RangeError(`target index ${targetIndex} outside 0…${N - 1}`);
  }
  for (const h of horizons) {
    if (!(Number.isInteger(h) && h >= 1 && h <= H)) throw new RangeError(`horizon ${h} outside 1…${H}`);
  }
  const at = (s: number, n: number, h: number) => (s * N + n) * H + (h - 1);
  const out: Record<string, number> = {};
  for (const h of horizons) {
    let se = 0;
    let ae = 0;
    let ape = 0;
    let apeCount = 0;
    let seAll = 0;
    for (let s = 0; s < S; s++) {
      const k = at(s, targetIndex, h);
      const e = forecast[k] - truth[k];
      se += e * e;
      ae += Math.abs(e);
      if (truth[k] !== 0) {
        ape += Math.abs(e) / Math.abs(truth[k]);
        apeCount++;
      }
      for (let n = 0; n < N; n++) {
        const en = forecast[at(s, n, h)] - truth[at(s, n, h)];
        seAll += en * en;
      }
    }
    out[`mse@${h}`] = se / S;
    out[`mae@${h}`] = ae / S;
    out[`mape@${h}`] = apeCount > 0 ? ape / apeCount : Number.NaN;
    out[`mse_all@${h}`] = seAll / (S * N);
  }
  let se = 0;
  let ae = 0;
  for (let s = 0; s < S; s++) {
    for (let h = 1; h <= H; h++) {
      const e = forecast[at(s, targetIndex, h)] - truth[at(s, targetIndex, h)];
      se += e * e;
      ae += Math.abs(e);
    }
  }
  out.mse = se / (S * H);
  out.mae = ae / (S * H);
  return out;
}
