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
  /** Means over shops: auroc, auprc, auroc_pooled, shd, f1, mse@h, mae@h, mape@h, mse, mae. */
  metrics: Record<string, number>;
  /** Per-shop values behind the graph metrics, in the dataset's shop order (for paired tests). */
  perShop?: Record<string, number[]>;
  shops: number;
  seconds: number;
  info?: Record<string, number | string>;
}

export interface ResultsFile {
  experiment: string;
  createdAt: string;
  codeVersion: string;
  backend: string;
  config: string;
  /** `i/n` when the run was one shard of the grid (`--shard`); absent for a whole grid. */
  shard?: string;
  cells: CellResult[];
}
