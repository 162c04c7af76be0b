/**
 * Checks a fit against the truth of simulated data: the simulator's true channel
 * contributions (GMV minus GMV with the channel at zero, same noise) against the estimated
 * ones, per channel, and the true graphs against the learned edge probabilities.
 */
import type { Panel } from '../data/panel.js';
import { graphMetrics, thresholdScores } from '../metrics/graph.js';
import type { ShopContributions } from './analyse.js';

export interface ChannelTruth {
  channel: string;
  /** Mean over shops of Σ contribution / Σ observed GMV over the measured steps. */
  trueShare: number;
  estimatedShare: number;
  /** Mean over shops of |estimated share − true share| (fraction of GMV). */
  meanAbsError: number;
  /** Pearson correlation over shops of estimated and true shares (NaN if either is constant). */
  correlation: number;
}

export interface TruthComparison {
  shops: number;
  channels: ChannelTruth[];
  /** Mean over channels of `meanAbsError`. */
  meanAbsError: number;
  /** The same error for the estimate "no channel contributes anything" (mean |true share|). */
  zeroEstimateError: number;
  graph: { auroc: number; auprc: number; shd: number; f1: number; threshold: number };
}

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

/**
 * Compares estimated contributions (over steps [from, to) of each shop) and edge
 * probabilities with the panel's true contributions [S, C, T] and graphs. Shares are of the
 * observed GMV over the same steps, so shops of different sizes weigh alike.
 */
export function compareWithTruth(
  panel: Panel,
  estimated: readonly ShopContributions[],
  probabilities: readonly Float64Array[],
  threshold: number,
): TruthComparison {
  const truth = panel.contributions;
  if (!truth || !panel.graph)
    throw new RangeError(`${panel.source}: no true contributions and graphs to compare with`);
  const channels = panel.channelIndices;
  const C = channels.length;
  const T = panel.steps;
  const S = panel.shops;
  const trueShares = channels.map(() => new Array<number>(S));
  const estShares = channels.map(() => new Array<number>(S));
  for (let s = 0; s < S; s++) {
    const { from, to } = estimated[s];
    const gmv = panel.series(s, panel.targetIndex);
    let total = 0;
    for (let t = from; t < to; t++) total += gmv[t];
    for (let c = 0; c < C; c++) {
      let tru = 0;
      for (let t = from; t < to; t++) tru += truth[(s * C + c) * T + t];
      const est = estimated[s].contributions[c].reduce((a, v) => a + v, 0);
      trueShares[c][s] = tru / total;
      estShares[c][s] = est / total;
    }
  }
  const mean = (a: readonly number[]) => a.reduce((x, v) => x + v, 0) / a.length;
  const perChannel = channels.map((n, c) => ({
    channel: panel.nodes[n].name,
    trueShare: mean(trueShares[c]),
    estimatedShare: mean(estShares[c]),
    meanAbsError: mean(trueShares[c].map((v, s) => Math.abs(estShares[c][s] - v))),
    correlation: pearson(trueShares[c], estShares[c]),
  }));
  const N = panel.nodeCount;
  const truths = Array.from({ length: S }, (_, s) => panel.trueGraph(s)!);
  const metrics = graphMetrics(
    truths,
    probabilities,
    probabilities.map((p) => thresholdScores(p, threshold)),
    N,
  );
  return {
    shops: S,
    channels: perChannel,
    meanAbsError: mean(perChannel.map((c) => c.meanAbsError)),
    zeroEstimateError: mean(trueShares.map((shares) => mean(shares.map(Math.abs)))),
    graph: { auroc: metrics.auroc, auprc: metrics.auprc, shd: metrics.shd!, f1: metrics.f1!, threshold },
  };
}
