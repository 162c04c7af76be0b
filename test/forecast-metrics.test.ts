import { describe, expect, it } from 'vitest';
import { forecastMetrics } from '../src/metrics/forecast.js';

// S = 2 shops, N = 2 nodes (node 1 = target), H = 2 steps; x[(s * N + n) * H + h - 1].
const truth = Float32Array.from([
  // shop 0: node 0, node 1
  1, 1, 10, 20,
  // shop 1
  2, 2, 0, 40,
]);
const forecast = Float32Array.from([1, 3, 12, 20, 2, 2, 1, 30]);

describe('forecastMetrics', () => {
  const m = forecastMetrics(truth, forecast, 2, 2, 2, 1, [1, 2]);

  it('scores the target at each horizon, averaged over shops', () => {
    // step 1 target errors: +2 (shop 0), +1 (shop 1); step 2: 0, −10.
    expect(m['mse@1']).toBeCloseTo((4 + 1) / 2, 12);
    expect(m['mae@1']).toBeCloseTo((2 + 1) / 2, 12);
    expect(m['mse@2']).toBeCloseTo((0 + 100) / 2, 12);
    expect(m['mae@2']).toBeCloseTo((0 + 10) / 2, 12);
  });

  it('leaves zero truths out of MAPE', () => {
    expect(m['mape@1']).toBeCloseTo(0.2, 6); // only shop 0: 2 / 10
    expect(m['mape@2']).toBeCloseTo((0 + 10 / 40) / 2, 12);
    expect(forecastMetrics([0], [1], 1, 1, 1, 0, [1])['mape@1']).toBeNaN();
  });

  it('averages the target over all steps and all nodes per horizon', () => {
    expect(m.mse).toBeCloseTo((4 + 0 + 1 + 100) / 4, 12);
    expect(m.mae).toBeCloseTo((2 + 0 + 1 + 10) / 4, 12);
    // step 1, all nodes: errors 0, 2, 0, 1; step 2: 2, 0, 0, 10.
    expect(m['mse_all@1']).toBeCloseTo((0 + 4 + 0 + 1) / 4, 12);
    expect(m['mse_all@2']).toBeCloseTo((4 + 0 + 0 + 100) / 4, 12);
  });

  it('rejects bad shapes, targets and horizons', () => {
    expect(() => forecastMetrics(truth, forecast.subarray(1), 2, 2, 2, 1, [1])).toThrow(RangeError);
    expect(() => forecastMetrics(truth, forecast, 2, 2, 2, 2, [1])).toThrow(RangeError);
    expect(() => forecastMetrics(truth, forecast, 2, 2, 2, 1, [3])).toThrow(RangeError);
    expect(() => forecastMetrics(truth, forecast, 2, 2, 2, 1, [0])).toThrow(RangeError);
  });
});
