import { describe, expect, it } from 'vitest';
import { descendants, propagate, simulateFunnelShop } from '../src/data/sim/funnel.js';
import { parseSimulationSpec, simulateWithTruth } from '../src/data/simulate.js';
import { Rng } from '../src/rng.js';

const hex = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** True when the off-diagonal part of an N × N graph (`g[i * N + j]` ⇔ j → i) has no cycle. */
function isDag(g: Uint8Array, N: number): boolean {
  const indegree = Array.from({ length: N }, (_, i) => {
    let d = 0;
    for (let j = 0; j < N; j++) if (j !== i && g[i * N + j]) d++;
    return d;
  });
  const queue = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
  let seen = 0;
  while (queue.length) {
    const j = queue.pop()!;
    seen++;
    for (let i = 0; i < N; i++) if (i !== j && g[i * N + j] && --indegree[i] === 0) queue.push(i);
  }
  return seen === N;
}

/** Least squares by normal equations and Cholesky (a tiny ridge keeps it well-posed); returns RSS. */
function rss(X: number[][], y: number[]): number {
  const n = y.length;
  const m = X[0].length;
  const A = Array.from({ length: m }, () => new Float64Array(m));
  const b = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    for (let a = 0; a < m; a++) {
      b[a] += X[r][a] * y[r];
      for (let c = 0; c <= a; c++) A[a][c] += X[r][a] * X[r][c];
    }
  }
  for (let a = 0; a < m; a++) A[a][a] += 1e-8 * (A[a][a] + 1);
  const L = Array.from({ length: m }, () => new Float64Array(m));
  for (let a = 0; a < m; a++) {
    for (let c = 0; c <= a; c++) {
      let s = A[a][c];
      for (let k = 0; k < c; k++) s -= L[a][k] * L[c][k];
      L[a][c] = a === c ? Math.sqrt(s) : s / L[c][c];
    }
  }
  const z = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    let s = b[a];
    for (let k = 0; k < a; k++) s -= L[a][k] * z[k];
    z[a] = s / L[a][a];
  }
  const beta = new Float64Array(m);
  for (let a = m - 1; a >= 0; a--) {
    let s = z[a];
    for (let k = a + 1; k < m; k++) s -= L[k][a] * beta[k];
    beta[a] = s / L[a][a];
  }
  let out = 0;
  for (let r = 0; r < n; r++) {
    let f = 0;
    for (let a = 0; a < m; a++) f += X[r][a] * beta[a];
    out += (y[r] - f) ** 2;
  }
  return out;
}

