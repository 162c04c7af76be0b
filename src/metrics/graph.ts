import { auroc, averagePrecision } from './ranking.js';

/**
 * Metrics of learned causal graphs against true ones. Every matrix is N × N row-major with
 * `A[i * N + j]` about j → i (row = effect, column = cause); the diagonal (self-loops) is
 * left out unless `withDiagonal` is set.
 */

export interface PairOptions {
  /** Include the N self-loop entries (default false). */
  withDiagonal?: boolean;
  /** N × N mask: only the pairs where it is nonzero are compared (default: every pair). */
  only?: ArrayLike<number>;
}

function checkSize(matrix: ArrayLike<number>, N: number, name: string): void {
  if (matrix.length !== N * N)
    throw new RangeError(`${name} holds ${matrix.length} entries, expected ${N}×${N}`);
}

/**
 * The entries that metrics compare, in row-major order: N(N − 1) off-diagonal pairs, or all
 * N² with `withDiagonal`. Labels are 1 where `truth` is nonzero.
 */
export function offDiagonalPairs(
  truth: ArrayLike<number>,
  scores: ArrayLike<number>,
  N: number,
  options: PairOptions = {},
): { labels: Uint8Array; scores: Float64Array } {
  checkSize(truth, N, 'truth');
  checkSize(scores, N, 'scores');
  const { only } = options;
  if (only) checkSize(only, N, 'pair mask');
  const kept = (i: number, j: number) => (i !== j || options.withDiagonal) && only?.[i * N + j] !== 0;
  let keep = 0;
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (kept(i, j)) keep++;
  const labels = new Uint8Array(keep);
  const out = new Float64Array(keep);
  let k = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (!kept(i, j)) continue;
      labels[k] = truth[i * N + j] !== 0 ? 1 : 0;
      out[k] = scores[i * N + j];
      k++;
    }
  }
  return { labels, scores: out };
}

/** AUROC of one shop's scores against its true graph; NaN if the graph is empty or complete. */
export function graphAuroc(
  truth: ArrayLike<number>,
  scores: ArrayLike<number>,
  N: number,
  options: PairOptions = {},
): number {
  const pairs = offDiagonalPairs(truth, scores, N, options);
  return auroc(pairs.labels, pairs.scores);
}

/** Area under the precision–recall curve (average precision) of one shop; NaN if no true edge. */
export function graphAuprc(
  truth: ArrayLike<number>,
  scores: ArrayLike<number>,
  N: number,
  options: PairOptions = {},
): number {
  const pairs = offDiagonalPairs(truth, scores, N, options);
  return averagePrecision(pairs.labels, pairs.scores);
}

/**
 * Structural Hamming distance between two directed graphs: the number of node pairs {i, j},
 * i ≠ j, whose connection differs, i.e. the edge additions, deletions and reversals that turn
 * `predicted` into `truth`. A reversed edge counts 1, not 2 (the convention of Tsamardinos et
 * al. 2006 and of most causal-discovery benchmarks); so does any other change on one pair,
 * e.g. a two-cycle predicted where the truth has one direction. Self-loops are ignored.
 */
export function shd(truth: ArrayLike<number>, predicted: ArrayLike<number>, N: number): number {
  checkSize(truth, N, 'truth');
  checkSize(predicted, N, 'predicted');
  let distance = 0;
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      const sameForward = (truth[i * N + j] !== 0) === (predicted[i * N + j] !== 0);
      const sameBackward = (truth[j * N + i] !== 0) === (predicted[j * N + i] !== 0);
      if (!(sameForward && sameBackward)) distance++;
    }
  }
  return distance;
}

/**
 * F1 score of predicted directed edges over the ordered off-diagonal pairs: 2TP/(2TP + FP + FN).
 * NaN when both graphs are empty (nothing to find and nothing claimed), so aggregates skip it.
 */
export function f1(truth: ArrayLike<number>, predicted: ArrayLike<number>, N: number): number {
  checkSize(truth, N, 'truth');
  checkSize(predicted, N, 'predicted');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      if (i === j) continue;
      const t = truth[i * N + j] !== 0;
      const p = predicted[i * N + j] !== 0;
      if (t && p) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
  }
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? Number.NaN : (2 * tp) / denominator;
}

/** Binary graph with 1 where the score is at least `threshold` (NaN scores give 0). */
export function thresholdScores(scores: ArrayLike<number>, threshold: number): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let k = 0; k < scores.length; k++) out[k] = scores[k] >= threshold ? 1 : 0;
  return out;
}

