/**
 * Lorenz-96: dx_i/dt = (x_{i+1} − x_{i−2})·x_{i−1} − x_i + F, indices cyclic, integrated with
 * classical RK4. Graph orientation: `graph[i * p + j] = 1` ⇔ j → i.
 */
import type { Rng } from '../../rng.js';

/** True graph: x_i depends on x_{i−1}, x_{i−2}, x_{i+1} (cyclic) and itself. */
export function lorenz96Graph(p: number): Uint8Array {
  const g = new Uint8Array(p * p);
  for (let i = 0; i < p; i++) {
    for (const d of [0, -1, -2, 1]) g[i * p + ((i + d + p) % p)] = 1;
  }
  return g;
}

function derivative(x: Float64Array, F: number, out: Float64Array): void {
  const p = x.length;
  for (let i = 0; i < p; i++) {
    out[i] = (x[(i + 1) % p] - x[(i - 2 + p) % p]) * x[(i - 1 + p) % p] - x[i] + F;
  }
}

/**
 * One replicate: initial state F + N(0, 0.01²) per coordinate (a small perturbation of the
 * unstable equilibrium x = F, which the chaotic flow leaves during burn-in); output steps are
 * `dt` apart, each integrated by `substeps` RK4 steps of dt/substeps; `burnIn` output steps
 * are dropped, then N(0, noiseSd²) observation noise is added. Returns [p, T] row-major.
 */
export function simulateLorenz96(
  rng: Rng,
  opts: {
    p: number;
    forcing: number;
    dt: number;
    substeps: number;
    burnIn: number;
    steps: number;
    noiseSd: number;
  },
): { series: Float64Array; initial: number[] } {
  const { p, forcing: F, steps: T } = opts;
  const init = rng.fork('initial');
  const obs = rng.fork('observation');
  const x = Float64Array.from({ length: p }, () => F + init.normal(0, 0.01));
  const initial = Array.from(x);
  const h = opts.dt / opts.substeps;
  const k1 = new Float64Array(p);
  const k2 = new Float64Array(p);
  const k3 = new Float64Array(p);
  const k4 = new Float64Array(p);
  const tmp = new Float64Array(p);
  const step = () => {
    derivative(x, F, k1);
    for (let i = 0; i < p; i++) tmp[i] = x[i] + 0.5 * h * k1[i];
    derivative(tmp, F, k2);
    for (let i = 0; i < p; i++) tmp[i] = x[i] + 0.5 * h * k2[i];
    derivative(tmp, F, k3);
    for (let i = 0; i < p; i++) tmp[i] = x[i] + h * k3[i];
    derivative(tmp, F, k4);
    for (let i = 0; i < p; i++) x[i] += (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  };
  for (let t = 0; t < opts.burnIn; t++) for (let s = 0; s < opts.substeps; s++) step();
  const series = new Float64Array(p * T);
  for (let t = 0; t < T; t++) {
    if (t > 0) for (let s = 0; s < opts.substeps; s++) step();
    for (let i = 0; i < p; i++) series[i * T + t] = x[i] + obs.normal(0, opts.noiseSd);
  }
  return { series, initial };
}
