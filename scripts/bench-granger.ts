/**
 * Times the Granger VAR baseline per shop: the conditional and pairwise F-tests at lag 2 on
 * release-like (300 shops, N = 8, T = 100) and funnel-20 (100 shops, N = 20, T = 100), median of
 * 5 runs after a warm-up. Prints one line per case, then one JSON object as the last line.
 * Usage: npx tsx scripts/bench-granger.ts
 */
import { grangerVar } from '../baselines/granger-var.js';
import { simulate } from '../src/data/simulate.js';
import { medianMs } from './bench-util.js';

const datasets = {
  releaseLike: simulate({ preset: 'release-like', seed: 0, shops: 300 }),
  funnel20: simulate({ preset: 'funnel-20', seed: 0, shops: 100 }),
};
const result: Record<string, number | string> = { bench: 'granger-var', node: process.version };
for (const [name, panel] of Object.entries(datasets)) {
  for (const test of ['conditional', 'pairwise'] as const) {
    const options = grangerVar.options.parse({ lag: 2, test });
    const ms = await medianMs(() => grangerVar.run({ panel, horizon: 0, seed: 0 }, options));
    const perShopMs = Math.round((ms / panel.shops) * 1000) / 1000;
    console.log(`${name} ${test}: ${ms} ms for ${panel.shops} shops, ${perShopMs} ms per shop`);
    result[`${name}_${test}_msPerShop`] = perShopMs;
  }
}
console.log(JSON.stringify(result));
