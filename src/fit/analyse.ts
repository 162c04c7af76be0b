/**
 * The analyses of a fitted model (CausalMMM, NRI or the per-shop VAR), per shop: GMV
 * forecasts under planned spends, each channel's contribution to GMV and its ROI, response
 * curves, and budget what-ifs with the paths of the learned graph they flow through. All are scenario rollouts
 * (./scenario.ts) of the model, so indirect paths (brand → search → GMV) count.
 *
 * Arrays follow the panel's conventions: channels in `panel.channelIndices` order, values in
 * original units, per-shop graphs N × N row-major with `[i * N + j]` about j → i.
 */
import type { Panel } from '../data/panel.js';
import type { Scenario, ScenarioModel, ShopGraphs } from './scenario.js';

export interface AnalysisSettings {
  /** Steps forecast after the end of the history. */
  horizon: number;
  /** Observed steps the decoder reads before a forecast (its recurrent state warms up on them). */
  warmup: number;
  /** Last steps of the history over which contributions and ROI are measured (0 = all). */
  contributionWindow: number;
  /** Multipliers of one channel's planned spend for the response curves. */
  curveFactors: readonly number[];
  /** Edge probability from which an edge counts as present (graph files, paths). */
  edgeThreshold: number;
}

/** [C, horizon] planned spends of one shop. */
export type Plan = Float32Array;

/** The default plan: every channel keeps the mean spend of its last `horizon` observed steps. */
export function defaultPlan(panel: Panel, shop: number, horizon: number): Plan {
  const channels = panel.channelIndices;
  const T = panel.steps;
  const recent = Math.min(horizon, T);
  const plan = new Float32Array(channels.length * horizon);
  for (const [c, n] of channels.entries()) {
    const series = panel.series(shop, n);
    let sum = 0;
    for (let t = T - recent; t < T; t++) sum += series[t];
    plan.fill(sum / recent, c * horizon, (c + 1) * horizon);
  }
  return plan;
}

/** A forecast scenario: the last `warmup` observed steps, then `plan` (after `adjust`). */
function forecastScenario(
  panel: Panel,
  shop: number,
  plan: Plan,
  settings: AnalysisSettings,
  adjust?: (c: number, value: number) => number,
  cut?: Scenario['cut'],
): Scenario {
  const T = panel.steps;
  const H = settings.horizon;
  const K = Math.min(settings.warmup, T);
  const L = K + H;
  const channels = panel.channelIndices;
  const values = new Float32Array(channels.length * L);
  for (const [c, n] of channels.entries()) {
    values.set(panel.series(shop, n).subarray(T - K, T), c * L);
    for (let h = 0; h < H; h++) {
      const planned = plan[c * H + h];
      values[c * L + K + h] = adjust ? adjust(c, planned) : planned;
    }
  }
  return { shop, start: T - K, truthSteps: K, length: L, channels: values, ...(cut ? { cut } : {}) };
}

/** The target's row of a rollout result [N, P]. */
function targetRow(result: Float32Array, panel: Panel): Float32Array {
  const P = result.length / panel.nodeCount;
  return result.subarray(panel.targetIndex * P, (panel.targetIndex + 1) * P);
}

const sum = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};

export interface Fitted {
  model: ScenarioModel;
  panel: Panel;
  graphs: ShopGraphs;
}

/** Forecasts of every node over the horizon under each shop's plan, [N, horizon] per shop. */
export function forecast(fitted: Fitted, plans: readonly Plan[], settings: AnalysisSettings): Float32Array[] {
  const { model, panel, graphs } = fitted;
  const scenarios = plans.map((plan, s) => forecastScenario(panel, s, plan, settings));
  return model.run(graphs, scenarios);
}

export interface ShopContributions {
  /** First and last+1 history index of the measured steps. */
  from: number;
  to: number;
  /** Observed GMV and the model's rollout of it (all channels as observed), per step. */
  actual: Float32Array;
  fitted: Float32Array;
  /** Per channel: rollout GMV − rollout GMV with that channel at zero, per step. */
  contributions: Float32Array[];
  /** Per channel: spend over the measured steps. */
  spend: number[];
}

