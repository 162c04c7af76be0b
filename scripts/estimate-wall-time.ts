/**
 * Estimates a config's full wall time from shrunk runs of it (experiments/estimate.ts says how).
 * Usage: npx tsx scripts/estimate-wall-time.ts <config.yaml> <run dir …> [--cores n]
 * e.g. after `causalmmm run configs/paper/ablation.yaml --seeds 1 --max-shops 5 --out /tmp/a5`
 * and the same with `--max-shops 20 --out /tmp/a20`: `… configs/paper/ablation.yaml /tmp/a5 /tmp/a20`.
 * A run folder of the config itself (e.g. results/paper-structure of a run under way) works too:
 * its finished cells price the unfinished seeds, and the line adds what is left to run.
 * Prints one line per config: cells, unmeasured cells, CPU hours, wall hours on the cores, the
 * costliest rows and, for a partial run, the cells done and the CPU hours to go.
 */
import { loadExperimentConfig } from '../experiments/config.js';
import { estimateWallTime, readRunCells, timedCells } from '../experiments/estimate.js';

const args = process.argv.slice(2);
const coresAt = args.indexOf('--cores');
const cores = coresAt >= 0 ? Number(args.splice(coresAt, 2)[1]) : 2;
const [configFile, ...dirs] = args;
if (!configFile || dirs.length === 0 || !(cores >= 1)) {
  console.error('usage: npx tsx scripts/estimate-wall-time.ts <config.yaml> <run dir …> [--cores n]');
  process.exit(2);
}
const config = loadExperimentConfig(configFile);
const runs = dirs.map(readRunCells).filter((run) => run.experiment === config.experiment);
const estimate = estimateWallTime(config, timedCells(config, runs), cores);
const hours = (s: number) => (s / 3600).toFixed(2);
const top = estimate.byLabel
  .slice(0, 3)
  .map(([label, s]) => `${label} ${hours(s)} h`)
  .join(', ');
const remaining =
  estimate.doneCells > 0
    ? `; ${estimate.doneCells} done, ${hours(estimate.remainingCpuSeconds)} CPU h to go (${hours(estimate.remainingCpuSeconds / cores)} h on ${cores} cores)`
    : '';
console.log(
  `${configFile}: ${estimate.cells} cells (${estimate.unmeasured} unmeasured), ${hours(estimate.cpuSeconds)} CPU h, ${hours(estimate.wallSeconds)} h on ${cores} cores, longest cell ${Math.round(estimate.longestCell)} s; costliest: ${top}${remaining}`,
);
