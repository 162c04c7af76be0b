/** Shared data and checks of the causal-discovery baseline tests (known answers, determinism, options). */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { z } from 'zod';
import { scoreOutput } from '../experiments/runner.js';
import type { Panel } from '../src/data/panel.js';
import { simulate } from '../src/data/simulate.js';
import type { Method } from '../src/methods/method.js';

/** A 5-series sparse VAR(3), 3 shops sharing the graph, T = 300: a linear known answer. */
export const easyVar = simulate({ preset: 'var', seed: 5, shops: 3, p: 5, steps: 300, sparsity: 0.4 });
/** A small Lorenz-96 (p = 8, F = 10, T = 400): a non-linear known answer. */
export const smallLorenz = simulate({ preset: 'lorenz96', seed: 1, shops: 1, p: 8, steps: 400 });

/** Runs `method` with `options` (merged over its defaults) and returns the output and mean per-shop AUROC. */
export async function runScored(method: Method, panel: Panel, options: Record<string, unknown>, seed = 0) {
  const output = await method.run({ panel, horizon: 0, seed }, method.options.parse(options));
  const { metrics } = scoreOutput(output, panel, undefined, [1]);
  return { output, auroc: metrics.auroc };
}

/** Same seed ⇒ identical output, and tfjs holds no more tensors afterwards than before. */
export async function expectDeterministicAndTidy(
  method: Method,
  panel: Panel,
  options: Record<string, unknown>,
) {
  const before = tf.memory().numTensors;
  const a = await method.run({ panel, horizon: 0, seed: 7 }, method.options.parse(options));
  const b = await method.run({ panel, horizon: 0, seed: 7 }, method.options.parse(options));
  expect(a).toEqual(b);
  expect(tf.memory().numTensors).toBe(before);
}

/** Every bad option object fails to parse with an issue naming its (first) key. */
export function expectBadOptions(schema: z.ZodType, cases: Record<string, unknown>[]) {
  for (const bad of cases) {
    const parsed = schema.safeParse(bad);
    expect(parsed.success, JSON.stringify(bad)).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain(Object.keys(bad)[0]);
  }
}

export { useBackend } from './helpers.js';
