import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { grangerShop, grangerVar, grangerVarOptions } from '../baselines/granger-var.js';
import { Panel } from '../src/data/panel.js';
import { UserError } from '../src/errors.js';
import { graphMetrics } from '../src/metrics/graph.js';
import { Rng } from '../src/rng.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.join(here, 'fixtures/granger-statsmodels.json'), 'utf8')) as {
  series_time_by_variable: number[][];
  lag: number;
  conditional: { F: (number | null)[][]; p: (number | null)[][]; df: [number, number] };
  pairwise: { F: (number | null)[][]; p: (number | null)[][] };
};
const fxT = fixture.series_time_by_variable.length;
const fxN = fixture.series_time_by_variable[0].length;
/** The fixture's T × N series transposed to node-major N × T. */
const fxValues = new Float64Array(fxN * fxT);
for (let t = 0; t < fxT; t++)
  for (let n = 0; n < fxN; n++) fxValues[n * fxT + t] = fixture.series_time_by_variable[t][n];

const parse = (options: Record<string, unknown> = {}) =>
  grangerVarOptions.parse({ ...grangerVar.testConfig, ...options });
const relative = (a: number, b: number) => Math.abs(a / b - 1);

function worstErrors(kind: 'conditional' | 'pairwise', standardize: boolean) {
  const result = grangerShop(fxValues, fxN, fxT, { lag: fixture.lag, test: kind, ridge: 0, standardize });
  let F = 0;
  let p = 0;
  for (let i = 0; i < fxN; i++) {
    for (let j = 0; j < fxN; j++) {
      if (i === j) continue;
      F = Math.max(F, relative(result.F[i * fxN + j], fixture[kind].F[i][j]!));
      p = Math.max(p, relative(10 ** result.log10p[i * fxN + j], fixture[kind].p[i][j]!));
    }
  }
  return { F, p, result };
}

describe('granger-var vs statsmodels', () => {
  for (const standardize of [true, false]) {
    it(`conditional test matches VAR.test_causality (standardize ${standardize})`, () => {
      const { F, p, result } = worstErrors('conditional', standardize);
      expect([result.dfNum, result.dfDen]).toEqual(fixture.conditional.df);
      expect(F).toBeLessThan(1e-6);
      expect(p).toBeLessThan(1e-6);
    });

    it(`pairwise test matches grangercausalitytests ssr_ftest (standardize ${standardize})`, () => {
      const { F, p, result } = worstErrors('pairwise', standardize);
      expect([result.dfNum, result.dfDen]).toEqual([fixture.lag, fxT - fixture.lag - 2 * fixture.lag - 1]);
      expect(F).toBeLessThan(1e-6);
      expect(p).toBeLessThan(1e-6);
    });
  }

  it('gives scores −log10 p through a one-shop Panel', async () => {
    const panel = new Panel({ shape: [1, fxN, fxT], values: Float32Array.from(fxValues), source: 'fixture' });
    const out = await grangerVar.run({ panel, horizon: 0, seed: 0 }, parse({ lag: fixture.lag }));
    const scores = out.graphScores![0];
    for (let i = 0; i < fxN; i++) {
      for (let j = 0; j < fxN; j++) {
        if (i === j) expect(scores[i * fxN + j]).toBe(0);
        // Float32 storage of the panel perturbs the statistics slightly.
        else
          expect(relative(scores[i * fxN + j], -Math.log10(fixture.conditional.p[i][j]!))).toBeLessThan(1e-5);
      }
    }
    expect(out.forecasts).toBeUndefined();
  });
});

/** A stable VAR(1) panel: x_t = A x_{t−1} + e_t with A = 0.5 I + the given edges (A[i][j] ⇔ j → i). */
function simulateVar(
  rng: Rng,
  shops: number,
  N: number,
  T: number,
  edges: [number, number, number][],
  noise = 1,
) {
  const A = new Float64Array(N * N);
  for (let i = 0; i < N; i++) A[i * N + i] = 0.5;
  const graph = new Uint8Array(N * N);
  for (const [cause, effect, w] of edges) {
    A[effect * N + cause] = w;
    graph[effect * N + cause] = 1;
  }
  const burn = 50;
  const values = new Float32Array(shops * N * T);
  for (let s = 0; s < shops; s++) {
    let x = new Float64Array(N);
    for (let t = -burn; t < T; t++) {
      const next = new Float64Array(N);
      for (let i = 0; i < N; i++) {
        next[i] = noise * rng.normal();
        for (let j = 0; j < N; j++) next[i] += A[i * N + j] * x[j];
      }
      x = next;
      if (t >= 0) for (let i = 0; i < N; i++) values[(s * N + i) * T + t] = x[i];
    }
  }
  return { panel: new Panel({ shape: [shops, N, T], values, graph, source: 'simulated VAR' }), A, graph };
}

const sparseEdges: [number, number, number][] = [
  [0, 1, 0.4],
  [0, 2, -0.4],
  [2, 3, 0.45],
  [1, 4, 0.4],
  [3, 4, -0.35],
];

