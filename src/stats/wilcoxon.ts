import { errorFunction } from 'simple-statistics';

/**
 * Wilcoxon signed-rank test of paired differences (H0: symmetric about 0), as scipy's
 * `wilcoxon(d, zero_method='wilcox', correction=False)`: zero differences are dropped, tied
 * |d| share their average rank; the p-value is exact (the null distribution of T+ by counting
 * sign assignments) when at most 50 differences remain and none tie, else from the normal
 * approximation with the tie-corrected variance.
 */
export interface WilcoxonResult {
  /** Differences left after dropping zeros (and non-finite values). */
  n: number;
  /** Sum of the ranks of the positive differences. */
  rankSumPositive: number;
  /** min(T+, T−): scipy's two-sided statistic. */
  statistic: number;
  /** Two-sided p-value (1 when no difference is left). */
  pValue: number;
  method: 'exact' | 'normal';
}

/** Above this many differences the exact distribution is replaced by the normal approximation. */
const EXACT_MAX = 50;

/** Ranks 1…n of `values` (ascending), ties averaged. */
function averageRanks(values: readonly number[]): { ranks: number[]; tied: number[] } {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  const tied: number[] = [];
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && order[end][0] === order[start][0]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k][1]] = rank;
    if (end - start > 1) tied.push(end - start);
    start = end;
  }
  return { ranks, tied };
}

/** P(T+ ≤ t) under H0 for n untied differences: counts of rank subsets by their sum. */
function exactCdf(n: number, t: number): number {
  const max = (n * (n + 1)) / 2;
  let counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let rank = 1; rank <= n; rank++) {
    const next = counts.slice();
    for (let sum = rank; sum <= max; sum++) next[sum] += counts[sum - rank];
    counts = next;
  }
  let below = 0;
  for (let sum = 0; sum <= Math.floor(t); sum++) below += counts[sum];
  return below / 2 ** n;
}

const normalCdf = (z: number) => 0.5 * (1 + errorFunction(z / Math.SQRT2));

export function wilcoxonSignedRank(differences: readonly number[]): WilcoxonResult {
  const d = differences.filter((x) => Number.isFinite(x) && x !== 0);
  const n = d.length;
  if (n === 0) return { n, rankSumPositive: 0, statistic: 0, pValue: 1, method: 'exact' };
  const { ranks, tied } = averageRanks(d.map(Math.abs));
  const rankSumPositive = ranks.reduce((sum, r, i) => sum + (d[i] > 0 ? r : 0), 0);
  const total = (n * (n + 1)) / 2;
  const statistic = Math.min(rankSumPositive, total - rankSumPositive);
  if (n <= EXACT_MAX && tied.length === 0) {
    const pValue = Math.min(1, 2 * exactCdf(n, statistic));
    return { n, rankSumPositive, statistic, pValue, method: 'exact' };
  }
  const mean = total / 2;
  const tieCorrection = tied.reduce((sum, t) => sum + t ** 3 - t, 0) / 48;
  const sd = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24 - tieCorrection);
  const pValue = sd > 0 ? Math.min(1, 2 * normalCdf((statistic - mean) / sd)) : 1;
  return { n, rankSumPositive, statistic, pValue, method: 'normal' };
}
