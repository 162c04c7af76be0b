/**
 * Wall time of `causalmmm fit` on an advertiser-sized panel: S shops × T days × 15 nodes
 * (10 channels, 4 KPIs, GMV) simulated by the funnel simulator, written as a panel CSV and
 * fitted through the command's own code (CSV reading, training, graphs, forecasts,
 * contributions, response curves, files). Training runs `--epochs` epochs; the per-epoch
 * time is also reported, so a full training budget can be extrapolated (time per epoch is
 * linear in the shop count: README, CausalMMM speed).
 *
 *   npx tsx scripts/bench-fit.ts [--shops 1000] [--steps 365] [--epochs 2] [--hidden 16]
 *     [--trainWindow 60] [--window 90] [--points 9] [--method causalmmm | granger-var] [--lag 2]
 *
 * `--method granger-var` fits the per-shop VAR (`--lag`) instead; it has no epochs.
 *
 * Prints one line per phase and a final JSON line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePanelCsv } from '../src/data/csv.js';
import { simulate } from '../src/data/simulate.js';
import { runFit } from '../src/fit/command.js';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const shops = flag('shops', 1000);
const steps = flag('steps', 365);
const epochs = flag('epochs', 2);
const hidden = flag('hidden', 16);
const trainWindow = flag('trainWindow', 60);
const window = flag('window', 90);
const points = flag('points', 9);
const lag = flag('lag', 2);
const methodAt = process.argv.indexOf('--method');
const method = methodAt >= 0 ? process.argv[methodAt + 1] : 'causalmmm';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-fit-'));
try {
  let started = performance.now();
  const panel = simulate({ preset: 'funnel-12', seed: 0, shops, steps, channels: 10, kpis: 4 });
  const csv = path.join(dir, 'panel.csv');
  const schema = path.join(dir, 'panel.schema.json');
  writePanelCsv(panel, csv, schema);
  console.log(
    `simulate + write CSV (${shops} × ${steps} × ${panel.nodeCount}): ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const config = path.join(dir, 'fit.yaml');
  writeFileSync(
    config,
    `seed: 0\nhorizon: 14\nwarmup: 28\ncontributionWindow: ${window}\ncurve: { points: ${points} }\noptions: ${
      method === 'granger-var'
        ? `{ lag: ${lag} }`
        : `{ hidden: ${hidden}, epochs: ${epochs}, batchSize: 16, learningRate: 0.005, patience: 0, trainWindow: ${trainWindow} }`
    }\n`,
  );
  const phases: Record<string, number> = {};
  const epochSeconds: number[] = [];
  started = performance.now();
  await runFit({
    data: csv,
    schema,
    method,
    config,
    out: path.join(dir, 'out'),
    log: (line) => {
      console.log(line);
      const epoch = /^epoch \d+\/\d+: .*\(([\d.]+) s\)$/.exec(line);
      if (epoch) epochSeconds.push(Number(epoch[1]));
      const phase = /^([^:]+): ([\d.]+) s$/.exec(line);
      if (phase) phases[phase[1].startsWith('read ') ? 'read CSV' : phase[1]] = Number(phase[2]);
    },
  });
  const total = (performance.now() - started) / 1000;
  const trainingSeconds = epochSeconds.reduce((a, b) => a + b, 0);
  const perEpoch = epochSeconds.length > 0 ? trainingSeconds / epochSeconds.length : 0;
  const analyses = ['graphs', 'forecasts', 'contributions', 'response curves'].reduce(
    (a, name) => a + (phases[name] ?? 0),
    0,
  );
  console.log(
    JSON.stringify({
      method,
      shops,
      steps,
      nodes: panel.nodeCount,
      ...(method === 'granger-var' ? { lag } : { hidden, trainWindow, epochs }),
      totalSeconds: Math.round(total),
      secondsPerEpoch: Math.round(perEpoch * 10) / 10,
      phases,
      /** Everything but training, plus 30 epochs at the measured rate. */
      extrapolated30EpochsSeconds: Math.round(total - trainingSeconds + 30 * perEpoch),
      analysesSeconds: Math.round(analyses),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
