/**
 * `graphAverage: last` against `epochs` from one training: for a CausalMMM (or NRI) row of an
 * experiment config, trains each (dataset, seed) cell once with `graphAverage: epochs` and scores
 * both the kept encoder's graph (what `last` reports) and the average over the epoch snapshots,
 * on the cell's own scored shops (`graphShops`), as the runner would. The two settings train
 * identically, so one training answers for both; the runner would train twice.
 * Also scores each snapshot's own graph and the mean without the first b snapshots (a burn-in).
 * Usage: npx tsx scripts/graph-average-compare.ts <config> <label> [seeds=0,1,2] [datasets=all]
 * Prints three lines per cell and a last line of JSON.
 */
import { loadExperimentConfig } from '../experiments/config.js';
import { DatasetCache, datasetName } from '../experiments/datasets.js';
import { evaluationSettings, forecastProtocol } from '../experiments/protocol.js';
import { expandMethodSpec } from '../experiments/runner.js';
import { type BackendChoice, initBackend } from '../src/backend.js';
import { trainOnInput } from '../src/causalmmm/method.js';
import type { CausalmmmOptions } from '../src/causalmmm/options.js';
import { averagedEdgeProbabilities, disposeTrainResult, edgeProbabilities } from '../src/causalmmm/train.js';
import { graphMetrics } from '../src/metrics/graph.js';

const [file, label, seedList = '0,1,2', datasetList] = process.argv.slice(2);
if (!file || !label) throw new Error('usage: graph-average-compare.ts <config> <label> [seeds] [datasets]');
const config = loadExperimentConfig(file);
await initBackend(config.backend as BackendChoice);
const variant = config.methods.flatMap(expandMethodSpec).find((v) => v.label === label);
if (!variant) throw new Error(`${file}: no method row labelled ${label}`);
const options = { ...variant.options, graphAverage: 'epochs' } as CausalmmmOptions;
const seeds = seedList.split(',').map(Number);
const wanted = datasetList?.split(',');
const data = new DatasetCache(config.datasets, config.baseDir, config.datasets.length + 1);
const rows: Record<string, unknown>[] = [];
for (const seed of seeds) {
  for (const [d, spec] of config.datasets.entries()) {
    const name = datasetName(spec);
    if (wanted && !wanted.includes(name)) continue;
    const panel = data.get(d, seed);
    const [setting] = evaluationSettings(
      variant.method,
      panel,
      forecastProtocol(config),
      seed,
      config.graphShops,
    );
    const started = performance.now();
    const { trained, scored } = trainOnInput(setting.input, options);
    try {
      const truths = Array.from({ length: setting.scored.shops }, (_, s) => setting.scored.trueGraph(s)!);
      const score = (p: Float64Array[]) => graphMetrics(truths, p, undefined, panel.nodeCount);
      const last = score(edgeProbabilities(trained.model, scored, seed));
      const snapshots = trained.snapshots;
      const average = score(averagedEdgeProbabilities(trained.model, snapshots, scored));
      // Each snapshot's own graph, and the mean without the first `burnIn` snapshots.
      const perSnapshot = snapshots.map(
        (state) => score(averagedEdgeProbabilities(trained.model, [state], scored)).auroc,
      );
      const burnIns = [
        ...new Set([1, 2, Math.floor(snapshots.length / 4), Math.floor(snapshots.length / 2)]),
      ];
      const burnIn = Object.fromEntries(
        burnIns
          .filter((b) => b > 0 && b < snapshots.length)
          .map((b) => [b, score(averagedEdgeProbabilities(trained.model, snapshots.slice(b), scored)).auroc]),
      );
      const row = {
        dataset: name,
        seed,
        bestEpoch: trained.bestEpoch,
        snapshots: trained.snapshots.length,
        last: { auroc: last.auroc, auprc: last.auprc, auroc_varying: last.auroc_varying },
        average: { auroc: average.auroc, auprc: average.auprc, auroc_varying: average.auroc_varying },
        perSnapshot,
        burnIn,
        seconds: (performance.now() - started) / 1000,
      };
      rows.push(row);
      const fixed = (xs: number[]) => xs.map((x) => x.toFixed(3)).join(' ');
      console.log(`  per snapshot: ${fixed(perSnapshot)}`);
      console.log(
        `  mean without the first b: ${Object.entries(burnIn)
          .map(([b, auroc]) => `b=${b} ${auroc.toFixed(3)}`)
          .join(', ')}`,
      );
      console.log(
        `${name} seed ${seed} (${row.snapshots} snapshots, kept epoch ${row.bestEpoch}): AUROC last ${last.auroc.toFixed(3)} -> average ${average.auroc.toFixed(3)}; AUPRC ${last.auprc.toFixed(3)} -> ${average.auprc.toFixed(3)}; auroc_varying ${last.auroc_varying?.toFixed(3)} -> ${average.auroc_varying?.toFixed(3)} (${row.seconds.toFixed(0)} s)`,
      );
    } finally {
      disposeTrainResult(trained);
    }
  }
}
console.log(JSON.stringify({ config: file, label, rows }));
