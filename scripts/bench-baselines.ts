/**
 * Seconds per shop of the causal-discovery baselines under the settings of
 * configs/baselines-structure.yaml, on release-like (N = 8, T = 100) and Lorenz-96 (N = 10,
 * T = 1000): median of `runs` runs (default 3) after a warm-up run. Prints one line per case,
 * then one JSON object as the last line.
 * Usage: npx tsx scripts/bench-baselines.ts [runs] [method …]
 */

import { loadExperimentConfig } from '../experiments/config.js';
import { initBackend } from '../src/backend.js';
import { simulate } from '../src/data/simulate.js';
import { getMethod } from '../src/methods/registry.js';
import { medianMs } from './bench-util.js';

const [runsArg, ...only] = process.argv.slice(2);
const runs = Number(runsArg ?? 3);
const backend = await initBackend('auto');
const config = loadExperimentConfig(new URL('../configs/baselines-structure.yaml', import.meta.url).pathname);
const datasets = {
  releaseLike: simulate({ preset: 'release-like', seed: 0, shops: 4 }),
  lorenz96: simulate({ preset: 'lorenz96', seed: 0, shops: 1 }),
};
const result: Record<string, number | string> = { bench: 'baselines', node: process.version, backend };
for (const spec of config.methods) {
  if (only.length > 0 && !only.includes(spec.method)) continue;
  const method = getMethod(spec.method);
  const options = method.options.parse(spec.options);
  const label = spec.label ?? spec.method;
  for (const [name, panel] of Object.entries(datasets)) {
    const ms = await medianMs(() => method.run({ panel, horizon: 0, seed: 0 }, options), runs);
    const perShop = Math.round(ms / panel.shops) / 1000;
    console.log(`${label} ${name}: ${perShop} s per shop (median of ${runs})`);
    result[`${label}_${name}_sPerShop`] = perShop;
  }
}
console.log(JSON.stringify(result));
