/** Shared test scaffolding: where the repo and ../shared are, temp folders, user-error checks, the CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { initBackend } from '../src/backend.js';
import { UserError } from '../src/errors.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The workplace's shared data, beside the checkout; tests that need it skip where it is absent. */
export const shared = path.resolve(repoRoot, '../shared');

/** Runs the `causalmmm` CLI (bin/causalmmm.js) in `cwd` and returns its exit code and output. */
export function cli(args: string[], cwd = repoRoot) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/causalmmm.js'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Returns a maker of temp folders that the calling test file removes after its tests
 * (call it at the top level of the file, where `afterAll` registers).
 */
export function useTempDirs(): (prefix: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** Asserts that `fn` throws a UserError whose message contains every one of `parts`. */
export function expectUserError(fn: () => unknown, ...parts: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  for (const part of parts) expect((caught as Error).message).toContain(part);
}

/** Initialises tfjs as the runner does (`auto`: wasm here) before the calling file's tests. */
export function useBackend(): void {
  beforeAll(async () => {
    await initBackend('auto');
  });
}

/**
 * A small experiment grid for runner tests: two seeds × (a simulated VAR, 3 NetSim subjects) ×
 * (Granger at lags 1 and 2, and a lag too long for the data, whose cells fail).
 */
export function smallGridYaml(experiment: string): string {
  return `
experiment: ${experiment}
seeds: [0, 1]
backend: cpu
horizon: 5
horizons: [1, 3]
datasets:
  - name: var-small
    kind: simulate
    simulate: { preset: var, shops: 2, steps: 200 }
  - name: netsim
    kind: npy
    path: ../datasets/netsim-sim3
    shops: 3
methods:
  - method: granger-var
    grid: { lag: [1, 2] }
  - method: granger-var
    label: too-long-lag
    options: { lag: 90 }
`;
}
