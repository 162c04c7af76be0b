/**
 * Times the funnel simulator: release-like with 300 shops and funnel-20 with 100 shops, median
 * of 5 runs each after one warm-up run, printed as one JSON line (milliseconds).
 * Usage: npx tsx scripts/bench-simulate.ts
 */
import { type SimulationSpecInput, simulate } from '../src/data/simulate.js';

function medianMs(spec: SimulationSpecInput, runs = 5): number {
  simulate(spec);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    simulate(spec);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)] * 10) / 10;
}

const result = {
  bench: 'simulate',
  node: process.version,
  releaseLike300Ms: medianMs({ preset: 'release-like', seed: 0, shops: 300 }),
  funnel20x100Ms: medianMs({ preset: 'funnel-20', seed: 0, shops: 100 }),
};
console.log(JSON.stringify(result));
