/**
 * The funnel simulator behind the `release-like`, `funnel-12` and `funnel-20` presets: per-shop
 * lagged causal DAGs among ad channels, intermediate KPIs and GMV, with adstock carry-over,
 * context-dependent Hill saturation, flighted spends and noise at a set signal-to-noise ratio.
 *
 * Node layout: channels 0 … C−1, then KPIs C … C+K−1, then GMV (index N−1 = C+K).
 * Graph orientation: `graph[i * N + j] = 1` ⇔ j → i (row = effect, column = cause).
 *
 * Randomness is split into named streams (template, context, params, spend, noise) per shop,
 * so that every random draw is made before the deterministic `propagate` runs: re-running it
 * with one channel zeroed gives the counterfactual under the very same noise.
 */
import type { Rng } from '../../rng.js';
import type { NodeRole, NodeSpec } from '../panel.js';
import { type AdstockKind, type AdstockParams, adstockWeights, hill } from './response.js';

export interface FunnelConfig {
  shops: number;
  steps: number;
  burnIn: number;
  channels: number;
  kpis: number;
  /** G graph templates shared by the shops of a type (shop s has type s mod G); 0 ⇒ one graph per shop. */
  shopTypes: number;
  context: { dim: number; sizeSd: number };
  snr: number;
  noiseAr: number;
  shopJitter: number;
  edgeProb: { halo: number; channelKpi: number; kpiKpi: number; channelGmv: number; kpiGmv: number };
  adstock: { kind: AdstockKind; maxLag: number; decayMin: number; decayMax: number };
  hill: {
    alphaMin: number;
    alphaMax: number;
    gammaMin: number;
    gammaMax: number;
    contextEffect: number;
    sizeEffect: number;
  };
  spend: {
    logSd: number;
    seasonAmp: number;
    flightOff: number;
    flightOn: number;
    offLevel: number;
    darkRate: number;
    darkMaxLength: number;
  };
  baseline: { level: number; trend: number; seasonAmp: number };
}

export type FunnelEdgeKind = 'halo' | 'channel-kpi' | 'kpi-kpi' | 'channel-gmv' | 'kpi-gmv';

export interface FunnelEdgeTruth {
  cause: number;
  effect: number;
  causeName: string;
  effectName: string;
  kind: FunnelEdgeKind;
  adstock: AdstockParams;
  /** effect += β · x^α / (x^α + γ^α) with x = adstocked cause / cause's inputScale. */
  hill: { alpha: number; gamma: number; beta: number };
}

export interface FunnelNodeTruth {
  name: string;
  role: NodeRole;
  /** Mean baseline level (KPIs and GMV; 0 for channels). */
  baseline: number;
  /** Linear trend over the kept window, as a fraction of the baseline (from −trend/2 to +trend/2). */
  trend: number;
  seasonAmp: number;
  seasonPhase: number;
  /** AR(1) coefficient of the node's noise: the node's own lagged effect beyond its parents. */
  noiseAr: number;
  /** Stationary sd of the AR(1) noise, chosen so that var(signal) / noiseSd² = snr. */
  noiseSd: number;
  /** Mean of the node's actual series; Hill inputs are divided by it so that they are O(1). */
  inputScale: number;
}

export interface FunnelSpendTruth {
  /** Spend level before log-AR, seasonality and flighting factors. */
  level: number;
  logAr: number;
  logSd: number;
  seasonAmp: number;
  seasonPhase: number;
  /** Per-step probabilities of a burst ending (on → off) and starting (off → on). */
  flightOff: number;
  flightOn: number;
  /** Spend multiplier while a burst is off. */
  offLevel: number;
  darkRate: number;
  darkMaxLength: number;
}

export interface FunnelShopTruth {
  shop: number;
  /** Graph template of the shop, or null when every shop has its own graph. */
  shopType: number | null;
  /** Context vector: [log shop size, category-like numbers in (−1, 1) …]. */
  context: number[];
  size: number;
  /** Topological order of the nodes (channels, then KPIs, then GMV). */
  order: number[];
  nodes: FunnelNodeTruth[];
  edges: FunnelEdgeTruth[];
  spend: FunnelSpendTruth[];
}

