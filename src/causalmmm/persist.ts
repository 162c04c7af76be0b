/**
 * Saving and loading a trained model of `causalmmm fit`. A model folder holds:
 *  - `model.json`: format version, code version, method and its options, model shape, node
 *    names and roles, context names, the panel schema it was fitted with, the shop ids, the
 *    per-shop scalers and the layout of `weights.bin`;
 *  - `weights.bin`: the method's parameters, float32 little-endian. For CausalMMM (and NRI):
 *    every variable then every BatchNorm running statistic, in the order the model creates
 *    them (the same options and shape always create the same variables in the same order);
 *    for the per-shop VAR see `src/fit/var-model.ts`;
 *  - `history.bin`: the fitted shops' series [S, N, T] then their context [S, k], float32
 *    little-endian, so that forecasts and what-ifs need only the model folder;
 *  - `graph-snapshots.bin`, under CausalMMM's `graphAverage: epochs` only: the encoder's states
 *    at the end of each epoch up to the kept one (`TrainResult.snapshots`), one after the
 *    other, float32 little-endian; `model.json`'s `graphSnapshots` says how many. The graphs
 *    are their mean, as the experiment runner scores them. Each holds the encoder's variables
 *    and the BatchNorm statistics (0.19 MB at H = 64, 2.6 MB at H = 256).
 * The folder format is shared ({@link writeModelFolder}, {@link readModelFolder}); this module
 * also holds CausalMMM's own save and load.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Panel } from '../data/panel.js';
import { UserError } from '../errors.js';
import { readFileOrFail, readTextOrFail, writeFileAtomic } from '../io.js';
import { Rng } from '../rng.js';
import { parseOrThrow } from '../validation.js';
import { CausalmmmModel } from './model.js';
import { type CausalmmmOptions, causalmmmOptions } from './options.js';
import { assignPacked, packValues } from './params.js';
import { applyScaling, averagesSnapshots, graphStateSize, type ShopSeries } from './train.js';

export const MODEL_FORMAT = 'causalmmm-model';
export const MODEL_FORMAT_VERSION = 1;

const SNAPSHOTS_FILE = 'graph-snapshots.bin';

const nodeSchema = z.strictObject({ name: z.string(), role: z.enum(['channel', 'kpi', 'target']) });

const modelMetaSchema = z.strictObject({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  codeVersion: z.string(),
  createdAt: z.string(),
  method: z.string(),
  seed: z.number(),
  /** The method's options, checked against the method's own schema when loaded. */
  options: z.record(z.string(), z.unknown()),
  shape: z.strictObject({
    nodes: z.int().min(1),
    encoderSteps: z.int().min(1),
    contextSize: z.int().min(0),
    targetIndex: z.int().min(0),
    channelIndices: z.array(z.int().min(0)),
  }),
  nodes: z.array(nodeSchema).min(1),
  contextNames: z.array(z.string()),
  /** The panel schema (CSV column names and reading options) the model was fitted with, if from a CSV. */
  panelSchema: z.record(z.string(), z.unknown()).optional(),
  shops: z.array(z.string()).min(1),
  steps: z.int().min(1),
  /** Per shop and node: original = scaled · scale + center ([S][N] each). */
  scalers: z.strictObject({ center: z.array(z.array(z.number())), scale: z.array(z.array(z.number())) }),
  weights: z.array(z.strictObject({ shape: z.array(z.int().min(0)), statistic: z.boolean() })),
  /** Snapshots held by `graph-snapshots.bin` (`graphAverage: epochs`); absent: no such file. */
  graphSnapshots: z.int().min(1).optional(),
  training: z.record(z.string(), z.unknown()).optional(),
});

export type ModelMeta = z.output<typeof modelMetaSchema>;

export interface SavedModel {
  model: CausalmmmModel;
  meta: ModelMeta & { options: CausalmmmOptions };
  /** The fitted shops' series in original units, with node names, context and shop ids. */
  panel: Panel;
  /** The same series scaled as the model reads them (scalers from `meta`). */
  series: ShopSeries;
  /** The encoder's states along training (`graphAverage: epochs`), else empty. */
  snapshots: Float32Array[];
}