/**
 * Each channel's contribution to GMV over the last `contributionWindow` steps of history: the
 * rollout from the window's first observed steps (the model's `readSteps`) with every channel
 * as observed, minus the same rollout with that channel at zero throughout (same graph, same
 * noise draws); measured from the first predicted step. The
 * rollout feeds back its own KPIs and GMV, so a channel's effect through other channels and
 * KPIs is included.
 */
export function contributions(fitted: Fitted, settings: AnalysisSettings): ShopContributions[] {
  const { model, panel, graphs } = fitted;
  const T = panel.steps;
  const W = settings.contributionWindow > 0 ? Math.min(settings.contributionWindow, T) : T;
  const start = T - W;
  const read = model.readSteps;
  const channels = panel.channelIndices;
  const C = channels.length;
  const scenarios: Scenario[] = [];
  for (let s = 0; s < panel.shops; s++) {
    const observed = new Float32Array(C * W);
    for (const [c, n] of channels.entries()) observed.set(panel.series(s, n).subarray(start, T), c * W);
    const base = { shop: s, start, truthSteps: read, length: W };
    scenarios.push({ ...base, channels: observed });
    for (let c = 0; c < C; c++) {
      const zeroed = observed.slice();
      zeroed.fill(0, c * W, (c + 1) * W);
      scenarios.push({ ...base, channels: zeroed });
    }
  }
  const results = model.run(graphs, scenarios);
  return Array.from({ length: panel.shops }, (_, s) => {
    const rows = results.slice(s * (C + 1), (s + 1) * (C + 1)).map((r) => targetRow(r, panel));
    const fittedGmv = rows[0];
    return {
      from: start + read,
      to: T,
      actual: panel.series(s, panel.targetIndex).slice(start + read, T),
      fitted: fittedGmv.slice(),
      contributions: rows.slice(1).map((cf) => fittedGmv.map((v, t) => v - cf[t])),
      spend: channels.map((n) => sum(panel.series(s, n).subarray(start + read, T))),
    };
  });
}

export interface ResponseCurve {
  channel: string;
  factors: number[];
  /** Planned spend of the channel over the horizon at each factor. */
  spend: number[];
  /** Predicted GMV over the horizon at each factor. */
  gmv: number[];
}

/** GMV over the horizon against one channel's planned spend scaled by each factor, per shop and channel. */
export function responseCurves(
  fitted: Fitted,
  plans: readonly Plan[],
  settings: AnalysisSettings,
): ResponseCurve[][] {
  const { model, panel, graphs } = fitted;
  const channels = panel.channelIndices;
  const factors = settings.curveFactors;
  const H = settings.horizon;
  const scenarios: Scenario[] = [];
  for (const [s, plan] of plans.entries()) {
    for (let c = 0; c < channels.length; c++) {
      for (const f of factors) {
        scenarios.push(forecastScenario(panel, s, plan, settings, (ci, v) => (ci === c ? v * f : v)));
      }
    }
  }
  const results = model.run(graphs, scenarios);
  let next = 0;
  return plans.map((plan) =>
    channels.map((n, c) => {
      const planned = sum(plan.subarray(c * H, (c + 1) * H));
      const gmv = factors.map(() => sum(targetRow(results[next++], panel)));
      return {
        channel: panel.nodes[n].name,
        factors: [...factors],
        spend: factors.map((f) => planned * f),
        gmv,
      };
    }),
  );
}

/** A path of the learned graph from a channel to the target, with its edges' probabilities. */
export interface GraphPath {
  nodes: string[];
  probabilities: number[];
  /** Product of the edge probabilities. */
  strength: number;
}

/**
 * Simple directed paths from `from` to `to` over edges with probability ≥ `threshold`, at most
 * `maxEdges` long, strongest first.
 */
