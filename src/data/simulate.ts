/**
 * Synthetic panels with a known causal graph: the funnel presets (causal marketing-mix data in
 * the spirit of CausalMMM, Gong et al., WSDM 2024) and the classic VAR and Lorenz-96
 * Granger-causality benchmarks. Every draw flows from `spec.seed` through named `Rng` forks, so
 * one spec always gives a byte-identical panel.
 *
 * Graph orientation: `graph[i * N + j] = 1` ⇔ j → i (row = effect, column = cause).
 */
import { z } from 'zod';
import { Rng } from '../rng.js';
import { parseOrThrow } from '../validation.js';
import { defaultNodes, type NodeSpec, Panel } from './panel.js';
import { type FunnelConfig, type FunnelShopTruth, simulateFunnel } from './sim/funnel.js';
import { lorenz96Graph, simulateLorenz96 } from './sim/lorenz96.js';
import { ADSTOCK_KINDS } from './sim/response.js';
import { drawVarModel, simulateVar, type VarModel } from './sim/var.js';

export type PresetName = 'release-like' | 'funnel-12' | 'funnel-20' | 'var' | 'lorenz96';

export const PRESETS: Record<PresetName, { description: string }> = {
  'release-like': {
    description:
      '8 nodes (5 channels, pv, clicks, gmv), T = 100, 300 shops of 3 types; shops of a type share the graph, not the parameters',
  },
  'funnel-12': {
    description: '12 nodes (8 channels, 3 KPIs, gmv), T = 100, 100 shops, each with its own graph',
  },
  'funnel-20': {
    description: '20 nodes (14 channels, 5 KPIs, gmv), T = 100, 100 shops, each with its own graph',
  },
  var: {
    description: 'Neural-GC-style sparse VAR(3), p = 10, sparsity 0.2, spectral radius ≤ 0.97, T = 1000',
  },
  lorenz96: {
    description: 'Lorenz-96, p = 10, F = 10, RK4 at dt = 0.1, observation noise sd 0.1, T = 1000',
  },
};

const prob = z.number().min(0).max(1);
const common = (shops: number, steps: number) => ({
  seed: z.int().min(0).default(0),
  shops: z.int().positive().default(shops),
  steps: z.int().min(2).default(steps),
});

interface FunnelDefaults {
  shops: number;
  channels: number;
  kpis: number;
  shopTypes: number;
  edgeProb: FunnelConfig['edgeProb'];
}

function funnelSchema<P extends 'release-like' | 'funnel-12' | 'funnel-20'>(preset: P, d: FunnelDefaults) {
  return z.strictObject({
    preset: z.literal(preset),
    ...common(d.shops, 100),
    /** Steps simulated before the kept window, so that adstock has a history. */
    burnIn: z.int().min(0).default(20),
    channels: z.int().min(1).max(64).default(d.channels),
    kpis: z.int().min(0).max(32).default(d.kpis),
    /** Number of graph templates (shop s has type s mod shopTypes); 0 ⇒ one graph per shop. */
    shopTypes: z.int().min(0).default(d.shopTypes),
    context: z
      .strictObject({
        /** Context entries per shop: log size, then category-like numbers in (−1, 1). */
        dim: z.int().min(1).max(16).default(2),
        sizeSd: z.number().min(0).default(0.5),
      })
      .prefault({}),
    /** var(signal) / var(noise) of every KPI and GMV. */
    snr: z.number().positive().default(4),
    /** Noise AR(1) coefficients are drawn on [0, noiseAr]. */
    noiseAr: z.number().min(0).max(0.95).default(0.3),
    /** Sd of the log-normal factor between a template's parameters and a shop's. */
    shopJitter: z.number().min(0).default(0.1),
    edgeProb: z
      .strictObject({
        halo: prob.default(d.edgeProb.halo),
        channelKpi: prob.default(d.edgeProb.channelKpi),
        kpiKpi: prob.default(d.edgeProb.kpiKpi),
        channelGmv: prob.default(d.edgeProb.channelGmv),
        kpiGmv: prob.default(d.edgeProb.kpiGmv),
      })
      .prefault({}),
    adstock: z
      .strictObject({
        kind: z.enum(ADSTOCK_KINDS as ['geometric', 'weibull', 'delayed']).default('geometric'),
        maxLag: z.int().min(1).max(60).default(6),
        decayMin: z.number().gt(0).lt(1).default(0.1),
        decayMax: z.number().gt(0).lt(1).default(0.7),
      })
      .refine((a) => a.decayMin <= a.decayMax, { message: 'must be ≥ decayMin', path: ['decayMax'] })
      .prefault({}),
    hill: z
      .strictObject({
        alphaMin: z.number().positive().default(0.8),
        alphaMax: z.number().positive().default(2.5),
        gammaMin: z.number().positive().default(0.4),
        gammaMax: z.number().positive().default(1.2),
        /** Category-like context shifts log α by up to ± contextEffect per entry. */
        contextEffect: z.number().min(0).default(0.3),
        /** γ = γ0 · size^(−sizeEffect). */
        sizeEffect: z.number().default(0.3),
      })
      .refine((h) => h.alphaMin <= h.alphaMax, { message: 'must be ≥ alphaMin', path: ['alphaMax'] })
      .refine((h) => h.gammaMin <= h.gammaMax, { message: 'must be ≥ gammaMin', path: ['gammaMax'] })
      .prefault({}),
    spend: z
      .strictObject({
        /** Stationary sd of the log-AR(1) spend factor. */
        logSd: z.number().min(0).default(0.3),
        seasonAmp: z.number().min(0).max(1).default(0.2),
        /** Per-step probability that a burst ends. */
        flightOff: prob.default(0.05),
        /** Per-step probability that a burst starts. */
        flightOn: prob.default(0.15),
        offLevel: z.number().min(0).default(0.2),
        /** Per-step probability that a zero-spend period starts. */
        darkRate: prob.default(0.01),
        darkMaxLength: z.int().min(1).default(10),
      })
      .prefault({}),
    baseline: z
      .strictObject({
        level: z.number().positive().default(1),
        trend: z.number().min(0).default(0.2),
        seasonAmp: z.number().min(0).max(1).default(0.1),
      })
      .prefault({}),
  });
}

