import { describe, expect, it } from 'vitest';
import type { Panel } from '../src/data/panel.js';
import { adstockWeights, hill } from '../src/data/sim/response.js';
import { companion, spectralRadiusBound } from '../src/data/sim/var.js';
import {
  PRESETS,
  type PresetName,
  parseSimulationSpec,
  type SimulationSpecInput,
  simulate,
  simulateWithTruth,
} from '../src/data/simulate.js';
import { UserError } from '../src/errors.js';

const small: Record<PresetName, SimulationSpecInput> = {
  'release-like': { preset: 'release-like', seed: 3, shops: 6 },
  'funnel-12': { preset: 'funnel-12', seed: 3, shops: 4 },
  'funnel-20': { preset: 'funnel-20', seed: 3, shops: 3 },
  var: { preset: 'var', seed: 3, shops: 2, steps: 300 },
  lorenz96: { preset: 'lorenz96', seed: 3, shops: 2, steps: 200, burnIn: 200 },
};

const bytes = (a: ArrayBufferView | undefined) =>
  a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : Buffer.alloc(0);

function expectSamePanel(a: Panel, b: Panel) {
  expect(bytes(a.values).equals(bytes(b.values))).toBe(true);
  expect(bytes(a.graph).equals(bytes(b.graph))).toBe(true);
  expect(bytes(a.context).equals(bytes(b.context))).toBe(true);
  expect(bytes(a.contributions).equals(bytes(b.contributions))).toBe(true);
  expect(a.nodes).toEqual(b.nodes);
}

describe('simulation spec', () => {
  it('fills every default from the preset name alone', () => {
    const spec = parseSimulationSpec({ preset: 'release-like', seed: 0 });
    expect(spec).toMatchObject({
      preset: 'release-like',
      seed: 0,
      shops: 300,
      steps: 100,
      channels: 5,
      kpis: 2,
    });
    if (spec.preset !== 'release-like') throw new Error('narrowing');
    expect(spec.shopTypes).toBe(3);
    expect(spec.adstock).toEqual({ kind: 'geometric', maxLag: 6, decayMin: 0.1, decayMax: 0.7 });
    expect(parseSimulationSpec({ preset: 'funnel-20' })).toMatchObject({ channels: 14, kpis: 5, shops: 100 });
    expect(parseSimulationSpec({ preset: 'var' })).toMatchObject({
      p: 10,
      lag: 3,
      sparsity: 0.2,
      steps: 1000,
    });
    expect(parseSimulationSpec({ preset: 'lorenz96' })).toMatchObject({
      p: 10,
      forcing: 10,
      dt: 0.1,
      substeps: 10,
    });
    expect(Object.keys(PRESETS).sort()).toEqual([
      'funnel-12',
      'funnel-20',
      'lorenz96',
      'release-like',
      'var',
    ]);
  });

  it('names the field of a bad override', () => {
    const bad: [unknown, RegExp][] = [
      [{ preset: 'release-like', shops: -1 }, /shops/],
      [{ preset: 'funnel-12', shoops: 3 }, /shoops/],
      [{ preset: 'funnel-12', adstock: { kind: 'hyperbolic' } }, /adstock\.kind/],
      [{ preset: 'funnel-12', adstock: { decay: 0.5 } }, /adstock.*decay/],
      [{ preset: 'funnel-12', adstock: { decayMin: 0.6, decayMax: 0.2 } }, /adstock\.decayMax/],
      [{ preset: 'var', sparsity: 2 }, /sparsity/],
      [{ preset: 'lorenz96', p: 3 }, /\bp\b/],
      [{ preset: 'nope' }, /preset/],
    ];
    for (const [input, field] of bad) {
      expect(() => parseSimulationSpec(input)).toThrow(UserError);
      expect(() => simulate(input as SimulationSpecInput)).toThrow(field);
    }
  });
});

describe('determinism', () => {
  for (const [name, spec] of Object.entries(small)) {
    it(`${name}: same spec ⇒ byte-identical panel; other seed ⇒ other values`, () => {
      const a = simulate(spec);
      expectSamePanel(a, simulate(spec));
      const other = simulate({ ...spec, seed: 4 } as SimulationSpecInput);
      expect(bytes(a.values).equals(bytes(other.values))).toBe(false);
      for (const v of a.values) expect(Number.isFinite(v)).toBe(true);
    });
  }

  it('a shop does not depend on how many shops are simulated', () => {
    const few = simulate({ preset: 'funnel-12', seed: 1, shops: 2 });
    const more = simulate({ preset: 'funnel-12', seed: 1, shops: 4 });
    expectSamePanel(few, more.selectShops([0, 1]));
  });

  it('returns JSON-serialisable truth', () => {
    for (const spec of Object.values(small)) {
      const { params } = simulateWithTruth(spec);
      expect(JSON.parse(JSON.stringify(params))).toEqual(params);
    }
  });
});

