/**
 * `causalmmm fit` and `causalmmm whatif`: fit CausalMMM on a user's panel (or load a saved
 * model) and write, per shop, the learned graph, forecasts under planned spends,
 * contributions with ROI and response curves, plus an `index.html`; then answer budget
 * what-ifs from the saved model folder.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { codeVersion } from '../../experiments/runner.js';
import { initBackend } from '../backend.js';
import { checkSameSchema, type ModelMeta } from '../causalmmm/persist.js';
import { parseCsv, readPanelCsv, readPanelSchema } from '../data/csv.js';
import { readNpyDir } from '../data/npy-dir.js';
import type { Panel } from '../data/panel.js';
import { UserError } from '../errors.js';
import { readTextOrFail, writeDirAtomic } from '../io.js';
import { svgToPng } from '../svg.js';
import { parseOrThrow } from '../validation.js';
import {
  type AnalysisSettings,
  contributions,
  defaultPlan,
  type Fitted,
  forecast,
  type Plan,
  responseCurves,
  type ShopContributions,
  type WhatIfResult,
  whatIf,
} from './analyse.js';
import { type FitMethod, fitMethod, loadFitModel } from './methods.js';
import {
  contributionsFile,
  curvesSvg,
  type ForecastFile,
  forecastCsv,
  graphDot,
  graphFile,
  heatmapSvg,
  indexHtml,
  type ShopSummary,
  shopFolder,
} from './report.js';
import type { ScenarioModel } from './scenario.js';
import { compareWithTruth, type TruthComparison } from './truth.js';

export const fitConfigSchema = z.strictObject({
  seed: z.int().min(0).default(0),
  /** Steps forecast after the data end, under the planned spends. */
  horizon: z.int().min(1).default(14),
  /** Observed steps the decoder reads before a forecast, what-if or curve. */
  warmup: z.int().min(1).default(28),
  /**
   * Last steps of history for contributions and ROI (0 = the whole history). The rollout runs
   * from the window's first step on the model's own KPIs and GMV, so its cost and its drift grow
   * with the window; a quarter of days is the default.
   */
  contributionWindow: z
    .int()
    .min(0)
    .refine((v) => v === 0 || v >= 2, 'use 0 (the whole history) or at least 2 steps')
    .default(90),
  /** Response curves: the channel's planned spend × 0 … max, at `points` evenly spaced multipliers. */
  curve: z
    .strictObject({ max: z.number().gt(0).default(2), points: z.int().min(2).max(101).default(9) })
    .prefault({}),
  /**
   * Edge probability (score) from which an edge is drawn (DOT, edge lists) and followed (what-if
   * paths); unset, the method's own: 0.5 for CausalMMM and NRI, 0.95 for `granger-var`.
   */
  edgeThreshold: z.number().gt(0).lt(1).optional(),
  /** Options of the method (validated against its own schema). */
  options: z.record(z.string(), z.unknown()).default({}),
});
export type FitConfig = z.output<typeof fitConfigSchema>;