/** What a model folder records besides the parameters. */
export interface SaveInfo {
  method: string;
  seed: number;
  codeVersion: string;
  panelSchema?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

/**
 * Writes a CausalMMM model's folder (each file atomically). `dir` is created if needed.
 * `snapshots` (`TrainResult.snapshots`) are saved when the options average over them.
 */
export function saveModel(
  dir: string,
  model: CausalmmmModel,
  panel: Panel,
  series: ShopSeries,
  info: SaveInfo,
  snapshots: readonly Float32Array[] = [],
): ModelMeta {
  const all = [...model.variables, ...model.statistics];
  const weights = packValues(all);
  const averaged = averagesSnapshots(model.options);
  if (averaged && snapshots.length === 0) {
    throw new Error('graphAverage: epochs: saving the model needs its training snapshots');
  }
  return writeModelFolder(dir, panel, info, {
    options: model.options,
    shape: model.shape,
    scalers: { center: series.center, scale: series.scale },
    weights,
    layout: all.map((v, i) => ({ shape: [...v.shape], statistic: i >= model.variables.length })),
    ...(averaged ? { graphSnapshots: snapshots } : {}),
  });
}

/**
 * Writes a model folder: `model.json` from `info` and the method's `parameters`, `weights.bin`
 * and `history.bin` (the panel's series and context). Scalers are [S · N] per shop and node.
 */
export function writeModelFolder(
  dir: string,
  panel: Panel,
  info: SaveInfo,
  parameters: {
    options: object;
    shape: Omit<ModelMeta['shape'], 'channelIndices'> & { channelIndices: readonly number[] };
    scalers: { center: Float32Array; scale: Float32Array };
    weights: Float32Array;
    layout: ModelMeta['weights'];
    /** Written to `graph-snapshots.bin`, all of one length. */
    graphSnapshots?: readonly Float32Array[];
  },
): ModelMeta {
  const { shops: S, nodeCount: N } = panel;
  const rows = (a: Float32Array) =>
    Array.from({ length: S }, (_, s) => Array.from(a.subarray(s * N, (s + 1) * N)));
  const meta: ModelMeta = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    codeVersion: info.codeVersion,
    createdAt: new Date().toISOString(),
    method: info.method,
    seed: info.seed,
    options: { ...parameters.options },
    shape: { ...parameters.shape, channelIndices: [...parameters.shape.channelIndices] },
    nodes: panel.nodes.map((n) => ({ name: n.name, role: n.role })),
    contextNames: [...panel.contextNames],
    ...(info.panelSchema ? { panelSchema: info.panelSchema } : {}),
    shops: [...panel.shopIds],
    steps: panel.steps,
    scalers: { center: rows(parameters.scalers.center), scale: rows(parameters.scalers.scale) },
    weights: parameters.layout,
    ...(parameters.graphSnapshots ? { graphSnapshots: parameters.graphSnapshots.length } : {}),
    ...(info.training ? { training: info.training } : {}),
  };
  const history = new Float32Array(panel.values.length + (panel.context?.length ?? 0));
  history.set(panel.values);
  if (panel.context) history.set(panel.context, panel.values.length);
  writeFileAtomic(path.join(dir, 'weights.bin'), littleEndianBytes(parameters.weights));
  writeFileAtomic(path.join(dir, 'history.bin'), littleEndianBytes(history));
  const snapshotsFile = path.join(dir, SNAPSHOTS_FILE);
  if (parameters.graphSnapshots) {
    const packed = new Float32Array(parameters.graphSnapshots.reduce((n, a) => n + a.length, 0));
    let offset = 0;
    for (const state of parameters.graphSnapshots) {
      packed.set(state, offset);
      offset += state.length;
    }
    writeFileAtomic(snapshotsFile, littleEndianBytes(packed));
  } else {
    // A folder written over keeps no other model's snapshots.
    rmSync(snapshotsFile, { force: true });
  }
  writeFileAtomic(path.join(dir, 'model.json'), `${JSON.stringify(meta, null, 1)}\n`);
  return meta;
}

/** A model folder as read: its checked metadata, the fitted shops' panel and the raw weights. */
export interface ModelFolder {
  dir: string;
  meta: ModelMeta;
  /** The fitted shops' series in original units, with node names, context and shop ids. */
  panel: Panel;
  weights: Float32Array;
  /** `graph-snapshots.bin` split into its `graphSnapshots` states of equal length; else empty. */
  snapshots: Float32Array[];
  /** Throws a UserError about `model.json`. */
  fail(msg: string): never;
}

/** Reads a model folder; a missing, malformed or inconsistent file is a UserError naming it. */
export function readModelFolder(dir: string): ModelFolder {
  const metaFile = path.join(dir, 'model.json');
  const meta = parseOrThrow(modelMetaSchema, readJsonFile(metaFile), metaFile);
  const fail = (msg: string): never => {
    throw new UserError(`${metaFile}: ${msg}`);
  };
  const N = meta.nodes.length;
  const S = meta.shops.length;
  const T = meta.steps;
  const k = meta.contextNames.length;
  if (meta.shape.nodes !== N) fail(`shape.nodes ${meta.shape.nodes} but ${N} nodes are named`);
  if (meta.shape.contextSize !== k)
    fail(`shape.contextSize ${meta.shape.contextSize} but ${k} context names`);
  if (meta.nodes[meta.shape.targetIndex]?.role !== 'target') fail('shape.targetIndex is not the target node');
  if (meta.scalers.center.length !== S || meta.scalers.center.some((r) => r.length !== N)) {
    fail(`scalers.center must be ${S} × ${N}`);
  }
  if (meta.scalers.scale.length !== S || meta.scalers.scale.some((r) => r.length !== N)) {
    fail(`scalers.scale must be ${S} × ${N}`);
  }

  const weights = readFloat32(path.join(dir, 'weights.bin'));
  const listed = meta.weights.reduce((a, w) => a + w.shape.reduce((x, d) => x * d, 1), 0);
  if (weights.length !== listed) {
    throw new UserError(
      `${path.join(dir, 'weights.bin')}: holds ${weights.length} numbers, model.json lists ${listed}`,
    );
  }
  const history = readFloat32(path.join(dir, 'history.bin'));
  const expected = S * N * T + S * k;
  if (history.length !== expected) {
    throw new UserError(
      `${path.join(dir, 'history.bin')}: holds ${history.length} numbers; model.json needs ${S}×${N}×${T} + ${S}×${k} = ${expected}`,
    );
  }
  const snapshots: Float32Array[] = [];
  if (meta.graphSnapshots) {
    const file = path.join(dir, SNAPSHOTS_FILE);
    const packed = readFloat32(file);
    const count = meta.graphSnapshots;
    if (packed.length === 0 || packed.length % count !== 0) {
      throw new UserError(`${file}: ${packed.length} numbers do not split into ${count} equal snapshots`);
    }
    const size = packed.length / count;
    for (let i = 0; i < count; i++) snapshots.push(packed.slice(i * size, (i + 1) * size));
  }
  const panel = new Panel({
    shape: [S, N, T],
    values: history.slice(0, S * N * T),
    nodes: meta.nodes,
    shopIds: meta.shops,
    ...(k > 0 ? { context: history.slice(S * N * T), contextNames: meta.contextNames } : {}),
    source: dir,
  });
  return { dir, meta, panel, weights, snapshots, fail };
}

