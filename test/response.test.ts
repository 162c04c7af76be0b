import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { buildFigures, renderFigure } from '../experiments/figures.js';
import type { CellResult, ResultsFile } from '../experiments/results.js';
import { causalmmm, nri } from '../src/causalmmm/method.js';
import { CausalmmmModel, hillSaturation } from '../src/causalmmm/model.js';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { hillCurve, hillParametersOf, RESPONSE_QUANTILES } from '../src/causalmmm/response.js';
import { simulate } from '../src/data/simulate.js';
import type { HillResponse } from '../src/methods/method.js';
import { Rng } from '../src/rng.js';
import { useBackend } from './helpers.js';

useBackend();

const shape = { nodes: 3, encoderSteps: 8, contextSize: 2, targetIndex: 2, channelIndices: [0] };

describe('Hill response of CausalMMM', () => {
  it('computes the curve the model applies to the target (hillSaturation on tensors)', () => {
    const cases = [
      [0.5, 2, 0.2],
      [0.05, 3, 0.4],
      [1.2, 0.7, 1.5],
      [-0.3, 2, 0.2],
      [0.9, 40, 0.6],
    ];
    const target = tf.tensor2d([[0, 1]]);
    for (const [y, alpha, gamma] of cases) {
      const out = tf.tidy(() =>
        hillSaturation(tf.tensor2d([[7, y]]), target, {
          alpha: tf.tensor1d([alpha]),
          logGamma: tf.tensor1d([Math.log(gamma)]),
        }).dataSync(),
      );
      expect(hillCurve(y, alpha, gamma)).toBeCloseTo(out[1], 5);
    }
    target.dispose();
    // Known answers: half of y at f = γ; y·f^α/(f^α + γ^α) by the textbook formula elsewhere.
    expect(hillCurve(0.4, 3, 0.4)).toBeCloseTo(0.2, 12);
    expect(hillCurve(0.8, 2, 0.4)).toBeCloseTo((0.8 * 0.64) / (0.64 + 0.16), 12);
    // Below the 0.1 clamp the curve is linear in y.
    expect(hillCurve(0.02, 2, 0.2) / 0.02).toBeCloseTo(hillCurve(0.05, 2, 0.2) / 0.05, 12);
  });

  it('gets α and γ per context as max(w·c + b, 0.1), one pair without context, and starts every shop at the identity-like curve', () => {
    const model = new CausalmmmModel(shape, causalmmmOptions.parse({ hidden: 4 }), new Rng(0));
    const [aw, ab, gw, gb] = model.saturationVariables;
    aw.assign(tf.tensor2d([[1], [-1]]));
    ab.assign(tf.tensor1d([0.5]));
    gw.assign(tf.tensor2d([[0.25], [0]]));
    gb.assign(tf.tensor1d([0.2]));
    const context = Float32Array.from([1, 0, 0, 1, 2, 0.5]);
    const { alpha, gamma } = hillParametersOf(model, context, 3)!;
    // α: 1.5, −0.5 → 0.1 (clamp), 2 − 0.5 + 0.5 = 2; γ: 0.45, 0.2, 0.7
    expect([...alpha].map((v) => Number(v.toFixed(5)))).toEqual([1.5, 0.1, 2]);
    expect([...gamma].map((v) => Number(v.toFixed(5)))).toEqual([0.45, 0.2, 0.7]);
    model.dispose();

    const constant = new CausalmmmModel(
      shape,
      causalmmmOptions.parse({ hidden: 4, saturation: 'hill' }),
      new Rng(0),
    );
    const shared = hillParametersOf(constant, context, 3)!;
    // hillInit identity: α = 2, γ = 0.2 for every shop, whatever its context.
    expect([...shared.alpha]).toEqual([2, 2, 2]);
    expect([...shared.gamma].map((v) => Number(v.toFixed(5)))).toEqual([0.2, 0.2, 0.2]);
    constant.dispose();

    // Under hill-context too every shop starts at that curve: the context weights start at zero.
    const fresh = new CausalmmmModel(shape, causalmmmOptions.parse({ hidden: 4 }), new Rng(0));
    const start = hillParametersOf(fresh, context, 3)!;
    expect([...start.alpha]).toEqual([2, 2, 2]);
    expect([...start.gamma].map((v) => Number(v.toFixed(5)))).toEqual([0.2, 0.2, 0.2]);
    fresh.dispose();
    const released = new CausalmmmModel(
      shape,
      causalmmmOptions.parse({ hidden: 4, hillInit: 'released' }),
      new Rng(0),
    );
    // `released` draws the context weights as PyTorch does.
    expect([...released.saturationVariables[0].dataSync()].every((w) => w !== 0)).toBe(true);
    released.dispose();

    const none = new CausalmmmModel(
      shape,
      causalmmmOptions.parse({ hidden: 4, saturation: 'none' }),
      new Rng(0),
    );
    expect(hillParametersOf(none, context, 3)).toBeUndefined();
    none.dispose();
  });

  it('is reported by the causalmmm method under hill-context and hill, and not without saturation', async () => {
    const panel = simulate({ preset: 'funnel-12', shops: 8, steps: 60, seed: 3 });
    expect(panel.contextSize).toBeGreaterThan(0);
    const run = (saturation: 'hill-context' | 'hill' | 'none') =>
      causalmmm.run(
        { panel, horizon: 0, seed: 0 },
        causalmmm.options.parse({ ...causalmmm.testConfig, epochs: 2, saturation }),
      );
    const context = (await run('hill-context')).response!;
    expect(context).toMatchObject({ kind: 'hill-context', scale: 'max', shops: 8 });
    // Max scaling of positive GMV: inputs from 0 up to each shop's peak, 1.
    expect(context.input[0]).toBe(0);
    expect(context.input[1]).toBeCloseTo(1, 5);
    expect(context.curves.length).toBeGreaterThanOrEqual(2);
    expect(context.curves.length).toBeLessThanOrEqual(RESPONSE_QUANTILES.length);
    const quantiles = context.curves.map((c) => c.quantile!);
    expect(quantiles[0]).toBe(0);
    expect(quantiles).toEqual([...quantiles].sort((a, b) => a - b));
    // Listed from the least saturated share ŷ/y at the top of the range to the most.
    const shares = context.curves.map((c) => hillCurve(1, c.alpha, c.gamma));
    for (let i = 1; i < shares.length; i++) expect(shares[i]).toBeGreaterThanOrEqual(shares[i - 1] - 1e-5);
    for (const curve of context.curves) {
      expect(panel.shopIds).toContain(curve.shop);
      expect(curve.alpha).toBeGreaterThanOrEqual(0.1 - 1e-6);
      expect(curve.gamma).toBeGreaterThanOrEqual(0.1 - 1e-6);
      const s = panel.shopIds.indexOf(curve.shop);
      const k = panel.contextSize;
      expect(curve.context).toEqual(
        [...panel.context!.subarray(s * k, (s + 1) * k)].map((v) => Number(v.toPrecision(6))),
      );
    }

    const shared = (await run('hill')).response!;
    expect(shared.kind).toBe('hill');
    expect(shared.curves).toHaveLength(1);
    expect(shared.curves[0]).toMatchObject({ shop: 'every shop' });
    expect(shared.curves[0].context).toBeUndefined();

    expect((await run('none')).response).toBeUndefined();
    // NRI (CausalMMM's code with saturation none by default) has none either.
    const markov = await nri.run(
      { panel, horizon: 0, seed: 0 },
      nri.options.parse({ ...nri.testConfig, epochs: 1 }),
    );
    expect(markov.response).toBeUndefined();
  }, 120_000);
});