export function readFitConfig(file: string | undefined): FitConfig {
  if (!file) return fitConfigSchema.parse({});
  const text = readTextOrFail(file);
  let raw: unknown;
  try {
    raw = YAML.parse(text, { prettyErrors: false, logLevel: 'error' }) ?? {};
  } catch (err) {
    throw new UserError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseOrThrow(fitConfigSchema, raw, file);
}

/** The analyses' settings from a fit config, for a model of `method` (`fit`) reading `readSteps` steps. */
function settingsOf(
  config: FitConfig,
  method: string,
  fit: FitMethod,
  readSteps: number,
  source: string,
): AnalysisSettings {
  const { points, max } = config.curve;
  if (config.warmup < readSteps) {
    throw new UserError(
      `${source}: warmup ${config.warmup} is shorter than the ${readSteps} steps ${method} reads`,
    );
  }
  if (config.contributionWindow > 0 && config.contributionWindow <= readSteps) {
    throw new UserError(
      `${source}: contributionWindow ${config.contributionWindow} leaves no step after the ${readSteps} ${method} reads`,
    );
  }
  return {
    horizon: config.horizon,
    warmup: config.warmup,
    contributionWindow: config.contributionWindow,
    curveFactors: Array.from({ length: points }, (_, i) => (max * i) / (points - 1)),
    edgeThreshold: config.edgeThreshold ?? fit.edgeThreshold,
  };
}

/** A panel from a CSV (with its schema) or an NPY directory. */
function readData(
  data: string,
  schema: string | undefined,
): { panel: Panel; panelSchema?: Record<string, unknown> } {
  if (!existsSync(data)) throw new UserError(`--data ${data}: no such file or directory`);
  if (statSync(data).isDirectory()) return { panel: readNpyDir(data) };
  if (!schema)
    throw new UserError(`--data ${data}: a panel CSV needs --schema <schema.json> (its column roles)`);
  return {
    panel: readPanelCsv(data, schema),
    panelSchema: readPanelSchema(schema) as Record<string, unknown>,
  };
}

/**
 * Planned spends from a CSV: the schema's shop column and one column per channel, one row per
 * future step in time order; every shop listed must have `horizon` rows. Shops not listed keep
 * the default plan.
 */
export function readPlanCsv(
  file: string,
  panel: Panel,
  shopColumn: string,
  horizon: number,
): Map<number, Plan> {
  const text = readTextOrFail(file);
  const [header, ...rows] = parseCsv(text, file);
  if (!header) throw new UserError(`${file}: file is empty (no header row)`);
  const columns = header.fields.map((f) => f.trim());
  const shopAt = columns.indexOf(shopColumn);
  if (shopAt < 0) throw new UserError(`${file}: no shop column "${shopColumn}" in the header`);
  const channels = panel.channelIndices;
  const channelAt = channels.map((n) => {
    const at = columns.indexOf(panel.nodes[n].name);
    if (at < 0) throw new UserError(`${file}: no column for channel "${panel.nodes[n].name}" in the header`);
    return at;
  });
  const shopIndex = new Map(panel.shopIds.map((id, s) => [id, s]));
  const filled = new Map<number, { plan: Plan; rows: number }>();
  for (const row of rows) {
    const id = row.fields[shopAt]?.trim() ?? '';
    const s = shopIndex.get(id);
    if (s === undefined)
      throw new UserError(`${file}: line ${row.line}, column "${shopColumn}": unknown shop "${id}"`);
    const entry = filled.get(s) ?? { plan: new Float32Array(channels.length * horizon), rows: 0 };
    filled.set(s, entry);
    if (entry.rows >= horizon) {
      throw new UserError(
        `${file}: line ${row.line}: shop "${id}" has more than ${horizon} rows (the horizon)`,
      );
    }
    channelAt.forEach((at, c) => {
      const cell = row.fields[at]?.trim() ?? '';
      const value = Number(cell);
      if (cell === '' || !Number.isFinite(value) || value < 0) {
        throw new UserError(
          `${file}: line ${row.line}, column "${columns[at]}": expected a spend ≥ 0, got "${cell}"`,
        );
      }
      entry.plan[c * horizon + entry.rows] = value;
    });
    entry.rows++;
  }
  const plans = new Map<number, Plan>();
  for (const [s, { plan, rows: count }] of filled) {
    if (count !== horizon) {
      throw new UserError(`${file}: shop "${panel.shopIds[s]}" has ${count} rows; the horizon is ${horizon}`);
    }
    plans.set(s, plan);
  }
  return plans;
}

export interface FitArgs {
  data: string;
  schema?: string;
  method: string;
  config?: string;
  out: string;
  model?: string;
  plan?: string;
  horizon?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** The summary of a fit, as written to `summary.json`. */
export interface FitSummary {
  data: string;
  method: string;
  codeVersion: string;
  seed: number;
  horizon: number;
  shops: ShopSummary[];
  training?: Record<string, unknown>;
  /** Present when the data carry true contributions and graphs (simulated panels). */
  truth?: TruthComparison;
  /** Things an analyst must know before reading the numbers (e.g. a model blind to spend). */
  warnings: string[];
}

export async function runFit(args: FitArgs): Promise<FitSummary> {
  const log = args.log ?? (() => {});
  const config = readFitConfig(args.config);
  if (args.horizon !== undefined) {
    if (!Number.isInteger(args.horizon) || args.horizon < 1)
      throw new UserError(`--horizon: expected a whole number ≥ 1, got ${args.horizon}`);
    config.horizon = args.horizon;
  }
  if (args.seed !== undefined) {
    if (!Number.isInteger(args.seed) || args.seed < 0)
      throw new UserError(`--seed: expected a whole number ≥ 0, got ${args.seed}`);
    config.seed = args.seed;
  }
  const readStarted = performance.now();
  const { panel, panelSchema } = readData(args.data, args.schema);
  const filePlans = args.plan
    ? readPlanCsv(args.plan, panel, (panelSchema?.shop as string | undefined) ?? 'shop', config.horizon)
    : new Map<number, Plan>();
  // Logged once every input has been checked, so that a user error stays the only line printed.
  const logRead = () => log(`read ${args.data}: ${((performance.now() - readStarted) / 1000).toFixed(1)} s`);
  const version = codeVersion();
  const configSource = args.config ?? 'fit config';
  let model: ScenarioModel;
  let training: Record<string, unknown> | undefined;
  let settings: AnalysisSettings;
  let fit: FitMethod;
  await initBackend('auto');
  if (args.model) {
    const modelDir = modelFolder(args.model);
    const loaded = loadFitModel(modelDir);
    ({ model, fit } = loaded);
    const { meta } = loaded.folder;
    try {
      checkSameSchema(meta, modelDir, panel, args.data);
      if (panel.steps < model.minSteps) {
        throw new UserError(
          `${args.data}: ${panel.steps} steps per shop; the model in ${modelDir} reads ${model.minSteps}`,
        );
      }
      settings = settingsOf(config, meta.method, fit, model.readSteps, configSource);
    } catch (err) {
      model.dispose();
      throw err;
    }
    training = { ...meta.training, loadedFrom: path.resolve(modelDir) };
    logRead();
    log(`loaded ${modelDir} (${meta.method}, trained on ${meta.shops.length} shops)`);
  } else {
    fit = fitMethod(args.method, '--method');
    const options = parseOrThrow(fit.options, config.options, `${configSource}: options`);
    settings = settingsOf(config, args.method, fit, fit.readSteps(options), configSource);
    logRead();
    log(`training ${args.method} on ${panel.shops} shops × ${panel.nodeCount} nodes × ${panel.steps} steps`);
    const started = performance.now();
    const trained = fit.train(panel, options, config.seed, log);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    model = trained.model;
    training = { ...trained.training, seconds };
    log(`training: ${seconds.toFixed(1)} s`);
  }
  const method = model.method;
  const { caveat } = fit;
  try {
    training = {
      ...training,
      fit: { horizon: config.horizon, warmup: config.warmup, edgeThreshold: settings.edgeThreshold },
    };
    const timed = <R>(what: string, run: () => R): R => {
      const started = performance.now();
      const result = run();
      log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return result;
    };
    const graphs = timed('graphs', () => model.graphs(config.seed));
    const fitted: Fitted = { model, panel, graphs };
    const plans = panel.shopIds.map((_, s) => filePlans.get(s) ?? defaultPlan(panel, s, config.horizon));
    const forecasts = timed('forecasts', () => forecast(fitted, plans, settings));
    const contribs = timed('contributions', () => contributions(fitted, settings));
    const curves = timed('response curves', () => responseCurves(fitted, plans, settings));
    const channelNames = panel.channelIndices.map((n) => panel.nodes[n].name);
    const H = config.horizon;
    const warnings = spendWarnings(contribs, channelNames);
    if (caveat) log(`caveat: ${caveat}`);
    for (const w of warnings) log(`warning: ${w}`);
    const truth =
      panel.contributions && panel.graph
        ? compareWithTruth(panel, contribs, fitted.graphs.probabilities, settings.edgeThreshold)
        : undefined;
    const summary: FitSummary = {
      data: args.data,
      method,
      codeVersion: version,
      seed: config.seed,
      horizon: H,
      shops: [],
      training,
      ...(truth ? { truth } : {}),
      warnings,
    };
    const writeStarted = performance.now();
    writeDirAtomic(args.out, (dir) => {
      model.save(path.join(dir, 'model'), {
        seed: config.seed,
        codeVersion: version,
        ...(panelSchema ? { panelSchema } : {}),
        training,
      });
      const used = new Set<string>();
      panel.shopIds.forEach((id, s) => {
        let folder = shopFolder(id);
        while (used.has(folder.toLowerCase())) folder = `${folder}_`;
        used.add(folder.toLowerCase());
        const shopDir = path.join(dir, 'shops', folder);
        mkdirSync(shopDir, { recursive: true });
        const put = (file: string, contents: string | Uint8Array) =>
          writeFileSync(path.join(shopDir, file), contents);
        const graph = graphFile(id, panel.nodes, fitted.graphs.probabilities[s], settings.edgeThreshold);
        put('graph.json', `${JSON.stringify(graph)}\n`);
        put('graph.dot', graphDot(graph));
        const heatmap = heatmapSvg(graph);
        put('heatmap.svg', heatmap);
        put('heatmap.png', svgToPng(heatmap));
        const values: Record<string, number[]> = {};
        panel.nodes.forEach((node, n) => {
          values[node.name] = Array.from(forecasts[s].subarray(n * H, (n + 1) * H), (v) =>
            Number(v.toPrecision(7)),
          );
        });
        const fc: ForecastFile = {
          shop: id,
          horizon: H,
          plan: filePlans.has(s) ? 'file' : 'default',
          values,
        };
        put('forecast.json', `${JSON.stringify(fc)}\n`);
        put('forecast.csv', forecastCsv(fc));
        const contrib = contributionsFile(id, channelNames, contribs[s]);
        put('contributions.json', `${JSON.stringify(contrib)}\n`);
        put('curves.json', `${JSON.stringify({ shop: id, horizon: H, curves: curves[s] })}\n`);
        put('curves.svg', curvesSvg(id, curves[s]));
        summary.shops.push({
          shop: id,
          folder,
          edges: graph.edges.length,
          forecastGmv: values[panel.nodes[panel.targetIndex].name].reduce((a, b) => a + b, 0),
          contributions: contrib.channels.map(({ perStep: _, ...rest }) => rest),
          rolloutMape: contrib.rolloutMape,
        });
      });
      writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify(summary, null, 1)}\n`);
      if (truth) writeFileSync(path.join(dir, 'truth.json'), `${JSON.stringify(truth, null, 1)}\n`);
      const window = contribs[0] ? `history steps ${contribs[0].from}–${contribs[0].to - 1}` : 'the history';
      writeFileSync(
        path.join(dir, 'index.html'),
        indexHtml({
          title: `causalmmm fit: ${path.basename(args.data)}`,
          data: args.data,
          horizon: H,
          window,
          threshold: settings.edgeThreshold,
          shops: summary.shops,
          notes: [
            `Method ${method}, code ${version}, seed ${config.seed}. Planned spends: ${args.plan ? `${args.plan} (shops it does not list: the mean of their last ${H} steps)` : `every channel at the mean of its last ${H} steps`}.`,
            ...(caveat ? [`Caveat: ${caveat}`] : []),
            ...warnings.map((w) => `Warning: ${w}`),
            ...(truth ? [truthNote(truth)] : []),
            'Contribution of a channel: GMV of the model rollout with every channel as observed minus the rollout with that channel at zero (indirect paths included); ROI = contribution / spend. Response curves: GMV over the horizon with one channel’s planned spend scaled. Rollout MAPE: how far the contribution rollout’s GMV is from the observed GMV.',
          ],
        }),
      );
    });
    log(`writing ${panel.shops} shops' files: ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`);
    return summary;
  } finally {
    model.dispose();
  }
}

/** Below this share of GMV in every shop, the channels' estimated effects are noise. */
const NEGLIGIBLE_SHARE = 1e-3;

/**
 * Warns when the fitted model attributes next to nothing to any channel in any shop: its
 * decoder then predicts GMV from GMV's own history, and contributions, ROI, response curves and
 * what-ifs say nothing about marketing effects.
 */
export function spendWarnings(
  contribs: readonly ShopContributions[],
  channelNames: readonly string[],
): string[] {
  let largest = 0;
  for (const shop of contribs) {
    const gmv = shop.fitted.reduce((a, v) => a + v, 0);
    if (gmv === 0) continue;
    for (const c of shop.contributions)
      largest = Math.max(largest, Math.abs(c.reduce((a, v) => a + v, 0) / gmv));
  }
  if (largest >= NEGLIGIBLE_SHARE) return [];
  return [
    `no channel (${channelNames.join(', ')}) accounts for more than ${(100 * largest).toPrecision(2)}% of GMV in any shop's rollout: the fitted model predicts GMV almost entirely from its own history, so the contributions, ROI, response curves and what-ifs carry no information about marketing effects`,
  ];
}

/** One line on the fit against the simulator's truth, for index.html. */
function truthNote(t: TruthComparison): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const channels = t.channels
    .map((c) => `${c.channel} ${pct(c.estimatedShare)} vs ${pct(c.trueShare)}`)
    .join('; ');
  return `Against the simulator's truth (truth.json): graph AUROC ${t.graph.auroc.toFixed(3)}, AUPRC ${t.graph.auprc.toFixed(3)}, F1 ${t.graph.f1.toFixed(3)} at P ≥ ${t.graph.threshold}; contribution share of GMV, estimated vs true (mean over shops): ${channels}; mean absolute error ${pct(t.meanAbsError)} of GMV (estimating zero everywhere: ${pct(t.zeroEstimateError)}).`;
}

/** `search=+20%` → ['search', 0.2]. */
export function parseSpendChange(text: string): [string, number] {
  const match = /^([^=]+)=([+-]?\d+(?:\.\d+)?)%$/.exec(text.trim());
  if (!match) throw new UserError(`--spend ${text}: expected <channel>=<±percent>%, e.g. search=+20%`);
  const change = Number(match[2]) / 100;
  if (change < -1) throw new UserError(`--spend ${text}: a spend cannot fall by more than 100%`);
  return [match[1].trim(), change];
}

/** A `fit` output folder or its `model/` subfolder. */
function modelFolder(dir: string): string {
  if (existsSync(path.join(dir, 'model.json'))) return dir;
  if (existsSync(path.join(dir, 'model', 'model.json'))) return path.join(dir, 'model');
  throw new UserError(
    `--model ${dir}: no model.json here or in ${path.join(dir, 'model')} (write one with causalmmm fit)`,
  );
}

export interface WhatIfArgs {
  model: string;
  shop: string;
  spend: string[];
  plan?: string;
  horizon?: number;
}

export async function runWhatIf(args: WhatIfArgs): Promise<WhatIfResult> {
  const changes = args.spend.map(parseSpendChange);
  if (changes.length === 0)
    throw new UserError('--spend: name at least one change, e.g. --spend search=+20%');
  const dir = modelFolder(args.model);
  await initBackend('auto');
  const { model, folder, fit } = loadFitModel(dir);
  try {
    const { meta, panel } = folder;
    const s = panel.shopIds.indexOf(args.shop);
    if (s < 0) {
      const some = panel.shopIds.slice(0, 5).join(', ');
      throw new UserError(
        `--shop ${args.shop}: not a shop of ${dir} (it has ${panel.shops}: ${some}${panel.shops > 5 ? ', …' : ''})`,
      );
    }
    const channelPosition = new Map(panel.channelIndices.map((n, c) => [panel.nodes[n].name, c]));
    const changeMap = new Map<number, number>();
    for (const [name, change] of changes) {
      const c = channelPosition.get(name);
      if (c === undefined) {
        throw new UserError(
          `--spend ${name}: not a channel of the model (channels: ${[...channelPosition.keys()].join(', ')})`,
        );
      }
      if (changeMap.has(c)) throw new UserError(`--spend ${name}: changed twice`);
      changeMap.set(c, change);
    }
    const fitInfo = fitSettingsOf(meta);
    const horizon = args.horizon ?? fitInfo.horizon;
    if (!Number.isInteger(horizon) || horizon < 1)
      throw new UserError(`--horizon: expected a whole number ≥ 1, got ${horizon}`);
    const settings = settingsOf(
      fitConfigSchema.parse({ horizon, warmup: fitInfo.warmup, edgeThreshold: fitInfo.edgeThreshold }),
      meta.method,
      fit,
      model.readSteps,
      path.join(dir, 'model.json'),
    );
    const shopColumn = (meta.panelSchema?.shop as string | undefined) ?? 'shop';
    const plan =
      (args.plan ? readPlanCsv(args.plan, panel, shopColumn, horizon).get(s) : undefined) ??
      defaultPlan(panel, s, horizon);
    const fitted: Fitted = { model, panel, graphs: model.graphs(meta.seed) };
    return whatIf(fitted, s, plan, changeMap, settings);
  } finally {
    model.dispose();
  }
}

function fitSettingsOf(meta: ModelMeta): { horizon: number; warmup: number; edgeThreshold?: number } {
  const fit = (meta.training?.fit ?? {}) as Partial<Record<'horizon' | 'warmup' | 'edgeThreshold', number>>;
  const defaults = fitConfigSchema.parse({});
  return {
    horizon: fit.horizon ?? defaults.horizon,
    warmup: fit.warmup ?? defaults.warmup,
    edgeThreshold: fit.edgeThreshold ?? defaults.edgeThreshold,
  };
}

const number = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(4));
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${number(Math.abs(v))}`;

/** The what-if as lines of text for the terminal. */
export function whatIfText(r: WhatIfResult): string {
  const base = r.baseGmv.reduce((a, b) => a + b, 0);
  const lines = [
    `shop ${r.shop}, next ${r.horizon} steps`,
    `spend: ${Object.entries(r.changes)
      .map(([c, f]) => `${c} ${f >= 0 ? '+' : '−'}${Math.abs(100 * f).toFixed(1)}%`)
      .join(', ')} (${signed(r.deltaSpend)} in all)`,
    `GMV: ${number(base)} → ${number(base + r.deltaGmv)} (${signed(r.deltaGmv)}, ${base !== 0 ? `${signed((100 * r.deltaGmv) / base)}%` : 'n/a'})`,
  ];
  for (const flow of r.flows) {
    lines.push(`paths from ${flow.channel} to GMV in the learned graph:`);
    if (flow.paths.length === 0) lines.push('  none above the edge threshold');
    for (const p of flow.paths) {
      lines.push(
        `  ${p.nodes.join(' → ')}  (P ${p.probabilities.map((q) => q.toFixed(2)).join(' × ')} = ${p.strength.toFixed(2)})`,
      );
    }
    if (flow.firstHops.length) lines.push(`  GMV change lost when an edge out of ${flow.channel} is cut:`);
    for (const hop of flow.firstHops) {
      lines.push(`    ${hop.edge.join(' → ')} (P ${hop.probability.toFixed(2)}): ${signed(hop.deltaGmv)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
