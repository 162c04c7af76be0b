/**
 * Fuzzing of the input layer: seeded mutations of a valid config, panel CSV, CSV schema, graph
 * JSON and NPY directory go through the same parsing and checks a run does before its first
 * cell. Each must load or be refused with a one-line UserError naming a file; any other throw
 * (a crash) fails the test. A handful of mutated inputs also go through the real CLI.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planCells } from '../experiments/cells.js';
import { type ExperimentConfig, parseExperimentConfig } from '../experiments/config.js';
import { expandMethodSpec, loadCellData } from '../experiments/runner.js';
import { writeNpyDir } from '../src/data/npy-dir.js';
import { simulate } from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';
import { Rng } from '../src/rng.js';
import { repoRoot, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

const SHOPS = ['a', 'b'];
const DAYS = 12;
function panelCsv(): string {
  const lines = ['shop,date,size,tv,radio,pv,gmv'];
  for (const [s, shop] of SHOPS.entries()) {
    for (let t = 0; t < DAYS; t++) {
      const date = `2022-01-${String(t + 1).padStart(2, '0')}`;
      const tv = ((t * 7 + s * 3) % 5) + 1;
      const radio = ((t * 3 + s) % 4) + 0.5;
      lines.push(`${shop},${date},${10 + s},${tv},${radio},${2 * tv + radio + (t % 3)},${3 * tv + 1.5 * t}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
const SCHEMA = {
  shop: 'shop',
  time: 'date',
  context: ['size'],
  nodes: [
    { name: 'tv', role: 'channel' },
    { name: 'radio', role: 'channel' },
    { name: 'pv', role: 'kpi' },
    { name: 'gmv', role: 'target' },
  ],
};
const GRAPH = {
  edges: [
    ['tv', 'pv'],
    ['radio', 'pv'],
    ['pv', 'gmv'],
  ],
};
const CONFIG = `experiment: fuzz
seeds: [0, 1]
backend: cpu
horizon: 3
horizons: [1, 2]
metrics: [auroc, mse@1]
datasets:
  - name: panel
    kind: csv
    path: panel.csv
    schema: panel.schema.json
    graph: panel.graph.json
  - name: sim
    kind: npy
    path: sim
    shops: 2
  - kind: simulate
    simulate: { preset: var, shops: 1, steps: 60 }
methods:
  - method: granger-var
    options: { lag: 1, test: conditional }
    grid: { fdr: [0.05, 0.1] }
`;

/** A folder with every valid input file; mutated copies start from it. */
function baseFolder(): string {
  const dir = tempDir('causalmmm-fuzz-base-');
  writeFileSync(path.join(dir, 'fuzz.yaml'), CONFIG);
  writeFileSync(path.join(dir, 'panel.csv'), panelCsv());
  writeFileSync(path.join(dir, 'panel.schema.json'), JSON.stringify(SCHEMA, null, 1));
  writeFileSync(path.join(dir, 'panel.graph.json'), JSON.stringify(GRAPH, null, 1));
  writeNpyDir(simulate({ preset: 'var', seed: 3, shops: 3, steps: 40 }), path.join(dir, 'sim'));
  return dir;
}

const JUNK = ['', '-1', '-0.5', 'NaN', 'nan', 'abc', '1e400', '0', '2.5', 'null', '[]', '{}', '"x"', 'true'];
const JUNK_MORE = [
  ...JUNK,
  '2022-13-45',
  '20221301',
  'x0',
  'pv',
  'gmv',
  '99999999',
  'Infinity',
  ',',
  '"',
  '\t',
];

