/**
 * Everything a run writes besides its cells: results.json, the tables (Markdown, CSV, LaTeX),
 * the figures and `report.html` — one self-contained page (tables, figures as inline SVG data,
 * the Vega-Lite specs with their data) that loads nothing from the network. `causalmmm report`
 * redraws all of it from results.json without running a cell.
 */
import path from 'node:path';
import { writeFileAtomic } from '../src/io.js';
import { formatMeanStd } from '../src/metrics/aggregate.js';
import { compareWithBaselines, comparisonMarkdown } from './compare.js';
import { readMetricsFile } from './drift.js';
import { type RenderedFigure, writeFigures } from './figures.js';
import { evaluationLines } from './protocol.js';
import type { ResultsFile } from './results.js';
import { writeResults, writeTables } from './runner.js';
import { describeOverrides } from './shrink.js';
import { type SummaryRow, summarize, tableLayout } from './tables.js';

/** Metrics the tables show when results.json does not say (written before `tableMetrics`). */
const DEFAULT_TABLE_METRICS = ['auroc', 'auprc', 'mse@1'];

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** JSON safe inside a <script> element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** One HTML table per metric, as in table.md, with the best mean bold and the second underlined. */
function htmlTables(rows: readonly SummaryRow[], metrics: readonly string[]): string {
  const layout = tableLayout(rows, metrics);
  const out: string[] = [];
  for (const metric of layout.metrics) {
    const marks = layout.marks(metric);
    out.push(`<h3>${escapeHtml(metric)} <small>(mean ± std over seeds)</small></h3>`, '<table>');
    out.push(`<tr><th>method</th>${layout.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`);
    for (const method of layout.methods) {
      const cells = layout.columns.map((column, c) => {
        const row = layout.find(metric, method, column);
        if (!row) return '<td>—</td>';
        const text = escapeHtml(formatMeanStd({ mean: row.mean, std: row.std, n: row.n }));
        const mark = marks[c].get(method);
        return `<td>${mark === 1 ? `<b>${text}</b>` : mark === 2 ? `<u>${text}</u>` : text}</td>`;
      });
      out.push(`<tr><th>${escapeHtml(method)}</th>${cells.join('')}</tr>`);
    }
    out.push('</table>');
  }
  return out.join('\n');
}

