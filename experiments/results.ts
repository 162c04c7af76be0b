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
  info?: Record<string, number | string>;
  /** ROC curve of the graph scores, all scored shops' off-diagonal pairs ranked together (thinned). */
  roc?: { fpr: number[]; tpr: number[] };
  /** The first scored shop's true graph and graph scores (N × N row-major, j → i at i·N + j), for heatmaps. */
  example?: GraphExample;
  /** Training loss per reported epoch, in order (methods that report training). */
  curve?: number[];
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
  /** The forecast protocol (present when the config asked for a forecast). */
  protocol?: ForecastProtocol;
  /** Metrics the tables and figures show (the config's `metrics`). */
  tableMetrics?: string[];
  /** The config's drift tolerances (`causalmmm check`), when it sets any. */
  tolerances?: ToleranceOverrides;
  cells: CellResult[];
}
