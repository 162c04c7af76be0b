/**
 * What a graph score that never reads a shop's series reaches on a multi-shop dataset with
 * per-shop true graphs — the floor any causal-discovery AUROC on it should be read against:
 *  - `roles`: 1 for every pair whose effect is not a channel, 0 for pairs into a channel
 *    (channels are set by the advertiser, so nothing causes them);
 *  - `population`: each pair's edge frequency over the first 80 % of the shops (training
 *    shops), scored on the other 20 %;
 *  - `lookup`: the true graph of a training shop with the very same series, where there is one.
 * It prints how many of the shops' series are distinct (a shop whose series repeats a training
 * shop's exactly is not held out from a method that reads only series), then per-shop AUROC
 * (all pairs, and `auroc_varying`: only the pairs whose true edge differs between shops) on the
 * held-out shops, then one JSON object as the last line.
 * Usage: npx tsx scripts/graph-reference-scores.ts [release-dir]
 *        (default ../shared/datasets/causalmmm-release)
 */
import path from 'node:path';
import { readCausalmmmRelease } from '../src/data/npy-dir.js';
import { graphMetrics } from '../src/metrics/graph.js';

const dir = path.resolve(process.argv[2] ?? '../shared/datasets/causalmmm-release');
const panel = readCausalmmmRelease(dir);
const { shops: S, nodeCount: N } = panel;
const trainCount = Math.round(0.8 * S);
const truth = (s: number) => panel.trueGraph(s)!;

const roles = new Float64Array(N * N);
const channels = new Set(panel.channelIndices);
for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) if (i !== j && !channels.has(i)) roles[i * N + j] = 1;

const population = new Float64Array(N * N);
for (let s = 0; s < trainCount; s++) {
  const t = truth(s);
  for (let k = 0; k < N * N; k++) population[k] += t[k] / trainCount;
}

const heldOut = Array.from({ length: S - trainCount }, (_, b) => truth(trainCount + b));
const result: Record<string, number | string> = { dataset: path.basename(dir), heldOutShops: heldOut.length };

// Shops whose whole series (every node, every step) is identical are one shop for a method
// that reads only the series: count them, and the held-out shops a training shop duplicates.
const width = N * panel.steps;
const seriesKey = (s: number) =>
  Buffer.from(panel.values.buffer, panel.values.byteOffset + s * width * 4, width * 4).toString('base64');
const trainingSeries = new Set(Array.from({ length: trainCount }, (_, s) => seriesKey(s)));
const distinct = new Set(Array.from({ length: S }, (_, s) => seriesKey(s))).size;
const duplicated = heldOut.filter((_, b) => trainingSeries.has(seriesKey(trainCount + b))).length;
const distinctGraphs = new Set(Array.from({ length: S }, (_, s) => truth(s).join(''))).size;
console.log(
  `${S} shops: ${distinct} distinct series, ${distinctGraphs} distinct true graphs; ${duplicated} of ${heldOut.length} held-out shops repeat a training shop's series exactly`,
);
Object.assign(result, { distinctSeries: distinct, distinctGraphs, heldOutDuplicated: duplicated });
// `lookup`: the true graph of the training shop whose series is the held-out shop's (the
// population score where none is): what an encoder that memorised its training shops reaches.
const trainingGraph = new Map(
  Array.from({ length: trainCount }, (_, s) => [seriesKey(s), truth(s)] as const),
);
const lookup = heldOut.map((_, b) => trainingGraph.get(seriesKey(trainCount + b)) ?? population);
for (const [name, perShop] of Object.entries({
  roles: heldOut.map(() => roles),
  population: heldOut.map(() => population),
  lookup,
})) {
  const m = graphMetrics(heldOut, perShop, undefined, N);
  console.log(`${name}: auroc ${m.auroc.toFixed(3)}, auroc_varying ${m.auroc_varying.toFixed(3)}`);
  result[`${name}Auroc`] = Number(m.auroc.toFixed(4));
  result[`${name}AurocVarying`] = Number(m.auroc_varying.toFixed(4));
}
console.log(JSON.stringify(result));
