/**
 * Threshold-free ranking metrics of scores against binary labels, matching scikit-learn's
 * roc_auc_score and average_precision_score (ties included). Labels: nonzero = positive.
 * NaN scores rank below every number (a method that gives no evidence ranks the pair last).
 */

function checkLengths(labels: ArrayLike<number>, scores: ArrayLike<number>, name: string): void {
  if (labels.length !== scores.length) {
    throw new RangeError(`${name}: ${labels.length} labels but ${scores.length} scores`);
  }
}

function scoreOf(scores: ArrayLike<number>, i: number): number {
  const s = scores[i];
  return Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s;
}

/** Indices sorted by decreasing score (NaN last); ties keep input order. */
function descendingOrder(scores: ArrayLike<number>): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i);
  order.sort((a, b) => scoreOf(scores, b) - scoreOf(scores, a) || a - b);
  return order;
}

/**
 * Area under the ROC curve as the Mann–Whitney statistic: (sum of the positives' ranks −
 * n₁(n₁+1)/2) / (n₁ n₀), with tied scores sharing their average rank (a tie between a
 * positive and a negative counts one half). NaN when only one class is present.
 */
export function auroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, 'auroc');
  const n = labels.length;
  const order = descendingOrder(scores).reverse();
  let positives = 0;
  let rankSum = 0;
  let start = 0;
  while (start < n) {
    let end = start + 1;
    const value = scoreOf(scores, order[start]);
    while (end < n && scoreOf(scores, order[end]) === value) end++;
    // 1-based ranks start+1 … end share their average.
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k]] !== 0) {
        positives++;
        rankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Cumulative true and false positive counts at each distinct score, from the highest score
 * down (the points of scikit-learn's `_binary_clf_curve`).
 */
function cumulativeCounts(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): { tps: number[]; fps: number[]; thresholds: number[] } {
  const order = descendingOrder(scores);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]] !== 0) tp++;
    else fp++;
    const value = scoreOf(scores, order[k]);
    if (k === order.length - 1 || scoreOf(scores, order[k + 1]) !== value) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(value);
    }
  }
  return { tps, fps, thresholds };
}

/**
 * Average precision as scikit-learn computes it: Σₖ (Rₖ − Rₖ₋₁) Pₖ over the distinct score
 * thresholds from high to low, tied scores entering together; no interpolation. NaN when no
 * label is positive (scikit-learn warns and returns a meaningless value there).
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, 'averagePrecision');
  const { tps, fps } = cumulativeCounts(labels, scores);
  const total = tps.length > 0 ? tps[tps.length - 1] : 0;
  if (total === 0) return Number.NaN;
  let ap = 0;
  let previousRecall = 0;
  for (let k = 0; k < tps.length; k++) {
    const recall = tps[k] / total;
    ap += (recall - previousRecall) * (tps[k] / (tps[k] + fps[k]));
    previousRecall = recall;
  }
  return ap;
}

export interface RocCurve {
  /** False positive rates, starting at 0 and ending at 1. */
  fpr: number[];
  /** True positive rates, same length as `fpr`. */
  tpr: number[];
  /** Score at or above which a pair is called positive at each point; +∞ for the first point. */
  thresholds: number[];
}

/**
 * ROC points at every distinct threshold (scikit-learn's roc_curve with
 * drop_intermediate=False), preceded by the (0, 0) point. Rates are NaN for an absent class.
 */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocCurve {
  checkLengths(labels, scores, 'rocCurve');
  const { tps, fps, thresholds } = cumulativeCounts(labels, scores);
  const P = tps.length > 0 ? tps[tps.length - 1] : 0;
  const N = fps.length > 0 ? fps[fps.length - 1] : 0;
  return {
    fpr: [0, ...fps.map((f) => (N > 0 ? f / N : Number.NaN))],
    tpr: [0, ...tps.map((t) => (P > 0 ? t / P : Number.NaN))],
    thresholds: [Number.POSITIVE_INFINITY, ...thresholds],
  };
}