describe('funnel graphs', () => {
  it('respect the funnel: DAG, edge kinds, every KPI and GMV has a parent', () => {
    for (const preset of ['release-like', 'funnel-12', 'funnel-20'] as const) {
      const { panel } = simulateWithTruth({
        preset,
        seed: 7,
        shops: preset === 'funnel-20' ? 6 : 12,
        steps: 30,
      });
      const N = panel.nodeCount;
      const role = panel.nodes.map((n) => n.role);
      const gmv = panel.targetIndex;
      expect(gmv).toBe(N - 1);
      for (let s = 0; s < panel.shops; s++) {
        const g = panel.trueGraph(s)!;
        expect(isDag(g, N)).toBe(true);
        for (let i = 0; i < N; i++) {
          expect(g[i * N + i]).toBe(1);
          let parents = 0;
          for (let j = 0; j < N; j++) {
            if (i === j || !g[i * N + j]) continue;
            parents++;
            expect(role[j]).not.toBe('target'); // GMV causes nothing
            if (role[i] === 'channel') expect(role[j]).toBe('channel'); // only halo edges into channels
          }
          if (role[i] !== 'channel') expect(parents).toBeGreaterThan(0);
        }
        for (let k = 0; k < N; k++) if (role[k] === 'kpi') expect(descendants(g, N, k).has(gmv)).toBe(true);
      }
    }
  });

  it('release-like: shops of a type share the graph but not the parameters', () => {
    const { panel, params } = simulateWithTruth({ preset: 'release-like', seed: 11, shops: 9, steps: 30 });
    if (params.preset !== 'release-like') throw new Error('narrowing');
    expect(panel.nodeCount).toBe(8);
    expect(panel.channelIndices).toEqual([0, 1, 2, 3, 4]);
    expect(panel.graph!.length).toBe(9 * 64);
    const graphs = Array.from({ length: 9 }, (_, s) => hex(panel.trueGraph(s)!));
    expect(new Set(graphs).size).toBe(3);
    for (let s = 3; s < 9; s++) expect(graphs[s]).toBe(graphs[s % 3]);
    expect(params.shops[4].shopType).toBe(1);
    expect(params.shops[4].edges[0].hill.alpha).not.toBe(params.shops[1].edges[0].hill.alpha);
    expect(params.shops[4].context).not.toEqual(params.shops[1].context);
  });

  it('funnel-12: every shop draws its own graph', () => {
    const panel = simulateWithTruth({ preset: 'funnel-12', seed: 11, shops: 10, steps: 30 }).panel;
    expect(panel.nodeCount).toBe(12);
    const graphs = new Set(Array.from({ length: 10 }, (_, s) => hex(panel.trueGraph(s)!)));
    expect(graphs.size).toBeGreaterThanOrEqual(9);
  });

  it('hill shape and half-saturation follow the shop context', () => {
    const { params } = simulateWithTruth({
      preset: 'release-like',
      seed: 2,
      shops: 30,
      steps: 30,
      shopJitter: 0,
    });
    if (params.preset !== 'release-like') throw new Error('narrowing');
    const sameType = params.shops.filter((s) => s.shopType === 0);
    // With no jitter, γ·size^0.3 is the type's γ0 for every shop of the type.
    const g0 = sameType.map((s) => s.edges[0].hill.gamma * s.size ** 0.3);
    for (const g of g0) expect(g).toBeCloseTo(g0[0], 9);
    expect(new Set(sameType.map((s) => s.edges[0].hill.alpha.toFixed(9))).size).toBeGreaterThan(1);
  });
});

describe('funnel series', () => {
  it('are non-negative, with flighted spends that have dark periods', () => {
    const { panel } = simulateWithTruth({ preset: 'funnel-12', seed: 5, shops: 8 });
    for (const v of panel.values) expect(v).toBeGreaterThanOrEqual(0);
    let zeros = 0;
    let total = 0;
    for (let s = 0; s < panel.shops; s++) {
      for (const c of panel.channelIndices) {
        const x = panel.series(s, c);
        zeros += x.filter((v) => v === 0).length;
        total += x.length;
      }
    }
    expect(zeros).toBeGreaterThan(0);
    expect(zeros / total).toBeLessThan(0.3);
    for (let s = 0; s < panel.shops; s++) {
      const gmv = panel.series(s, panel.targetIndex);
      expect(Math.min(...gmv)).toBeGreaterThan(0);
    }
    expect(panel.contextNames).toEqual(['log_size', 'category']);
    expect(panel.context!.length).toBe(16);
  });

  it('true parents predict a node better than non-parents (lagged regression, high SNR)', () => {
    const { panel } = simulateWithTruth({ preset: 'release-like', seed: 1, shops: 30, snr: 20 });
    const N = panel.nodeCount;
    const T = panel.steps;
    const lags = 3;
    const parentGain: number[] = [];
    const otherGain: number[] = [];
    for (let s = 0; s < panel.shops; s++) {
      const g = panel.trueGraph(s)!;
      const series = Array.from({ length: N }, (_, n) => panel.series(s, n));
      for (let i = 0; i < N; i++) {
        const y: number[] = [];
        const rows: number[][] = [];
        for (let t = lags; t < T; t++) {
          y.push(series[i][t]);
          const row = [1];
          for (let j = 0; j < N; j++) for (let l = 1; l <= lags; l++) row.push(series[j][t - l]);
          rows.push(row);
        }
        const full = rss(rows, y);
        for (let j = 0; j < N; j++) {
          if (j === i) continue;
          const drop = new Set(Array.from({ length: lags }, (_, l) => 1 + j * lags + l));
          const reduced = rss(
            rows.map((r) => r.filter((_, k) => !drop.has(k))),
            y,
          );
          const gain = (reduced - full) / full;
          (g[i * N + j] ? parentGain : otherGain).push(gain);
        }
      }
    }
    const mean = (a: number[]) => a.reduce((x, v) => x + v, 0) / a.length;
    expect(parentGain.length).toBeGreaterThan(50);
    expect(mean(parentGain)).toBeGreaterThan(4 * mean(otherGain));
    let wins = 0;
    for (const a of parentGain) for (const b of otherGain) wins += a > b ? 1 : 0;
    expect(wins / (parentGain.length * otherGain.length)).toBeGreaterThan(0.8); // AUROC of the gain
  });
});