/** Exogenous draws of one shop, fixed before propagation. Arrays are row-major [rows, steps]. */
export interface FunnelInputs {
  steps: number;
  /** Exogenous spend of each channel, [C, steps]. */
  exo: Float64Array;
  /** 0 during zero-spend (dark) periods, else 1, [C, steps]. */
  mask: Uint8Array;
  /** Standard normal innovations of each node's noise, [N, steps] (channel rows unused). */
  noise: Float64Array;
}

const KPI_NAMES = ['pv', 'clicks', 'carts', 'favorites', 'orders'];

export function funnelNodes(channels: number, kpis: number): NodeSpec[] {
  const nodes: NodeSpec[] = [];
  for (let c = 0; c < channels; c++) nodes.push({ name: `x${c}`, role: 'channel' });
  for (let k = 0; k < kpis; k++) nodes.push({ name: KPI_NAMES[k] ?? `kpi${k}`, role: 'kpi' });
  nodes.push({ name: 'gmv', role: 'target' });
  return nodes;
}

export function funnelContextNames(dim: number): string[] {
  return Array.from({ length: dim }, (_, m) => (m === 0 ? 'log_size' : m === 1 ? 'category' : `context${m}`));
}

interface TemplateEdge {
  cause: number;
  effect: number;
  kind: FunnelEdgeKind;
  theta: number;
  delay: number;
  shape: number;
  scale: number;
  alpha0: number;
  contextSlopes: number[];
  gamma0: number;
  beta0: number;
}

export interface Template {
  order: number[];
  edges: TemplateEdge[];
  baselineRel: number[];
  trend: number[];
  seasonAmp: number[];
  seasonPhase: number[];
  noiseAr: number[];
  spendRel: number[];
  logAr: number[];
  spendSeasonAmp: number[];
  spendSeasonPhase: number[];
}

const TWO_PI = 2 * Math.PI;

/** Draws a graph respecting the funnel and the type-level parameters of its edges and nodes. */
function drawTemplate(rng: Rng, cfg: FunnelConfig): Template {
  const C = cfg.channels;
  const K = cfg.kpis;
  const N = C + K + 1;
  const gmv = N - 1;
  const g = rng.fork('graph');
  const p = cfg.edgeProb;
  const channelOrder = g.shuffle(Array.from({ length: C }, (_, c) => c));
  const kpiOrder = g.shuffle(Array.from({ length: K }, (_, k) => C + k));
  const pairs: [number, number, FunnelEdgeKind][] = [];
  for (let a = 0; a < C; a++) {
    for (let b = a + 1; b < C; b++)
      if (g.bernoulli(p.halo)) pairs.push([channelOrder[a], channelOrder[b], 'halo']);
  }
  for (const k of kpiOrder)
    for (let c = 0; c < C; c++) if (g.bernoulli(p.channelKpi)) pairs.push([c, k, 'channel-kpi']);
  for (let a = 0; a < K; a++) {
    for (let b = a + 1; b < K; b++)
      if (g.bernoulli(p.kpiKpi)) pairs.push([kpiOrder[a], kpiOrder[b], 'kpi-kpi']);
  }
  for (let c = 0; c < C; c++) if (g.bernoulli(p.channelGmv)) pairs.push([c, gmv, 'channel-gmv']);
  for (const k of kpiOrder) if (g.bernoulli(p.kpiGmv)) pairs.push([k, gmv, 'kpi-gmv']);
  // Funnel rules: every KPI is driven by something and feeds something, and GMV has a parent.
  for (const k of kpiOrder) {
    if (!pairs.some(([, e]) => e === k)) pairs.push([g.int(C), k, 'channel-kpi']);
    if (!pairs.some(([c]) => c === k)) pairs.push([k, gmv, 'kpi-gmv']);
  }
  if (!pairs.some(([, e]) => e === gmv)) pairs.push([g.int(C), gmv, 'channel-gmv']);
  pairs.sort((x, y) => x[1] - y[1] || x[0] - y[0]);

  const r = rng.fork('params');
  const h = cfg.hill;
  const ad = cfg.adstock;
  const halfLag = Math.max(1, (ad.maxLag + 1) / 2);
  const edges = pairs.map(
    ([cause, effect, kind]): TemplateEdge => ({
      cause,
      effect,
      kind,
      theta: r.between(ad.decayMin, ad.decayMax),
      delay: r.between(1, halfLag),
      shape: r.between(1, 3),
      scale: r.between(1, halfLag),
      alpha0: r.between(h.alphaMin, h.alphaMax),
      contextSlopes: Array.from({ length: cfg.context.dim - 1 }, () =>
        r.between(-h.contextEffect, h.contextEffect),
      ),
      gamma0: r.between(h.gammaMin, h.gammaMax),
      beta0: kind === 'halo' ? r.between(0.3, 0.8) : r.between(0.5, 1.5),
    }),
  );
  const perNode = (f: (i: number) => number) => Array.from({ length: N }, (_, i) => (i < C ? 0 : f(i)));
  const perChannel = (f: () => number) => Array.from({ length: C }, f);
  return {
    order: [...channelOrder, ...kpiOrder, gmv],
    edges,
    baselineRel: perNode(() => cfg.baseline.level * r.between(0.5, 1.5)),
    trend: perNode(() => r.between(-cfg.baseline.trend, cfg.baseline.trend)),
    seasonAmp: perNode(() => r.between(0, cfg.baseline.seasonAmp)),
    seasonPhase: perNode(() => r.between(0, TWO_PI)),
    noiseAr: perNode(() => r.between(0, cfg.noiseAr)),
    spendRel: perChannel(() => r.between(0.5, 2)),
    logAr: perChannel(() => r.between(0.5, 0.9)),
    spendSeasonAmp: perChannel(() => r.between(0, cfg.spend.seasonAmp)),
    spendSeasonPhase: perChannel(() => r.between(0, TWO_PI)),
  };
}

