import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExperimentConfig } from '../experiments/config.js';
import { buildFigures, linearFit, rescale } from '../experiments/figures.js';
import { writeOutputs } from '../experiments/report.js';
import type { CellResult, ResultsFile } from '../experiments/results.js';
import { runExperiment } from '../experiments/runner.js';
import { cli, repoRoot, useBackend, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
useBackend();

/** Release-like panels of 4, 6 and 8 shops (a scaling line), Granger VAR, persistence and a tiny CausalMMM. */
const yaml = `
experiment: report-test
seeds: [0, 1]
horizon: 5
horizons: [1, 3, 5]
metrics: [auroc, mse@1]
datasets:
  - { name: rl4, kind: simulate, simulate: { preset: release-like, shops: 4, steps: 60 } }
  - { name: rl6, kind: simulate, simulate: { preset: release-like, shops: 6, steps: 60 } }
  - { name: rl8, kind: simulate, simulate: { preset: release-like, shops: 8, steps: 60 } }
methods:
  - method: granger-var
  - method: persistence
  - method: causalmmm
    options: { hidden: 8, epochs: 3, batchSize: 4, patience: 0, trainWindow: 30 }
`;

let results: ResultsFile;
let outDir: string;

beforeAll(async () => {
  const config = parseExperimentConfig(yaml, path.join(repoRoot, 'configs', 'report-test.yaml'));
  results = await runExperiment(config);
  outDir = tempDir('causalmmm-report-');
  await writeOutputs(results, outDir, config.metrics);
}, 180_000);

/** The Debian package's binary, or undefined where it is not installed. */
function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  return undefined;
}
const chromium = findChromium();