export interface GraphMetrics {
  /** Mean over shops of the per-shop AUROC, over the shops where it is defined. */
  auroc: number;
  /** Mean over shops of the per-shop average precision, where defined. */
  auprc: number;
  /** AUROC of all shops' off-diagonal pairs pooled into one ranking. */
  auroc_pooled: number;
  /** Average precision of all shops' pairs pooled. */
  auprc_pooled: number;
  /**
   * Mean per-shop AUROC over the pairs whose true edge differs between shops (NaN when every
   * shop has the same graph). The other pairs are the same in every shop, so a method can
   * score them by learning the population's graph; these measure shop-specific discovery.
   */
  auroc_varying: number;
  /** Mean SHD over shops, when binary graphs are given. */
  shd?: number;
  /** Mean F1 over shops where defined, when binary graphs are given. */
  f1?: number;
  /** The per-shop values behind the means (NaN where undefined), in shop order, for paired tests. */
  perShop: { auroc: number[]; auprc: number[]; auroc_varying: number[]; shd?: number[]; f1?: number[] };
}

/** N × N mask of the pairs whose true edge is present in some shops and absent in others. */
export function varyingPairs(truthPerShop: readonly ArrayLike<number>[], N: number): Uint8Array {
  const mask = new Uint8Array(N * N);
  for (let k = 0; k < N * N; k++) {
    const first = truthPerShop[0]?.[k] !== 0;
    mask[k] = truthPerShop.some((t) => (t[k] !== 0) !== first) ? 1 : 0;
  }
  return mask;
}

function meanDefined(values: number[]): number {
  const defined = values.filter((v) => !Number.isNaN(v));
  return defined.length === 0 ? Number.NaN : defined.reduce((a, b) => a + b, 0) / defined.length;
}

/**
 * Graph metrics of a multi-shop result: one truth and one score matrix per shop (pass the same
 * truth for every shop when the graph is shared), plus the method's own binary graphs if it
 * makes decisions. Per-shop AUROC/AUPRC are averaged over the shops where they are defined;
 * the pooled variants rank every shop's pairs together, which also rewards scores that are
 * comparable across shops.
 */
export function graphMetrics(
  truthPerShop: readonly ArrayLike<number>[],
  scoresPerShop: readonly ArrayLike<number>[],
  binaryPerShop: readonly ArrayLike<number>[] | undefined,
  N: number,
  /** `only` is not taken: the metrics choose their own pairs (all, or the varying ones). */
  options: Omit<PairOptions, 'only'> = {},
): GraphMetrics {
  const S = truthPerShop.length;
  if (scoresPerShop.length !== S)
    throw new RangeError(`${S} true graphs but ${scoresPerShop.length} score matrices`);
  if (binaryPerShop && binaryPerShop.length !== S) {
    throw new RangeError(`${S} true graphs but ${binaryPerShop.length} binary graphs`);
  }
  const per = options.withDiagonal ? N * N : N * (N - 1);
  const pooledLabels = new Uint8Array(S * per);
  const pooledScores = new Float64Array(S * per);
  const aurocs: number[] = [];
  const auprcs: number[] = [];
  const varying = varyingPairs(truthPerShop, N);
  const aurocsVarying: number[] = [];
  for (let s = 0; s < S; s++) {
    const pairs = offDiagonalPairs(truthPerShop[s], scoresPerShop[s], N, options);
    pooledLabels.set(pairs.labels, s * per);
    pooledScores.set(pairs.scores, s * per);
    aurocs.push(auroc(pairs.labels, pairs.scores));
    auprcs.push(averagePrecision(pairs.labels, pairs.scores));
    aurocsVarying.push(graphAuroc(truthPerShop[s], scoresPerShop[s], N, { ...options, only: varying }));
  }
  const result: GraphMetrics = {
    auroc: meanDefined(aurocs),
    auprc: meanDefined(auprcs),
    auroc_pooled: auroc(pooledLabels, pooledScores),
    auprc_pooled: averagePrecision(pooledLabels, pooledScores),
    auroc_varying: meanDefined(aurocsVarying),
    perShop: { auroc: aurocs, auprc: auprcs, auroc_varying: aurocsVarying },
  };
  if (binaryPerShop) {
    const shds = truthPerShop.map((t, s) => shd(t, binaryPerShop[s], N));
    const f1s = truthPerShop.map((t, s) => f1(t, binaryPerShop[s], N));
    result.shd = meanDefined(shds);
    result.f1 = meanDefined(f1s);
    Object.assign(result.perShop, { shd: shds, f1: f1s });
  }
  return result;
}
