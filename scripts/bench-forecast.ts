/**
 * Times every forecaster per shop on release-like (N = 8, T = 100, horizon 10, future spends
 * known) at the default options: median of 5 runs after a warm-up (3 for the tfjs models,
 * whose training dominates), on `--shops` shops (default 40, as configs/forecast.yaml).
 * Prints one line per method, then one JSON object as the last line.
 * Usage: npx tsx scripts/bench-forecast.ts [--shops 40] [--methods lstm,btvc]
 */
import { parseArgs } from 'node:util';
import { channelValues } from '../experiments/protocol.js';
import { initBackend } from '../src/backend.js';
import { simulate } from '../src/data/simulate.js';
import { METHODS } from '../src/methods/registry.js';
import { medianMs } from './bench-util.js';

const { values: args } = parseArgs({
  options: { shops: { type: 'string', default: '40' }, methods: { type: 'string' } },
});
const backend = await initBackend('auto');
const shops = Number(args.shops);
const panel = simulate({ preset: 'release-like', seed: 0, shops });
const horizon = 10;
const { history, future } = panel.splitTime(horizon);
const input = { panel: history, horizon, seed: 0, futureChannels: channelValues(future) };
const wanted = args.methods?.split(',');
const result: Record<string, number | string> = { bench: 'forecast', node: process.version, backend, shops };
for (const method of METHODS.filter((m) => m.produces.includes('forecast'))) {
  if (wanted && !wanted.includes(method.name)) continue;
  const options = method.options.parse({});
  const runs = ['lstm', 'wide-deep'].includes(method.name) ? 3 : 5;
  const ms = await medianMs(() => method.run(input, options), runs);
  const perShop = Number((ms / 1000 / shops).toPrecision(3));
  console.log(`${method.name}: ${ms} ms for ${shops} shops, ${perShop} s per shop (median of ${runs})`);
  result[`${method.name}_secondsPerShop`] = perShop;
}
console.log(JSON.stringify(result));
