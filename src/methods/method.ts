import type { z } from 'zod';
import type { Panel } from '../data/panel.js';

/** What a method yields; the runner computes the metrics that fit what it yields. */
export type MethodOutputKind = 'graph' | 'forecast';

export interface MethodInput {
  /**
   * The data the method may look at. When a forecast is asked for, this is the history
   * window only: the runner has cut the last `horizon` steps off, so they cannot leak in.
   */
  panel: Panel;
  /** Steps to forecast after the end of `panel` (0 when no forecast is asked for). */
  horizon: number;
  /** Seed of every random draw the method makes. */
  seed: number;
  /**
   * Channel (spend) values over the horizon, [S, C, horizon] C order, channels in
   * `panel.channelIndices` order; present only when the protocol says future spend is known.
   */
  futureChannels?: Float32Array;
  /**
   * Extra shops the method may train on (full series), present only under a held-out-shops
   * split; `panel` then holds the evaluation shops' history.
   */
  trainPanel?: Panel;
  /**
   * Indices into `panel` of the shops whose graphs are scored, ascending; present only when a
   * structure experiment (horizon 0) scores a sample of the shops (`graphShops`). The method may
   * still learn from every shop of `panel`, but returns `graphScores` (and `graphs`) for these
   * shops only, in this order. Absent: every shop is scored.
   */
  scoredShops?: readonly number[];
  /**
   * Called by methods that train iteratively, once per epoch (or evaluation step), with the
   * training loss. The runner shows it in its progress display and fails the cell on a NaN or
   * infinite loss (the callback throws a NumericalError, which the method lets propagate).
   */
  onProgress?: (event: TrainingProgress) => void;
}

/** One training step's report: `epoch` counts from 1; `epochs` is the planned total, if known. */
export interface TrainingProgress {
  epoch: number;
  epochs?: number;
  loss: number;
}

export interface MethodOutput {
  /**
   * Graph scores per scored shop (every shop of `panel`, or `scoredShops`), each N × N
   * row-major: `scores[s][i * N + j]` is the evidence for j → i (higher = more likely an edge).
   * The diagonal is ignored by default metrics.
   */
  graphScores?: Float64Array[];
  /** Binary graphs per shop (same layout), when the method has its own decision rule. */
  graphs?: Uint8Array[];
  /** Forecasts, [S, N, horizon] in C order, for the steps right after `panel` ends. */
  forecasts?: Float32Array;
  /** Free-form numbers worth keeping with the result (e.g. epochs run). */
  info?: Record<string, number | string>;
  /** The learned saturation curve(s) of the target, for methods that learn one (CausalMMM's Hill curve). */
  response?: HillResponse;
}

/**
 * A learned Hill saturation of the target, ŷ = y·f^α / (f^α + γ^α) with f = max(y, 0.1), in the
 * method's scaled units: a few shops' (α, γ), enough to draw their curves.
 */
export interface HillResponse {
  /** `hill-context`: α and γ depend on the shop's context; `hill`: one curve for every shop. */
  kind: 'hill-context' | 'hill';
  /** How y was scaled per shop and node (`max`: 1 is the shop's largest value; `none`: original units). */
  scale: string;
  /** Range of the scaled target over the scored shops (from 0 when it is all positive): the x range to draw. */
  input: [number, number];
  /** Shops the curves were chosen from. */
  shops: number;
  /**
   * Under `hill-context`, the shops at quantiles 0, ¼, ½, ¾, 1 of the saturated share ŷ/y at
   * the top of `input` (`quantile`; a shop picked twice is listed once), with their context
   * vector; under `hill`, one curve labelled `every shop`.
   */
  curves: { shop: string; quantile?: number; alpha: number; gamma: number; context?: number[] }[];
}

/**
 * A method of the harness, in the manner of benchopt's solvers: a small object behind one
 * fixed interface, so the runner never special-cases a method. Adding a method is one file
 * exporting a `Method` plus one line in the registry.
 */
export interface Method<Options extends z.ZodObject = z.ZodObject> {
  /** Registry key, used in configs and results (e.g. `granger-var`). */
  name: string;
  /** Human title for tables and the README. */
  title: string;
  /** Reference of the method's paper. */
  paper: string;
  /** How this implementation is scaled down from the paper, if it is. */
  scaleDown?: string;
  produces: readonly MethodOutputKind[];
  /** Options with types and defaults; validating a config's `options` against it names bad fields. */
  options: Options;
  /** Options that make the method fast enough for unit tests. */
  testConfig: z.input<Options>;
  /**
   * For each option whose default has changed, the default it had before. A finished cell's key
   * hashes the options that differ from these (and, for every other option, from its current
   * default), so a cell computed under an old default keeps its key and meaning, and a cell
   * under the new default gets a new key instead of reusing it. `test/method-key-defaults.test.ts`
   * fails on a changed default that is not recorded here.
   */
  keyDefaults?: Partial<z.output<Options>>;
  run(input: MethodInput, options: z.output<Options>): Promise<MethodOutput>;
}

/** Identity helper that keeps the options type of a method literal. */
export function defineMethod<Options extends z.ZodObject>(method: Method<Options>): Method<Options> {
  return method;
}

/**
 * The option values a cell's key is relative to: the current defaults, with
 * {@link Method.keyDefaults} in place of the ones that changed; undefined when the method has
 * required options (its keys then hash every option).
 */
export function keyBaseOptions(method: Method): Record<string, unknown> | undefined {
  const defaults = method.options.safeParse({});
  if (!defaults.success) return undefined;
  return { ...(defaults.data as Record<string, unknown>), ...method.keyDefaults };
}

/** What a cell's key hashes of `options`: the entries that differ from {@link keyBaseOptions}. */
export function keyOptions(method: Method, options: Record<string, unknown>): Record<string, unknown> {
  const base = keyBaseOptions(method);
  if (!base) return options;
  return Object.fromEntries(
    Object.entries(options).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(base[k])),
  );
}
