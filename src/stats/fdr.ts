/**
 * Benjamini–Hochberg step-up procedure on log10 p-values (so p-values far below 1e-308 still
 * order correctly). Rejects the k smallest, k being the largest rank with
 * p_(k) ≤ q·k/m, where m counts every entry (compared in log10 space with a 1e-12 relative
 * slack, so that a p-value equal to its threshold up to rounding is rejected, as in linear space). NaN p-values are never rejected and count as
 * p = 1 in m (an untestable pair is a hypothesis that was not rejected).
 * Returns one flag per input, in input order.
 */
export function benjaminiHochberg(log10PValues: ArrayLike<number>, q: number): boolean[] {
  if (!(q > 0 && q <= 1)) throw new RangeError(`benjaminiHochberg: q = ${q} must be in (0, 1]`);
  const m = log10PValues.length;
  const keyOf = (i: number) => {
    const v = log10PValues[i];
    return Number.isNaN(v) ? 0 : v;
  };
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => keyOf(a) - keyOf(b));
  const logQ = Math.log10(q);
  let cutoff = 0;
  for (let k = m; k >= 1; k--) {
    const idx = order[k - 1];
    if (Number.isNaN(log10PValues[idx])) continue;
    const threshold = logQ + Math.log10(k / m);
    if (keyOf(idx) <= threshold + 1e-12 * Math.max(1, Math.abs(threshold))) {
      cutoff = k;
      break;
    }
  }
  const reject = new Array<boolean>(m).fill(false);
  for (let k = 0; k < cutoff; k++) reject[order[k]] = !Number.isNaN(log10PValues[order[k]]);
  return reject;
}

/**
 * Benjamini–Hochberg adjusted p-values (q-values) from log10 p-values: q_(k) = min over
 * ranks r ≥ k of p_(r)·m/r, capped at 1, returned as log10 q in input order. An entry is
 * rejected by {@link benjaminiHochberg} at level α exactly when its q ≤ α (up to the same
 * rounding slack). NaN p-values stay NaN and count in m.
 */
export function benjaminiHochbergLog10Q(log10PValues: ArrayLike<number>): Float64Array {
  const m = log10PValues.length;
  const out = new Float64Array(m).fill(Number.NaN);
  const tested = Array.from({ length: m }, (_, i) => i).filter((i) => !Number.isNaN(log10PValues[i]));
  tested.sort((a, b) => log10PValues[a] - log10PValues[b]);
  let running = 0;
  for (let k = tested.length; k >= 1; k--) {
    const idx = tested[k - 1];
    running = Math.min(running, log10PValues[idx] + Math.log10(m / k));
    out[idx] = running;
  }
  return out;
}
