import { formatMeanStd, meanStd } from '../src/metrics/aggregate.js';
import type { CellResult } from './results.js';

export interface SummaryRow {
  dataset: string;
  /** Forecast split (`time` or `shops`); empty for cells without a forecast. */
  split: string;
  method: string;
  metric: string;
  mean: number;
  std: number;
  /** Seeds that produced the metric. */
  n: number;
  /** Seeds whose cell failed. */
  failed: number;
}

/** Pseudo-metric of the summaries: a cell's wall time divided by the shops it scored. */
export const SECONDS_PER_SHOP = 'seconds_per_shop';

/**
 * Mean ± std over seeds for every (dataset, split, method label, metric), in first-seen order,
 * plus `seconds_per_shop` of the cells that ran.
 */
export function summarize(cells: readonly CellResult[]): SummaryRow[] {
  const groups = new Map<string, { dataset: string; split: string; method: string; cells: CellResult[] }>();
  for (const cell of cells) {
    const split = cell.split ?? '';
    const key = JSON.stringify([cell.dataset, split, cell.label]);
    if (!groups.has(key)) groups.set(key, { dataset: cell.dataset, split, method: cell.label, cells: [] });
    groups.get(key)!.cells.push(cell);
  }
  const rows: SummaryRow[] = [];
  for (const group of groups.values()) {
    const failed = group.cells.filter((c) => c.status === 'failed').length;
    const metricNames = [...new Set(group.cells.flatMap((c) => Object.keys(c.metrics)))];
    for (const metric of metricNames) {
      const values = group.cells.flatMap((c) =>
        c.status === 'ok' && metric in c.metrics ? [c.metrics[metric]] : [],
      );
      const ms = meanStd(values);
      rows.push({ ...group, metric, mean: ms.mean, std: ms.std, n: ms.n, failed });
    }
    const ran = group.cells.filter((c) => c.status === 'ok' && c.shops > 0);
    if (metricNames.length > 0 && ran.length > 0) {
      const ms = meanStd(ran.map((c) => c.seconds / c.shops));
      rows.push({ ...group, metric: SECONDS_PER_SHOP, mean: ms.mean, std: ms.std, n: ms.n, failed });
    }
    if (metricNames.length === 0)
      rows.push({ ...group, metric: '', mean: Number.NaN, std: Number.NaN, n: 0, failed });
  }
  return rows.map(({ dataset, split, method, metric, mean, std, n, failed }) => ({
    dataset,
    split,
    method,
    metric,
    mean,
    std,
    n,
    failed,
  }));
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];

/** Column of a row in the tables: the dataset, marked when its shops were held out. */
export function columnName(row: Pick<SummaryRow, 'dataset' | 'split'>): string {
  return row.split === 'shops' ? `${row.dataset} (held-out shops)` : row.dataset;
}

/**
 * What every table format lays out: dataset columns and method rows in first-seen order, the
 * metrics to show (the asked ones that are present, else every present one), and per metric the
 * summary row of a (method, column) and the best/second marks of each column.
 */
export function tableLayout(rows: readonly SummaryRow[], metrics: readonly string[]) {
  const columns = uniq(rows.map(columnName));
  const methods = uniq(rows.map((r) => r.method));
  const present = uniq(rows.map((r) => r.metric)).filter(Boolean);
  const shown = metrics.filter((m) => present.includes(m));
  const find = (metric: string, method: string, column: string) =>
    rows.find((r) => columnName(r) === column && r.method === method && r.metric === metric && r.n > 0);
  const marks = (metric: string) =>
    columns.map((column) =>
      rankMarks(
        new Map(
          methods.flatMap((m) => (find(metric, m, column) ? [[m, find(metric, m, column)!.mean]] : [])),
        ),
        metric,
      ),
    );
  return { columns, methods, metrics: shown.length ? shown : present, find, marks };
}

/**
 * One Markdown table per metric: methods as rows, datasets as columns (a `shops`-split column
 * is marked "held-out shops"), mean ± std over seeds. A cell whose every seed failed reads "failed"; a method that does not produce the
 * metric for a dataset reads "—".
 */
