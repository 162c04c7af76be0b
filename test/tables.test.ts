import { describe, expect, it } from 'vitest';
import type { CellResult } from '../experiments/results.js';
import {
  csvTable,
  latexEscape,
  latexTables,
  markdownTables,
  rankMarks,
  summarize,
} from '../experiments/tables.js';

function cell(
  dataset: string,
  label: string,
  seed: number,
  metrics: Record<string, number>,
  ok = true,
): CellResult {
  return {
    dataset,
    method: label,
    label,
    seed,
    options: {},
    status: ok ? 'ok' : 'failed',
    ...(ok ? {} : { error: 'boom' }),
    metrics,
    shops: 1,
    seconds: 0.1,
  };
}

describe('tables', () => {
  const cells = [
    cell('d1', 'm1', 0, { auroc: 0.8, auprc: 0.5 }),
    cell('d1', 'm1', 1, { auroc: 0.9, auprc: 0.7 }),
    cell('d2', 'm1', 0, { auroc: 0.6 }),
    cell('d1', 'm2', 0, {}, false),
  ];

  it('summarizes mean ± sample std over seeds and counts failures', () => {
    const rows = summarize(cells);
    const r = rows.find((x) => x.dataset === 'd1' && x.method === 'm1' && x.metric === 'auroc')!;
    expect(r.mean).toBeCloseTo(0.85, 12);
    expect(r.std).toBeCloseTo(Math.SQRT1_2 * 0.1, 12);
    expect(r.n).toBe(2);
    expect(rows.find((x) => x.method === 'm2')!.failed).toBe(1);
  });

  it('renders one Markdown table per metric with failed and missing cells marked', () => {
    const md = markdownTables(summarize(cells), ['auroc', 'auprc']);
    expect(md).toContain('### auroc');
    expect(md).toContain('| method | d1 | d2 |');
    expect(md).toContain('| m1 | 0.850 ± 0.071 | 0.600 |');
    expect(md).toContain('| m2 | failed | — |');
    expect(md).toContain('### auprc');
    expect(md).toContain('| m1 | 0.600 ± 0.141 | — |');
  });

  it('writes a long CSV with quoted fields where needed', () => {
    const csv = csvTable(summarize([cell('d,1', 'm"1', 0, { auroc: 0.5 })]));
    expect(csv.split('\n')[0]).toBe('dataset,method,metric,mean,std,n,failed,split');
    expect(csv.split('\n')[1]).toBe('"d,1","m""1",auroc,0.5,0,1,0,');
    expect(csv.split('\n')[2]).toBe('"d,1","m""1",seconds_per_shop,0.1,0,1,0,');
  });

  it('puts held-out-shops cells in their own column and reports seconds per shop', () => {
    const shopsCell = {
      ...cell('d1', 'm1', 0, { 'mse@1': 2 }),
      split: 'shops' as const,
      shops: 4,
      seconds: 2,
    };
    const timeCell = { ...cell('d1', 'm1', 0, { 'mse@1': 1 }), split: 'time' as const };
    const rows = summarize([timeCell, shopsCell]);
    const md = markdownTables(rows, ['mse@1', 'seconds_per_shop']);
    expect(md).toContain('| method | d1 | d1 (held-out shops) |');
    expect(md).toContain('| m1 | 1.000 | 2.000 |');
    expect(md).toContain('| m1 | 0.100 | 0.500 |');
  });

  it('marks the best mean of a column 1 and the next distinct one 2, by the metric direction', () => {
    const values = new Map([
      ['a', 0.9],
      ['b', 0.7],
      ['c', 0.9],
      ['d', 0.8],
      ['e', Number.NaN],
    ]);
    expect([...rankMarks(values, 'auroc')]).toEqual([
      ['a', 1],
      ['c', 1],
      ['d', 2],
    ]);
    expect([...rankMarks(values, 'mse@7')]).toEqual([
      ['b', 1],
      ['d', 2],
    ]);
    expect(rankMarks(new Map([['a', 1]]), 'auroc').size).toBe(0);
  });

  it('writes booktabs LaTeX tables with the best bold and the second underlined', () => {
    const rows = summarize([
      cell('d_1', 'm1', 0, { auroc: 0.9, 'mse@1': 3 }),
      cell('d_1', 'm1', 1, { auroc: 0.8, 'mse@1': 3 }),
      cell('d_1', 'm2', 0, { auroc: 0.7, 'mse@1': 1 }),
      cell('d_1', 'm3&x', 0, { auroc: 0.6, 'mse@1': 2 }),
      cell('d_1', 'm4', 0, {}, false),
    ]);
    const tex = latexTables(rows, ['auroc', 'mse@1']);
    expect(tex).toContain('\\toprule\nMethod & d\\_1 \\\\\n\\midrule');
    expect(tex).toContain('m1 & \\textbf{0.850 $\\pm$ 0.071} \\\\');
    expect(tex).toContain('m2 & \\underline{0.700} \\\\');
    expect(tex).toContain('m3\\&x & 0.600 \\\\');
    expect(tex).toContain('m4 & -- \\\\');
    // MSE: lower is better.
    const mse = tex.slice(tex.indexOf('mse@1'));
    expect(mse).toContain('m2 & \\textbf{1.000} \\\\');
    expect(mse).toContain('m3\\&x & \\underline{2.000} \\\\');
    expect(mse).toContain('m1 & 3.000 $\\pm$ 0.000 \\\\');
    expect(tex.match(/\\begin\{tabular\}\{lr\}/g)).toHaveLength(2);
    expect(tex.match(/\\bottomrule\n\\end\{tabular\}/g)).toHaveLength(2);
    expect(latexEscape('a_b%c#d$e{f}g~h^i\\j')).toBe(
      'a\\_b\\%c\\#d\\$e\\{f\\}g\\textasciitilde{}h\\textasciicircum{}i\\textbackslash{}j',
    );
  });
});
