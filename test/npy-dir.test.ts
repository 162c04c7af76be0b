import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readNpy, writeNpy } from '../src/data/npy.js';
import {
  RELEASE_NODES,
  readCausalmmmRelease,
  readNpyDir,
  releaseEdgesToGraph,
  writeNpyDir,
} from '../src/data/npy-dir.js';
import { Panel } from '../src/data/panel.js';
import { expectUserError, shared, useTempDirs } from './helpers.js';

/** Lets a test make `writeFileSync` fail for files whose name contains `name`, to exercise the atomic replace. */
const failWrites = vi.hoisted(() => ({ name: '' }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeFileSync: typeof fs.writeFileSync = (file, ...rest) => {
    if (failWrites.name && (String(file).split(/[\\/]/).pop() ?? '').includes(failWrites.name))
      throw new Error('simulated disk full');
    return fs.writeFileSync(file, ...rest);
  };
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

const tempDir = useTempDirs();
const releaseDir = path.join(shared, 'datasets/causalmmm-release');

afterEach(() => {
  failWrites.name = '';
});

function tmp(): string {
  return tempDir('causalmmm-npydir-');
}

/** 2 shops × 3 nodes (x, pv, gmv) × 4 steps, with context, per-shop graphs and contributions. */
function samplePanel(): Panel {
  const values = Float32Array.from({ length: 24 }, (_, i) => i * 0.1 - 1);
  return new Panel({
    shape: [2, 3, 4],
    values,
    nodes: [
      { name: 'tv', role: 'channel' },
      { name: 'pv', role: 'kpi' },
      { name: 'gmv', role: 'target' },
    ],
    shopIds: ['north', 'south'],
    context: new Float32Array([1.5, 2, -3, 4]),
    contextNames: ['size', 'age'],
    // shop 0: tv → pv, pv → gmv; shop 1: tv → gmv.
    graph: new Uint8Array([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]),
    contributions: new Float32Array([0.5, 0.25, 0, 1, 2, 3, 4, 5]),
    source: 'sample',
  });
}

describe('writeNpyDir / readNpyDir', () => {
  it('round-trips every part of a panel', () => {
    const dir = path.join(tmp(), 'data');
    const panel = samplePanel();
    writeNpyDir(panel, dir);
    expect(readdirSync(dir).sort()).toEqual([
      'context.npy',
      'contributions.npy',
      'graph.npy',
      'meta.json',
      'series.npy',
    ]);
    const series = readNpy(path.join(dir, 'series.npy'));
    expect(series.dtype).toBe('f4');
    expect(series.shape).toEqual([2, 3, 4]);
    const graph = readNpy(path.join(dir, 'graph.npy'));
    expect(graph.dtype).toBe('u1');
    expect(graph.shape).toEqual([2, 3, 3]);
    const back = readNpyDir(dir);
    expect(back.source).toBe(dir);
    expect([back.shops, back.nodeCount, back.steps]).toEqual([2, 3, 4]);
    expect(Array.from(back.values)).toEqual(Array.from(panel.values));
    expect(back.nodes).toEqual(panel.nodes);
    expect(back.shopIds).toEqual(['north', 'south']);
    expect(Array.from(back.context!)).toEqual([1.5, 2, -3, 4]);
    expect(back.contextNames).toEqual(['size', 'age']);
    expect(Array.from(back.graph!)).toEqual(Array.from(panel.graph!));
    expect(Array.from(back.contributions!)).toEqual(Array.from(panel.contributions!));
  });

  it('writes a shared graph as N × N and reads it back as shared', () => {
    const dir = path.join(tmp(), 'shared-graph');
    const panel = new Panel({
      shape: [2, 2, 3],
      values: new Float32Array(12),
      graph: new Uint8Array([0, 0, 1, 0]),
    });
    writeNpyDir(panel, dir);
    expect(readNpy(path.join(dir, 'graph.npy')).shape).toEqual([2, 2]);
    const back = readNpyDir(dir);
    expect(back.graphShared).toBe(true);
    expect(Array.from(back.trueGraph(1)!)).toEqual([0, 0, 1, 0]);
    expect(back.context).toBeUndefined();
  });

  it('reads a bare series.npy with default names, float64 → float32, and any nonzero graph entry as 1', () => {
    const dir = tmp();
    writeNpy(path.join(dir, 'series.npy'), {
      shape: [1, 3, 2],
      data: new Float64Array([0.1, 2, 3, 4, 5, 6]),
    });
    writeNpy(path.join(dir, 'graph.npy'), {
      shape: [3, 3],
      data: new Float64Array([0, 0.5, 0, -2, 0, 0, 0, 0, 7]),
    });
    const panel = readNpyDir(dir);
    expect(panel.nodes.map((n) => `${n.name}:${n.role}`)).toEqual(['x0:channel', 'x1:channel', 'x2:target']);
    expect(panel.values[0]).toBe(Math.fround(0.1));
    expect(Array.from(panel.graph!)).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('replaces an existing directory completely and leaves no temp siblings', () => {
    const parent = tmp();
    const dir = path.join(parent, 'out');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'stale.txt'), 'old');
    writeNpyDir(samplePanel(), dir);
    expect(existsSync(path.join(dir, 'stale.txt'))).toBe(false);
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('leaves the old directory untouched when writing fails midway', () => {
    const parent = tmp();
    const dir = path.join(parent, 'out');
    const old = new Panel({ shape: [1, 2, 2], values: new Float32Array([9, 8, 7, 6]) });
    writeNpyDir(old, dir);
    const before = readFileSync(path.join(dir, 'series.npy'));
    failWrites.name = 'meta.json';
    expect(() => writeNpyDir(samplePanel(), dir)).toThrow('simulated disk full');
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(path.join(dir, 'series.npy')).equals(before)).toBe(true);
    expect(Array.from(readNpyDir(dir).values)).toEqual([9, 8, 7, 6]);
  });

  it('does not create the directory when writing a fresh one fails', () => {
    const parent = tmp();
    failWrites.name = 'series.npy';
    expect(() => writeNpyDir(samplePanel(), path.join(parent, 'fresh'))).toThrow('simulated disk full');
    expect(readdirSync(parent)).toEqual([]);
  });

  it('refuses to replace a regular file', () => {
    const file = path.join(tmp(), 'file');
    writeFileSync(file, 'keep me');
    expectUserError(() => writeNpyDir(samplePanel(), file), file, 'not a directory');
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });
});

describe('readNpyDir errors', () => {
  function dirWithSeries(shape = [2, 3, 4]): string {
    const dir = tmp();
    const n = shape.reduce((a, b) => a * b, 1);
    writeNpy(path.join(dir, 'series.npy'), { shape, data: new Float32Array(n) });
    return dir;
  }

  it('missing directory and missing series.npy', () => {
    const nowhere = path.join(tmp(), 'nowhere');
    expectUserError(() => readNpyDir(nowhere), nowhere, 'no such directory');
    const empty = tmp();
    expectUserError(() => readNpyDir(empty), empty, 'series.npy is missing');
  });

  it('points at readCausalmmmRelease for the release folder layout', () => {
    const dir = tmp();
    writeNpy(path.join(dir, 'shuffled_data.npy'), { shape: [1], data: new Float32Array(1) });
    expectUserError(() => readNpyDir(dir), 'series.npy is missing', 'readCausalmmmRelease');
  });

  it('series with the wrong number of dimensions', () => {
    const dir = dirWithSeries([3, 4]);
    expectUserError(() => readNpyDir(dir), path.join(dir, 'series.npy'), '3 × 4', 'S × N × T');
  });

  it('non-finite series value names its index', () => {
    const dir = tmp();
    const data = new Float32Array(6);
    data[4] = Number.NaN;
    writeNpy(path.join(dir, 'series.npy'), { shape: [1, 2, 3], data });
    expectUserError(() => readNpyDir(dir), path.join(dir, 'series.npy'), '[0, 1, 1]');
  });

  it('graph of the wrong shape', () => {
    const dir = dirWithSeries();
    writeNpy(path.join(dir, 'graph.npy'), { shape: [4, 4], data: new Uint8Array(16) });
    expectUserError(() => readNpyDir(dir), path.join(dir, 'graph.npy'), '4 × 4', '3 × 3 or 2 × 3 × 3');
  });

  it('context of the wrong shape, and contextNames without context', () => {
    const dir = dirWithSeries();
    writeNpy(path.join(dir, 'context.npy'), { shape: [3, 2], data: new Float32Array(6) });
    expectUserError(() => readNpyDir(dir), path.join(dir, 'context.npy'), '3 × 2');
    const other = dirWithSeries();
    writeFileSync(path.join(other, 'meta.json'), JSON.stringify({ contextNames: ['a'] }));
    expectUserError(() => readNpyDir(other), path.join(other, 'meta.json'), 'contextNames');
  });

  it('contributions of the wrong shape', () => {
    const dir = dirWithSeries();
    writeNpy(path.join(dir, 'contributions.npy'), { shape: [2, 3, 4], data: new Float32Array(24) });
    expectUserError(() => readNpyDir(dir), path.join(dir, 'contributions.npy'), '2 × 2 × 4');
  });

  it('meta.json: invalid JSON, bad role, wrong node count, two targets, context name count', () => {
    const dir = dirWithSeries();
    const meta = path.join(dir, 'meta.json');
    writeFileSync(meta, '{ nodes: ');
    expectUserError(() => readNpyDir(dir), meta, 'not valid JSON');
    const nodes = [
      { name: 'a', role: 'channel' },
      { name: 'b', role: 'bogus' },
      { name: 'c', role: 'target' },
    ];
    writeFileSync(meta, JSON.stringify({ nodes }));
    expectUserError(() => readNpyDir(dir), meta, 'nodes[1].role');
    writeFileSync(meta, JSON.stringify({ nodes: [{ name: 'a', role: 'target' }] }));
    expectUserError(() => readNpyDir(dir), meta, 'lists 1 nodes', 'has 3');
    writeFileSync(meta, JSON.stringify({ nodes: nodes.map((n) => ({ ...n, role: 'target' })) }));
    expectUserError(() => readNpyDir(dir), meta, 'exactly one node');
    writeFileSync(
      meta,
      JSON.stringify({ nodes: [{ name: 'a', role: 'channel' }, { name: 7 }, { name: 'c', role: 'target' }] }),
    );
    expectUserError(() => readNpyDir(dir), meta, 'nodes[1].name');
    writeNpy(path.join(dir, 'context.npy'), { shape: [2, 2], data: new Float32Array(4) });
    writeFileSync(meta, JSON.stringify({ contextNames: ['only-one'] }));
    expectUserError(() => readNpyDir(dir), meta, 'contextNames lists 1', '2 columns');
  });
});

describe('releaseEdgesToGraph', () => {
  it('maps entry k to the k-th off-diagonal (effect i, cause j) pair, row-major', () => {
    const at = (k: number) => {
      const edges = new Float64Array(56);
      edges[k] = 1;
      const g = releaseEdgesToGraph(edges, 1, 8);
      const hits: [number, number][] = [];
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) if (g[i * 8 + j]) hits.push([i, j]);
      return hits;
    };
    expect(at(0)).toEqual([[0, 1]]);
    expect(at(6)).toEqual([[0, 7]]);
    expect(at(7)).toEqual([[1, 0]]);
    expect(at(55)).toEqual([[7, 6]]);
    const all = releaseEdgesToGraph(new Float64Array(56).fill(1), 1, 8);
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) expect(all[i * 8 + j]).toBe(i === j ? 0 : 1);
  });
});

describe.skipIf(!existsSync(shared))('readCausalmmmRelease on the real release folder', () => {
  it('reads 300 shops × 8 nodes × 100 steps with per-shop graphs and 2 context columns', () => {
    const panel = readCausalmmmRelease(releaseDir);
    expect([panel.shops, panel.nodeCount, panel.steps]).toEqual([300, 8, 100]);
    expect(panel.nodes.map((n) => n.name)).toEqual(['x0', 'x1', 'x2', 'x3', 'x4', 'kpi5', 'kpi6', 'gmv']);
    expect(panel.nodes).toEqual(RELEASE_NODES);
    expect(panel.targetIndex).toBe(7);
    expect(panel.channelIndices).toEqual([0, 1, 2, 3, 4]);
    expect(panel.contextSize).toBe(2);
    expect(panel.graphShared).toBe(false);
    const raw = readNpy(path.join(releaseDir, 'shuffled_data.npy'));
    expect(panel.values[12345]).toBe(Math.fround(raw.data[12345]));

    const withParents = new Set<number>();
    const distinct = new Set<string>();
    for (let s = 0; s < panel.shops; s++) {
      const g = panel.trueGraph(s)!;
      distinct.add(g.join(''));
      for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) if (g[i * 8 + j]) withParents.add(i);
    }
    expect([...withParents].sort()).toEqual([5, 6, 7]);
    expect(distinct.size).toBe(3);
  });

  it('decodes shop 0 edges to the expected cause → effect pairs', () => {
    // shuffled_edges.npy row 0 is 1 at entries 35, 38, 40, 43, 44, 46, 49, 50, 54, 55.
    const edges = readNpy(path.join(releaseDir, 'shuffled_edges.npy'));
    const ones = Array.from(edges.data.subarray(0, 56)).flatMap((v, k) => (v ? [k] : []));
    expect(ones).toEqual([35, 38, 40, 43, 44, 46, 49, 50, 54, 55]);
    const g = readCausalmmmRelease(releaseDir).trueGraph(0)!;
    const pairs: string[] = [];
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) if (g[i * 8 + j]) pairs.push(`${j}→${i}`);
    expect(pairs).toEqual(['0→5', '3→5', '6→5', '1→6', '2→6', '4→6', '0→7', '1→7', '5→7', '6→7']);
  });

  it('round-trips through an NPY directory', () => {
    const panel = readCausalmmmRelease(releaseDir).selectShops([0, 150, 299]);
    const dir = path.join(tmp(), 'release');
    writeNpyDir(panel, dir);
    const back = readNpyDir(dir);
    expect(Array.from(back.values)).toEqual(Array.from(panel.values));
    expect(Array.from(back.graph!)).toEqual(Array.from(panel.graph!));
    expect(back.shopIds).toEqual(['0', '150', '299']);
    expect(back.nodes).toEqual(panel.nodes);
  });

  it('errors name the file when the folder is incomplete', () => {
    const dir = tmp();
    writeNpy(path.join(dir, 'shuffled_data.npy'), { shape: [2, 8, 3], data: new Float32Array(48) });
    expectUserError(() => readCausalmmmRelease(dir), path.join(dir, 'shuffled_edges.npy'), 'no such file');
    writeNpy(path.join(dir, 'shuffled_edges.npy'), { shape: [2, 42], data: new Float32Array(84) });
    expectUserError(
      () => readCausalmmmRelease(dir),
      path.join(dir, 'shuffled_edges.npy'),
      '2 × 42',
      '2 × 56',
    );
  });
});
