import type { HillResponse } from '../src/methods/method.js';
import type { ForecastSplit } from './config.js';
import type { ToleranceOverrides } from './drift.js';
import type { ForecastProtocol } from './protocol.js';
import type { RunOverrides } from './shrink.js';

/** The `results.json` layout of ../shared/docs/interfaces.md; outside scripts read it. */
export interface CellResult {
  dataset: string;
  method: string;
  /** Row name in tables: the method plus its grid values, or the config's label. */
  label: string;
  seed: number;
  /** Every option the method ran with, defaults filled in. */
  options: Record<string, unknown>;
  status: 'ok' | 'failed';
  error?: string;
  /** Means over shops: auroc, auprc, auroc_pooled, auroc_varying, shd, f1, mse@h, mae@h, mape@h, mse, mae. */
  metrics: Record<string, number>;
  /** Per-shop values behind the graph metrics, in the dataset's shop order (for paired tests). */
  perShop?: Record<string, number[]>;
  /** Shops scored (under the `shops` split: the held-out shops only). */
  shops: number;
  /** Nodes per shop (N) of the dataset. */
  nodes?: number;
  /** Forecast split of the cell (absent when the method did not forecast). */
  split?: ForecastSplit;
  seconds: number;
  /**
   * CPU seconds (user + system, every thread) of the process while it ran the cell. Unlike
   * `seconds`, not stretched by other jobs on the cores or by a paused run, so it is what
   * wall-time estimates add up. Absent in cells written before session 14.
   */
  cpuSeconds?: number;
  info?: Record<string, number | string>;
  /** ROC curve of the graph scores, all scored shops' off-diagonal pairs ranked together (thinned). */
  roc?: { fpr: number[]; tpr: number[] };
  /** The first scored shop's true graph and graph scores (N × N row-major, j → i at i·N + j), for heatmaps. */
  example?: GraphExample;
  /** Training loss per reported epoch, in order (methods that report training). */
  curve?: number[];
  /**
   * The learned saturation of the target, from methods that learn one (CausalMMM unless
   * `saturation: none`): the Hill curve ŷ = y·f^α / (f^α + γ^α), f = max(y, 0.1), of a few
   * scored shops, in the method's scaled units (`scale`; under `max`, 1 is a shop's largest
   * target value), with `input` the scaled target's range over the scored shops. Under
   * `kind: hill-context` (α, γ affine in the shop's context) the curves are those of the shops
   * at quantiles 0, ¼, ½, ¾, 1 of ŷ/y at the top of `input`, each with its context vector; under
   * `kind: hill`, one curve for every shop. The `response-<dataset>` figure draws them.
   */
  response?: HillResponse;
}

export interface GraphExample {
  shop: string;
  nodes: string[];
  truth: number[];
  scores: number[];
}

export interface ResultsFile {
  experiment: string;
  createdAt: string;
  codeVersion: string;
  backend: string;
  config: string;
  /** `i/n` when the run was one shard of the grid (`--shard`); absent for a whole grid. */
  shard?: string;
  /**
   * Present when the command line shrank the config (`run --seeds n --max-shops n`): the seeds
   * kept, the shop cap and the datasets it changed. Such a run is a smoke or timing run, not the
   * config's experiment.
   */
  overrides?: RunOverrides;
  /**
   * Cells resumed from other code versions (`run --reuse-other-code`): version → number of
   * cells; absent when every cell was computed by `codeVersion`.
   */
  otherCode?: Record<string, number>;
  /**
   * Grid cells (of this shard) not finished when the results were written with
   * `run --finished-only`, which reports a run still going without running anything: the
   * tables, figures and tests cover the finished cells only. Absent for a complete run.
   */
  unfinished?: number;
  /** The forecast protocol (present when the config asked for a forecast). */
  protocol?: ForecastProtocol;
  /** Structure experiments: graphs were scored on a seeded sample of at most this many shops per dataset and seed. */
  graphShops?: number;
  /** Metrics the tables and figures show (the config's `metrics`). */
  tableMetrics?: string[];
  /** The config's drift tolerances (`causalmmm check`), when it sets any. */
  tolerances?: ToleranceOverrides;
  cells: CellResult[];
}

/**
 * What a run states about itself beyond its cells: `results.json` carries it, and so does every
 * cell record, so that a merge of shards states what the whole run would.
 */
export type RunStatement = Pick<ResultsFile, 'overrides' | 'protocol' | 'graphShops'>;

/** The fields of `source` that a run states, those unset left out (as `results.json` omits them). */
export function runStatement(source: RunStatement): RunStatement {
  return {
    ...(source.overrides ? { overrides: source.overrides } : {}),
    ...(source.protocol ? { protocol: source.protocol } : {}),
    ...(source.graphShops !== undefined ? { graphShops: source.graphShops } : {}),
  };
}