/** Reads a CausalMMM (or NRI) model folder; see {@link readModelFolder} for the errors. */
export function loadModel(dir: string): SavedModel {
  return loadCausalmmmFolder(readModelFolder(dir));
}

/** The CausalMMM (or NRI) model of a folder already read. */
export function loadCausalmmmFolder(folder: ModelFolder): SavedModel {
  const { dir, panel, weights, snapshots, fail } = folder;
  // Folders written before `graphAverage` existed hold the kept encoder's graph (`last`).
  const options = parseOrThrow(
    causalmmmOptions,
    { graphAverage: 'last', ...folder.meta.options },
    `${path.join(dir, 'model.json')}: options`,
  );
  const meta = { ...folder.meta, options };
  const series = scaleSeries(panel, meta.scalers);

  // The initial draw is overwritten below; a fixed seed keeps loading deterministic anyway.
  const model = new CausalmmmModel(meta.shape, meta.options, new Rng('load'));
  const all = [...model.variables, ...model.statistics];
  try {
    if (all.length !== meta.weights.length) {
      fail(`lists ${meta.weights.length} weight tensors; these options and shape make ${all.length}`);
    }
    all.forEach((v, i) => {
      const listed = meta.weights[i].shape;
      if (listed.join('×') !== v.shape.join('×')) {
        fail(`weights[${i}] has shape [${listed}], the model expects [${v.shape}]`);
      }
    });
    assignPacked(all, weights);
    if (averagesSnapshots(options)) {
      if (snapshots.length === 0) {
        fail(`options.graphAverage is epochs but graphSnapshots lists none (${SNAPSHOTS_FILE})`);
      }
      const size = graphStateSize(model);
      if (snapshots[0].length !== size) {
        throw new UserError(
          `${path.join(dir, SNAPSHOTS_FILE)}: snapshots of ${snapshots[0].length} numbers; this model's encoder holds ${size}`,
        );
      }
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, meta, panel, series, snapshots };
}

/**
 * Refuses data whose nodes (names, roles, order) or context columns differ from the model's:
 * a model reads its inputs by position, so any difference would silently mix series up.
 */
export function checkSameSchema(meta: ModelMeta, modelDir: string, panel: Panel, dataSource: string): void {
  const describe = (nodes: readonly { name: string; role: string }[]) =>
    nodes.map((n) => `${n.name}:${n.role}`).join(', ');
  const want = describe(meta.nodes);
  const got = describe(panel.nodes);
  if (want !== got) {
    throw new UserError(
      `${dataSource}: nodes [${got}] do not match the model in ${modelDir} (trained on [${want}])`,
    );
  }
  const wantContext = meta.contextNames.join(', ');
  const gotContext = panel.contextNames.join(', ');
  if (wantContext !== gotContext) {
    throw new UserError(
      `${dataSource}: context columns [${gotContext}] do not match the model in ${modelDir} (trained on [${wantContext}])`,
    );
  }
}

/** A panel scaled with given per-shop scalers (`scaled = (original − center) / scale`). */
export function scaleSeries(panel: Panel, scalers: { center: number[][]; scale: number[][] }): ShopSeries {
  return applyScaling(
    panel,
    Float32Array.from(scalers.center.flat()),
    Float32Array.from(scalers.scale.flat()),
  );
}

function readJsonFile(file: string): unknown {
  const text = readTextOrFail(file, ' — is this a model folder written by `causalmmm fit`?');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

function readFloat32(file: string): Float32Array {
  const bytes = readFileOrFail(file);
  if (bytes.length % 4 !== 0)
    throw new UserError(`${file}: ${bytes.length} bytes is not a whole number of float32`);
  const out = new Float32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
