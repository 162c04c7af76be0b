/**
 * Helpers every forecaster shares: the future channel spends known at forecast time
 * (`MethodInput.futureChannels`, see experiments/protocol.ts), and the assembly of a
 * forecast [S, N, horizon] from a GMV-only model.
 */
import type { Panel } from '../data/panel.js';

/**
 * Checks that `futureChannels` has the [S, C, horizon] shape of `panel`; throws a RangeError
 * naming the method otherwise (a harness bug, not a user error).
 */
export function checkFutureChannels(
  method: string,
  panel: Panel,
  horizon: number,
  futureChannels: Float32Array | undefined,
): void {
  if (!futureChannels) return;
  const size = panel.shops * panel.channelIndices.length * horizon;
  if (futureChannels.length !== size) {
    throw new RangeError(
      `${method}: futureChannels holds ${futureChannels.length} values; [${panel.shops}, ${panel.channelIndices.length}, ${horizon}] needs ${size}`,
    );
  }
}

/**
 * Writes the known future spends into forecasts [S, N, horizon] (C order) at the channel
 * nodes, so a method's forecast of a spend it was told is exactly that spend.
 */
export function writeKnownChannels(
  forecasts: Float32Array,
  panel: Panel,
  horizon: number,
  futureChannels: Float32Array | undefined,
): void {
  if (!futureChannels) return;
  const N = panel.nodeCount;
  const channels = panel.channelIndices;
  for (let s = 0; s < panel.shops; s++) {
    channels.forEach((node, c) => {
      const from = (s * channels.length + c) * horizon;
      forecasts.set(futureChannels.subarray(from, from + horizon), (s * N + node) * horizon);
    });
  }
}

/**
 * Forecasts [S, N, horizon] of a model that predicts GMV only: the target rows from `gmv`
 * ([S, horizon], original units), every other node persistence (its last value), and the
 * channels the known spends when given.
 */
export function gmvForecasts(
  panel: Panel,
  horizon: number,
  gmv: ArrayLike<number>,
  futureChannels: Float32Array | undefined,
): Float32Array {
  const { shops: S, nodeCount: N, steps: T } = panel;
  const forecasts = new Float32Array(S * N * horizon);
  for (let s = 0; s < S; s++) {
    for (let n = 0; n < N; n++) {
      const offset = (s * N + n) * horizon;
      if (n === panel.targetIndex) {
        for (let h = 0; h < horizon; h++) forecasts[offset + h] = gmv[s * horizon + h];
      } else forecasts.fill(panel.series(s, n)[T - 1], offset, offset + horizon);
    }
  }
  writeKnownChannels(forecasts, panel, horizon, futureChannels);
  return forecasts;
}
