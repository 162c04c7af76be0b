import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { BACKEND_CHOICES } from '../src/backend.js';
import { simulationSpecSchema } from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';
import type { Method } from '../src/methods/method.js';
import { METHODS } from '../src/methods/registry.js';
import { parseOrThrow } from '../src/validation.js';
import { tolerancesSchema } from './drift.js';
import type { RunOverrides } from './shrink.js';

/** Paths in a config are relative to the config file's folder. */
const filePath = z.string().min(1);
const datasetName = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"')
  .optional();
/** Keep only the first n shops (in file order), to make a large dataset quick. */
const shopLimit = z.int().positive().optional();

export const datasetSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('simulate'),
    name: datasetName,
    /** Simulator preset and its overrides. */
    simulate: z.preprocess((raw, ctx) => {
      if (raw !== null && typeof raw === 'object' && 'seed' in raw) {
        ctx.addIssue({
          code: 'custom',
          message: 'pin the data seed with the dataset field "seed"',
          path: ['seed'],
        });
      }
      return raw;
    }, simulationSpecSchema),
    /** Pins the data seed; by default the data are drawn anew for every experiment seed. */
    seed: z.int().nonnegative().optional(),
  }),
  z.strictObject({ kind: z.literal('npy'), name: datasetName, path: filePath, shops: shopLimit }),
  z.strictObject({
    kind: z.literal('csv'),
    name: datasetName,
    path: filePath,
    schema: filePath,
    graph: filePath.optional(),
    shops: shopLimit,
  }),
  z.strictObject({
    kind: z.literal('causalmmm-release'),
    name: datasetName,
    path: filePath,
    shops: shopLimit,
  }),
]);
export type DatasetSpec = z.output<typeof datasetSpecSchema>;

/** One method entry: the method's own options schema validates `options` and each `grid` list. */
function methodEntrySchema(method: Method) {
  const gridShape = Object.fromEntries(
    Object.entries(method.options.shape).map(([key, schema]) => [key, z.array(schema as z.ZodType).min(1)]),
  );
  return z.strictObject({
    method: z.literal(method.name),
    /** Row name in tables; defaults to the method name plus the grid values. */
    label: z.string().min(1).optional(),
    options: method.options.partial().strict().default({}),
    /** Cartesian product over these option values (ablations, sensitivity). */
    grid: z.strictObject(gridShape).partial().default({}),
  });
}

const methodNames = METHODS.map((m) => m.name) as [string, ...string[]];
export const methodSpecSchema = z.discriminatedUnion(
  'method',
  METHODS.map(methodEntrySchema) as unknown as [ReturnType<typeof methodEntrySchema>],
);
export type MethodSpec = z.output<typeof methodSpecSchema>;

export const FUTURE_SPEND_CHOICES = ['known', 'unknown'] as const;
export const SHOP_CONTEXT_CHOICES = ['known', 'unknown'] as const;
export const SPLIT_CHOICES = ['time', 'shops'] as const;
export type ForecastSplit = (typeof SPLIT_CHOICES)[number];

export const METRIC_NAMES = [
  'auroc',
  'auprc',
  'auroc_pooled',
  'auroc_varying',
  'shd',
  'f1',
  'mse',
  'mae',
  'mse@h',
  'mae@h',
  'mape@h',
];

/**
 * The fields of a config that make up its forecast protocol, without their defaults: cell records
 * carry them (so a merge of shards can state the protocol) and are validated against this.
 */
export const forecastProtocolSchema = z.strictObject({
  horizon: z.int().nonnegative(),
  horizons: z.array(z.int().positive()),
  futureSpend: z.enum(FUTURE_SPEND_CHOICES),
  shopContext: z.enum(SHOP_CONTEXT_CHOICES),
  splits: z.array(z.enum(SPLIT_CHOICES)).min(1),
  heldOutShops: z.number().gt(0).lt(1),
});
const protocolField = forecastProtocolSchema.shape;

/** A seed count beyond this is a typo, not a study (and would build a huge grid). */
const MAX_SEEDS = 10_000;

