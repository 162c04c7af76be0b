/**
 * CausalMMM against each baseline on one per-shop metric (AUROC by default): paired Wilcoxon
 * signed-rank tests over (seed × shop) pairs of each dataset, and the relative gain of CausalMMM's
 * mean over the best baseline's, (ours − best) / best, as the paper reports it (it claims
 * 5.7–7.1 % on its synthetic data) — printed whatever it turns out to be.
 */
import { meanStd } from '../src/metrics/aggregate.js';
import { wilcoxonSignedRank } from '../src/stats/wilcoxon.js';
import type { CellResult } from './results.js';
import { lowerIsBetter } from './tables.js';

/** Rows of this method are "ours"; every other row with the metric is a baseline. */
export const PROPOSED_METHOD = 'causalmmm';

export interface PairedComparison {
  dataset: string;
  proposed: string;
  baseline: string;
  metric: string;
  /** (seed, shop) pairs where both rows have the metric. */
  pairs: number;
  /** Mean over pairs of proposed − baseline. */
  meanDifference: number;
  /** Two-sided Wilcoxon signed-rank p-value. */
  pValue: number;
}

export interface RelativeGain {
  dataset: string;
  proposed: string;
  metric: string;
  proposedMean: number;
  bestBaseline: string;
  bestBaselineMean: number;
  /** (proposed − best) / best for a higher-is-better metric; (best − proposed) / best otherwise. */
  gain: number;
}

/** Per-shop values of a row on one dataset, keyed `seed:shop`. */
function perShopValues(cells: readonly CellResult[], metric: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const cell of cells) {
    if (cell.status !== 'ok') continue;
    cell.perShop?.[metric]?.forEach((value, shop) => {
      if (Number.isFinite(value)) out.set(`${cell.seed}:${shop}`, value);
    });
  }
  return out;
}

/** Mean over seeds of a row's metric on one dataset. */
function rowMean(cells: readonly CellResult[], metric: string): number {
  return meanStd(
    cells.flatMap((c) =>
      c.status === 'ok' && Number.isFinite(c.metrics[metric]) ? [c.metrics[metric]] : [],
    ),
  ).mean;
}

/** Graph cells only once per (dataset, seed, row): forecast splits repeat the same graph. */
function graphCells(cells: readonly CellResult[]): CellResult[] {
  return cells.filter((c) => c.split !== 'shops');
}

export function compareWithBaselines(
  allCells: readonly CellResult[],
  metric = 'auroc',
): { tests: PairedComparison[]; gains: RelativeGain[] } {
  const cells = graphCells(allCells).filter((c) => metric in c.metrics || c.status === 'failed');
  const tests: PairedComparison[] = [];
  const gains: RelativeGain[] = [];
  for (const dataset of [...new Set(cells.map((c) => c.dataset))]) {
    const here = cells.filter((c) => c.dataset === dataset);
    const rows = [...new Set(here.map((c) => c.label))];
    const proposedRows = rows.filter((r) => here.some((c) => c.label === r && c.method === PROPOSED_METHOD));
    const baselineRows = rows.filter((r) => !proposedRows.includes(r));
    for (const proposed of proposedRows) {
      const ours = here.filter((c) => c.label === proposed);
      const oursValues = perShopValues(ours, metric);
      for (const baseline of baselineRows) {
        const theirs = perShopValues(
          here.filter((c) => c.label === baseline),
          metric,
        );
        const differences = [...oursValues].flatMap(([key, v]) =>
          theirs.has(key) ? [v - theirs.get(key)!] : [],
        );
        if (differences.length === 0) continue;
        tests.push({
          dataset,
          proposed,
          baseline,
          metric,
          pairs: differences.length,
          meanDifference: differences.reduce((a, b) => a + b, 0) / differences.length,
          pValue: wilcoxonSignedRank(differences).pValue,
        });
      }
      const means = baselineRows
        .map((b) => ({
          baseline: b,
          mean: rowMean(
            here.filter((c) => c.label === b),
            metric,
          ),
        }))
        .filter((b) => Number.isFinite(b.mean));
      const proposedMean = rowMean(ours, metric);
      if (means.length === 0 || !Number.isFinite(proposedMean)) continue;
      const lower = lowerIsBetter(metric);
      const best = means.reduce((a, b) => ((lower ? b.mean < a.mean : b.mean > a.mean) ? b : a));
      gains.push({
        dataset,
        proposed,
        metric,
        proposedMean,
        bestBaseline: best.baseline,
        bestBaselineMean: best.mean,
        gain: (lower ? best.mean - proposedMean : proposedMean - best.mean) / Math.abs(best.mean),
      });
    }
  }
  return { tests, gains };
}

const signed = (x: number, digits = 3) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** Markdown section of the comparisons; empty when there is nothing to compare. */
export function comparisonMarkdown(comparison: { tests: PairedComparison[]; gains: RelativeGain[] }): string {
  const { tests, gains } = comparison;
  if (tests.length === 0 && gains.length === 0) return '';
  const metric = tests[0]?.metric ?? gains[0].metric;
  const out = [`### ${PROPOSED_METHOD} against the baselines (${metric})`, ''];
  if (gains.length > 0) {
    out.push(
      `Relative ${metric} gain over the best baseline (by mean over seeds):`,
      '',
      '| dataset | row | mean | best baseline | its mean | relative gain |',
      '|---|---|---|---|---|---|',
      ...gains.map(
        (g) =>
          `| ${g.dataset} | ${g.proposed} | ${g.proposedMean.toFixed(3)} | ${g.bestBaseline} | ${g.bestBaselineMean.toFixed(3)} | ${signed(100 * g.gain, 1)} % |`,
      ),
      '',
    );
  }
  if (tests.length > 0) {
    out.push(
      `Paired Wilcoxon signed-rank tests over (seed × shop) pairs, two-sided:`,
      '',
      '| dataset | row | baseline | pairs | mean difference | p |',
      '|---|---|---|---|---|---|',
      ...tests.map(
        (t) =>
          `| ${t.dataset} | ${t.proposed} | ${t.baseline} | ${t.pairs} | ${signed(t.meanDifference)} | ${t.pValue < 1e-4 ? t.pValue.toExponential(1) : t.pValue.toFixed(4)} |`,
      ),
      '',
    );
  }
  return out.join('\n');
}
