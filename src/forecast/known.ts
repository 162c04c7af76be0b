/**
 * Helpers every forecaster shares for what is known at forecast time (see
 * experiments/protocol.ts): the future channel spends of `MethodInput.futureChannels`.
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
