import { formatMeanStd, meanStd } from '../src/metrics/aggregate.js';
import type { CellResult } from './results.js';

export interface SummaryRow {
  dataset: string;
  method: string;
  metric: string;
  mean: number;
  std: number;
  /** Seeds that produced the metric. */
  n: number;
  /** Seeds whose cell failed. */
  failed: number;
}

/** Mean ± std over seeds for every (dataset, method label, metric), in first-seen order. */
export function summarize(cells: readonly CellResult[]): SummaryRow[] {
  const groups = new Map<string, { dataset: string; method: string; cells: CellResult[] }>();
  for (const cell of cells) {
    const key = JSON.stringify([cell.dataset, cell.label]);
    if (!groups.has(key)) groups.set(key, { dataset: cell.dataset, method: cell.label, cells: [] });
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
    if (metricNames.length === 0)
      rows.push({ ...group, metric: '', mean: Number.NaN, std: Number.NaN, n: 0, failed });
  }
  return rows.map(({ dataset, method, metric, mean, std, n, failed }) => ({
    dataset,
    method,
    metric,
    mean,
    std,
    n,
    failed,
  }));
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];

/**
 * One Markdown table per metric: methods as rows, datasets as columns, mean ± std over
 * seeds. A cell whose every seed failed reads "failed"; a method that does not produce the
 * metric for a dataset reads "—".
 */
export function markdownTables(rows: readonly SummaryRow[], metrics: readonly string[], digits = 3): string {
  const datasets = uniq(rows.map((r) => r.dataset));
  const methods = uniq(rows.map((r) => r.method));
  const present = uniq(rows.map((r) => r.metric)).filter(Boolean);
  const shown = metrics.filter((m) => present.includes(m));
  const out: string[] = [];
  for (const metric of shown.length ? shown : present) {
    out.push(`### ${metric} (mean ± std over seeds)`, '');
    out.push(`| method | ${datasets.join(' | ')} |`, `|---|${datasets.map(() => '---').join('|')}|`);
    for (const method of methods) {
      const cells = datasets.map((dataset) => {
        const row = rows.find((r) => r.dataset === dataset && r.method === method && r.metric === metric);
        if (row) return formatMeanStd({ mean: row.mean, std: row.std, n: row.n }, digits);
        const anyRow = rows.find((r) => r.dataset === dataset && r.method === method);
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

/** Long format, one row per (dataset, method, metric). */
export function csvTable(rows: readonly SummaryRow[]): string {
  const header = ['dataset', 'method', 'metric', 'mean', 'std', 'n', 'failed'];
  const lines = rows.map((r) =>
    [r.dataset, r.method, r.metric, r.mean, r.std, r.n, r.failed].map(csvField).join(','),
  );
  return `${[header.join(','), ...lines].join('\n')}\n`;
}