describe('granger-var on a simulated VAR', () => {
  const { panel, A, graph } = simulateVar(new Rng('granger-known-answer'), 3, 5, 400, sparseEdges);

  for (const test of ['conditional', 'pairwise'] as const) {
    it(`recovers the sparse graph (${test})`, async () => {
      const out = await grangerVar.run({ panel, horizon: 0, seed: 0 }, parse({ test }));
      expect(out.graphScores).toHaveLength(3);
      const m = graphMetrics([graph, graph, graph], out.graphScores!, out.graphs, 5);
      expect(m.auroc).toBeGreaterThanOrEqual(0.95);
      if (test === 'conditional') expect(m.f1).toBeGreaterThanOrEqual(0.8);
      for (const scores of out.graphScores!) for (const v of scores) expect(Number.isFinite(v)).toBe(true);
    });
  }

  it('is deterministic', async () => {
    const a = await grangerVar.run({ panel, horizon: 3, seed: 0 }, parse());
    const b = await grangerVar.run({ panel, horizon: 3, seed: 1 }, parse());
    expect(a).toEqual(b);
  });

  it('forecasts with the fitted VAR rolled forward', async () => {
    const low = simulateVar(new Rng('granger-forecast'), 2, 5, 600, sparseEdges, 0.01);
    const out = await grangerVar.run({ panel: low.panel, horizon: 2, seed: 0 }, parse());
    const N = 5;
    const T = 600;
    expect(out.forecasts).toHaveLength(2 * N * 2);
    for (let s = 0; s < 2; s++) {
      const last = Array.from({ length: N }, (_, j) => low.panel.series(s, j)[T - 1]);
      const step1 = last.map((_, i) => last.reduce((sum, v, j) => sum + A[i * N + j] * v, 0));
      const step2 = step1.map((_, i) => step1.reduce((sum, v, j) => sum + A[i * N + j] * v, 0));
      for (let i = 0; i < N; i++) {
        expect(out.forecasts![(s * N + i) * 2]).toBeCloseTo(step1[i], 2);
        expect(out.forecasts![(s * N + i) * 2 + 1]).toBeCloseTo(step2[i], 2);
      }
    }
  });

  it('keeps every score finite with all-zero, constant and duplicated series', async () => {
    const rng = new Rng('granger-degenerate');
    const N = 5;
    const T = 120;
    const values = new Float32Array(N * T);
    for (let t = 0; t < T; t++) {
      const v = rng.normal();
      values[0 * T + t] = 0;
      values[1 * T + t] = v;
      values[2 * T + t] = v;
      values[3 * T + t] = 5;
      values[4 * T + t] = rng.normal() + (t > 0 ? 0.8 * values[1 * T + t - 1] : 0);
    }
    const degenerate = new Panel({ shape: [1, N, T], values });
    for (const test of ['conditional', 'pairwise'] as const) {
      for (const standardize of [true, false]) {
        const out = await grangerVar.run(
          { panel: degenerate, horizon: 2, seed: 0 },
          parse({ test, standardize }),
        );
        const scores = out.graphScores![0];
        for (const v of scores) expect(Number.isFinite(v)).toBe(true);
        for (const v of out.forecasts!) expect(Number.isFinite(v)).toBe(true);
        // Nothing can Granger-cause a constant series.
        for (let j = 0; j < N; j++) {
          expect(scores[0 * N + j]).toBe(0);
          expect(scores[3 * N + j]).toBe(0);
        }
        expect(out.info?.regularizedShops).toBe(1);
      }
    }
  });
});

describe('granger-var options', () => {
  it('has defaults', () => {
    expect(grangerVarOptions.parse({})).toEqual({
      lag: 2,
      test: 'conditional',
      fdr: 0.05,
      ridge: 0,
      standardize: true,
    });
  });

  it('rejects bad options by name', () => {
    for (const bad of [
      { lag: 0 },
      { lag: 1.5 },
      { test: 'bivariate' },
      { fdr: 0 },
      { ridge: -1 },
      { lags: 3 },
    ]) {
      const parsed = grangerVarOptions.safeParse(bad);
      expect(parsed.success).toBe(false);
      const key = Object.keys(bad)[0];
      expect(JSON.stringify(parsed.error?.issues)).toContain(key);
    }
  });

  it('throws a UserError naming "lag" when the lag is too large for the data', async () => {
    const { panel } = simulateVar(new Rng('granger-short'), 1, 5, 20, sparseEdges);
    for (const [lag, test] of [
      [10, 'pairwise'],
      [4, 'conditional'],
    ] as const) {
      const run = grangerVar.run({ panel, horizon: 0, seed: 0 }, parse({ lag, test }));
      await expect(run).rejects.toThrow(UserError);
      await expect(grangerVar.run({ panel, horizon: 0, seed: 0 }, parse({ lag, test }))).rejects.toThrow(
        /lag/,
      );
    }
  });
});
