import { initBackend } from '../src/backend.js';
import { simulate } from '../src/data/simulate.js';
import { METHODS } from '../src/methods/registry.js';
import { forecastMetrics } from '../src/metrics/forecast.js';
import { channelValues } from '../experiments/protocol.js';
console.log(await initBackend('auto'));
const preset = (process.argv[2] ?? 'release-like') as 'release-like';
const panel = simulate({ preset, seed: 0, shops: Number(process.argv[3] ?? 100) });
const H = 10;
const { history, future } = panel.splitTime(H);
const only = process.argv[4]?.split(',');
for (const known of [false, true]) for (const m of METHODS) {
  if (only && !only.includes(m.name)) continue;
  const t0 = performance.now();
  const out = await m.run({ panel: history, horizon: H, seed: 0, futureChannels: known ? channelValues(future) : undefined }, m.options.parse({}));
  const sec = (performance.now() - t0) / 1000;
  const met = forecastMetrics(future.values, out.forecasts!, panel.shops, panel.nodeCount, H, panel.targetIndex, [1, 3, 7, 10]);
  console.log(known ? 'known  ' : 'unknown', m.name.padEnd(15), ['mse@1','mse@3','mse@7','mse@10','mse'].map(k=>met[k].toFixed(4)).join(' '), sec.toFixed(1)+'s', JSON.stringify(out.info ?? {}));
}