export const releaseLikeSchema = funnelSchema('release-like', {
  shops: 300,
  channels: 5,
  kpis: 2,
  shopTypes: 3,
  edgeProb: { halo: 0.15, channelKpi: 0.4, kpiKpi: 0.5, channelGmv: 0.2, kpiGmv: 0.6 },
});
export const funnel12Schema = funnelSchema('funnel-12', {
  shops: 100,
  channels: 8,
  kpis: 3,
  shopTypes: 0,
  edgeProb: { halo: 0.1, channelKpi: 0.35, kpiKpi: 0.5, channelGmv: 0.15, kpiGmv: 0.6 },
});
export const funnel20Schema = funnelSchema('funnel-20', {
  shops: 100,
  channels: 14,
  kpis: 5,
  shopTypes: 0,
  edgeProb: { halo: 0.05, channelKpi: 0.25, kpiKpi: 0.4, channelGmv: 0.1, kpiGmv: 0.5 },
});

export const varSchema = z.strictObject({
  preset: z.literal('var'),
  ...common(1, 1000),
  p: z.int().min(2).max(100).default(10),
  lag: z.int().min(1).max(10).default(3),
  /** Each series has floor(sparsity·p) causes, itself included (as in Neural-GC). */
  sparsity: prob.default(0.2),
  /** Value of every non-zero coefficient before the stability rescaling. */
  coefficient: z.number().positive().default(1),
  maxRadius: z.number().gt(0).lt(1).default(0.97),
  noiseSd: z.number().positive().default(0.1),
  burnIn: z.int().min(0).default(100),
  /** One graph and coefficient set for all shops (replicates differ in noise only). */
  sharedGraph: z.boolean().default(true),
});

export const lorenz96Schema = z.strictObject({
  preset: z.literal('lorenz96'),
  ...common(1, 1000),
  p: z.int().min(4).max(1000).default(10),
  forcing: z.number().default(10),
  dt: z.number().positive().default(0.1),
  substeps: z.int().min(1).default(10),
  burnIn: z.int().min(0).default(1000),
  noiseSd: z.number().min(0).default(0.1),
});

export const simulationSpecSchema = z.discriminatedUnion('preset', [
  releaseLikeSchema,
  funnel12Schema,
  funnel20Schema,
  varSchema,
  lorenz96Schema,
]);

/** A fully defaulted spec. */
export type SimulationSpec = z.output<typeof simulationSpecSchema>;
/** What users and config files write: `preset` plus any overrides. */
export type SimulationSpecInput = z.input<typeof simulationSpecSchema>;
export type FunnelSpec =
  | z.output<typeof releaseLikeSchema>
  | z.output<typeof funnel12Schema>
  | z.output<typeof funnel20Schema>;
export type VarSpec = z.output<typeof varSchema>;
export type Lorenz96Spec = z.output<typeof lorenz96Schema>;

