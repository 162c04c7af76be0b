import { z } from 'zod';
import { UserError } from '../src/errors.js';
import { checkFutureChannels, writeKnownChannels } from '../src/forecast/known.js';
import { defineMethod } from '../src/methods/method.js';

export const seasonalNaiveOptions = z.strictObject({
  /** Season length in steps (7 for daily data with a weekly cycle). */
  period: z.int().min(1).default(7),
});

/**
 * Seasonal-naive forecast: step h of the horizon repeats the value one season earlier,
 * ŷ_{T+h} = y_{T+h−P·⌈h/P⌉}, node by node; known future spends are passed through. With a
 * weekly cycle in the data it is the floor that persistence cannot be.
 *
 * Shapes: input panel [S, N, T]; forecasts [S, N, horizon], `[(s·N + n)·horizon + h]`.
 */
export const seasonalNaive = defineMethod({
  name: 'seasonal-naive',
  title: 'Seasonal naive (value one period back)',
  paper:
    'R. J. Hyndman and G. Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed., §5.2 (seasonal naïve method), 2021',
  produces: ['forecast'] as const,
  options: seasonalNaiveOptions,
  testConfig: { period: 7 },
  async run({ panel, horizon, futureChannels }, { period }) {
    checkFutureChannels('seasonal-naive', panel, horizon, futureChannels);
    const { shops: S, nodeCount: N, steps: T } = panel;
    if (period > T)
      throw new UserError(`seasonal-naive: option "period" = ${period} exceeds the ${T} steps of history`);
    const forecasts = new Float32Array(S * N * horizon);
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const series = panel.series(s, n);
        for (let h = 1; h <= horizon; h++) {
          forecasts[(s * N + n) * horizon + h - 1] = series[T - 1 + h - period * Math.ceil(h / period)];
        }
      }
    }
    writeKnownChannels(forecasts, panel, horizon, futureChannels);
    return { forecasts };
  },
});