export function markdownTables(rows: readonly SummaryRow[], metrics: readonly string[], digits = 3): string {
  const layout = tableLayout(rows, metrics);
  const { columns: datasets, methods } = layout;
  const out: string[] = [];
  for (const metric of layout.metrics) {
    out.push(`### ${metric} (mean ± std over seeds)`, '');
    out.push(`| method | ${datasets.join(' | ')} |`, `|---|${datasets.map(() => '---').join('|')}|`);
    for (const method of methods) {
      const cells = datasets.map((dataset) => {
        const row = rows.find((r) => columnName(r) === dataset && r.method === method && r.metric === metric);
        if (row) return formatMeanStd({ mean: row.mean, std: row.std, n: row.n }, digits);
        const anyRow = rows.find((r) => columnName(r) === dataset && r.method === method);
        return anyRow && anyRow.failed > 0 && anyRow.n === 0 ? 'failed' : '—';
      });
      out.push(`| ${method} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function csvField(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Long format, one row per (dataset, method, metric, split); `split` is the last column. */
export function csvTable(rows: readonly SummaryRow[]): string {
  const header = ['dataset', 'method', 'metric', 'mean', 'std', 'n', 'failed', 'split'];
  const lines = rows.map((r) =>
    [r.dataset, r.method, r.metric, r.mean, r.std, r.n, r.failed, r.split].map(csvField).join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** Metrics where a smaller value is better (errors, distances, time); the rest rank larger first. */
export function lowerIsBetter(metric: string): boolean {
  return /^(shd|mse|mae|mape)(@\d+)?$/.test(metric) || metric === SECONDS_PER_SHOP;
}

/**
 * Rank marks of one table column: 1 for the best mean (every tie), 2 for the next distinct
 * mean, by the metric's direction. Empty when fewer than two methods have a value.
 */
export function rankMarks(values: ReadonlyMap<string, number>, metric: string): Map<string, 1 | 2> {
  const finite = [...values].filter(([, v]) => Number.isFinite(v));
  const marks = new Map<string, 1 | 2>();
  if (finite.length < 2) return marks;
  const sign = lowerIsBetter(metric) ? 1 : -1;
  const distinct = [...new Set(finite.map(([, v]) => v))].sort((a, b) => sign * (a - b));
  for (const [method, v] of finite) {
    if (v === distinct[0]) marks.set(method, 1);
    else if (v === distinct[1]) marks.set(method, 2);
  }
  return marks;
}

/** Escapes LaTeX's special characters in a label. */
export function latexEscape(text: string): string {
  return text.replace(/[\\&%$#_{}~^]/g, (c) =>
    c === '\\'
      ? '\\textbackslash{}'
      : c === '~'
        ? '\\textasciitilde{}'
        : c === '^'
          ? '\\textasciicircum{}'
          : `\\${c}`,
  );
}

/**
 * One booktabs table per metric (methods × datasets, mean ± std over seeds), the best mean of
 * each column in bold and the second underlined (by the metric's direction; ties share a mark).
 * Needs `\usepackage{booktabs}` in the document.
 */
export function latexTables(rows: readonly SummaryRow[], metrics: readonly string[], digits = 3): string {
  const layout = tableLayout(rows, metrics);
  const { columns, methods } = layout;
  const out: string[] = [];
  for (const metric of layout.metrics) {
    const marks = layout.marks(metric);
    const direction = lowerIsBetter(metric) ? 'lower is better' : 'higher is better';
    out.push(
      '\\begin{table}[t]',
      '\\centering',
      `\\caption{${latexEscape(metric)}, mean $\\pm$ std over seeds (${direction}; best in bold, second underlined).}`,
      `\\begin{tabular}{l${'r'.repeat(columns.length)}}`,
      '\\toprule',
      `Method & ${columns.map(latexEscape).join(' & ')} \\\\`,
      '\\midrule',
    );
    for (const method of methods) {
      const cells = columns.map((column, c) => {
        const row = layout.find(metric, method, column);
        if (!row) return '--';
        const text = formatMeanStd({ mean: row.mean, std: row.std, n: row.n }, digits).replace(
          ' ± ',
          ' $\\pm$ ',
        );
        const mark = marks[c].get(method);
        return mark === 1 ? `\\textbf{${text}}` : mark === 2 ? `\\underline{${text}}` : text;
      });
      out.push(`${latexEscape(method)} & ${cells.join(' & ')} \\\\`);
    }
    out.push('\\bottomrule', '\\end{tabular}', '\\end{table}', '');
  }
  return out.join('\n');
}
