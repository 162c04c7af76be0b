import { describe, expect, it } from 'vitest';
import {
  f1,
  graphAuprc,
  graphAuroc,
  graphMetrics,
  offDiagonalPairs,
  shd,
  thresholdScores,
  varyingPairs,
} from '../src/metrics/graph.js';

// 3 nodes, truth: 0 → 1, 1 → 2 (A[i][j] = 1 ⇔ j → i).
const N = 3;
const truth = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]);

describe('offDiagonalPairs', () => {
  it('drops the diagonal in row-major order unless asked', () => {
    const scores = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const pairs = offDiagonalPairs(truth, scores, N);
    expect(Array.from(pairs.scores)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(Array.from(pairs.labels)).toEqual([0, 0, 1, 0, 0, 1]);
    expect(offDiagonalPairs(truth, scores, N, { withDiagonal: true }).scores.length).toBe(9);
  });

  it('rejects a wrong size', () => {
    expect(() => offDiagonalPairs(truth, new Float64Array(4), N)).toThrow(RangeError);
  });
});

describe('graphAuroc / graphAuprc', () => {
  it('ignores the diagonal even when it holds the highest scores', () => {
    const scores = Float64Array.from([9, 0, 0, 1, 9, 0, 0, 1, 9]);
    expect(graphAuroc(truth, scores, N)).toBe(1);
    expect(graphAuprc(truth, scores, N)).toBe(1);
  });
});

describe('shd', () => {
  it('is 0 for equal graphs', () => {
    expect(shd(truth, truth, N)).toBe(0);
  });
  it('counts a missing edge as 1', () => {
    expect(shd(truth, Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, 0]), N)).toBe(1);
  });
  it('counts an extra edge as 1', () => {
    expect(shd(truth, Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 1, 0]), N)).toBe(1);
  });
  it('counts a reversed edge as 1', () => {
    // 1 → 0 instead of 0 → 1.
    expect(shd(truth, Uint8Array.from([0, 1, 0, 0, 0, 0, 0, 1, 0]), N)).toBe(1);
  });
  it('adds up changes on distinct pairs and ignores self-loops', () => {
    // reversed 0 → 1, missing 1 → 2, extra 0 → 2, plus a self-loop.
    expect(shd(truth, Uint8Array.from([1, 1, 0, 0, 0, 0, 1, 0, 0]), N)).toBe(3);
  });
});

describe('f1', () => {
  it('is 2TP / (2TP + FP + FN) over ordered off-diagonal pairs', () => {
    expect(f1(truth, truth, N)).toBe(1);
    // TP 1 (0 → 1), FP 1 (0 → 2), FN 1 (1 → 2).
    expect(f1(truth, Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 0, 0]), N)).toBeCloseTo(0.5, 15);
    expect(f1(truth, new Uint8Array(9), N)).toBe(0);
    expect(f1(new Uint8Array(9), new Uint8Array(9), N)).toBeNaN();
  });
});

describe('thresholdScores', () => {
  it('marks scores at or above the threshold', () => {
    expect(Array.from(thresholdScores([0.5, 1, 2, Number.NaN], 1))).toEqual([0, 1, 1, 0]);
  });
});

describe('graphMetrics', () => {
  it('averages per shop, pools across shops and adds shd / f1 for binary graphs', () => {
    const perfect = Float64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]);
    const reversed = Float64Array.from([0, 1, 0, 0, 0, 0, 0, 0, 0]);
    const m = graphMetrics([truth, truth], [perfect, reversed], [truth, new Uint8Array(9)], N);
    const second = graphAuroc(truth, reversed, N);
    expect(m.auroc).toBeCloseTo((1 + second) / 2, 15);
    expect(m.auprc).toBeCloseTo((1 + graphAuprc(truth, reversed, N)) / 2, 15);
    // Pooled: 12 pairs, 4 positives; perfect shop's positives score 1, the other shop's 0.
    expect(m.auroc_pooled).toBeGreaterThan(0);
    expect(m.auroc_pooled).toBeLessThan(1);
    expect(m.shd).toBe(1);
    expect(m.f1).toBe(0.5);
  });

  it('skips shops where AUROC is undefined and omits shd / f1 without binary graphs', () => {
    const empty = new Uint8Array(9);
    const scores = Float64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]);
    const m = graphMetrics([truth, empty], [scores, scores], undefined, N);
    expect(m.auroc).toBe(1);
    expect(m.shd).toBeUndefined();
    expect(m.f1).toBeUndefined();
  });

  it('scores only the pairs whose true edge varies between shops in auroc_varying', () => {
    // Shop graphs share 0 → 1; shop A has 1 → 2, shop B has 0 → 2 instead: pairs (2,1) and (2,0) vary.
    const a = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0]);
    const b = Uint8Array.from([0, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(Array.from(varyingPairs([a, b], N))).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 0]);
    // A population guess (both varying pairs at 0.5, the shared edge at 1) ranks perfectly
    // overall only where ties allow, and is at chance on the varying pairs.
    const population = Float64Array.from([0, 0, 0, 1, 0, 0, 0.5, 0.5, 0]);
    const m = graphMetrics([a, b], [population, population], undefined, N);
    expect(m.auroc_varying).toBe(0.5);
    expect(m.auroc).toBeGreaterThan(0.8);
    // Shop-specific scores get the varying pairs right.
    const aScores = Float64Array.from([0, 0, 0, 1, 0, 0, 0.2, 0.9, 0]);
    const bScores = Float64Array.from([0, 0, 0, 1, 0, 0, 0.9, 0.2, 0]);
    expect(graphMetrics([a, b], [aScores, bScores], undefined, N).auroc_varying).toBe(1);
    expect(graphMetrics([a, a], [aScores, aScores], undefined, N).auroc_varying).toBeNaN();
    expect(graphAuroc(a, aScores, N, { only: varyingPairs([a, b], N) })).toBe(1);
  });
});