/** Validates and defaults a spec; a bad one throws a UserError naming `source` and each field at fault. */
export function parseSimulationSpec(input: unknown, source = 'simulation spec'): SimulationSpec {
  return parseOrThrow(simulationSpecSchema, input, source);
}

export interface VarModelTruth {
  /** coefficients[k][i][j]: effect of x_j at lag k + 1 on x_i. */
  coefficients: number[][][];
  /** Gelfand upper bounds on the companion spectral radius before and after rescaling. */
  spectralRadiusBefore: number;
  spectralRadius: number;
}

export type SimulationTruth =
  | {
      preset: FunnelSpec['preset'];
      spec: FunnelSpec;
      nodes: NodeSpec[];
      contextNames: string[];
      shops: FunnelShopTruth[];
    }
  | { preset: 'var'; spec: VarSpec; models: VarModelTruth[] }
  | { preset: 'lorenz96'; spec: Lorenz96Spec; initialStates: number[][] };

function varTruth(m: VarModel): VarModelTruth {
  const { p, lag, coef } = m;
  return {
    coefficients: Array.from({ length: lag }, (_, k) =>
      Array.from({ length: p }, (_, i) => Array.from(coef.subarray((k * p + i) * p, (k * p + i + 1) * p))),
    ),
    spectralRadiusBefore: m.radiusBefore,
    spectralRadius: m.radius,
  };
}

/**
 * Simulates a panel and returns every true parameter (JSON-serialisable). Funnel panels carry
 * per-shop graphs [S, N, N], context [S, k] and channel contributions to GMV [S, C, T]; VAR and
 * Lorenz-96 panels carry their graph (shared [N, N] unless `sharedGraph: false`).
 */
export function simulateWithTruth(input: SimulationSpecInput): { panel: Panel; params: SimulationTruth } {
  const spec = parseSimulationSpec(input);
  const rng = new Rng(spec.seed).fork(spec.preset);
  const source = `simulated ${spec.preset} (seed ${spec.seed})`;
  if (spec.preset === 'var') {
    const S = spec.shops;
    const p = spec.p;
    const T = spec.steps;
    const opts = {
      p,
      lag: spec.lag,
      sparsity: spec.sparsity,
      coefficient: spec.coefficient,
      maxRadius: spec.maxRadius,
    };
    const shared = spec.sharedGraph ? drawVarModel(rng.fork('model'), opts) : undefined;
    const models: VarModel[] = [];
    const values = new Float32Array(S * p * T);
    const graph = new Uint8Array(shared ? p * p : S * p * p);
    for (let s = 0; s < S; s++) {
      const r = rng.fork(`shop${s}`);
      const model = shared ?? drawVarModel(r.fork('model'), opts);
      if (!shared) graph.set(model.graph, s * p * p);
      if (!shared || s === 0) models.push(model);
      values.set(simulateVar(model, r.fork('noise'), T, spec.burnIn, spec.noiseSd), s * p * T);
    }
    if (shared) graph.set(shared.graph);
    const panel = new Panel({ shape: [S, p, T], values, nodes: defaultNodes(p), graph, source });
    return { panel, params: { preset: 'var', spec, models: models.map(varTruth) } };
  }
  if (spec.preset === 'lorenz96') {
    const S = spec.shops;
    const p = spec.p;
    const T = spec.steps;
    const values = new Float32Array(S * p * T);
    const initialStates: number[][] = [];
    for (let s = 0; s < S; s++) {
      const { series, initial } = simulateLorenz96(rng.fork(`shop${s}`), { ...spec, steps: T });
      values.set(series, s * p * T);
      initialStates.push(initial);
    }
    const graph = lorenz96Graph(p);
    const panel = new Panel({ shape: [S, p, T], values, nodes: defaultNodes(p), graph, source });
    return { panel, params: { preset: 'lorenz96', spec, initialStates } };
  }
  const r = simulateFunnel(spec, rng);
  const N = r.nodes.length;
  const panel = new Panel({
    shape: [spec.shops, N, spec.steps],
    values: r.values,
    nodes: r.nodes,
    context: r.context,
    contextNames: r.contextNames,
    graph: r.graph,
    contributions: r.contributions,
    source,
  });
  return {
    panel,
    params: { preset: spec.preset, spec, nodes: r.nodes, contextNames: r.contextNames, shops: r.shops },
  };
}

/** Simulates a panel from a preset name plus overrides, e.g. `{ preset: 'release-like', seed: 0 }`. */
export function simulate(spec: SimulationSpecInput): Panel {
  return simulateWithTruth(spec).panel;
}