/** The few Markdown shapes of comparisonMarkdown (### headings, tables, paragraphs) as HTML. */
export function simpleMarkdownHtml(markdown: string): string {
  const out: string[] = [];
  let table: string[][] = [];
  const flush = () => {
    if (table.length === 0) return;
    const [head, , ...body] = table;
    out.push(
      '<table>',
      `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`,
      ...body.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`),
      '</table>',
    );
    table = [];
  };
  for (const line of markdown.split('\n')) {
    if (line.startsWith('|')) {
      table.push(
        line
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim()),
      );
      continue;
    }
    flush();
    if (line.startsWith('### ')) out.push(`<h3>${escapeHtml(line.slice(4))}</h3>`);
    else if (line.trim()) out.push(`<p>${escapeHtml(line)}</p>`);
  }
  flush();
  return out.join('\n');
}

/**
 * On load, the page checks itself: every figure's image decoded with a non-zero size, and no
 * error was raised or logged. The verdict goes into `data-figures` / `data-errors` attributes
 * of <body>, which a headless browser's DOM dump shows (test/report.test.ts).
 */
const SELF_CHECK = `
const errors = [];
const logError = console.error.bind(console);
console.error = (...args) => { errors.push(args.join(' ')); logError(...args); };
window.addEventListener('error', (e) => errors.push(e.message || ('failed to load ' + (e.target && e.target.tagName))), true);
window.addEventListener('load', () => {
  const images = [...document.querySelectorAll('figure img')];
  const drawn = images.filter((img) => img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0);
  document.body.dataset.figures = drawn.length + '/' + images.length;
  document.body.dataset.errors = String(errors.length);
  if (errors.length) document.getElementById('errors').textContent = errors.join('\\n');
});`;

/** The self-contained report page. */
export function reportHtml(
  results: ResultsFile,
  figures: readonly RenderedFigure[],
  tableMetrics: readonly string[],
): string {
  const rows = summarize(results.cells);
  const failed = results.cells.filter((c) => c.status === 'failed');
  const figureHtml = figures
    .map((f) => {
      const src = `data:image/svg+xml;base64,${Buffer.from(f.svg).toString('base64')}`;
      return [
        `<figure id="${escapeHtml(f.name)}">`,
        `<img src="${src}" alt="${escapeHtml(f.title)}">`,
        `<figcaption>${escapeHtml(f.title)} <code>figures/${escapeHtml(f.name)}.vl.json</code></figcaption>`,
        `<script type="application/json" class="vega-lite-spec">${scriptJson(f.spec)}</script>`,
        '</figure>',
      ].join('\n');
    })
    .join('\n');
  const protocol = evaluationLines(results)
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join('');
  const shrunk = results.overrides
    ? `<p><strong>${escapeHtml(describeOverrides(results.overrides))}</strong></p>`
    : '';
  const partial = results.unfinished
    ? `<p><strong>${escapeHtml(`Partial: ${results.cells.length} of ${results.cells.length + results.unfinished} cells finished; the tables and figures cover those.`)}</strong></p>`
    : '';
  const failures = failed.length
    ? `<h2>Failed cells</h2><ul>${failed
        .map((c) => `<li>${escapeHtml(`${c.dataset} · ${c.label} · seed ${c.seed}: ${c.error ?? ''}`)}</li>`)
        .join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeHtml(results.experiment)} — causalmmm report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.75em; text-align: right; }
th:first-child { text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; }
figcaption { color: #555; font-size: 12px; }
#errors { color: #b00; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>${escapeHtml(results.experiment)}</h1>
<p>${results.cells.length} cells · ${failed.length} failed · backend ${escapeHtml(results.backend)} · code ${escapeHtml(results.codeVersion)} · ${escapeHtml(results.createdAt)} · config <code>${escapeHtml(results.config ?? '')}</code></p>
${shrunk}${partial}${protocol}
<h2>Tables</h2>
${htmlTables(rows, tableMetrics)}
${simpleMarkdownHtml(comparisonMarkdown(compareWithBaselines(results.cells)))}
<h2>Figures</h2>
${figureHtml || '<p>No figure: the results hold no data for one.</p>'}
${failures}
<pre id="errors"></pre>
<script>${SELF_CHECK}</script>
</body>
</html>
`;
}

/** The table metrics of a run: as recorded in results.json, else the usual ones it has. */
export function tableMetricsOf(results: ResultsFile): string[] {
  if (results.tableMetrics?.length) return results.tableMetrics;
  const present = new Set(results.cells.flatMap((c) => Object.keys(c.metrics)));
  return DEFAULT_TABLE_METRICS.filter((m) => present.has(m));
}

/**
 * Writes results.json (unless `redraw`: then it is the source, left as it is), the tables, the
 * figures and report.html into `outDir`; returns the Markdown tables (for the terminal).
 */
export async function writeOutputs(
  results: ResultsFile,
  outDir: string,
  tableMetrics: readonly string[],
  redraw = false,
): Promise<string> {
  const markdown = (redraw ? writeTables : writeResults)(results, outDir, tableMetrics);
  const figures = await writeFigures(results, outDir, tableMetrics);
  writeFileAtomic(path.join(outDir, 'report.html'), reportHtml(results, figures, tableMetrics));
  return markdown;
}

/** Reads `dir/results.json` for `causalmmm report`; a missing or malformed file names itself. */
export function readResultsFile(dir: string): ResultsFile {
  const results = readMetricsFile(path.join(dir, 'results.json')) as unknown as ResultsFile;
  for (const cell of results.cells) cell.label ??= cell.method;
  return results;
}
