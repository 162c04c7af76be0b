/**
 * CausalMMM on the authors' released arrays, AUROC after every epoch: trains on 240 shops of a
 * seeded shuffle and scores the graphs of the other 60 (all pairs, and `auroc_varying`: the
 * pairs whose truth differs between shops), with the released settings at H = 64 (B = 1, data
 * as released). `encoderEpochs` > 0 freezes the encoder after that many epochs.
 * Usage: npx tsx scripts/release-epoch-auroc.ts [epochs=4] [encoderEpochs=0] [seed=0]
 */
import path from 'node:path';
import { initBackend } from '../src/backend.js';
import { causalmmm } from '../src/causalmmm/method.js';
import { edgeProbabilities, prepareSeries, trainCausalmmm } from '../src/causalmmm/train.js';
import { readCausalmmmRelease } from '../src/data/npy-dir.js';
import { graphMetrics } from '../src/metrics/graph.js';
import { Rng } from '../src/rng.js';

await initBackend('auto');
const [epochs, encoderEpochs, seed] = [2, 3, 4].map((k, i) => Number(process.argv[k] ?? [4, 0, 0][i]));
const panel = readCausalmmmRelease(path.resolve('../shared/datasets/causalmmm-release'));
const order = new Rng(`split${seed}`).shuffle(Array.from({ length: panel.shops }, (_, s) => s));
const train = panel.selectShops(order.slice(0, 240));
const scored = panel.selectShops(order.slice(240));
const options = causalmmm.options.parse({
  hidden: 64,
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
      `encoderEpochs ${encoderEpochs} seed ${seed} epoch ${report.epoch}: auroc ${m.auroc.toFixed(3)}, auroc_varying ${m.auroc_varying?.toFixed(3)}, training mse ${report.mse.toExponential(2)} (${report.seconds.toFixed(0)} s)`,
    );
  },
);
result.model.dispose();
