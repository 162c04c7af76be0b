/**
 * Metric drift between a run and a committed reference (`causalmmm check`): every cell of the
 * reference is matched to the run's cell of the same (dataset, row label, seed, split) and each
 * metric is compared under an absolute plus a relative tolerance, as numpy's `isclose` does:
 * a value drifts when |current − reference| > abs + rel · |reference|. Cells only one side has
 * are reported as new or missing.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../src/errors.js';
import { readTextOrFail } from '../src/io.js';
import { parseOrThrow } from '../src/validation.js';
import type { ResultsFile } from './results.js';

export interface Tolerance {
  abs: number;
  rel: number;
}

/** `mse@7` → `mse@h`: a tolerance given for `mse@h` applies at every horizon. */
export const metricFamily = (metric: string) => metric.replace(/@\d+$/, '@h');

/**
 * Defaults per metric family. Ranking metrics move in steps of 1/(positives × negatives) per
 * shop, so they get an absolute band; errors in data units get a relative one; SHD counts edges.
 * A rerun on the same machine and backend is bit-identical, so these only absorb what another
 * platform's floating point (or tfjs-node instead of wasm) may change.
 */
export const DEFAULT_TOLERANCES: Record<string, Tolerance> = {
  auroc: { abs: 0.01, rel: 0 },
  auprc: { abs: 0.01, rel: 0 },
  auroc_pooled: { abs: 0.01, rel: 0 },
  auprc_pooled: { abs: 0.01, rel: 0 },
  f1: { abs: 0.01, rel: 0 },
  shd: { abs: 0.5, rel: 0.02 },
  mse: { abs: 1e-9, rel: 0.02 },
  mae: { abs: 1e-9, rel: 0.02 },
  'mse@h': { abs: 1e-9, rel: 0.02 },
  'mae@h': { abs: 1e-9, rel: 0.02 },
  'mape@h': { abs: 1e-9, rel: 0.02 },
};
/** Metrics without a default of their own. */
export const FALLBACK_TOLERANCE: Tolerance = { abs: 1e-9, rel: 0.01 };

export const toleranceSchema = z.strictObject({
  abs: z.number().nonnegative().optional().describe('absolute tolerance'),
  rel: z.number().nonnegative().optional().describe('relative tolerance (fraction of the reference value)'),
});
/** The config's `tolerances`: per metric (`auroc`) or family (`mse@h`), abs and/or rel. */
export const tolerancesSchema = z.record(z.string().min(1), toleranceSchema);
export type ToleranceOverrides = z.output<typeof tolerancesSchema>;

/** The tolerance of `metric`: the exact name's override, else its family's, else the default. */
export function toleranceFor(metric: string, overrides: ToleranceOverrides = {}): Tolerance {
  const family = metricFamily(metric);
  const base = DEFAULT_TOLERANCES[metric] ?? DEFAULT_TOLERANCES[family] ?? FALLBACK_TOLERANCE;
  return { ...base, ...overrides[family], ...overrides[metric] };
}

/** JSON turns NaN into null; both mean "not defined" here. */
type MetricValue = number | null;

/** What a reference keeps of a cell: its identity, status and metrics. */
export interface ReferenceCell {
  dataset: string;
  method: string;
  label?: string;
  seed: number;
  split?: string;
  status: 'ok' | 'failed';
  metrics: Record<string, MetricValue>;
}

/** A committed reference: a results.json with only what the check compares. */
export interface ReferenceFile {
  experiment: string;
  createdAt: string;
  codeVersion: string;
  backend: string;
  tolerances?: ToleranceOverrides;
  cells: ReferenceCell[];
}

const cellSchema = z.looseObject({
  dataset: z.string(),
  method: z.string(),
  label: z.string().optional(),
  seed: z.number(),
  split: z.string().optional(),
  status: z.enum(['ok', 'failed']),
  metrics: z.record(z.string(), z.number().nullable()),
});
const fileSchema = z.looseObject({
  experiment: z.string(),
  createdAt: z.string().default(''),
  codeVersion: z.string().default(''),
  backend: z.string().default(''),
  tolerances: tolerancesSchema.optional(),
  cells: z.array(cellSchema),
});