function drawContext(rng: Rng, cfg: FunnelConfig): number[] {
  return Array.from({ length: cfg.context.dim }, (_, m) =>
    m === 0 ? rng.normal(0, cfg.context.sizeSd) : rng.between(-1, 1),
  );
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * Shop-specific parameters around a template. Context enters the Hill curves: α = α0·exp(Σ a_m c_m)
 * over the category-like entries, and γ = γ0·size^(−sizeEffect), so larger shops (whose inputs
 * are normalised by their own mean) saturate earlier.
 */
function drawShop(
  shop: number,
  shopType: number | null,
  t: Template,
  rng: Rng,
  context: number[],
  cfg: FunnelConfig,
  nodes: NodeSpec[],
): FunnelShopTruth {
  const C = cfg.channels;
  const size = Math.exp(context[0]);
  const jit = () => Math.exp(rng.normal(0, cfg.shopJitter));
  const spend: FunnelSpendTruth[] = Array.from({ length: C }, (_, c) => ({
    level: size * t.spendRel[c] * jit(),
    logAr: clamp(t.logAr[c] * jit(), 0, 0.98),
    logSd: cfg.spend.logSd,
    seasonAmp: clamp(t.spendSeasonAmp[c] * jit(), 0, 1),
    seasonPhase: t.spendSeasonPhase[c],
    flightOff: clamp(cfg.spend.flightOff * jit(), 0, 1),
    flightOn: clamp(cfg.spend.flightOn * jit(), 0, 1),
    offLevel: cfg.spend.offLevel,
    darkRate: cfg.spend.darkRate,
    darkMaxLength: cfg.spend.darkMaxLength,
  }));
  const nodeTruth: FunnelNodeTruth[] = nodes.map((n, i) => ({
    name: n.name,
    role: n.role,
    baseline: i < C ? 0 : size * t.baselineRel[i] * jit(),
    trend: t.trend[i],
    seasonAmp: t.seasonAmp[i],
    seasonPhase: t.seasonPhase[i],
    noiseAr: t.noiseAr[i],
    noiseSd: 0,
    inputScale: 1,
  }));
  const ad = cfg.adstock;
  const edges = t.edges.map((e): FunnelEdgeTruth => {
    const p: Omit<AdstockParams, 'weights'> = { kind: ad.kind };
    if (ad.kind === 'weibull') {
      p.shape = e.shape * jit();
      p.scale = e.scale * jit();
    } else {
      p.theta = clamp(e.theta * jit(), 0.01, 0.99);
      if (ad.kind === 'delayed') p.delay = clamp(e.delay * jit(), 1, ad.maxLag);
    }
    let tilt = 0;
    for (let m = 1; m < context.length; m++) tilt += e.contextSlopes[m - 1] * context[m];
    return {
      cause: e.cause,
      effect: e.effect,
      causeName: nodes[e.cause].name,
      effectName: nodes[e.effect].name,
      kind: e.kind,
      adstock: { ...p, weights: adstockWeights(ad.kind, ad.maxLag, p) },
      hill: {
        alpha: clamp(e.alpha0 * jit() * Math.exp(tilt), 0.3, 6),
        gamma: e.gamma0 * jit() * Math.exp(-cfg.hill.sizeEffect * context[0]),
        beta: e.beta0 * jit() * (e.kind === 'halo' ? spend[e.effect].level : size),
      },
    };
  });
  return { shop, shopType, context, size, order: t.order, nodes: nodeTruth, edges, spend };
}

/**
 * Exogenous draws: channel spends as log-AR(1) × weekly seasonality × on/off bursts, dark
 * (zero-spend) periods, and the standard normal innovations of every node's noise.
 */
function drawInputs(spendRng: Rng, noiseRng: Rng, shop: FunnelShopTruth, steps: number): FunnelInputs {
  const C = shop.spend.length;
  const N = shop.nodes.length;
  const exo = new Float64Array(C * steps);
  const mask = new Uint8Array(C * steps);
  for (let c = 0; c < C; c++) {
    const r = spendRng.fork(c);
    const s = shop.spend[c];
    const innovation = Math.sqrt(1 - s.logAr * s.logAr) * s.logSd;
    let z = r.normal(0, s.logSd);
    let on = r.bernoulli(s.flightOn / (s.flightOn + s.flightOff || 1));
    let dark = 0;
    for (let t = 0; t < steps; t++) {
      if (t > 0) {
        z = s.logAr * z + innovation * r.normal();
        on = on ? !r.bernoulli(s.flightOff) : r.bernoulli(s.flightOn);
      }
      if (dark === 0 && r.bernoulli(s.darkRate)) dark = 1 + r.int(s.darkMaxLength);
      const season = Math.max(0, 1 + s.seasonAmp * Math.sin((TWO_PI * t) / 7 + s.seasonPhase));
      exo[c * steps + t] = s.level * Math.exp(z - (s.logSd * s.logSd) / 2) * season * (on ? 1 : s.offLevel);
      mask[c * steps + t] = dark > 0 ? 0 : 1;
      if (dark > 0) dark--;
    }
  }
  const noise = new Float64Array(N * steps);
  for (let i = C; i < N; i++) {
    const r = noiseRng.fork(i);
    for (let t = 0; t < steps; t++) noise[i * steps + t] = r.normal();
  }
  return { steps, exo, mask, noise };
}

/** Incoming edge indices per node and children per node. */
function structure(shop: FunnelShopTruth): { incoming: number[][]; children: number[][] } {
  const N = shop.nodes.length;
  const incoming: number[][] = Array.from({ length: N }, () => []);
  const children: number[][] = Array.from({ length: N }, () => []);
  shop.edges.forEach((e, k) => {
    incoming[e.effect].push(k);
    children[e.cause].push(e.effect);
  });
  return { incoming, children };
}

/**
 * Computes node i's whole series from its parents' series (already in Y). With `calibrate`,
 * it first sets the node's noise sd from the SNR (over steps ≥ burnIn) and afterwards its input
 * scale; propagation runs use those stored values, so they are pure functions of their inputs.
 */
function computeNode(
  i: number,
  Y: Float64Array,
  inputs: FunnelInputs,
  shop: FunnelShopTruth,
  incoming: number[],
  burnIn: number,
  opts: { calibrate?: { snr: number }; responses?: Float64Array[]; changed?: Set<number> } = {},
): void {
  const { calibrate, responses, changed } = opts;
  const T = inputs.steps;
  const C = shop.spend.length;
  const node = shop.nodes[i];
  const row = Y.subarray(i * T, (i + 1) * T);
  const signal = new Float64Array(T);
  if (i < C) signal.set(inputs.exo.subarray(i * T, (i + 1) * T));
  else {
    const kept = Math.max(1, T - burnIn);
    for (let t = 0; t < T; t++) {
      const trend = node.trend * ((t - burnIn) / kept - 0.5);
      signal[t] =
        node.baseline * (1 + trend + node.seasonAmp * Math.sin((TWO_PI * t) / 7 + node.seasonPhase));
    }
  }
  for (const k of incoming) {
    const e = shop.edges[k];
    const cached = responses?.[k];
    if (cached && changed && !changed.has(e.cause)) {
      for (let t = 0; t < T; t++) signal[t] += cached[t];
      continue;
    }
    const response = new Float64Array(T);
    const src = Y.subarray(e.cause * T, (e.cause + 1) * T);
    const w = e.adstock.weights;
    const inv = 1 / shop.nodes[e.cause].inputScale;
    const { alpha, gamma, beta } = e.hill;
    for (let t = 1; t < T; t++) {
      let x = 0;
      const L = Math.min(w.length, t);
      for (let l = 1; l <= L; l++) x += w[l - 1] * src[t - l];
      response[t] = beta * hill(x * inv, alpha, gamma);
      signal[t] += response[t];
    }
    if (responses && !changed) responses[k] = response;
  }
  if (i < C) {
    for (let t = 0; t < T; t++) row[t] = inputs.mask[i * T + t] ? signal[t] : 0;
  } else {
    if (calibrate) {
      let mean = 0;
      for (let t = burnIn; t < T; t++) mean += signal[t];
      mean /= T - burnIn;
      let v = 0;
      for (let t = burnIn; t < T; t++) v += (signal[t] - mean) ** 2;
      v /= T - burnIn;
      // A floor keeps a node with a flat signal noisy rather than exactly deterministic.
      node.noiseSd = Math.max(Math.sqrt(v / calibrate.snr), 1e-3 * node.baseline);
    }
    const rho = node.noiseAr;
    const sd = node.noiseSd;
    const innovation = Math.sqrt(1 - rho * rho) * sd;
    const eps = inputs.noise.subarray(i * T, (i + 1) * T);
    let u = sd * eps[0];
    for (let t = 0; t < T; t++) {
      if (t > 0) u = rho * u + innovation * eps[t];
      row[t] = Math.max(0, signal[t] + u);
    }
  }
  if (calibrate) {
    let mean = 0;
    for (let t = 0; t < T; t++) mean += row[t];
    mean /= T;
    node.inputScale = mean > 0 ? mean : 1;
  }
}

/**
 * Sets each node's noise sd (from the SNR) and input scale on the actual run, in topological
 * order, and returns that run; `propagate` with the calibrated parameters reproduces it exactly.
 */
export function calibrate(
  inputs: FunnelInputs,
  shop: FunnelShopTruth,
  burnIn: number,
  snr: number,
): FunnelRun {
  const values = new Float64Array(shop.nodes.length * inputs.steps);
  const responses: Float64Array[] = new Array(shop.edges.length);
  const { incoming } = structure(shop);
  for (const i of shop.order)
    computeNode(i, values, inputs, shop, incoming[i], burnIn, { calibrate: { snr }, responses });
  return { values, responses };
}

/** One propagation: node series [N, steps] row-major and each edge's response β·Hill(·) [steps]. */
export interface FunnelRun {
  values: Float64Array;
  responses: Float64Array[];
}

/**
 * Deterministic propagation of one shop. With `counterfactual`, that channel's series is set to
 * zero and only its descendants are recomputed from `base` (the actual run), reusing the edge
 * responses of unchanged causes, which gives the counterfactual under identical noise.
 */
export function propagate(
  inputs: FunnelInputs,
  shop: FunnelShopTruth,
  burnIn: number,
  counterfactual?: { zeroChannel: number; base: FunnelRun },
): FunnelRun {
  const N = shop.nodes.length;
  const { incoming, children } = structure(shop);
  if (!counterfactual) {
    const values = new Float64Array(N * inputs.steps);
    const responses: Float64Array[] = new Array(shop.edges.length);
    for (const i of shop.order) computeNode(i, values, inputs, shop, incoming[i], burnIn, { responses });
    return { values, responses };
  }
  const { zeroChannel, base } = counterfactual;
  const values = base.values.slice();
  const responses = base.responses.slice();
  const T = inputs.steps;
  values.fill(0, zeroChannel * T, (zeroChannel + 1) * T);
  const changed = new Set<number>([zeroChannel]);
  const stack = [...children[zeroChannel]];
  while (stack.length) {
    const n = stack.pop()!;
    if (changed.has(n)) continue;
    changed.add(n);
    stack.push(...children[n]);
  }
  for (const i of shop.order) {
    if (i !== zeroChannel && changed.has(i))
      computeNode(i, values, inputs, shop, incoming[i], burnIn, { responses, changed });
  }
  return { values, responses };
}

/** Set of nodes reachable from `from` along graph edges (excluding `from` itself unless on a cycle). */
export function descendants(graph: Uint8Array, N: number, from: number): Set<number> {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length) {
    const j = stack.pop()!;
    for (let i = 0; i < N; i++) {
      if (i !== j && graph[i * N + j] && !seen.has(i)) {
        seen.add(i);
        stack.push(i);
      }
    }
  }
  return seen;
}