describe('response figure', () => {
  const response = (alphas: number[]): HillResponse => ({
    kind: 'hill-context',
    scale: 'max',
    input: [0, 1],
    shops: 10,
    curves: alphas.map((alpha, i) => ({
      shop: `s${i}`,
      quantile: i / (alphas.length - 1),
      alpha,
      gamma: 0.5,
    })),
  });
  const cell = (label: string, seed: number, extra: Partial<CellResult>): CellResult => ({
    dataset: 'release-like',
    method: 'causalmmm',
    label,
    seed,
    options: {},
    status: 'ok',
    metrics: {},
    shops: 10,
    seconds: 1,
    ...extra,
  });
  const results: ResultsFile = {
    experiment: 'response-test',
    createdAt: '2026-01-01T00:00:00.000Z',
    codeVersion: 'x',
    backend: 'cpu',
    config: 'x.yaml',
    cells: [
      cell('full', 0, { response: response([1, 2, 4]) }),
      cell('no-context', 0, {
        response: {
          kind: 'hill',
          scale: 'max',
          input: [0, 1.5],
          shops: 10,
          curves: [{ shop: 'every shop', alpha: 2, gamma: 0.2 }],
        },
      }),
      cell('full', 1, { response: response([9, 9, 9]) }),
      cell('no-saturation', 0, {}),
      cell('failed', 0, { status: 'failed', response: response([1]) }),
    ],
  };

  it('draws a panel per cell of the first seed, a line per reported shop, from the results alone', async () => {
    const figures = buildFigures(results, []).filter((f) => f.name.startsWith('response-'));
    expect(figures.map((f) => f.name)).toEqual(['response-release-like']);
    const spec = figures[0].spec as unknown as {
      data: {
        values: { panel: string; curve: string; shop: string; kind: string; y: number; saturated: number }[];
      };
      facet: { sort: string[] };
    };
    expect(spec.facet.sort).toEqual(['full', 'no-context']);
    const curves = spec.data.values.filter((v) => v.kind === 'curve');
    expect(new Set(curves.map((v) => `${v.panel}/${v.curve}/${v.shop}`))).toEqual(
      new Set(['full/q0/s0', 'full/q50/s1', 'full/q100/s2', 'no-context/every shop/every shop']),
    );
    expect(curves).toHaveLength(4 * 41);
    // Each point is the curve itself: at y = γ = 0.5, ŷ = y/2 whatever α.
    for (const p of curves.filter((v) => v.panel === 'full' && Math.abs(v.y - 0.5) < 1e-9)) {
      expect(p.saturated).toBeCloseTo(0.25, 12);
    }
    const shared = curves.filter((v) => v.panel === 'no-context');
    expect(Math.max(...shared.map((v) => v.y))).toBeCloseTo(1.5, 12);
    const { svg } = await renderFigure(figures[0].spec);
    expect(svg).toMatch(/^<svg [^>]*width="\d+/);
    expect(svg).toContain('q50');
    expect(svg).toContain('every shop');
  });

  it('is not drawn when no cell reports a response', () => {
    const plain = { ...results, cells: results.cells.map(({ response: _r, ...c }) => c) };
    expect(buildFigures(plain, []).some((f) => f.name.startsWith('response-'))).toBe(false);
  });
});