export function graphPaths(
  probabilities: Float64Array,
  names: readonly string[],
  from: number,
  to: number,
  threshold: number,
  maxEdges = 4,
): GraphPath[] {
  const N = names.length;
  const found: GraphPath[] = [];
  const walk = (node: number, trail: number[], probs: number[]) => {
    if (node === to) {
      found.push({
        nodes: trail.map((i) => names[i]),
        probabilities: probs,
        strength: probs.reduce((a, b) => a * b, 1),
      });
      return;
    }
    if (probs.length >= maxEdges) return;
    for (let next = 0; next < N; next++) {
      const p = probabilities[next * N + node];
      if (next !== node && p >= threshold && !trail.includes(next))
        walk(next, [...trail, next], [...probs, p]);
    }
  };
  walk(from, [from], []);
  return found.sort((a, b) => b.strength - a.strength);
}

export interface WhatIfResult {
  shop: string;
  horizon: number;
  /** Channel name → relative change applied to its planned spend (0.2 = +20 %). */
  changes: Record<string, number>;
  baseGmv: number[];
  scenarioGmv: number[];
  /** Σ scenarioGmv − Σ baseGmv. */
  deltaGmv: number;
  deltaSpend: number;
  /**
   * Per changed channel: the paths to GMV in the learned graph, and for each of its outgoing
   * edges (first hops) the part of the GMV change that disappears when that edge is cut.
   */
  flows: {
    channel: string;
    paths: GraphPath[];
    firstHops: { edge: [string, string]; probability: number; deltaGmv: number }[];
  }[];
}

/** The GMV change over the horizon when channels' planned spends change by the given fractions. */
export function whatIf(
  fitted: Fitted,
  shop: number,
  plan: Plan,
  changes: ReadonlyMap<number, number>,
  settings: AnalysisSettings,
): WhatIfResult {
  const { model, panel, graphs } = fitted;
  const names = panel.nodes.map((n) => n.name);
  const channels = panel.channelIndices;
  const N = panel.nodeCount;
  const H = settings.horizon;
  const probs = graphs.probabilities[shop];
  const adjust = (c: number, v: number) => v * (1 + (changes.get(c) ?? 0));
  const hops = [...changes.keys()].map((c) => {
    const n = channels[c];
    const edges: [number, number][] = [];
    for (let i = 0; i < N; i++) if (i !== n && probs[i * N + n] >= settings.edgeThreshold) edges.push([n, i]);
    return { n, edges };
  });
  const scenarios: Scenario[] = [
    forecastScenario(panel, shop, plan, settings),
    forecastScenario(panel, shop, plan, settings, adjust),
  ];
  for (const { edges } of hops) {
    for (const edge of edges) {
      scenarios.push(forecastScenario(panel, shop, plan, settings, undefined, [edge]));
      scenarios.push(forecastScenario(panel, shop, plan, settings, adjust, [edge]));
    }
  }
  const results = model.run(graphs, scenarios).map((r) => targetRow(r, panel));
  const delta = (a: Float32Array, b: Float32Array) => sum(b) - sum(a);
  const total = delta(results[0], results[1]);
  let next = 2;
  const flows = hops.map(({ n, edges }) => ({
    channel: names[n],
    paths: graphPaths(probs, names, n, panel.targetIndex, settings.edgeThreshold).slice(0, 10),
    firstHops: edges.map(([cause, effect]) => {
      const cutDelta = delta(results[next], results[next + 1]);
      next += 2;
      return {
        edge: [names[cause], names[effect]] as [string, string],
        probability: probs[effect * N + cause],
        deltaGmv: total - cutDelta,
      };
    }),
  }));
  const changeNames: Record<string, number> = {};
  let deltaSpend = 0;
  for (const [c, f] of changes) {
    changeNames[names[channels[c]]] = f;
    deltaSpend += f * sum(plan.subarray(c * H, (c + 1) * H));
  }
  return {
    shop: panel.shopIds[shop],
    horizon: H,
    changes: changeNames,
    baseGmv: Array.from(results[0]),
    scenarioGmv: Array.from(results[1]),
    deltaGmv: total,
    deltaSpend,
    flows,
  };
}
