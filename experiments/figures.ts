/**
 * Vega-Lite figures of a run, built from results.json alone (so `causalmmm report` can redraw
 * them): bars with ± std error bars per table metric (AUROC bars; ablation bars in an ablation
 * run), MSE by horizon, ROC curves per method, true vs learned adjacency heatmaps, training
 * curves, the learned Hill response curves by context and a scaling line with its linear fit. A figure is made only when the results hold
 * its data. Each is written as `<name>.vl.json` (data inlined), rendered to SVG by Vega and to
 * PNG by resvg.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { hillCurve, RESPONSE_QUANTILES } from '../src/causalmmm/response.js';
import { writeFileAtomic } from '../src/io.js';
import { svgToPng } from '../src/svg.js';
import type { CellResult, ResultsFile } from './results.js';
import { lowerIsBetter, type SummaryRow, summarize } from './tables.js';

export interface Figure {
  /** File stem, e.g. `bars-auroc`. */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A figure's file name: `kind-key`, with anything but letters, digits, `_` and `-` in the key made `_`. */
function figureName(kind: string, key: string): string {
  return `${kind}-${key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
const WIDTH = 220;

/** Column name of a row, as in the tables: held-out shops are their own column. */
const columnOf = (r: { dataset: string; split?: string }) =>
  r.split === 'shops' ? `${r.dataset} (held-out shops)` : r.dataset;

/** One facet column per dataset, in the order the results list them (not alphabetical). */
const datasetColumns = (values: readonly { dataset: string }[]) => ({
  column: {
    field: 'dataset',
    type: 'nominal',
    title: null,
    sort: [...new Set(values.map((v) => v.dataset))],
  },
});

/** A figure of one panel per dataset column over `values`, each panel drawn by `panel`. */
function facetFigure(
  name: string,
  title: string,
  values: readonly { dataset: string }[],
  panel: object,
  independent?: 'x' | 'y',
): Figure {
  return {
    name,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      data: { values },
      facet: datasetColumns(values),
      spec: panel,
      ...(independent ? { resolve: { scale: { [independent]: 'independent' } } } : {}),
    } as TopLevelSpec,
  };
}

const okCells = (results: ResultsFile) => results.cells.filter((c) => c.status === 'ok');

/** Mean ± std bars of one metric per method, one panel per dataset column. */
function metricBars(rows: readonly SummaryRow[], metric: string): Figure | undefined {
  const values = rows
    .filter((r) => r.metric === metric && r.n > 0 && Number.isFinite(r.mean))
    .map((r) => ({
      dataset: columnOf(r),
      method: r.method,
      mean: r.mean,
      low: r.mean - (r.n > 1 ? r.std : 0),
      high: r.mean + (r.n > 1 ? r.std : 0),
      seeds: r.n,
    }));
  if (values.length === 0) return undefined;
  const better = lowerIsBetter(metric) ? 'lower is better' : 'higher is better';
  const title = `${metric}: mean ± std over seeds (${better})`;
  return facetFigure(
    figureName('bars', metric),
    title,
    values,
    {
      width: WIDTH,
      height: 160,
      layer: [
        {
          mark: 'bar',
          encoding: {
            y: { field: 'method', type: 'nominal', title: null, sort: null },
            x: { field: 'mean', type: 'quantitative', title: metric },
            color: { field: 'method', type: 'nominal', legend: null, sort: null },
            tooltip: [
              { field: 'method' },
              { field: 'mean', format: '.4f' },
              { field: 'low', format: '.4f' },
              { field: 'high', format: '.4f' },
              { field: 'seeds' },
            ],
          },
        },
        {
          mark: { type: 'rule', color: 'black' },
          encoding: {
            y: { field: 'method', type: 'nominal', sort: null },
            x: { field: 'low', type: 'quantitative' },
            x2: { field: 'high' },
          },
        },
      ],
    },
    'x',
  );
}

/** Mean MSE at each forecast horizon, one line per method, one panel per dataset column. */
function mseByHorizon(rows: readonly SummaryRow[]): Figure | undefined {
  const values = rows.flatMap((r) => {
    const h = /^mse@(\d+)$/.exec(r.metric);
    return h && r.n > 0 && Number.isFinite(r.mean)
      ? [{ dataset: columnOf(r), method: r.method, horizon: Number(h[1]), mse: r.mean }]
      : [];
  });
  if (new Set(values.map((v) => v.horizon)).size < 2) return undefined;
  const title = 'GMV MSE by forecast horizon (mean over seeds)';
  return facetFigure(
    'mse-by-horizon',
    title,
    values,
    {
      width: WIDTH,
      height: 180,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'horizon', type: 'quantitative', title: 'horizon (steps)', axis: { tickMinStep: 1 } },
        y: { field: 'mse', type: 'quantitative', title: 'MSE' },
        color: { field: 'method', type: 'nominal', sort: null },
        tooltip: [{ field: 'method' }, { field: 'horizon' }, { field: 'mse', format: '.4f' }],
      },
    },
    'y',
  );
}

/** Pooled ROC curves, one colour per method and one line per seed, one panel per dataset. */
function rocCurves(results: ResultsFile): Figure | undefined {
  const values = okCells(results).flatMap((c) =>
    c.roc
      ? c.roc.fpr.map((fpr, k) => ({
          dataset: c.dataset,
          method: c.label,
          seed: c.seed,
          fpr,
          tpr: c.roc!.tpr[k],
        }))
      : [],
  );
  if (values.length === 0) return undefined;
  const title = 'ROC curves of the graph scores (all shops pooled; one line per seed)';
  return facetFigure('roc', title, values, {
    width: 200,
    height: 200,
    layer: [
      {
        mark: { type: 'line', opacity: 0.8, interpolate: 'step-after' },
        encoding: {
          x: {
            field: 'fpr',
            type: 'quantitative',
            title: 'false positive rate',
            scale: { domain: [0, 1] },
          },
          y: {
            field: 'tpr',
            type: 'quantitative',
            title: 'true positive rate',
            scale: { domain: [0, 1] },
          },
          color: { field: 'method', type: 'nominal', sort: null },
          detail: { field: 'seed', type: 'nominal' },
          order: { field: 'fpr', type: 'quantitative' },
        },
      },
      {
        data: {
          values: [
            { fpr: 0, tpr: 0 },
            { fpr: 1, tpr: 1 },
          ],
        },
        mark: { type: 'line', color: 'gray', strokeDash: [4, 4] },
        encoding: {
          x: { field: 'fpr', type: 'quantitative' },
          y: { field: 'tpr', type: 'quantitative' },
        },
      },
    ],
  });
}

/**
 * Per dataset (in the results' order), the ok cells that `has` accepts at the dataset's first
 * seed: figures that show one run's example draw that seed's.
 */
function firstSeedCells(
  results: ResultsFile,
  has: (cell: CellResult) => boolean,
): { dataset: string; seed: number; cells: CellResult[] }[] {
  const withData = okCells(results).filter(has);
  return [...new Set(withData.map((c) => c.dataset))].map((dataset) => {
    const cells = withData.filter((c) => c.dataset === dataset);
    const seed = Math.min(...cells.map((c) => c.seed));
    return { dataset, seed, cells: cells.filter((c) => c.seed === seed) };
  });
}

/**
 * True graph beside each method's learned scores for the first scored shop of one dataset at the
 * first seed; scores are rescaled to [0, 1] per method (off the diagonal), since methods score
 * on different scales (−log10 p, probabilities, norms).
 */
function adjacencyHeatmaps(results: ResultsFile): Figure[] {
  const figures: Figure[] = [];
  for (const { dataset, seed, cells: firstSeed } of firstSeedCells(results, (c) => c.example !== undefined)) {
    const { nodes, truth, shop } = firstSeed[0].example!;
    const N = nodes.length;
    const panels: { panel: string; matrix: number[] }[] = [{ panel: 'true graph', matrix: truth }];
    for (const cell of firstSeed)
      panels.push({ panel: cell.label, matrix: rescale(cell.example!.scores, N) });
    const values = panels.flatMap(({ panel, matrix }) =>
      matrix.flatMap((value, k) => {
        const effect = Math.floor(k / N);
        const cause = k % N;
        return effect === cause ? [] : [{ panel, cause: nodes[cause], effect: nodes[effect], value }];
      }),
    );
    const title = `${dataset}, shop ${shop}, seed ${seed}: true graph and learned scores (cause → effect; scores rescaled to [0, 1] per method)`;
    figures.push({
      name: figureName('adjacency', dataset),
      title,
      spec: {
        $schema: SCHEMA,
        title: { text: title, fontSize: 11 },
        data: { values },
        facet: { field: 'panel', type: 'nominal', title: null, sort: panels.map((p) => p.panel) },
        columns: 4,
        spec: {
          width: Math.min(180, 14 * N),
          height: Math.min(180, 14 * N),
          mark: 'rect',
          encoding: {
            x: { field: 'cause', type: 'nominal', sort: nodes, title: 'cause' },
            y: { field: 'effect', type: 'nominal', sort: nodes, title: 'effect' },
            color: {
              field: 'value',
              type: 'quantitative',
              scale: { domain: [0, 1], scheme: 'blues' },
              title: null,
            },
            tooltip: [{ field: 'cause' }, { field: 'effect' }, { field: 'value', format: '.3f' }],
          },
        },
      } as TopLevelSpec,
    });
  }
  return figures;
}

/** Min–max rescaling of the off-diagonal entries to [0, 1] (all 0.5 when they are constant). */
export function rescale(matrix: readonly number[], N: number): number[] {
  const off = matrix.filter((_, k) => Math.floor(k / N) !== k % N);
  const lo = Math.min(...off);
  const hi = Math.max(...off);
  return matrix.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0.5));
}

/** Training loss per epoch of every cell that reported training, one panel per dataset. */
function trainingCurves(results: ResultsFile): Figure | undefined {
  const values = okCells(results).flatMap((c) =>
    (c.curve ?? []).map((loss, k) => ({
      dataset: columnOf(c),
      method: c.label,
      seed: c.seed,
      epoch: k + 1,
      loss,
    })),
  );
  if (values.length === 0) return undefined;
  const title = 'Training loss per epoch (one line per seed)';
  return facetFigure(
    'training',
    title,
    values,
    {
      width: WIDTH,
      height: 180,
      mark: { type: 'line', opacity: 0.8 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1 } },
        y: { field: 'loss', type: 'quantitative', scale: { zero: false } },
        color: { field: 'method', type: 'nominal', sort: null },
        detail: { field: 'seed', type: 'nominal' },
      },
    },
    'y',
  );
}

/** Points per drawn response curve: smooth enough at this size, small in the spec. */
const RESPONSE_POINTS = 41;

/**
 * The colour of a curve: its quantile of the curves' bend (`q25`), the same in every panel, or
 * `every shop` (one shared curve); the shop itself is in the tooltip.
 */
const curveName = (curve: { quantile?: number }) =>
  curve.quantile === undefined ? 'every shop' : `q${Math.round(curve.quantile * 100)}`;
const CURVE_ORDER = [...RESPONSE_QUANTILES.map((q) => curveName({ quantile: q })), 'every shop'];

/**
 * The learned Hill saturation curves of one dataset at the first seed: a panel per cell (method
 * variant, and split), a line per shop the cell reported (shops at quantiles of how much their
 * curve bends, see CellResult.response), with the identity ŷ = y dashed for reference. Inputs and
 * outputs are in the method's scaled units.
 */
function responseCurves(results: ResultsFile): Figure[] {
  const figures: Figure[] = [];
  for (const { dataset, seed, cells } of firstSeedCells(results, (c) => c.response !== undefined)) {
    const panels: string[] = [];
    const values: { panel: string; curve: string; shop: string; y: number; saturated: number }[] = [];
    const identity: { panel: string; y: number; saturated: number }[] = [];
    for (const cell of cells) {
      const { input, curves } = cell.response!;
      const panel = cell.split === 'shops' ? `${cell.label} (held-out shops)` : cell.label;
      panels.push(panel);
      const xs = Array.from(
        { length: RESPONSE_POINTS },
        (_, i) => input[0] + ((input[1] - input[0]) * i) / (RESPONSE_POINTS - 1),
      );
      for (const curve of curves) {
        for (const y of xs) {
          values.push({
            panel,
            curve: curveName(curve),
            shop: curve.shop,
            y,
            saturated: hillCurve(y, curve.alpha, curve.gamma),
          });
        }
      }
      identity.push({ panel, y: input[0], saturated: input[0] }, { panel, y: input[1], saturated: input[1] });
    }
    const units = [...new Set(cells.map((c) => c.response!.scale))].join(', ');
    const title = `${dataset}, seed ${seed}: learned Hill response of the target (scaled units: ${units}); q0 … q100: shops at quantiles of ŷ/y at the top of the range; dashed: no saturation`;
    figures.push({
      name: figureName('response', dataset),
      title,
      spec: {
        $schema: SCHEMA,
        title: { text: title, fontSize: 11 },
        data: {
          values: [
            ...values.map((v) => ({ ...v, kind: 'curve' })),
            ...identity.map((v) => ({ ...v, kind: 'identity', curve: 'identity' })),
          ],
        },
        facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
        columns: 4,
        spec: {
          width: 200,
          height: 180,
          layer: [
            {
              transform: [{ filter: "datum.kind === 'identity'" }],
              mark: { type: 'line', color: 'gray', strokeDash: [4, 4] },
              encoding: {
                x: { field: 'y', type: 'quantitative' },
                y: { field: 'saturated', type: 'quantitative' },
              },
            },
            {
              transform: [{ filter: "datum.kind === 'curve'" }],
              mark: { type: 'line' },
              encoding: {
                x: { field: 'y', type: 'quantitative', title: 'target y (scaled)' },
                y: { field: 'saturated', type: 'quantitative', title: 'saturated ŷ (scaled)' },
                color: {
                  field: 'curve',
                  type: 'nominal',
                  title: 'shop at quantile of the bend',
                  sort: CURVE_ORDER,
                },
                tooltip: [
                  { field: 'curve' },
                  { field: 'shop' },
                  { field: 'y', format: '.3f' },
                  { field: 'saturated', format: '.3f' },
                ],
              },
            },
          ],
        },
      } as TopLevelSpec,
    });
  }
  return figures;
}

/** Least-squares line y = a + b·x. */
export function linearFit(
  xs: readonly number[],
  ys: readonly number[],
): { intercept: number; slope: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { intercept: my - slope * mx, slope };
}

/** A cell's training seconds per epoch when it reports epochs, else its seconds. */
const secondsPerEpoch = (c: CellResult) =>
  typeof c.info?.epochs === 'number' && c.info.epochs > 0 ? c.seconds / c.info.epochs : c.seconds;

/**
 * Seconds (per epoch, for methods that report epochs) against `x` (the number of shops, or of
 * nodes), one series per method and value of the other size, drawn for series with at least
 * three distinct x values, each with its least-squares line and slope.
 */
function scalingLine(results: ResultsFile, x: 'shops' | 'nodes'): Figure | undefined {
  const other = x === 'shops' ? 'nodes' : 'shops';
  const cells = okCells(results).filter((c) => c.shops > 0 && c.nodes !== undefined);
  const points: { series: string; x: number; seconds: number }[] = [];
  const fits: { series: string; x: number; seconds: number }[] = [];
  const slopes: string[] = [];
  const seriesOf = (c: CellResult) => `${c.label}, ${other} = ${c[other]}`;
  for (const series of [...new Set(cells.map(seriesOf))]) {
    const own = cells.filter((c) => seriesOf(c) === series);
    const xs = own.map((c) => c[x] as number);
    if (new Set(xs).size < 3) continue;
    const ys = own.map(secondsPerEpoch);
    const fit = linearFit(xs, ys);
    own.forEach((_, i) => {
      points.push({ series, x: xs[i], seconds: ys[i] });
    });
    for (const at of [Math.min(...xs), Math.max(...xs)])
      fits.push({ series, x: at, seconds: fit.intercept + fit.slope * at });
    slopes.push(`${series}: ${(fit.slope * 1000).toPrecision(3)} ms per ${x === 'shops' ? 'shop' : 'node'}`);
  }
  if (points.length === 0) return undefined;
  const title = `Seconds per epoch against ${x}, with least-squares lines (${slopes.join('; ')})`;
  const encoding = {
    x: { field: 'x', type: 'quantitative', title: x },
    y: { field: 'seconds', type: 'quantitative', title: 'seconds per epoch' },
    color: { field: 'series', type: 'nominal', sort: null, title: null },
  };
  return {
    name: x === 'shops' ? 'scaling' : 'scaling-nodes',
    title,
    spec: {
      $schema: SCHEMA,
      title: { text: title, fontSize: 11 },
      width: 360,
      height: 220,
      layer: [
        { data: { values: points }, mark: { type: 'point', filled: true }, encoding },
        { data: { values: fits }, mark: { type: 'line', strokeDash: [5, 3] }, encoding },
      ],
    } as TopLevelSpec,
  };
}

/** Every figure the results support, in report order. */
export function buildFigures(results: ResultsFile, tableMetrics: readonly string[]): Figure[] {
  const rows = summarize(results.cells);
  const present = new Set(rows.map((r) => r.metric));
  const bars = tableMetrics.filter((m) => present.has(m)).map((m) => metricBars(rows, m));
  return [
    ...bars,
    mseByHorizon(rows),
    rocCurves(results),
    ...adjacencyHeatmaps(results),
    trainingCurves(results),
    ...responseCurves(results),
    scalingLine(results, 'shops'),
    scalingLine(results, 'nodes'),
  ].filter((f): f is Figure => f !== undefined);
}

/** Renders a Vega-Lite spec to SVG (Vega, headless) and PNG (resvg, at twice the size). */
export async function renderFigure(spec: TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = svgToPng(svg);
    return { svg, png };
  } finally {
    view.finalize();
  }
}

export interface RenderedFigure extends Figure {
  svg: string;
}

/**
 * Writes `figures/<name>.{vl.json,svg,png}` for every figure under `outDir`, removing figures of
 * an earlier run that these results do not draw; returns them with their SVG.
 */
export async function writeFigures(
  results: ResultsFile,
  outDir: string,
  tableMetrics: readonly string[],
): Promise<RenderedFigure[]> {
  const rendered: RenderedFigure[] = [];
  for (const figure of buildFigures(results, tableMetrics)) {
    const { svg, png } = await renderFigure(figure.spec);
    const stem = path.join(outDir, 'figures', figure.name);
    writeFileAtomic(`${stem}.vl.json`, `${JSON.stringify(figure.spec, null, 2)}\n`);
    writeFileAtomic(`${stem}.svg`, svg);
    writeFileAtomic(`${stem}.png`, png);
    rendered.push({ ...figure, svg });
  }
  // A figure an earlier run drew but these results do not support would contradict report.html.
  const names = new Set(rendered.map((f) => f.name));
  const dir = path.join(outDir, 'figures');
  for (const file of existsSync(dir) ? readdirSync(dir) : []) {
    const stem = /^(.*)\.(vl\.json|svg|png)$/.exec(file)?.[1];
    if (stem !== undefined && !names.has(stem)) rmSync(path.join(dir, file));
  }
  return rendered;
}
