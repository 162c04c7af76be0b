import { beforeAll, describe, expect, it } from 'vitest';
import { scoreOutput } from '../experiments/runner.js';
import { initBackend } from '../src/backend.js';
import { simulate } from '../src/data/simulate.js';
import { NumericalError } from '../src/errors.js';
import { METHODS } from '../src/methods/registry.js';

// The runner's backend (wasm here), not tfjs's pure-JS fallback, for the tfjs methods.
beforeAll(async () => {
  await initBackend('auto');
});

/**
 * Every registered method, under its own `testConfig`, on easy data where the answer is known:
 * a low-noise sparse VAR whose graph a graph method must recover (AUROC ≥ 0.9), and whose
 * next steps a forecaster must predict better than repeating the last value.
 */
const easy = simulate({ preset: 'var', seed: 11, shops: 20, p: 5, steps: 300, sparsity: 0.4 });
const horizon = 5;
const { history, future } = easy.splitTime(horizon);

describe.each(METHODS.map((m) => [m.name, m] as const))('method %s', (_, method) => {
  const options = method.options.parse(method.testConfig);

  it('declares a complete interface', () => {
    expect(method.title).not.toBe('');
    expect(method.paper).not.toBe('');
    expect(method.produces.length).toBeGreaterThan(0);
    expect(() => method.options.parse({})).not.toThrow();
  });

  it('recovers the known answer on easy data under its testConfig', async () => {
    const forecasting = method.produces.includes('forecast');
    const output = await method.run(
      { panel: forecasting ? history : easy, horizon: forecasting ? horizon : 0, seed: 0 },
      options,
    );
    const { metrics } = scoreOutput(output, easy, forecasting ? future : undefined, [1]);
    if (method.produces.includes('graph')) {
      expect(output.graphScores).toHaveLength(easy.shops);
      expect(metrics.auroc).toBeGreaterThanOrEqual(0.9);
    }
    if (forecasting) {
      expect(output.forecasts).toHaveLength(easy.shops * easy.nodeCount * horizon);
      // Persistence: every step of the horizon predicted as the last observed value.
      let persistence = 0;
      for (let s = 0; s < easy.shops; s++) {
        const last = history.series(s, easy.targetIndex).at(-1)!;
        persistence += (future.series(s, easy.targetIndex)[0] - last) ** 2;
      }
      expect(metrics['mse@1']).toBeLessThan(persistence / easy.shops);
    }
  });

  it('gives the same output for the same seed', async () => {
    const run = () =>
      method.run(
        { panel: history, horizon: method.produces.includes('forecast') ? horizon : 0, seed: 3 },
        options,
      );
    expect(await run()).toEqual(await run());
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