export interface FunnelResult {
  nodes: NodeSpec[];
  contextNames: string[];
  /** [S, N, T] */
  values: Float32Array;
  /** [S, N, N], diagonal 1 (every node has its own lagged dynamics: log-AR spends, AR noise). */
  graph: Uint8Array;
  /** [S, k] */
  context: Float32Array;
  /** [S, C, T]: GMV_actual − GMV with that channel zeroed. */
  contributions: Float32Array;
  shops: FunnelShopTruth[];
}

/**
 * Draws and runs shop s: its parameters, exogenous inputs and calibrated actual run. A shop's
 * draws depend only on the root stream and s (not on the shop count); `templates` caches the
 * shared graph templates across shops.
 */
export function simulateFunnelShop(
  cfg: FunnelConfig,
  rng: Rng,
  s: number,
  templates: Map<number, Template> = new Map(),
): { shop: FunnelShopTruth; inputs: FunnelInputs; run: FunnelRun } {
  const r = rng.fork(`shop${s}`);
  const type = cfg.shopTypes > 0 ? s % cfg.shopTypes : null;
  let template: Template;
  if (type === null) template = drawTemplate(r.fork('template'), cfg);
  else {
    template = templates.get(type) ?? drawTemplate(rng.fork(`type${type}`), cfg);
    templates.set(type, template);
  }
  const nodes = funnelNodes(cfg.channels, cfg.kpis);
  const ctx = drawContext(r.fork('context'), cfg);
  const shop = drawShop(s, type, template, r.fork('params'), ctx, cfg, nodes);
  const inputs = drawInputs(r.fork('spend'), r.fork('noise'), shop, cfg.steps + cfg.burnIn);
  const run = calibrate(inputs, shop, cfg.burnIn, cfg.snr);
  return { shop, inputs, run };
}

