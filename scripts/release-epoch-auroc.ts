/**
 * CausalMMM on the authors' released arrays, AUROC after every epoch: trains on 240 shops of a
 * seeded shuffle and scores the graphs of the other 60 (all pairs, and `auroc_varying`: the
 * pairs whose truth differs between shops), and the Granger VAR(2)'s on the same shops, with the
 * released settings at H = 64 (B = 1, data as released; `hidden` 256 is the authors' own size).
 * `encoderEpochs` > 0 freezes the encoder after that many epochs.
 * Usage: npx tsx scripts/release-epoch-auroc.ts [epochs=4] [encoderEpochs=0] [seed=0] [hidden=64]
 */
import path from 'node:path';
import { grangerVar } from '../baselines/granger-var.js';
import { initBackend } from '../src/backend.js';
import { causalmmm } from '../src/causalmmm/method.js';
import { edgeProbabilities, prepareSeries, trainCausalmmm } from '../src/causalmmm/train.js';
import { readCausalmmmRelease } from '../src/data/npy-dir.js';
import { graphMetrics } from '../src/metrics/graph.js';
import { Rng } from '../src/rng.js';

await initBackend('auto');
const [epochs, encoderEpochs, seed, hidden] = [2, 3, 4, 5].map((k, i) =>
  Number(process.argv[k] ?? [4, 0, 0, 64][i]),
);
const panel = readCausalmmmRelease(path.resolve('../shared/datasets/causalmmm-release'));
const order = new Rng(`split${seed}`).shuffle(Array.from({ length: panel.shops }, (_, s) => s));
const train = panel.selectShops(order.slice(0, 240));
const scored = panel.selectShops(order.slice(240));
const options = causalmmm.options.parse({
  hidden,
  batchSize: 1,
  scale: 'none',
  epochs,
  encoderEpochs,
  patience: 0,
  valFraction: 0,
});
const scoredSeries = prepareSeries(scored, 'none');
const truths = Array.from({ length: scored.shops }, (_, s) => scored.trueGraph(s)!);
const result = trainCausalmmm(
  prepareSeries(train, 'none'),
  options,
  seed,
  { targetIndex: panel.targetIndex, channelIndices: panel.channelIndices },
  (report, model) => {
    const m = graphMetrics(truths, edgeProbabilities(model, scoredSeries), undefined, panel.nodeCount);
    console.log(
      `H ${hidden} encoderEpochs ${encoderEpochs} seed ${seed} epoch ${report.epoch}: auroc ${m.auroc.toFixed(3)}, auroc_varying ${m.auroc_varying?.toFixed(3)}, training mse ${report.mse.toExponential(2)} (${report.seconds.toFixed(0)} s)`,
    );
  },
);
result.model.dispose();
// The Granger VAR(2) F-test on the same 60 scored shops, for a per-seed comparison.
const granger = await grangerVar.run(
  { panel: scored, horizon: 0, seed },
  grangerVar.options.parse({ lag: 2 }),
);
const g = graphMetrics(truths, granger.graphScores!, undefined, panel.nodeCount);
console.log(
  `granger-var lag 2, same scored shops: auroc ${g.auroc.toFixed(3)}, auroc_varying ${g.auroc_varying?.toFixed(3)}`,
);
