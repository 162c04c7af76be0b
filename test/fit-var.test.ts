import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Panel } from '../src/data/panel.js';
import { simulate } from '../src/data/simulate.js';
import { contributions, defaultPlan, type Fitted, forecast, whatIf } from '../src/fit/analyse.js';
import { loadFitModel } from '../src/fit/methods.js';
import { compareWithTruth } from '../src/fit/truth.js';
import { fitVarParameters, VarScenarioModel, varFitOptions } from '../src/fit/var-model.js';
import { Rng } from '../src/rng.js';
import { expectUserError, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();

function fitVar(panel: Panel, options: Record<string, unknown> = {}): Fitted {
  const parsed = varFitOptions.parse(options);
  const model = new VarScenarioModel(panel, parsed, fitVarParameters(panel, parsed));
  return { model, panel, graphs: model.graphs() };
}

const whole = { horizon: 5, warmup: 10, contributionWindow: 0, curveFactors: [0, 1, 2], edgeThreshold: 0.95 };

/**
 * One channel x and the target g with g_t = 5 + 0.5·g_{t−1} + 2·x_{t−1}, no noise: a VAR(1)
 * on the raw values fits it exactly, so its rollouts and contributions are known in closed form.
 */
function exactPanel(shops: number, T: number): Panel {
  const rng = new Rng(11);
  const values = new Float32Array(shops * 2 * T);
  for (let s = 0; s < shops; s++) {
    const x = values.subarray(s * 2 * T, s * 2 * T + T);
    const g = values.subarray(s * 2 * T + T, (s + 1) * 2 * T);
    for (let t = 0; t < T; t++) x[t] = rng.between(0, 4);
    g[0] = 10;
    for (let t = 1; t < T; t++) g[t] = 5 + 0.5 * g[t - 1] + 2 * x[t - 1];
  }
  return new Panel({
    shape: [shops, 2, T],
    values,
    nodes: [
      { name: 'x', role: 'channel' },
      { name: 'gmv', role: 'target' },
    ],
  });
}

describe('fit --method granger-var', () => {
  it('recovers an exact VAR: the rollout repeats the data and a contribution is the closed-form one', () => {
    const panel = exactPanel(2, 40);
    const fitted = fitVar(panel, { lag: 1, transform: 'none' });
    const [shop] = contributions(fitted, whole);
    expect(shop.from).toBe(1);
    const g = panel.series(0, 1);
    const x = panel.series(0, 0);
    for (let t = 1; t < 40; t++) expect(shop.fitted[t - 1]).toBeCloseTo(g[t], 2);
    // Without x from step 0 on: g'_t = 5 + 0.5 g'_{t−1}, g'_0 = g_0; the difference obeys
    // d_t = 0.5 d_{t−1} + 2 x_{t−1}, d_0 = 0.
    let d = 0;
    for (let t = 1; t < 40; t++) {
      d = 0.5 * d + 2 * x[t - 1];
      expect(shop.contributions[0][t - 1]).toBeCloseTo(d, 2);
    }
    expect(fitted.graphs.probabilities[0][1 * 2 + 0]).toBeGreaterThan(0.99);
  });

  it('answers a what-if in closed form, all of it lost when x → gmv is cut', () => {
    const panel = exactPanel(1, 30);
    const fitted = fitVar(panel, { lag: 1, transform: 'none' });
    const plan = defaultPlan(panel, 0, 5);
    const result = whatIf(fitted, 0, plan, new Map([[0, 0.5]]), { ...whole, edgeThreshold: 0.5 });
    // +50 % of x over 5 steps: Σ_h Σ_{k<h} 0.5^k·2·Δx with Δx = x̄/2 per step.
    const dx = plan[0] / 2;
    let want = 0;
    let d = 0;
    for (let h = 0; h < 5; h++) {
      want += d;
      d = 0.5 * d + 2 * dx;
    }
    expect(result.deltaGmv).toBeCloseTo(want, 2);
    expect(result.flows[0].firstHops).toHaveLength(1);
    expect(result.flows[0].firstHops[0].deltaGmv).toBeCloseTo(want, 2);
    expect(result.flows[0].paths.map((p) => p.nodes)).toEqual([['x', 'gmv']]);
  });

  it('estimates the simulator’s channel contributions far better than zero, and its graphs', () => {
    // Measured (seed 0, 20 shops × 100 steps): mean absolute error 2.4 % of GMV against 6.3 %
    // for estimating zero, r = 0.96–0.97 over shops for the three largest channels, AUROC 0.86.
    const panel = simulate({ preset: 'release-like', seed: 0, shops: 20, steps: 100 });
    const fitted = fitVar(panel);
    const truth = compareWithTruth(panel, contributions(fitted, whole), fitted.graphs.probabilities, 0.95);
    expect(truth.meanAbsError).toBeLessThan(0.5 * truth.zeroEstimateError);
    const largest = [...truth.channels].sort((a, b) => b.trueShare - a.trueShare).slice(0, 3);
    for (const c of largest) expect(c.correlation).toBeGreaterThan(0.9);
    expect(truth.graph.auroc).toBeGreaterThan(0.8);
  });

  it('saves and loads a model that rolls out exactly the same numbers', () => {
    const panel = simulate({ preset: 'release-like', seed: 1, shops: 3, steps: 40 });
    const fitted = fitVar(panel);
    const dir = tempDir('causalmmm-var-');
    fitted.model.save(dir, { seed: 0, codeVersion: 'test' });
    const { model, folder } = loadFitModel(dir);
    expect(folder.meta.method).toBe('granger-var');
    const loaded: Fitted = { model, panel: folder.panel, graphs: model.graphs(0) };
    expect(loaded.graphs.probabilities).toEqual(fitted.graphs.probabilities);
    const plans = panel.shopIds.map((_, s) => defaultPlan(panel, s, 5));
    expect(forecast(loaded, plans, whole)).toEqual(forecast(fitted, plans, whole));

    const meta = JSON.parse(JSON.stringify(folder.meta));
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, options: { lag: 3 } }));
    expectUserError(() => loadFitModel(dir), 'model.json', 'encoderSteps');
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, options: { lags: 2 } }));
    expectUserError(() => loadFitModel(dir), 'model.json: options', 'lags');
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...meta, method: 'lstm' }));
    expectUserError(() => loadFitModel(dir), 'model.json: method lstm');
  });
});
