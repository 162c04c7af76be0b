import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { auroc, averagePrecision, rocCurve } from '../src/metrics/ranking.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(
  readFileSync(path.join(here, 'fixtures/ranking-metrics-sklearn.json'), 'utf8'),
) as {
  cases: { labels: number[]; scores: number[]; auroc: number; average_precision: number }[];
};

describe('ranking metrics vs scikit-learn', () => {
  it.each(fixture.cases.map((c, k) => [k, c] as const))('case %i', (_, c) => {
    expect(Math.abs(auroc(c.labels, c.scores) - c.auroc)).toBeLessThan(1e-9);
    expect(Math.abs(averagePrecision(c.labels, c.scores) - c.average_precision)).toBeLessThan(1e-9);
  });

  it('covers tied scores', () => {
    expect(fixture.cases.some((c) => new Set(c.scores).size < c.scores.length)).toBe(true);
  });
});

describe('auroc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, 0.5 for all ties', () => {
    expect(auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(auroc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
    expect(auroc([1, 0, 1, 0], [3, 3, 3, 3])).toBe(0.5);
  });

  it('is NaN with one class', () => {
    expect(auroc([1, 1, 1], [0.1, 0.2, 0.3])).toBeNaN();
    expect(auroc([0, 0], [0.1, 0.2])).toBeNaN();
    expect(averagePrecision([0, 0], [0.1, 0.2])).toBeNaN();
  });

  it('ranks NaN scores last', () => {
    expect(auroc([1, 0, 1], [0.5, Number.NaN, 0.7])).toBe(1);
  });

  it('rejects mismatched lengths', () => {
    expect(() => auroc([1, 0], [0.1])).toThrow(RangeError);
  });
});

describe('rocCurve', () => {
  it('gives one point per distinct threshold after (0, 0)', () => {
    const curve = rocCurve([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1]);
    expect(curve.thresholds).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.5, 0.1]);
    expect(curve.tpr).toEqual([0, 0.5, 1, 1]);
    expect(curve.fpr).toEqual([0, 0, 0.5, 1]);
  });

  it('has the trapezoid area of auroc', () => {
    const c = fixture.cases[1];
    const curve = rocCurve(c.labels, c.scores);
    let area = 0;
    for (let k = 1; k < curve.fpr.length; k++) {
      area += ((curve.fpr[k] - curve.fpr[k - 1]) * (curve.tpr[k] + curve.tpr[k - 1])) / 2;
    }
    expect(area).toBeCloseTo(c.auroc, 12);
  });
});
