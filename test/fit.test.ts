import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { CausalmmmModel } from '../src/causalmmm/model.js';
import { causalmmmOptions } from '../src/causalmmm/options.js';
import { forecastShops, prepareSeries } from '../src/causalmmm/train.js';
import { writeNpyDir } from '../src/data/npy-dir.js';
import { simulate } from '../src/data/simulate.js';
import {
  contributions,
  defaultPlan,
  forecast,
  graphPaths,
  responseCurves,
  whatIf,
} from '../src/fit/analyse.js';
import {
  parseSpendChange,
  readFitConfig,
  readPlanCsv,
  runFit,
  runWhatIf,
  spendWarnings,
} from '../src/fit/command.js';
import { graphDot, graphFile, shopFolder } from '../src/fit/report.js';
import { CausalmmmScenarioModel } from '../src/fit/scenario.js';
import { compareWithTruth } from '../src/fit/truth.js';
import { Rng } from '../src/rng.js';
import { expectUserError, useBackend, useTempDirs } from './helpers.js';

useBackend();
const tempDir = useTempDirs();

const panel = simulate({ preset: 'release-like', seed: 2, shops: 3, steps: 24 });
const settings = {
  horizon: 5,
  warmup: 24,
  contributionWindow: 0,
  curveFactors: [0, 1, 2],
  edgeThreshold: 0.5,
};

/**
 * An untrained model with deterministic edges (q itself), so rollouts can be compared exactly;
 * its graph is its encoder's (`last`: an untrained model has no trajectory to average).
 */
function fittedWith(graph: 'learned' | 'full' = 'learned') {
  const options = causalmmmOptions.parse({
    hidden: 8,
    predictSteps: 3,
    evalEdges: 'mean',
    graph,
    graphAverage: 'last',
  });
  const series = prepareSeries(panel, options.scale);
  const model = new CausalmmmModel(
    {
      nodes: panel.nodeCount,
      encoderSteps: panel.steps,
      contextSize: panel.contextSize,
      targetIndex: panel.targetIndex,
      channelIndices: panel.channelIndices,
    },
    options,
    new Rng(4),
  );
  const scenarioModel = new CausalmmmScenarioModel('causalmmm', model, panel, series);
  return { model: scenarioModel, network: model, series, panel, graphs: scenarioModel.graphs(0) };
}

