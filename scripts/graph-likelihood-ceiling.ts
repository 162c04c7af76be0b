/**
 * Which graph does CausalMMM's objective itself prefer on a dataset? Trains one free edge
 * logit per shop and pair together with the decoder (`fitShopLogits`: no encoder, so nothing
 * about amortisation) and scores the logits against the true graphs every 100 steps. An
 * encoder trained on the same ELBO is bounded by what these logits reach: if they rank the
 * true edges low, the objective, not the encoder, is what fails on that data.
 * Usage: npx tsx scripts/graph-likelihood-ceiling.ts [--data release|release-like|var]
 *          [--shops 20] [--steps 400] [--seed 0] [--options '{"decoder":"markov"}']
 * Decoder options default to the structure configuration's (own-lags messages, tanh, H = 32,
 * one-step targets); `--options` overrides them. Last line: one JSON object.
 */
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend.js';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { fitShopLogits } from '../src/causalmmm/shop-logits.js';
import { readCausalmmmRelease } from '../src/data/npy-dir.js';
import type { Panel } from '../src/data/panel.js';
import { simulate } from '../src/data/simulate.js';
import { graphMetrics } from '../src/metrics/graph.js';
import { zodErrorLine } from '../src/validation.js';

const args = yargs(hideBin(process.argv))
  .option('data', { choices: ['release', 'release-like', 'var'] as const, default: 'release' as const })
  .option('shops', { type: 'number', default: 20 })
  .option('steps', { type: 'number', default: 400 })
  .option('seed', { type: 'number', default: 0 })
  .option('options', { type: 'string', default: '{}', describe: 'CausalMMM options as JSON' })
  .strict()
  .fail((message) => {
    console.error(`graph-likelihood-ceiling: ${message}`);
    process.exit(2);
  })
  .parseSync();

let extra: unknown;
try {
  extra = JSON.parse(args.options);
} catch {
  console.error(`graph-likelihood-ceiling: --options is not JSON: ${args.options}`);
  process.exit(2);
}
const parsed = causalmmmOptions.safeParse({
  hidden: 32,
  messages: 'own-lags',
  candidate: 'tanh',
  predictSteps: 1,
  ...(args.data === 'release' ? { scale: 'none' } : {}),
  ...(extra as object),
});
if (!parsed.success) {
  console.error(zodErrorLine('graph-likelihood-ceiling: --options', parsed.error));
  process.exit(2);
}
const options = parsed.data;

const shopIndices = Array.from({ length: args.shops }, (_, s) => s);
const panel: Panel =
  args.data === 'release'
    ? readCausalmmmRelease(path.resolve('../shared/datasets/causalmmm-release')).selectShops(shopIndices)
    : args.data === 'var'
      ? simulate({ preset: 'var', seed: args.seed, shops: args.shops, p: 5, steps: 300, sparsity: 0.4 })
      : simulate({ preset: 'release-like', seed: args.seed, shops: args.shops });
const truth = shopIndices.map((s) => panel.trueGraph(s)!);
const N = panel.nodeCount;

await initBackend('auto');
const score = (logits: Float32Array[]) => graphMetrics(truth, logits, undefined, N);
const format = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(3));
const logits = fitShopLogits(
  panel,
  options,
  { steps: args.steps, batchSize: 16, window: 40, learningRate: 5e-3, edgeRate: 10, seed: args.seed },
  (step, current, loss) => {
    const m = score(current);
    console.log(
      `step ${step}: loss ${loss.toFixed(4)}, auroc ${format(m.auroc)}, auroc_varying ${format(m.auroc_varying)}`,
    );
  },
);
// Mean logit per (receiver, sender): shows whether the preference is per pair or per receiver.
const mean = Array.from({ length: N }, (_, i) =>
  Array.from({ length: N }, (_, j) =>
    i === j ? 0 : logits.reduce((a, l) => a + l[i * N + j], 0) / logits.length,
  ),
);
console.log('mean logit over shops (row i = effect, column j = cause):');
for (const row of mean) console.log(row.map((v) => v.toFixed(1).padStart(6)).join(''));
const final = score(logits);
console.log(
  JSON.stringify({
    data: args.data,
    shops: args.shops,
    steps: args.steps,
    seed: args.seed,
    backend: (await import('@tensorflow/tfjs')).getBackend(),
    auroc: final.auroc,
    auroc_varying: final.auroc_varying,
    auroc_pooled: final.auroc_pooled,
  }),
);
