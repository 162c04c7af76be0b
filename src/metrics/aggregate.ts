/** Summaries of one metric over repeated runs (seeds, folds) for tables. */
import { mean as average, sampleStandardDeviation } from 'simple-statistics';

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n − 1 denominator); 0 for a single value, NaN for none. */
  std: number;
  /** Count of the non-NaN values summarised. */
  n: number;
}

/** Mean and sample standard deviation of the non-NaN values (NaN marks an undefined metric). */
export function meanStd(values: readonly number[]): MeanStd {
  const kept = values.filter((v) => !Number.isNaN(v));
  const n = kept.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  return { mean: average(kept), std: n === 1 ? 0 : sampleStandardDeviation(kept), n };
}

/** "0.912 ± 0.013"; just "0.912" for a single value; "—" when there is none. */
export function formatMeanStd(ms: MeanStd, digits = 3): string {
  if (ms.n === 0) return '—';
  if (ms.n === 1) return ms.mean.toFixed(digits);
  return `${ms.mean.toFixed(digits)} ± ${ms.std.toFixed(digits)}`;
}