export const experimentConfigSchema = z.strictObject({
  experiment: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-"')
    .describe('Name; results go to results/<experiment>/'),
  description: z.string().optional(),
  /** A list of seeds, or a count n meaning seeds 0 … n−1. */
  seeds: z
    .union([z.array(z.int().nonnegative()).min(1), z.int().positive().max(MAX_SEEDS)])
    .default([0])
    .transform((s) => (typeof s === 'number' ? Array.from({ length: s }, (_, i) => i) : s)),
  backend: z.enum(BACKEND_CHOICES as [string, ...string[]]).default('auto'),
  /** Forecast horizon M: methods that forecast see all but the last M steps and predict them. */
  horizon: protocolField.horizon.default(0),
  /** Horizons (1-based steps) reported as mse@h / mae@h / mape@h. */
  horizons: protocolField.horizons.default([1, 3, 7]),
  /**
   * Whether the channel spends of the horizon are known at forecast time (planned budgets, the
   * usual MMM case): `known` passes them to forecasters as `futureChannels`.
   */
  futureSpend: protocolField.futureSpend.default('unknown'),
  /** Whether forecasters may read each shop's static context (`unknown` strips it from their inputs). */
  shopContext: protocolField.shopContext.default('known'),
  /**
   * Forecast splits, each reported separately: `time` holds out the last `horizon` steps of every
   * shop; `shops` also holds out whole shops (a seeded `heldOutShops` fraction), which are scored
   * while the other shops' full series are offered for training.
   */
  splits: protocolField.splits.default(['time']),
  /** Fraction of the shops evaluated (held out) under the `shops` split. */
  heldOutShops: protocolField.heldOutShops.default(0.2),
  /**
   * Structure experiments (horizon 0) only: score the graphs of at most this many shops per
   * dataset and seed, a seeded sample that every method of the cell shares (all shops when
   * unset or when a dataset has no more). Every method still sees every shop; one that fits
   * each shop separately fits only the sampled ones, which leaves their scores as they would
   * be, so the sample cuts the cost of the per-shop methods and nothing else.
   */
  graphShops: z.int().positive().optional(),
  /** Metrics shown in tables (results.json keeps every metric computed). */
  metrics: z.array(z.string()).default(['auroc', 'auprc']),
  /**
   * Drift tolerances of `causalmmm check`, per metric (`auroc`) or horizon family (`mse@h`):
   * `{ abs, rel }`; a value drifts when |run − reference| > abs + rel·|reference|. Unset ones
   * keep the defaults of experiments/drift.ts.
   */
  tolerances: tolerancesSchema.optional(),
  datasets: z.array(datasetSpecSchema).min(1),
  methods: z.array(methodSpecSchema).min(1),
});
export type ExperimentConfig = z.output<typeof experimentConfigSchema> & {
  /** Folder of the config file: relative paths resolve against it. */
  baseDir: string;
  file: string;
  /** Set when the command line shrank the config (`run --seeds`, `--max-shops`; see shrink.ts). */
  overrides?: RunOverrides;
};

export function parseExperimentConfig(text: string, file: string): ExperimentConfig {
  let raw: unknown;
  try {
    // logLevel error: YAML's warnings (e.g. about a [] key) would print as extra lines; zod reports the field.
    raw = YAML.parse(text, { prettyErrors: false, logLevel: 'error', merge: true });
  } catch (err) {
    const e = err as { message: string; linePos?: { line: number }[] };
    const line = e.linePos?.[0]?.line;
    throw new UserError(`${file}${line ? `:${line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError(`${file}: expected a YAML mapping with experiment, datasets and methods`);
  }
  const methods = (raw as { methods?: unknown }).methods;
  if (Array.isArray(methods)) {
    methods.forEach((entry, i) => {
      const name = (entry as { method?: unknown } | null)?.method;
      if (typeof name === 'string' && !methodNames.includes(name)) {
        throw new UserError(
          `${file}: methods[${i}].method: unknown method "${name}" (known: ${methodNames.join(', ')})`,
        );
      }
    });
  }
  const config = parseOrThrow(experimentConfigSchema, raw, file);
  if (config.graphShops !== undefined && config.horizon > 0) {
    throw new UserError(
      `${file}: graphShops: scores a sample of the shops' graphs in structure experiments only; it needs horizon 0 (this config has horizon ${config.horizon})`,
    );
  }
  return { ...config, baseDir: path.dirname(path.resolve(file)), file };
}

export function loadExperimentConfig(file: string): ExperimentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseExperimentConfig(text, file);
}

/** JSON Schema of experiment configs, for editors (`configs/experiment.schema.json`). */
export function experimentJsonSchema(): object {
  return z.toJSONSchema(experimentConfigSchema, { io: 'input', unrepresentable: 'any' });
}
