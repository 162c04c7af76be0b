import { describe, expect, it } from 'vitest';
import { compareWithBaselines, comparisonMarkdown } from '../experiments/compare.js';
import type { CellResult } from '../experiments/results.js';
import { wilcoxonSignedRank } from '../src/stats/wilcoxon.js';

/** Untied differences ((37k mod 101) − 40 + k/1000, k = 1…n), as fed to scipy for the references below. */
const untied = (n: number) =>
  Array.from({ length: n }, (_, i) => (((i + 1) * 37) % 101) - 40 + (i + 1) / 1000);

describe('Wilcoxon signed-rank test', () => {
  it('matches scipy.stats.wilcoxon exactly on its documented example (n = 15, exact)', () => {
    const r = wilcoxonSignedRank([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75]);
    expect(r.statistic).toBe(24);
    expect(r.method).toBe('exact');
    expect(r.pValue).toBe(0.041259765625);
  });

  it('matches scipy on untied data: exact at n = 20, normal approximation at n = 60', () => {
    const small = wilcoxonSignedRank(untied(20));
    expect(small.statistic).toBe(65);
    expect(small.pValue).toBeCloseTo(0.14290618896484375, 14);
    const large = wilcoxonSignedRank(untied(60));
    expect(large.method).toBe('normal');
    expect(large.statistic).toBe(554);
    expect(large.pValue).toBeCloseTo(0.007871355636524647, 6);
  });

  it('drops zeros and averages tied ranks as scipy (method approx, no continuity correction)', () => {
    const r = wilcoxonSignedRank([1, 1, -1, 2, 2, 3, 3, 3, -4, 5, 0, -2.5, 6, 7, -0.5]);
    expect(r.n).toBe(14);
    expect(r.statistic).toBe(22);
    expect(r.method).toBe('normal');
    expect(r.pValue).toBeCloseTo(0.05499177085434167, 6);
  });

  it('is symmetric in the sign of the differences, and p = 1 without differences', () => {
    const d = untied(12);
    expect(wilcoxonSignedRank(d.map((x) => -x)).pValue).toBe(wilcoxonSignedRank(d).pValue);
    expect(wilcoxonSignedRank([0, 0]).pValue).toBe(1);
  });
});

function cell(label: string, method: string, seed: number, perShop: number[]): CellResult {
  return {
    dataset: 'd',
    method,
    label,
    seed,
    options: {},
    status: 'ok',
    metrics: { auroc: perShop.reduce((a, b) => a + b, 0) / perShop.length },
    perShop: { auroc: perShop },
    shops: perShop.length,
    seconds: 1,
  };
}

describe('CausalMMM against the baselines', () => {
  const cells = [
    cell('causalmmm', 'causalmmm', 0, [0.9, 0.8, 0.85]),
    cell('causalmmm', 'causalmmm', 1, [0.95, 0.7, 0.8]),
    cell('a', 'granger-var', 0, [0.8, 0.7, 0.7]),
    cell('a', 'granger-var', 1, [0.8, 0.75, 0.6]),
    cell('b', 'gvar', 0, [0.6, 0.5, 0.6]),
    cell('b', 'gvar', 1, [0.7, 0.5, 0.5]),
    cell('persistence', 'persistence', 0, [Number.NaN, Number.NaN, Number.NaN]),
  ];

  it('pairs (seed, shop) values per baseline and takes the gain over the best baseline', () => {
    const { tests, gains } = compareWithBaselines(cells);
    expect(tests.map((t) => [t.baseline, t.pairs])).toEqual([
      ['a', 6],
      ['b', 6],
    ]);
    expect(tests[0].meanDifference).toBeCloseTo((0.1 + 0.1 + 0.15 + 0.15 - 0.05 + 0.2) / 6, 12);
    // The same floating-point differences as the function forms (0.9 − 0.8 and 0.8 − 0.7 do not tie).
    const differences = [0.9 - 0.8, 0.8 - 0.7, 0.85 - 0.7, 0.95 - 0.8, 0.7 - 0.75, 0.8 - 0.6];
    expect(tests[0].pValue).toBe(wilcoxonSignedRank(differences).pValue);
    expect(gains).toHaveLength(1);
    expect(gains[0].bestBaseline).toBe('a');
    const ours = (0.85 + (0.95 + 0.7 + 0.8) / 3) / 2;
    const best = ((0.8 + 0.7 + 0.7) / 3 + (0.8 + 0.75 + 0.6) / 3) / 2;
    expect(gains[0].gain).toBeCloseTo((ours - best) / best, 12);
    expect(comparisonMarkdown({ tests, gains })).toContain(`| d | causalmmm | ${ours.toFixed(3)} | a |`);
  });

  it('has nothing to say without CausalMMM', () => {
    expect(comparisonMarkdown(compareWithBaselines(cells.slice(2)))).toBe('');
  });
});