/** Text mutations: the kinds of damage hand edits, bad exports and truncated copies do. */
function mutateText(text: string, rng: Rng): string {
  const lines = text.split('\n');
  const line = () => rng.int(lines.length);
  switch (rng.int(9)) {
    case 0:
      lines.splice(line(), 1);
      return lines.join('\n');
    case 1: {
      const i = line();
      lines.splice(i, 0, lines[i]);
      return lines.join('\n');
    }
    case 2: {
      const [i, j] = [line(), line()];
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 3:
      return text.slice(0, rng.int(text.length));
    case 4:
      return rng.bernoulli(0.5) ? '' : '\n\n';
    case 5: {
      const at = rng.int(text.length);
      return text.slice(0, at) + JUNK_MORE[rng.int(JUNK_MORE.length)] + text.slice(at);
    }
    default: {
      // Replace one token (a word, number or date) by junk: the commonest damage, three times as likely.
      const tokens = [...text.matchAll(/[A-Za-z0-9._@-]+/g)];
      const token = tokens[rng.int(tokens.length)];
      if (!token) return text;
      const junk = JUNK_MORE[rng.int(JUNK_MORE.length)];
      return text.slice(0, token.index) + junk + text.slice(token.index + token[0].length);
    }
  }
}

/** CSV-specific damage: unsorted or duplicated dates, a lost column, negative spend, NaN. */
function mutateCsv(text: string, rng: Rng): string {
  const lines = text.trimEnd().split('\n');
  const row = () => 1 + rng.int(lines.length - 1);
  const cells = (i: number) => lines[i].split(',');
  switch (rng.int(6)) {
    case 0: {
      const i = row();
      const j = Math.min(lines.length - 1, i + 1);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case 1: {
      const i = row();
      lines.splice(i, 0, lines[i]);
      break;
    }
    case 2: {
      const col = rng.int(cells(0).length);
      for (let i = rng.bernoulli(0.5) ? 0 : 1; i < lines.length; i++) {
        const c = cells(i);
        c.splice(col, 1);
        lines[i] = c.join(',');
      }
      break;
    }
    case 3: {
      const i = row();
      const c = cells(i);
      c[3 + rng.int(2)] = `-${1 + rng.int(9)}`;
      lines[i] = c.join(',');
      break;
    }
    default: {
      const i = row();
      const c = cells(i);
      c[rng.int(c.length)] = JUNK[rng.int(JUNK.length)];
      lines[i] = c.join(',');
    }
  }
  return `${lines.join('\n')}\n`;
}

/** NPY damage: flipped header bytes, a wrong shape, NaN in the data, a cut file. */
function mutateNpy(bytes: Buffer, rng: Rng): Buffer {
  const out = Buffer.from(bytes);
  const headerEnd = 10 + out.readUInt16LE(8);
  switch (rng.int(5)) {
    case 0:
      out[rng.int(headerEnd)] = rng.int(256);
      return out;
    case 1: {
      const header = out.subarray(0, headerEnd).toString('latin1');
      const shape = /\(([^)]*)\)/.exec(header)!;
      const dims = shape[1]
        .split(',')
        .map((d) => d.trim())
        .filter(Boolean);
      dims[rng.int(dims.length)] = String(rng.int(100));
      const text = header.replace(shape[0], `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`);
      const padded = text.length <= headerEnd ? text.padEnd(headerEnd - 1, ' ') : text;
      return Buffer.concat([
        Buffer.from(`${padded.trimEnd().padEnd(headerEnd - 1, ' ')}\n`, 'latin1'),
        out.subarray(headerEnd),
      ]);
    }
    case 2: {
      const f64 = out.subarray(0, headerEnd).toString('latin1').includes('<f8');
      const width = f64 ? 8 : 4;
      const count = Math.floor((out.length - headerEnd) / width);
      const at = headerEnd + width * rng.int(Math.max(1, count));
      if (f64) out.writeDoubleLE(rng.bernoulli(0.5) ? Number.NaN : Number.POSITIVE_INFINITY, at);
      else out.writeFloatLE(Number.NaN, at);
      return out;
    }
    case 3:
      return out.subarray(0, rng.int(out.length));
    default:
      return Buffer.alloc(0);
  }
}

type Target = 'config' | 'csv' | 'schema' | 'graph' | 'series' | 'graphNpy' | 'meta';
const FILES: Record<Target, string> = {
  config: 'fuzz.yaml',
  csv: 'panel.csv',
  schema: 'panel.schema.json',
  graph: 'panel.graph.json',
  series: 'sim/series.npy',
  graphNpy: 'sim/graph.npy',
  meta: 'sim/meta.json',
};

/** A simulated dataset small enough to build in a test (a mutation may ask for a billion shops). */
function small(config: ExperimentConfig, d: number): boolean {
  const spec = config.datasets[d];
  if (spec.kind !== 'simulate') return true;
  const { shops = 1, steps = 1 } = spec.simulate as { shops?: number; steps?: number };
  return shops * steps <= 5000;
}

/** What a run checks before its first cell: config, method options, every dataset, the horizon. */
function preflight(configFile: string): void {
  const config = parseExperimentConfig(readFileSync(configFile, 'utf8'), configFile);
  const variants = config.methods.flatMap(expandMethodSpec);
  const cells = planCells(config, variants, { codeVersion: 'fuzz', backend: 'cpu' }).filter((cell) =>
    small(config, cell.datasetIndex),
  );
  loadCellData(config, cells.slice(0, config.datasets.length * variants.length));
}

function mutateCase(base: string, dir: string, target: Target, rng: Rng): void {
  cpSync(base, dir, { recursive: true });
  const file = path.join(dir, FILES[target]);
  const original = readFileSync(file);
  let mutated: string | Buffer;
  if (target === 'series' || target === 'graphNpy') mutated = mutateNpy(original, rng);
  else if (target === 'csv' && rng.bernoulli(0.6)) mutated = mutateCsv(original.toString('utf8'), rng);
  else mutated = mutateText(original.toString('utf8'), rng);
  writeFileSync(file, mutated);
}

describe('input fuzzing', () => {
  it('answers 280 mutated configs, CSVs, schemas, graph JSONs and NPY files with a load or a one-line UserError', () => {
    const base = baseFolder();
    preflight(path.join(base, 'fuzz.yaml'));
    const plan: [Target, number][] = [
      ['config', 90],
      ['csv', 90],
      ['schema', 20],
      ['graph', 20],
      ['series', 30],
      ['graphNpy', 15],
      ['meta', 15],
    ];
    const rng = new Rng(process.env.FUZZ_SEED ?? 'fuzz-input');
    const root = tempDir('causalmmm-fuzz-');
    const messages: string[] = [];
    let cases = 0;
    let accepted = 0;
    for (const [target, count] of plan) {
      for (let k = 0; k < count; k++) {
        const dir = path.join(root, `${target}-${k}`);
        mkdirSync(dir);
        mutateCase(base, dir, target, rng.fork(`${target}/${k}`));
        cases++;
        try {
          preflight(path.join(dir, 'fuzz.yaml'));
          accepted++;
        } catch (err) {
          const where = `${target} case ${k}`;
          if (!(err instanceof UserError)) {
            throw new Error(`${where}: crashed with ${(err as Error)?.stack ?? err}`);
          }
          expect(err.message, where).not.toContain('\n');
          // It names the file at fault: by path, or by the name the config gives it.
          const namesFile = err.message.includes(dir) || /\.(yaml|csv|json|npy)\b/.test(err.message);
          expect(namesFile, `${where}: ${err.message}`).toBe(true);
          messages.push(err.message);
        }
      }
    }
    expect(cases).toBeGreaterThanOrEqual(200);
    // The mutations are not all harmless, nor all fatal, and they reach every kind of check.
    expect(accepted).toBeGreaterThan(0);
    expect(messages.length).toBeGreaterThan(cases / 2);
    for (const kind of [
      /not valid YAML|expected a YAML mapping/,
      /unknown (method|field)/,
      /is not a finite number|empty cell/,
      /negative value/,
      /date|time order|duplicate/,
      /unknown node/,
      /is empty/,
      /NaN at/,
      /shape/,
    ]) {
      expect(
        messages.some((m) => kind.test(m)),
        String(kind),
      ).toBe(true);
    }
  });
});

const bin = path.join(repoRoot, 'bin/causalmmm.js');

function cliAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, CI: 'true' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('bad input through the CLI', () => {
  it('exits 2 with one line naming the file and field or row, no stack trace, nothing written', async () => {
    const base = baseFolder();
    const edit = (name: string, file: string, change: (text: string) => string) => {
      const dir = tempDir(`causalmmm-bad-${name}-`);
      cpSync(base, dir, { recursive: true });
      const target = path.join(dir, file);
      writeFileSync(target, change(readFileSync(target, 'utf8')));
      return dir;
    };
    const cases: [string, string, string[]][] = [
      [
        edit('cell', 'panel.csv', (t) => t.replace('2022-01-03,10,', '2022-01-03,ten,')),
        'panel.csv: line 4',
        [],
      ],
      [
        edit('unsorted', 'panel.csv', (t) => {
          const lines = t.split('\n');
          [lines[2], lines[3]] = [lines[3], lines[2]];
          return lines.join('\n');
        }),
        'panel.csv: line 4, column "date"',
        [],
      ],
      [
        edit('graph', 'panel.graph.json', (t) => t.replace('"radio"', '"tvv"')),
        'panel.graph.json: edges[1][0]: unknown node "tvv"',
        [],
      ],
      [
        edit('option', 'fuzz.yaml', (t) => t.replace('lag: 1', 'lagg: 1')),
        'fuzz.yaml: methods[0].options',
        [],
      ],
      [
        edit('type', 'fuzz.yaml', (t) => t.replace('seeds: [0, 1]', 'seeds: [0, one]')),
        'fuzz.yaml: seeds',
        [],
      ],
      [edit('empty', 'fuzz.yaml', () => ''), 'fuzz.yaml', []],
      [
        edit('horizon', 'fuzz.yaml', (t) => t.replace('horizon: 3', 'horizon: 12')),
        'forecast horizon 12',
        [],
      ],
      [base, '--shard', ['--shard', '3/3']],
    ];
    const runs = await Promise.all(
      cases.map(([dir, , extra]) =>
        cliAsync([
          'run',
          path.join(dir, 'fuzz.yaml'),
          '--out',
          path.join(dir, 'out'),
          '--workers',
          '1',
          ...extra,
        ]),
      ),
    );
    for (const [i, r] of runs.entries()) {
      const [dir, expected] = cases[i];
      expect(r.stderr.trim().split('\n'), expected).toHaveLength(1);
      expect(r.stderr).toContain(expected);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code, expected).toBe(2);
      expect(existsSync(path.join(dir, 'out')), expected).toBe(false);
    }
  }, 120_000);
});