describe('figures', () => {
  it('fits a least-squares line and rescales scores off the diagonal', () => {
    expect(linearFit([1, 2, 3, 4], [3, 5, 7, 9])).toEqual({ intercept: 1, slope: 2 });
    const fit = linearFit([0, 1, 2], [0, 2, 1]);
    expect(fit.slope).toBeCloseTo(0.5, 12);
    expect(fit.intercept).toBeCloseTo(0.5, 12);
    expect(rescale([9, 1, 3, 9], 2)).toEqual([4, 0, 1, 4]);
    expect(rescale([0, 2, 2, 0], 2)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('makes every figure the results support, with the data inlined', () => {
    const names = buildFigures(results, ['auroc', 'mse@1']).map((f) => f.name);
    expect(names).toEqual([
      'bars-auroc',
      'bars-mse_1',
      'mse-by-horizon',
      'roc',
      'adjacency-rl4',
      'adjacency-rl6',
      'adjacency-rl8',
      'training',
      'response-rl4',
      'response-rl6',
      'response-rl8',
      'scaling',
    ]);
    const roc = JSON.parse(readFileSync(path.join(outDir, 'figures/roc.vl.json'), 'utf8'));
    const points = roc.data.values as { method: string; fpr: number; tpr: number }[];
    expect(new Set(points.map((p) => p.method))).toEqual(new Set(['granger-var', 'causalmmm']));
    expect(points.every((p) => p.fpr >= 0 && p.fpr <= 1 && p.tpr >= 0 && p.tpr <= 1)).toBe(true);
    const training = JSON.parse(readFileSync(path.join(outDir, 'figures/training.vl.json'), 'utf8'));
    // 3 datasets × 2 seeds × 3 epochs of CausalMMM, the only method here that trains.
    expect(training.data.values).toHaveLength(18);
    const heat = JSON.parse(readFileSync(path.join(outDir, 'figures/adjacency-rl4.vl.json'), 'utf8'));
    // true graph + two graph methods, 8 × 7 off-diagonal pairs each.
    expect(heat.data.values).toHaveLength(3 * 56);
    const truth = results.cells.find((c) => c.dataset === 'rl4' && c.seed === 0 && c.example)!.example!;
    const edges = heat.data.values.filter(
      (v: { panel: string; value: number }) => v.panel === 'true graph' && v.value,
    );
    expect(edges.length).toBe(truth.truth.filter((v, k) => v && Math.floor(k / 8) !== k % 8).length);
  });

  it('draws scaling lines only for series with three sizes, against shops and against nodes', () => {
    const timed = (shops: number, nodes: number, seconds: number, dataset: string): CellResult => ({
      dataset,
      method: 'm',
      label: 'm',
      seed: 0,
      options: {},
      status: 'ok',
      metrics: {},
      shops,
      nodes,
      seconds,
      info: { epochs: 2 },
    });
    const cells = [
      timed(100, 8, 2, 'a'),
      timed(300, 8, 6, 'b'),
      timed(1000, 8, 20, 'c'),
      timed(300, 12, 9, 'd'),
      timed(300, 20, 15, 'e'),
      timed(50, 15, 1, 'f'),
    ];
    const figures = buildFigures({ ...results, cells }, []);
    expect(figures.map((f) => f.name)).toEqual(['scaling', 'scaling-nodes']);
    const [shops, nodes] = figures.map((f) => f.spec as unknown as { title: { text: string } });
    // Seconds per epoch: 1, 3, 10 s at 100, 300, 1000 shops, a slope of 10 ms per shop.
    expect(shops.title.text).toContain('m, nodes = 8: 10.0 ms per shop');
    // 3, 4.5, 7.5 s at 8, 12, 20 nodes: 375 ms per node.
    expect(nodes.title.text).toContain('m, shops = 300: 375 ms per node');
  });

  it('writes each figure as Vega-Lite JSON, SVG and PNG', () => {
    const files = readdirSync(path.join(outDir, 'figures'));
    expect(files).toHaveLength(12 * 3);
    for (const file of files.filter((f) => f.endsWith('.svg'))) {
      const svg = readFileSync(path.join(outDir, 'figures', file), 'utf8');
      expect(svg).toMatch(/^<svg [^>]*width="\d+/);
      expect(svg).toMatch(/<path|<rect|<line/);
      const png = readFileSync(path.join(outDir, 'figures', file.replace(/svg$/, 'png')));
      expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
    for (const file of files.filter((f) => f.endsWith('.vl.json'))) {
      const spec = readFileSync(path.join(outDir, 'figures', file), 'utf8');
      expect(spec).not.toMatch(/"url"/);
    }
  });
});

describe('report.html', () => {
  it('is one self-contained page: tables, every figure inline, nothing fetched', () => {
    const html = readFileSync(path.join(outDir, 'report.html'), 'utf8');
    expect(html.match(/<figure id=/g)).toHaveLength(12);
    expect(html.match(/<img src="data:image\/svg\+xml;base64,/g)).toHaveLength(12);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain("default-src 'none'");
    expect(html).toMatch(/<h3>auroc <small>/);
    expect(html).toMatch(/<tr><th>granger-var<\/th><td><b>/);
  });

  it('is redrawn by `causalmmm report` from results.json alone, leaving results.json as it was', () => {
    const tableBefore = readFileSync(path.join(outDir, 'table.md'), 'utf8');
    const resultsBefore = readFileSync(path.join(outDir, 'results.json'), 'utf8');
    const mtime = statSync(path.join(outDir, 'results.json')).mtimeMs;
    for (const name of ['figures', 'report.html', 'table.md', 'table.tex']) {
      rmSync(path.join(outDir, name), { recursive: true });
    }
    // A figure of an earlier run that these results do not draw goes.
    mkdirSync(path.join(outDir, 'figures'));
    writeFileSync(path.join(outDir, 'figures/stale.vl.json'), '{}');
    const r = cli(['report', outDir]);
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(outDir, 'table.md'), 'utf8')).toBe(tableBefore);
    expect(existsSync(path.join(outDir, 'table.tex'))).toBe(true);
    expect(readdirSync(path.join(outDir, 'figures'))).toHaveLength(36);
    expect(readFileSync(path.join(outDir, 'report.html'), 'utf8').match(/<figure id=/g)).toHaveLength(12);
    expect(readFileSync(path.join(outDir, 'results.json'), 'utf8')).toBe(resultsBefore);
    expect(statSync(path.join(outDir, 'results.json')).mtimeMs).toBe(mtime);
  }, 120_000);

  it('answers a folder without results.json with exit code 2 and one line', () => {
    const r = cli(['report', tempDir('causalmmm-empty-')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/results\.json: cannot read/);
  });

  /** Loads a page in headless Chromium: its DOM after load and the console lines Chromium logged. */
  function loadInChromium(file: string) {
    const run = spawnSync(
      chromium!,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--enable-logging=stderr',
        '--v=0',
        '--virtual-time-budget=10000',
        '--dump-dom',
        `file://${file}`,
      ],
      { encoding: 'utf8', timeout: 90_000 },
    );
    expect(run.status).toBe(0);
    return {
      // The page's own check (SELF_CHECK in experiments/report.ts) writes its verdict into <body>.
      body: /<body[^>]*>/.exec(run.stdout)?.[0] ?? '',
      // Chromium logs every console message (errors, CSP violations, failed loads) as CONSOLE lines.
      console: run.stderr.split('\n').filter((line) => line.includes(':CONSOLE')),
    };
  }

  it.skipIf(!chromium)(
    'loads in headless Chromium with no console error and every figure drawn',
    () => {
      const page = loadInChromium(path.join(outDir, 'report.html'));
      expect(page.body).toContain('data-figures="12/12"');
      expect(page.body).toContain('data-errors="0"');
      expect(page.console).toEqual([]);

      // The same check sees a figure that does not draw, a console error and a network fetch.
      const broken = readFileSync(path.join(outDir, 'report.html'), 'utf8')
        .replace(/data:image\/svg\+xml;base64,[^"]+/, 'data:image/svg+xml;base64,bm90IGFuIHN2Zw==')
        .replace(
          '<pre id="errors">',
          '<script>console.error("injected")</script><img src="https://example.com/x.png"><pre id="errors">',
        );
      const brokenFile = path.join(outDir, 'broken.html');
      writeFileSync(brokenFile, broken);
      const bad = loadInChromium(brokenFile);
      expect(bad.body).toContain('data-figures="11/12"');
      expect(bad.body).not.toContain('data-errors="0"');
      expect(bad.console.some((line) => line.includes('injected'))).toBe(true);
      expect(bad.console.some((line) => line.includes('Content Security Policy'))).toBe(true);
    },
    180_000,
  );
  if (!chromium) {
    console.warn(
      'report.test.ts: chromium is not installed (apt-get install chromium); skipping the browser check',
    );
  }
});