describe('fit analyses', () => {
  it('forecasts what forecastShops forecasts under the same planned spends', () => {
    const fitted = fittedWith();
    const plans = panel.shopIds.map((_, s) => defaultPlan(panel, s, settings.horizon));
    const ours = forecast(fitted, plans, settings);
    const known = new Float32Array(panel.shops * panel.channelIndices.length * settings.horizon);
    for (const [s, p] of plans.entries()) known.set(p, s * p.length);
    const reference = forecastShops(fitted.network, fitted.series, settings.horizon, 0, known);
    const size = panel.nodeCount * settings.horizon;
    for (let s = 0; s < panel.shops; s++) {
      const ref = reference.subarray(s * size, (s + 1) * size);
      for (const [k, v] of ours[s].entries()) expect(v).toBeCloseTo(ref[k], 4);
    }
    fitted.model.dispose();
  });

  it('gives a channel with every outgoing edge cut exactly zero contribution, and the full graph a non-zero one', () => {
    const fitted = fittedWith('full');
    const tensors = tf.memory().numTensors;
    const N = panel.nodeCount;
    const channel = panel.channelIndices[0];
    const W = panel.steps;
    const observed = new Float32Array(panel.channelIndices.length * W);
    for (const [c, n] of panel.channelIndices.entries()) observed.set(panel.series(0, n), c * W);
    const zeroed = observed.slice().fill(0, 0, W);
    const cut = Array.from({ length: N }, (_, i) => [channel, i] as const).filter(([, i]) => i !== channel);
    const base = { shop: 0, start: 0, truthSteps: 1, length: W };
    const [a, b, aCut, bCut] = fitted.model.run(fitted.graphs, [
      { ...base, channels: observed },
      { ...base, channels: zeroed },
      { ...base, channels: observed, cut },
      { ...base, channels: zeroed, cut },
    ]);
    const gmv = (r: Float32Array) =>
      r.subarray(panel.targetIndex * (W - 1), (panel.targetIndex + 1) * (W - 1));
    expect(Array.from(gmv(aCut))).toEqual(Array.from(gmv(bCut)));
    expect(Math.max(...gmv(a).map((v, t) => Math.abs(v - gmv(b)[t])))).toBeGreaterThan(0);
    const shops = contributions(fitted, settings);
    expect(shops).toHaveLength(panel.shops);
    expect(shops[0].contributions).toHaveLength(panel.channelIndices.length);
    expect(shops[0].contributions[0][0]).toBeCloseTo(gmv(a)[0] - gmv(b)[0], 5);
    const curves = responseCurves(
      fitted,
      [defaultPlan(panel, 0, 5), defaultPlan(panel, 1, 5), defaultPlan(panel, 2, 5)],
      settings,
    );
    // factor 1 is the plan itself: the same GMV for every channel's curve
    const atPlan = curves[0].map((c) => c.gmv[1]);
    for (const v of atPlan) expect(v).toBeCloseTo(atPlan[0], 3);
    expect(curves[0][0].spend[2]).toBeCloseTo(2 * curves[0][0].spend[1], 3);
    const result = whatIf(fitted, 1, defaultPlan(panel, 1, 5), new Map([[0, 0.5]]), settings);
    expect(result.deltaGmv).toBeCloseTo(
      result.scenarioGmv.reduce((x, y) => x + y) - result.baseGmv.reduce((x, y) => x + y),
      3,
    );
    expect(result.flows[0].firstHops.length).toBe(N - 1);
    fitted.model.dispose();
    expect(tf.memory().numTensors).toBe(
      tensors - fitted.network.variables.length - fitted.network.statistics.length,
    );
  });

  it('warns when no channel moves GMV by a tenth of a percent in any shop', () => {
    const shop = (share: number) => ({
      from: 1,
      to: 3,
      actual: Float32Array.of(50, 50),
      fitted: Float32Array.of(50, 50),
      contributions: [Float32Array.of(0, 0), Float32Array.of(share * 50, share * 50)],
      spend: [1, 1],
    });
    expect(spendWarnings([shop(1e-4), shop(-5e-4)], ['a', 'b'])).toEqual([expect.stringContaining('0.050%')]);
    expect(spendWarnings([shop(1e-4), shop(0.02)], ['a', 'b'])).toEqual([]);
  });

  it('lists the learned graph’s paths from a channel to the target, strongest first', () => {
    const names = ['a', 'b', 'k', 'y'];
    const p = new Float64Array(16);
    const edge = (cause: number, effect: number, prob: number) => {
      p[effect * 4 + cause] = prob;
    };
    edge(0, 3, 0.6); // a → y
    edge(0, 1, 0.9); // a → b
    edge(1, 2, 0.9); // b → k
    edge(2, 3, 0.9); // k → y
    edge(1, 3, 0.4); // below the threshold
    const paths = graphPaths(p, names, 0, 3, 0.5);
    expect(paths.map((x) => x.nodes.join('>'))).toEqual(['a>b>k>y', 'a>y']);
    expect(paths[0].strength).toBeCloseTo(0.729, 6);
    expect(graphPaths(p, names, 0, 3, 0.5, 2).map((x) => x.nodes.join('>'))).toEqual(['a>y']);
  });

  it('writes graph files with the documented orientation', () => {
    const p = new Float64Array([0, 0.9, 0.1, 0]); // x1 → x0 with 0.9
    const g = graphFile(
      's/1',
      [
        { name: 'x0', role: 'target' },
        { name: 'x1', role: 'channel' },
      ],
      p,
      0.5,
    );
    expect(g.edges).toEqual([{ cause: 'x1', effect: 'x0', probability: 0.9 }]);
    expect(graphDot(g)).toContain('"x1" -> "x0" [label="0.90"');
    expect(shopFolder('s/1')).toBe('s%2f1');
    expect(shopFolder('..')).not.toBe('..');
  });
});

describe('fit and whatif in process', () => {
  it('leave no tensor behind and agree on the forecast of the saved model', async () => {
    const dir = tempDir('causalmmm-fit-mem-');
    writeNpyDir(panel, path.join(dir, 'data'));
    writeFileSync(
      path.join(dir, 'fit.yaml'),
      'horizon: 5\nwarmup: 8\ncurve: { points: 2 }\noptions: { hidden: 8, epochs: 1, predictSteps: 3 }\n',
    );
    const fitOnce = () =>
      runFit({
        data: path.join(dir, 'data'),
        method: 'causalmmm',
        config: path.join(dir, 'fit.yaml'),
        out: path.join(dir, 'out'),
      });
    await fitOnce();
    const tensors = tf.memory().numTensors;
    const summary = await fitOnce();
    const result = await runWhatIf({ model: path.join(dir, 'out'), shop: '2', spend: ['x1=+10%'] });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(result.baseGmv.reduce((a, b) => a + b)).toBeCloseTo(summary.shops[2].forecastGmv, 3);
  });
});

