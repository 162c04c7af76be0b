import { z } from 'zod';
import { checkFutureChannels, writeKnownChannels } from '../src/forecast/known.js';
import { defineMethod } from '../src/methods/method.js';

/**
 * Persistence (random-walk) forecast: every step of the horizon is the last observed value,
 * node by node; known future spends are passed through. The floor every forecaster must beat.
 *
 * Shapes: input panel [S, N, T]; forecasts [S, N, horizon], `[(s·N + n)·horizon + h]`.
 */
export const persistence = defineMethod({
  name: 'persistence',
  title: 'Persistence (last value)',
  paper:
    'R. J. Hyndman and G. Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., §5.2 (naïve method), 2021',
  produces: ['forecast'] as const,
  options: z.strictObject({}),
  testConfig: {},
  async run({ panel, horizon, futureChannels }) {
    checkFutureChannels('persistence', panel, horizon, futureChannels);
    const { shops: S, nodeCount: N, steps: T } = panel;
    const forecasts = new Float32Array(S * N * horizon);
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        forecasts.fill(panel.series(s, n)[T - 1], (s * N + n) * horizon, (s * N + n + 1) * horizon);
      }
    }
    writeKnownChannels(forecasts, panel, horizon, futureChannels);
    return { forecasts };
  },
});
