import { describe, expect, it } from 'vitest';
import { channelValues } from '../experiments/protocol.js';
import { scoreOutput } from '../experiments/runner.js';
import { simulate } from '../src/data/simulate.js';
import { NumericalError } from '../src/errors.js';
import { METHODS } from '../src/methods/registry.js';
import { easyForecastPanel } from './forecast-easy.js';
import { useBackend } from './helpers.js';

/**
 * Every registered method, under its own `testConfig`, on easy data where the answer is known:
 * a low-noise sparse VAR whose graph a graph method must recover (AUROC ≥ 0.9), and a panel
 * with a weekly cycle and lagged spend effects whose GMV a forecaster must predict better than
 * persistence (repeating the last value), given the horizon's spends.
 */
const easy = simulate({ preset: 'var', seed: 11, shops: 20, p: 5, steps: 300, sparsity: 0.4 });
const horizon = 5;
const easyForecast = easyForecastPanel(16, 120, 5);
const { history, future } = easyForecast.splitTime(horizon);
const futureChannels = channelValues(future);
/** Few short shops, for the scored-sample test's two runs. */
const sampleable = simulate({ preset: 'var', seed: 5, shops: 5, p: 4, steps: 80, sparsity: 0.4 });

/**
 * Methods that do not yet pass the VAR known-answer case, with what was measured. They are
 * listed here, visibly, instead of being given an easier case. Empty since CausalMMM and NRI
 * learn per-pair population logits with one-step targets (their testConfigs; README).
 */
const STRUCTURE_GAPS = new Set<string>([]);

// The tfjs models run on the backend the runner would pick.
useBackend();

describe.each(METHODS.map((m) => [m.name, m] as const))('method %s', (_, method) => {
  const options = method.options.parse(method.testConfig);

  it('declares a complete interface', () => {
    expect(method.title).not.toBe('');
    expect(method.paper).not.toBe('');
    expect(method.produces.length).toBeGreaterThan(0);
    expect(() => method.options.parse({})).not.toThrow();
  });

  it('recovers the known answer on easy data under its testConfig', async () => {
    if (method.produces.includes('graph') && !STRUCTURE_GAPS.has(method.name)) {
      const output = await method.run({ panel: easy, horizon: 0, seed: 0 }, options);
      const { metrics } = scoreOutput(output, easy, undefined, [1]);
      expect(output.graphScores).toHaveLength(easy.shops);
      expect(metrics.auroc).toBeGreaterThanOrEqual(0.9);
    }
    if (method.produces.includes('forecast')) {
      const output = await method.run({ panel: history, horizon, seed: 0, futureChannels }, options);
      const { metrics } = scoreOutput(output, easyForecast, future, [1, 3, 5]);
      expect(output.forecasts).toHaveLength(easyForecast.shops * easyForecast.nodeCount * horizon);
      // Persistence: every step of the horizon predicted as the last observed GMV.
      let persistence = 0;
      for (let s = 0; s < easyForecast.shops; s++) {
        const last = history.series(s, easyForecast.targetIndex).at(-1)!;
        for (const truth of future.series(s, easyForecast.targetIndex)) persistence += (truth - last) ** 2;
      }
      persistence /= easyForecast.shops * horizon;
      if (method.name === 'persistence') expect(metrics.mse).toBeCloseTo(persistence, 4);
      else expect(metrics.mse).toBeLessThan(0.5 * persistence);
    }
    // CausalMMM trains twice here (graph, then forecast): ~35 s alone on 2 cores, more when the
    // suite's other forks share them.
  }, 180_000);

  it('gives the same output for the same seed', async () => {
    const forecasting = method.produces.includes('forecast');
    // A few shops keep the neural forecasters' double run short.
    const few = history.selectShops([0, 1, 2, 3, 4, 5]);
    const run = () =>
      method.run(
        forecasting ? { panel: few, horizon, seed: 3 } : { panel: easy, horizon: 0, seed: 3 },
        options,
      );
    expect(await run()).toEqual(await run());
  });

  it('scores a sample of the shops as it scores them all (structure runs with graphShops)', async () => {
    if (!method.produces.includes('graph')) return;
    // Every method learns from every shop either way, so a sampled shop's scores must not change.
    const whole = await method.run({ panel: sampleable, horizon: 0, seed: 2 }, options);
    const sampled = await method.run(
      { panel: sampleable, horizon: 0, seed: 2, scoredShops: [1, 4] },
      options,
    );
    expect(sampled.graphScores).toEqual([whole.graphScores![1], whole.graphScores![4]]);
    if (whole.graphs) expect(sampled.graphs).toEqual([whole.graphs[1], whole.graphs[4]]);
  });
});

describe('scoreOutput', () => {
  it('reports NaN in a method output as a numerical error', () => {
    const scores = Array.from({ length: easy.shops }, () => new Float64Array(easy.nodeCount ** 2));
    scores[1][3] = Number.NaN;
    expect(() => scoreOutput({ graphScores: scores }, easy, undefined, [1])).toThrow(NumericalError);
    expect(() => scoreOutput({ graphScores: scores }, easy, undefined, [1])).toThrow(
      /shop 1 contains NaN at index 3/,
    );
  });
});
