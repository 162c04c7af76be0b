import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { writeDirAtomic } from '../io.js';
import { parseOrThrow } from '../validation.js';
import { type NpyArray, readNpy, writeNpy } from './npy.js';
import { NODE_ROLES, type NodeSpec, Panel } from './panel.js';

/**
 * `meta.json` of an NPY directory. Unknown keys are kept out of the panel but allowed, so that
 * writers may add fields (see interfaces.md). `shopIds` is this project's addition, written by
 * `writeNpyDir` so shop names survive a round trip.
 */
export const npyMetaSchema = z.object({
  nodes: z
    .array(
      z.object({
        name: z.string().min(1),
        role: z.enum(NODE_ROLES as [NodeSpec['role'], ...NodeSpec['role'][]]),
      }),
    )
    .min(1)
    .optional(),
  contextNames: z.array(z.string().min(1)).optional(),
  shopIds: z.array(z.string().min(1)).optional(),
});
export type NpyMeta = z.infer<typeof npyMetaSchema>;

function dirExists(dir: string): boolean {
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function toFloat32(arr: NpyArray, file: string, dims: string[]): Float32Array {
  const out = new Float32Array(arr.data.length);
  for (let i = 0; i < arr.data.length; i++) {
    const v = Math.fround(arr.data[i]);
    if (!Number.isFinite(v)) {
      throw new UserError(
        `${file}: non-finite value ${arr.data[i]} at [${unravel(i, arr.shape).join(', ')}] (${dims.join(', ')})`,
      );
    }
    out[i] = v;
  }
  return out;
}

function unravel(flat: number, shape: number[]): number[] {
  const idx: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

function toBinary(arr: NpyArray, file: string): Uint8Array {
  const out = new Uint8Array(arr.data.length);
  for (let i = 0; i < arr.data.length; i++) {
    const v = arr.data[i];
    if (Number.isNaN(v)) throw new UserError(`${file}: NaN at [${unravel(i, arr.shape).join(', ')}]`);
    out[i] = v !== 0 ? 1 : 0;
  }
  return out;
}

function shapeText(shape: readonly number[]): string {
  return shape.join(' × ') || 'scalar';
}

/**
 * Reads an NPY directory (see interfaces.md): `series.npy` S × N × T (required), `graph.npy`
 * N × N or S × N × N (nonzero → 1, `[i][j]` ⇔ j → i), `context.npy` S × k, `meta.json`
 * (node names and roles, context names, shop ids) and `contributions.npy` S × C × T, C the
 * channel count. Values become float32, as the Panel holds them; non-finite values are errors
 * naming the file and index, never filled.
 */
export function readNpyDir(dir: string): Panel {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such directory`);
  if (!dirExists(dir))
    throw new UserError(`${dir}: not a directory (an NPY dataset is a directory of .npy files)`);
  const file = (name: string) => path.join(dir, name);
  if (!existsSync(file('series.npy'))) {
    const hint = existsSync(file('shuffled_data.npy'))
      ? ' (this looks like the CausalMMM release folder; read it with readCausalmmmRelease)'
      : '';
    throw new UserError(`${dir}: series.npy is missing${hint}`);
  }
  const series = readNpy(file('series.npy'));
  if (series.shape.length !== 3) {
    throw new UserError(
      `${file('series.npy')}: shape ${shapeText(series.shape)}, expected S × N × T (3 dimensions)`,
    );
  }
  const [S, N, T] = series.shape;
  if (S === 0 || N === 0 || T === 0) {
    throw new UserError(`${file('series.npy')}: shape ${shapeText(series.shape)} has an empty dimension`);
  }
  const values = toFloat32(series, file('series.npy'), ['shop', 'node', 'time']);

  let meta: NpyMeta = {};
  const metaPath = file('meta.json');
  if (existsSync(metaPath)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(metaPath, 'utf8'));
    } catch (err) {
      throw new UserError(`${metaPath}: not valid JSON (${(err as Error).message})`);
    }
    meta = parseOrThrow(npyMetaSchema, raw, metaPath);
  }
  const nodes = meta.nodes;
  if (nodes) {
    if (nodes.length !== N) {
      throw new UserError(`${metaPath}: nodes lists ${nodes.length} nodes, series.npy has ${N}`);
    }
    const seen = new Set<string>();
    nodes.forEach((n, i) => {
      if (seen.has(n.name)) throw new UserError(`${metaPath}: nodes[${i}].name "${n.name}" is repeated`);
      seen.add(n.name);
    });
    const targets = nodes.filter((n) => n.role === 'target').length;
    if (targets !== 1)
      throw new UserError(`${metaPath}: nodes: exactly one node must have role "target", found ${targets}`);
  }
  if (meta.shopIds && meta.shopIds.length !== S) {
    throw new UserError(`${metaPath}: shopIds lists ${meta.shopIds.length} shops, series.npy has ${S}`);
  }

  let graph: Uint8Array | undefined;
  if (existsSync(file('graph.npy'))) {
    const g = readNpy(file('graph.npy'));
    const ok =
      (g.shape.length === 2 && g.shape[0] === N && g.shape[1] === N) ||
      (g.shape.length === 3 && g.shape[0] === S && g.shape[1] === N && g.shape[2] === N);
    if (!ok) {
      throw new UserError(
        `${file('graph.npy')}: shape ${shapeText(g.shape)}, expected ${N} × ${N} or ${S} × ${N} × ${N} to match series.npy`,
      );
    }
    graph = toBinary(g, file('graph.npy'));
  }

  let context: Float32Array | undefined;
  let contextNames: string[] | undefined;
  if (existsSync(file('context.npy'))) {
    const c = readNpy(file('context.npy'));
    if (c.shape.length !== 2 || c.shape[0] !== S || c.shape[1] === 0) {
      throw new UserError(`${file('context.npy')}: shape ${shapeText(c.shape)}, expected ${S} × k (k ≥ 1)`);
    }
    context = toFloat32(c, file('context.npy'), ['shop', 'column']);
    if (meta.contextNames && meta.contextNames.length !== c.shape[1]) {
      throw new UserError(
        `${metaPath}: contextNames lists ${meta.contextNames.length} names, context.npy has ${c.shape[1]} columns`,
      );
    }
    contextNames = meta.contextNames;
  } else if (meta.contextNames && meta.contextNames.length > 0) {
    throw new UserError(`${metaPath}: contextNames given but ${file('context.npy')} is missing`);
  }

  let contributions: Float32Array | undefined;
  if (existsSync(file('contributions.npy'))) {
    const c = readNpy(file('contributions.npy'));
    const C = nodes ? nodes.filter((n) => n.role === 'channel').length : N - 1;
    if (c.shape.length !== 3 || c.shape[0] !== S || c.shape[1] !== C || c.shape[2] !== T) {
      throw new UserError(
        `${file('contributions.npy')}: shape ${shapeText(c.shape)}, expected ${S} × ${C} × ${T} (shops × channels × steps)`,
      );
    }
    contributions = toFloat32(c, file('contributions.npy'), ['shop', 'channel', 'time']);
  }

  return new Panel({
    shape: [S, N, T],
    values,
    nodes,
    shopIds: meta.shopIds,
    context,
    contextNames,
    graph,
    contributions,
    source: dir,
  });
}

/**
 * Writes `panel` as an NPY directory: series.npy (float32 S × N × T), graph.npy (uint8, N × N or
 * S × N × N), context.npy (float32 S × k), contributions.npy (float32 S × C × T), meta.json,
 * and any `extraFiles` (name → text, e.g. the simulator's truth.json). Everything goes into a
 * temporary sibling directory first, which is renamed into place only once complete; an
 * existing `dir` is replaced only then, so a failure never leaves a half-written or
 * half-replaced dataset.
 */
export function writeNpyDir(panel: Panel, dir: string, extraFiles: Record<string, string> = {}): void {
  const S = panel.shops;
  const N = panel.nodeCount;
  writeDirAtomic(dir, (tmp) => {
    writeNpy(path.join(tmp, 'series.npy'), { shape: [S, N, panel.steps], data: panel.values });
    if (panel.graph) {
      writeNpy(path.join(tmp, 'graph.npy'), {
        shape: panel.graphShared ? [N, N] : [S, N, N],
        data: Uint8Array.from(panel.graph, (v) => (v !== 0 ? 1 : 0)),
      });
    }
    if (panel.context) {
      writeNpy(path.join(tmp, 'context.npy'), { shape: [S, panel.contextSize], data: panel.context });
    }
    if (panel.contributions) {
      writeNpy(path.join(tmp, 'contributions.npy'), {
        shape: [S, panel.channelIndices.length, panel.steps],
        data: panel.contributions,
      });
    }
    const meta: NpyMeta = {
      nodes: panel.nodes.map((n) => ({ name: n.name, role: n.role })),
      shopIds: [...panel.shopIds],
      ...(panel.context ? { contextNames: [...panel.contextNames] } : {}),
    };
    writeFileSync(path.join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    for (const [name, text] of Object.entries(extraFiles)) writeFileSync(path.join(tmp, name), text);
  });
}

/** Node names given to the CausalMMM release's 8 nodes: the roots 0–4 are the channels, 5 and 6 the intermediate KPIs (they have parents), 7 the GMV target. */
export const RELEASE_NODES: readonly NodeSpec[] = [
  { name: 'x0', role: 'channel' },
  { name: 'x1', role: 'channel' },
  { name: 'x2', role: 'channel' },
  { name: 'x3', role: 'channel' },
  { name: 'x4', role: 'channel' },
  { name: 'kpi5', role: 'kpi' },
  { name: 'kpi6', role: 'kpi' },
  { name: 'gmv', role: 'target' },
];

/**
 * Maps the release's flat edge vectors (S × N(N−1): entry k is the k-th ordered pair (i, j),
 * i ≠ j, row-major with the diagonal skipped, i = effect, j = cause) to S × N × N adjacency
 * matrices with `[i][j] = 1` ⇔ j → i (nonzero → 1).
 */
export function releaseEdgesToGraph(edges: ArrayLike<number>, shops: number, nodes: number): Uint8Array {
  const width = nodes * (nodes - 1);
  if (edges.length !== shops * width) {
    throw new RangeError(`releaseEdgesToGraph: ${edges.length} entries, expected ${shops} × ${width}`);
  }
  const out = new Uint8Array(shops * nodes * nodes);
  for (let s = 0; s < shops; s++) {
    let k = 0;
    for (let i = 0; i < nodes; i++) {
      for (let j = 0; j < nodes; j++) {
        if (i === j) continue;
        out[(s * nodes + i) * nodes + j] = edges[s * width + k] !== 0 ? 1 : 0;
        k++;
      }
    }
  }
  return out;
}

/**
 * Reads the CausalMMM authors' release folder: shuffled_data.npy (S × 8 × T), shuffled_edges.npy
 * (S × 56, see `releaseEdgesToGraph`) and shuffled_context.npy (S × k). Nodes are named per
 * `RELEASE_NODES`; the graph is per shop (the release has 3 distinct graphs).
 */
export function readCausalmmmRelease(dir: string): Panel {
  if (!dirExists(dir)) throw new UserError(`${dir}: no such directory`);
  const dataPath = path.join(dir, 'shuffled_data.npy');
  const edgesPath = path.join(dir, 'shuffled_edges.npy');
  const contextPath = path.join(dir, 'shuffled_context.npy');
  const data = readNpy(dataPath);
  const N = RELEASE_NODES.length;
  if (data.shape.length !== 3 || data.shape[1] !== N || data.shape[0] === 0 || data.shape[2] === 0) {
    throw new UserError(`${dataPath}: shape ${shapeText(data.shape)}, expected S × ${N} × T`);
  }
  const [S, , T] = data.shape;
  const edges = readNpy(edgesPath);
  if (edges.shape.length !== 2 || edges.shape[0] !== S || edges.shape[1] !== N * (N - 1)) {
    throw new UserError(`${edgesPath}: shape ${shapeText(edges.shape)}, expected ${S} × ${N * (N - 1)}`);
  }
  for (let i = 0; i < edges.data.length; i++) {
    if (Number.isNaN(edges.data[i])) {
      throw new UserError(`${edgesPath}: NaN at [${unravel(i, edges.shape).join(', ')}]`);
    }
  }
  let context: Float32Array | undefined;
  if (existsSync(contextPath)) {
    const c = readNpy(contextPath);
    if (c.shape.length !== 2 || c.shape[0] !== S || c.shape[1] === 0) {
      throw new UserError(`${contextPath}: shape ${shapeText(c.shape)}, expected ${S} × k`);
    }
    context = toFloat32(c, contextPath, ['shop', 'column']);
  }
  return new Panel({
    shape: [S, N, T],
    values: toFloat32(data, dataPath, ['shop', 'node', 'time']),
    nodes: RELEASE_NODES.map((n) => ({ ...n })),
    context,
    graph: releaseEdgesToGraph(edges.data, S, N),
    source: dir,
  });
}
