/**
 * An easy forecasting panel for tests: GMV = level + weekly cycle + lagged spend effects +
 * small noise, per shop scaled by a size factor (the context). Persistence suffers from the
 * weekly cycle; every forecaster should beat it.
 */
import { Panel } from '../src/data/panel.js';
import { Rng } from '../src/rng.js';

export function easyForecastPanel(shops: number, steps: number, seed: number): Panel {
  const rng = new Rng(seed);
  const N = 4; // two channels, one KPI, GMV
  const values = new Float32Array(shops * N * steps);
  const context = new Float32Array(shops);
  for (let s = 0; s < shops; s++) {
    const size = Math.exp(rng.between(-0.5, 0.5));
    context[s] = Math.log(size);
    const phase = rng.between(0, 2 * Math.PI);
    const at = (n: number, t: number) => (s * N + n) * steps + t;
    for (let t = 0; t < steps; t++) {
      const week = Math.sin((2 * Math.PI * t) / 7 + phase);
      values[at(0, t)] = size * (1 + 0.4 * week + 0.2 * rng.uniform());
      values[at(1, t)] = size * (1 + 0.3 * rng.uniform());
      const lagged = t > 0 ? 1.5 * values[at(0, t - 1)] + values[at(1, t - 1)] : 2.5 * size;
      values[at(3, t)] = size * (4 + 2 * week) + lagged + rng.normal(0, 0.05 * size);
      values[at(2, t)] = 0.5 * values[at(3, t)] + rng.normal(0, 0.05 * size);
    }
  }
  return new Panel({
    shape: [shops, N, steps],
    values,
    nodes: [
      { name: 'search', role: 'channel' },
      { name: 'display', role: 'channel' },
      { name: 'visits', role: 'kpi' },
      { name: 'gmv', role: 'target' },
    ],
    context,
    contextNames: ['logSize'],
    source: 'easy forecast panel',
  });
}