describe('fit inputs', () => {
  it('parses spend changes and refuses malformed ones', () => {
    expect(parseSpendChange('search=+20%')).toEqual(['search', 0.2]);
    expect(parseSpendChange('display=-10.5%')).toEqual(['display', -0.105]);
    expectUserError(() => parseSpendChange('search=20'), '--spend search=20', 'percent');
    expectUserError(() => parseSpendChange('search=-120%'), 'more than 100%');
  });

  it('reads a fit config and names the field at fault', () => {
    const dir = tempDir('causalmmm-fitconfig-');
    const file = path.join(dir, 'fit.yaml');
    writeFileSync(file, 'horizon: 7\ncurve: { points: 3 }\n');
    expect(readFitConfig(file)).toMatchObject({
      horizon: 7,
      warmup: 28,
      contributionWindow: 90,
      curve: { max: 2, points: 3 },
    });
    writeFileSync(file, 'contributionWindow: 1\n');
    expectUserError(() => readFitConfig(file), 'fit.yaml: contributionWindow', 'at least 2');
    writeFileSync(file, 'horizn: 7\n');
    expectUserError(() => readFitConfig(file), 'fit.yaml', 'horizn');
    writeFileSync(file, 'horizon: [\n');
    expectUserError(() => readFitConfig(file), 'fit.yaml', 'not valid YAML');
    expectUserError(() => readFitConfig(path.join(dir, 'none.yaml')), 'none.yaml', 'cannot read');
  });

  it('reads a plan CSV and names the line and column of a bad cell', () => {
    const dir = tempDir('causalmmm-plan-');
    const file = path.join(dir, 'plan.csv');
    const channels = panel.channelIndices.map((n) => panel.nodes[n].name);
    const row = (shop: string, v: string) => `${shop},${channels.map(() => v).join(',')}`;
    writeFileSync(file, [`shop,${channels.join(',')}`, row('1', '2'), row('1', '3')].join('\n'));
    const plans = readPlanCsv(file, panel, 'shop', 2);
    expect([...plans.keys()]).toEqual([1]);
    expect(Array.from(plans.get(1)!.subarray(0, 2))).toEqual([2, 3]);
    expectUserError(() => readPlanCsv(file, panel, 'shop', 3), 'plan.csv', 'has 2 rows', 'horizon is 3');
    writeFileSync(file, [`shop,${channels.join(',')}`, row('1', '2'), row('1', 'x')].join('\n'));
    expectUserError(() => readPlanCsv(file, panel, 'shop', 2), 'plan.csv: line 3, column "x0"');
    writeFileSync(file, [`shop,${channels.join(',')}`, row('9', '2')].join('\n'));
    expectUserError(() => readPlanCsv(file, panel, 'shop', 1), 'line 2', 'unknown shop "9"');
  });
});

describe('truth comparison', () => {
  it('scores the truth itself as perfect and an all-zero estimate by the true shares', () => {
    const C = panel.channelIndices.length;
    const T = panel.steps;
    const truth = panel.contributions!;
    const exact = Array.from({ length: panel.shops }, (_, s) => ({
      from: 0,
      to: T,
      actual: panel.series(s, panel.targetIndex),
      fitted: panel.series(s, panel.targetIndex),
      contributions: Array.from({ length: C }, (_, c) => truth.slice((s * C + c) * T, (s * C + c + 1) * T)),
      spend: new Array(C).fill(1),
    }));
    const trueGraphs = Array.from({ length: panel.shops }, (_, s) => Float64Array.from(panel.trueGraph(s)!));
    const perfect = compareWithTruth(panel, exact, trueGraphs, 0.5);
    expect(perfect.meanAbsError).toBe(0);
    expect(perfect.graph.auroc).toBe(1);
    expect(perfect.graph.f1).toBe(1);
    const zero = compareWithTruth(
      panel,
      exact.map((e) => ({ ...e, contributions: e.contributions.map((c) => c.map(() => 0)) })),
      trueGraphs,
      0.5,
    );
    expect(zero.meanAbsError).toBeCloseTo(zero.zeroEstimateError, 12);
    expect(zero.zeroEstimateError).toBeGreaterThan(0.01);
  });
});
