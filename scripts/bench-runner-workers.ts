/**
 * Wall time of `causalmmm run <config>` with 1 worker and with 2 (the default mixed start, and
 * --no-local-start), each into a fresh output folder so nothing is resumed. Runs are interleaved
 * so that a change in the machine's load hits every setting alike. Prints each run, then the
 * medians and the speed-ups over 1 worker, then one JSON object as the last line.
 *
 * Usage: npx tsx scripts/bench-runner-workers.ts [config, default configs/quick.yaml] [--runs 5]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' } },
  allowPositionals: true,
});
const config = positionals[0] ?? 'configs/quick.yaml';
const settings: Record<string, string[]> = {
  'workers=1': ['--workers', '1'],
  'workers=2': ['--workers', '2'],
  'workers=2 --no-local-start': ['--workers', '2', '--no-local-start'],
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(settings).map((k) => [k, []]));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-workers-'));
for (let run = 1; run <= Number(values.runs); run++) {
  for (const [name, flags] of Object.entries(settings)) {
    const out = path.join(scratch, `${run}-${name.replace(/\W+/g, '_')}`);
    const started = performance.now();
    const r = spawnSync(process.execPath, ['bin/causalmmm.js', 'run', config, '--out', out, ...flags], {
      cwd: repoRoot,
      env: { ...process.env, CI: 'true' },
      encoding: 'utf8',
    });
    const seconds = (performance.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
    times[name].push(seconds);
    console.log(`run ${run} ${name}: ${seconds.toFixed(2)} s`);
  }
}
rmSync(scratch, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result: Record<string, number | string> = { bench: 'runner-workers', config, cores: os.cpus().length };
const base = median(times['workers=1']);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`${name}: median ${m.toFixed(2)} s, speed-up over 1 worker ${(base / m).toFixed(2)}×`);
  result[`${name} median s`] = Math.round(m * 100) / 100;
  result[`${name} speed-up`] = Math.round((base / m) * 100) / 100;
}
console.log(JSON.stringify(result));