/** Reads a results.json (or a folder holding one) or a reference file; bad content names the file and field. */
export function readMetricsFile(fileOrDir: string): ReferenceFile {
  const file = statSync(fileOrDir, { throwIfNoEntry: false })?.isDirectory()
    ? path.join(fileOrDir, 'results.json')
    : fileOrDir;
  const text = readTextOrFail(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = parseOrThrow(fileSchema, raw, file) as ReferenceFile;
  const seen = new Map<string, number>();
  parsed.cells.forEach((cell, i) => {
    const id = cellId(cell);
    if (seen.has(id)) throw new UserError(`${file}: cells[${i}] repeats cells[${seen.get(id)}] (${id})`);
    seen.set(id, i);
  });
  return parsed;
}

/** The reference kept of a run: identity, status and metrics of every cell, plus its tolerances. */
export function toReference(results: ResultsFile | ReferenceFile): ReferenceFile {
  return {
    experiment: results.experiment,
    createdAt: results.createdAt,
    codeVersion: results.codeVersion,
    backend: results.backend,
    ...(results.tolerances ? { tolerances: results.tolerances } : {}),
    cells: results.cells.map((cell) => ({
      dataset: cell.dataset,
      method: cell.method,
      ...(cell.label !== undefined ? { label: cell.label } : {}),
      seed: cell.seed,
      ...(cell.split !== undefined ? { split: cell.split } : {}),
      status: cell.status,
      metrics: cell.metrics,
    })),
  };
}

/** `release-like · causalmmm · seed 0 · time`: how a cell is matched and named. */
export function cellId(cell: Pick<ReferenceCell, 'dataset' | 'method' | 'label' | 'seed' | 'split'>): string {
  return [
    cell.dataset,
    cell.label ?? cell.method,
    `seed ${cell.seed}`,
    ...(cell.split ? [cell.split] : []),
  ].join(' · ');
}

export interface DriftRow {
  cell: string;
  metric: string;
  reference: MetricValue | string;
  current: MetricValue | string;
  /** abs + rel·|reference| that the difference exceeded (absent for a status change). */
  allowed?: number;
}

export interface DriftReport {
  compared: number;
  drifted: DriftRow[];
  newCells: string[];
  missingCells: string[];
  /** Metrics the run has and the reference lacks (reported, not a drift). */
  newMetrics: string[];
  /** Lines worth knowing (e.g. the backends differ). */
  notes: string[];
}

const defined = (v: MetricValue | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** Whether `current` is within tolerance of `reference`; two undefined values (null/NaN) agree. */
export function withinTolerance(reference: MetricValue, current: MetricValue, tol: Tolerance): boolean {
  if (!defined(reference) || !defined(current)) return !defined(reference) && !defined(current);
  return Math.abs(current - reference) <= tol.abs + tol.rel * Math.abs(reference);
}

/**
 * Compares every metric of every cell. Tolerances: the run's (from its config), else the
 * reference's, over the defaults.
 */
export function compareMetrics(current: ReferenceFile, reference: ReferenceFile): DriftReport {
  const overrides = current.tolerances ?? reference.tolerances ?? {};
  const currentById = new Map(current.cells.map((c) => [cellId(c), c]));
  const referenceIds = new Set(reference.cells.map(cellId));
  const report: DriftReport = {
    compared: 0,
    drifted: [],
    newCells: current.cells.map(cellId).filter((id) => !referenceIds.has(id)),
    missingCells: [],
    newMetrics: [],
    notes: [],
  };
  if (current.backend !== reference.backend) {
    report.notes.push(
      `backend ${current.backend} against a reference made on ${reference.backend}: expect small differences`,
    );
  }
  const newMetrics = new Set<string>();
  for (const ref of reference.cells) {
    const id = cellId(ref);
    const cur = currentById.get(id);
    if (!cur) {
      report.missingCells.push(id);
      continue;
    }
    report.compared++;
    if (cur.status !== ref.status) {
      report.drifted.push({ cell: id, metric: 'status', reference: ref.status, current: cur.status });
      continue;
    }
    for (const [metric, value] of Object.entries(ref.metrics)) {
      const tol = toleranceFor(metric, overrides);
      if (!(metric in cur.metrics)) {
        report.drifted.push({ cell: id, metric, reference: value, current: 'absent' });
      } else if (!withinTolerance(value, cur.metrics[metric], tol)) {
        const allowed = defined(value) ? tol.abs + tol.rel * Math.abs(value) : undefined;
        report.drifted.push({ cell: id, metric, reference: value, current: cur.metrics[metric], allowed });
      }
    }
    for (const metric of Object.keys(cur.metrics)) if (!(metric in ref.metrics)) newMetrics.add(metric);
  }
  report.newMetrics = [...newMetrics];
  return report;
}

/** A drift report fails the check when anything drifted, or a cell is new or missing. */
export const hasDrift = (report: DriftReport) =>
  report.drifted.length > 0 || report.newCells.length > 0 || report.missingCells.length > 0;

const show = (v: MetricValue | string | undefined): string => {
  if (v === null || v === undefined) return 'NaN';
  if (typeof v === 'string') return v;
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
};

/** The drift report as Markdown: drifted cells as a table, new and missing cells listed. */
export function formatDriftReport(report: DriftReport): string {
  const out: string[] = [...report.notes.map((n) => `note: ${n}`)];
  if (report.drifted.length > 0) {
    out.push(
      `${report.drifted.length} drifted value(s):`,
      '',
      '| cell | metric | reference | current | difference | allowed |',
      '|---|---|---|---|---|---|',
    );
    for (const row of report.drifted) {
      const diff =
        typeof row.reference === 'number' && typeof row.current === 'number'
          ? show(row.current - row.reference)
          : '';
      out.push(
        `| ${row.cell} | ${row.metric} | ${show(row.reference)} | ${show(row.current)} | ${diff} | ${row.allowed === undefined ? '' : show(row.allowed)} |`,
      );
    }
    out.push('');
  }
  if (report.newCells.length > 0)
    out.push(
      `${report.newCells.length} new cell(s), not in the reference:`,
      ...report.newCells.map((c) => `  + ${c}`),
    );
  if (report.missingCells.length > 0) {
    out.push(
      `${report.missingCells.length} missing cell(s), in the reference but not in the run:`,
      ...report.missingCells.map((c) => `  - ${c}`),
    );
  }
  if (report.newMetrics.length > 0)
    out.push(`metrics not in the reference (not compared): ${report.newMetrics.join(', ')}`);
  const verdict = hasDrift(report)
    ? `drift: ${report.drifted.length} value(s) out of tolerance, ${report.newCells.length} new and ${report.missingCells.length} missing cell(s)`
    : 'no drift: every metric within tolerance';
  out.push(`${verdict} (${report.compared} cells compared)`);
  return out.join('\n');
}
