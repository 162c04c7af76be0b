/**
 * The sparse VAR benchmark in the style of Neural-GC (Tank et al., 2021): every series depends
 * on its own past and on floor(sparsity·p) − 1 other random series, at every lag 1 … lag.
 * Graph orientation: `graph[i * p + j] = 1` ⇔ j → i.
 */
import type { Rng } from '../../rng.js';

export interface VarModel {
  p: number;
  lag: number;
  /** coef[(k * p + i) * p + j]: effect of x_j at lag k + 1 on x_i. */
  coef: Float64Array;
  graph: Uint8Array;
  /** Upper bound on the spectral radius of the companion matrix before and after rescaling. */
  radiusBefore: number;
  radius: number;
}

/**
 * Upper bound on the spectral radius of an n × n matrix (row-major) by Gelfand's formula:
 * ρ(A) ≤ ‖A^m‖^(1/m) for every m and every submultiplicative norm, with equality as m → ∞.
 * Repeated squaring reaches m = 2^levels; the smallest bound over the levels is returned. Unlike
 * power iteration it needs no dominant real eigenvalue, and being an upper bound it makes a
 * stability check conservative.
 */
export function spectralRadiusBound(a: Float64Array, n: number, levels = 12): number {
  const frob = (m: Float64Array) => {
    let s = 0;
    for (let k = 0; k < m.length; k++) s += m[k] * m[k];
    return Math.sqrt(s);
  };
  let norm = frob(a);
  if (norm === 0) return 0;
  const m = a.map((x) => x / norm);
  // log ‖A^(2^level)‖ = logNorm, with m = A^(2^level) / ‖A^(2^level)‖.
  let logNorm = Math.log(norm);
  let best = norm;
  const sq = new Float64Array(n * n);
  for (let level = 1; level <= levels; level++) {
    sq.fill(0);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const mik = m[i * n + k];
        if (mik === 0) continue;
        for (let j = 0; j < n; j++) sq[i * n + j] += mik * m[k * n + j];
      }
    }
    norm = frob(sq);
    if (norm === 0) return 0;
    logNorm = 2 * logNorm + Math.log(norm);
    for (let k = 0; k < sq.length; k++) m[k] = sq[k] / norm;
    best = Math.min(best, Math.exp(logNorm / 2 ** level));
  }
  return best;
}

/** Companion matrix (p·lag square) of VAR coefficients. */
export function companion(coef: Float64Array, p: number, lag: number): Float64Array {
  const n = p * lag;
  const m = new Float64Array(n * n);
  for (let k = 0; k < lag; k++) {
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) m[i * n + k * p + j] = coef[(k * p + i) * p + j];
  }
  for (let r = p; r < n; r++) m[r * n + r - p] = 1;
  return m;
}

/**
 * Draws the graph and coefficients (all non-zero coefficients equal `coefficient`). If the
 * companion's spectral-radius bound ρ̂ exceeds `maxRadius`, lag k's coefficients are multiplied
 * by (maxRadius/ρ̂)^k: this maps every eigenvalue z of the companion to z·maxRadius/ρ̂ exactly
 * (the characteristic polynomial's roots scale), so the true radius ends ≤ maxRadius. The
 * bound costs O((p·lag)³) per squaring, hence the schema's limits on p and lag.
 */
export function drawVarModel(
  rng: Rng,
  opts: { p: number; lag: number; sparsity: number; coefficient: number; maxRadius: number },
): VarModel {
  const { p, lag } = opts;
  const graph = new Uint8Array(p * p);
  const others = Math.max(0, Math.min(p - 1, Math.floor(p * opts.sparsity + 1e-9) - 1));
  for (let i = 0; i < p; i++) {
    graph[i * p + i] = 1;
    const candidates = Array.from({ length: p - 1 }, (_, k) => (k < i ? k : k + 1));
    for (const j of rng.shuffle(candidates).slice(0, others)) graph[i * p + j] = 1;
  }
  const coef = new Float64Array(lag * p * p);
  for (let k = 0; k < lag; k++)
    for (let q = 0; q < p * p; q++) coef[k * p * p + q] = graph[q] * opts.coefficient;
  const radiusBefore = spectralRadiusBound(companion(coef, p, lag), p * lag);
  let radius = radiusBefore;
  // The bound sits slightly above the true radius, so one rescaling can leave the bound a hair
  // above maxRadius; a few more (each shrinking by bound/maxRadius) bring the bound itself below.
  for (let round = 0; round < 20 && radius > opts.maxRadius; round++) {
    const f = opts.maxRadius / radius;
    for (let k = 0; k < lag; k++) for (let q = 0; q < p * p; q++) coef[k * p * p + q] *= f ** (k + 1);
    radius = spectralRadiusBound(companion(coef, p, lag), p * lag);
  }
  return { p, lag, coef, graph, radiusBefore, radius };
}

/** Simulates T steps after `burnIn` discarded ones; returns [p, T] row-major. */
export function simulateVar(
  model: VarModel,
  rng: Rng,
  T: number,
  burnIn: number,
  noiseSd: number,
): Float64Array {
  const { p, lag, coef } = model;
  const total = T + burnIn + lag;
  const x = new Float64Array(total * p); // time-major while simulating
  for (let q = 0; q < lag * p; q++) x[q] = rng.normal(0, noiseSd);
  for (let t = lag; t < total; t++) {
    for (let i = 0; i < p; i++) {
      let v = rng.normal(0, noiseSd);
      for (let k = 0; k < lag; k++) {
        const past = (t - k - 1) * p;
        const row = (k * p + i) * p;
        for (let j = 0; j < p; j++) v += coef[row + j] * x[past + j];
      }
      x[t * p + i] = v;
    }
  }
  const out = new Float64Array(p * T);
  const start = burnIn + lag;
  for (let t = 0; t < T; t++) for (let i = 0; i < p; i++) out[i * T + t] = x[(start + t) * p + i];
  return out;
}