describe('response curves', () => {
  it('adstock kernels are normalised and Hill is half-saturated at γ', () => {
    for (const kind of ['geometric', 'weibull', 'delayed'] as const) {
      const w = adstockWeights(kind, 8, { theta: 0.5, delay: 3, shape: 2, scale: 3 });
      expect(w).toHaveLength(8);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (const x of w) expect(x).toBeGreaterThanOrEqual(0);
    }
    const delayed = adstockWeights('delayed', 8, { theta: 0.5, delay: 3 });
    expect(delayed.indexOf(Math.max(...delayed))).toBe(2);
    expect(hill(0.7, 2.3, 0.7)).toBeCloseTo(0.5, 12);
    expect(hill(0, 2, 1)).toBe(0);
  });
});

describe('var preset', () => {
  it('bounds the spectral radius from above', () => {
    // Rotation by 1 rad scaled by 0.9: complex eigenvalues of modulus 0.9.
    const r = new Float64Array([0.9 * Math.cos(1), -0.9 * Math.sin(1), 0.9 * Math.sin(1), 0.9 * Math.cos(1)]);
    const rho = spectralRadiusBound(r, 2);
    expect(rho).toBeGreaterThanOrEqual(0.9 - 1e-12);
    expect(rho).toBeLessThan(0.901);
    const nonNormal = new Float64Array([0.5, 100, 0, 0.4]);
    const b = spectralRadiusBound(nonNormal, 2);
    expect(b).toBeGreaterThanOrEqual(0.5);
    expect(b).toBeLessThan(0.51);
    // Companion of x_t = 1.5 x_{t-1} − 0.56 x_{t-2}: roots 0.8 and 0.7.
    const c = companion(new Float64Array([1.5, -0.56]), 1, 2);
    expect(spectralRadiusBound(c, 2)).toBeCloseTo(0.8, 2);
  });

  it('draws a Neural-GC-style sparse stable VAR', () => {
    const { panel, params } = simulateWithTruth({ preset: 'var', seed: 5, shops: 2, steps: 2000 });
    if (params.preset !== 'var') throw new Error('narrowing');
    const p = 10;
    expect(panel.graphShared).toBe(true);
    const g = panel.graph!;
    for (let i = 0; i < p; i++) {
      expect(g[i * p + i]).toBe(1);
      let row = 0;
      for (let j = 0; j < p; j++) row += g[i * p + j];
      expect(row).toBe(2); // itself + floor(0.2·10) − 1
    }
    expect(params.models).toHaveLength(1);
    const m = params.models[0];
    expect(m.spectralRadiusBefore).toBeGreaterThan(1);
    expect(m.spectralRadius).toBeLessThanOrEqual(0.97);
    expect(m.coefficients).toHaveLength(3);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < p; j++) expect(m.coefficients[0][i][j] !== 0).toBe(g[i * p + j] === 1);
    }
    let max = 0;
    for (const v of panel.values) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThan(5);
    expect(max).toBeGreaterThan(0.1);
    expect(panel.nodes.at(-1)!.role).toBe('target');
  });

  it('draws one graph per shop when sharedGraph is false', () => {
    const { panel, params } = simulateWithTruth({
      preset: 'var',
      seed: 5,
      shops: 4,
      steps: 50,
      sharedGraph: false,
    });
    if (params.preset !== 'var') throw new Error('narrowing');
    expect(panel.graph!.length).toBe(4 * 100);
    expect(params.models).toHaveLength(4);
    const graphs = new Set(Array.from({ length: 4 }, (_, s) => bytes(panel.trueGraph(s)).toString('hex')));
    expect(graphs.size).toBeGreaterThan(1);
  });
});

describe('lorenz96 preset', () => {
  it('stays bounded, has the cyclic graph and distinct replicates', () => {
    const panel = simulate({ preset: 'lorenz96', seed: 2, shops: 2, steps: 500, burnIn: 300 });
    const p = 10;
    const g = panel.graph!;
    expect(g.length).toBe(p * p);
    for (let i = 0; i < p; i++) {
      const parents = [];
      for (let j = 0; j < p; j++) if (g[i * p + j]) parents.push(j);
      expect(parents.sort((a, b) => a - b)).toEqual(
        [i, (i + 1) % p, (i + p - 1) % p, (i + p - 2) % p].sort((a, b) => a - b),
      );
    }
    let max = 0;
    for (const v of panel.values) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThan(30);
    expect(max).toBeGreaterThan(5); // chaotic, not at the fixed point x = F
    expect(bytes(panel.shopValues(0)).equals(bytes(panel.shopValues(1)))).toBe(false);
  });

  it('accepts F = 40', () => {
    const panel = simulate({ preset: 'lorenz96', seed: 2, steps: 200, burnIn: 200, forcing: 40 });
    for (const v of panel.values) expect(Math.abs(v)).toBeLessThan(100);
  });
});