export function simulateFunnel(cfg: FunnelConfig, rng: Rng): FunnelResult {
  const S = cfg.shops;
  const C = cfg.channels;
  const N = C + cfg.kpis + 1;
  const T = cfg.steps;
  const B = cfg.burnIn;
  const Tt = T + B;
  const gmv = N - 1;
  const k = cfg.context.dim;
  const templates = new Map<number, Template>();
  const values = new Float32Array(S * N * T);
  const graph = new Uint8Array(S * N * N);
  const context = new Float32Array(S * k);
  const contributions = new Float32Array(S * C * T);
  const shops: FunnelShopTruth[] = [];
  for (let s = 0; s < S; s++) {
    const { shop, inputs, run } = simulateFunnelShop(cfg, rng, s, templates);
    const Y = run.values;
    for (let n = 0; n < N; n++) {
      const dst = (s * N + n) * T;
      for (let t = 0; t < T; t++) values[dst + t] = Y[n * Tt + B + t];
      graph[s * N * N + n * N + n] = 1;
    }
    for (const e of shop.edges) graph[s * N * N + e.effect * N + e.cause] = 1;
    for (let m = 0; m < k; m++) context[s * k + m] = shop.context[m];
    for (let c = 0; c < C; c++) {
      const Ycf = propagate(inputs, shop, B, { zeroChannel: c, base: run }).values;
      const dst = (s * C + c) * T;
      for (let t = 0; t < T; t++) contributions[dst + t] = Y[gmv * Tt + B + t] - Ycf[gmv * Tt + B + t];
    }
    shops.push(shop);
  }
  const nodes = funnelNodes(C, cfg.kpis);
  return { nodes, contextNames: funnelContextNames(k), values, graph, context, contributions, shops };
}
