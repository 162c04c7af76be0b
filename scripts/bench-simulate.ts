/**
 * Times the funnel simulator: release-like with 300 shops and funnel-20 with 100 shops, median
 * of 5 runs each after one warm-up run, printed as one JSON line (milliseconds).
 * Usage: npx tsx scripts/bench-simulate.ts
 */
import { simulate } from '../src/data/simulate.js';
import { medianMs } from './bench-util.js';

const result = {
  bench: 'simulate',
  node: process.version,
  releaseLike300Ms: await medianMs(() => simulate({ preset: 'release-like', seed: 0, shops: 300 })),
  funnel20x100Ms: await medianMs(() => simulate({ preset: 'funnel-20', seed: 0, shops: 100 })),
};
console.log(JSON.stringify(result));