describe('funnel contributions', () => {
  it('are zero without a path to GMV, non-zero and non-negative with one', () => {
    const { panel } = simulateWithTruth({ preset: 'funnel-12', seed: 9, shops: 12 });
    const N = panel.nodeCount;
    const T = panel.steps;
    const C = panel.channelIndices.length;
    const gmv = panel.targetIndex;
    let withPath = 0;
    let withoutPath = 0;
    for (let s = 0; s < panel.shops; s++) {
      const g = panel.trueGraph(s)!;
      let total = 0;
      for (let c = 0; c < C; c++) {
        const contrib = panel.contributions!.subarray((s * C + c) * T, (s * C + c + 1) * T);
        for (const v of contrib) expect(v).toBeGreaterThanOrEqual(0);
        const sum = contrib.reduce((a, b) => a + b, 0);
        total += sum;
        if (descendants(g, N, c).has(gmv)) {
          withPath++;
          expect(sum).toBeGreaterThan(0);
        } else {
          withoutPath++;
          expect(contrib.every((v) => v === 0)).toBe(true);
        }
      }
      const gmvSum = panel.series(s, gmv).reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThan(gmvSum);
    }
    expect(withPath).toBeGreaterThan(0);
    expect(withoutPath).toBeGreaterThan(0);
  });

  it('propagate reproduces the calibrated run, and a full re-run gives the same counterfactual', () => {
    const spec = parseSimulationSpec({ preset: 'release-like', seed: 4, shops: 3 });
    if (spec.preset !== 'release-like') throw new Error('narrowing');
    const rng = new Rng(spec.seed).fork(spec.preset);
    const { panel } = simulateWithTruth(spec);
    for (let s = 0; s < 3; s++) {
      const { shop, inputs, run } = simulateFunnelShop(spec, rng, s);
      const again = propagate(inputs, shop, spec.burnIn);
      expect(again.values).toEqual(run.values);
      const C = spec.channels;
      const Tt = inputs.steps;
      const gmv = shop.nodes.length - 1;
      for (let c = 0; c < C; c++) {
        const fast = propagate(inputs, shop, spec.burnIn, { zeroChannel: c, base: run }).values;
        // From scratch: zero the channel's exogenous spend and halo inputs by masking it out.
        const mask = inputs.mask.slice();
        mask.fill(0, c * Tt, (c + 1) * Tt);
        const slow = propagate({ ...inputs, mask }, shop, spec.burnIn).values;
        expect(fast).toEqual(slow);
        const expected = Float32Array.from({ length: spec.steps }, (_, t) => {
          const k = gmv * Tt + spec.burnIn + t;
          return run.values[k] - fast[k];
        });
        const T = spec.steps;
        expect(panel.contributions!.subarray((s * C + c) * T, (s * C + c + 1) * T)).toEqual(expected);
      }
    }
  });
});
