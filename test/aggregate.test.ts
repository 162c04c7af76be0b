import { describe, expect, it } from 'vitest';
import { formatMeanStd, meanStd } from '../src/metrics/aggregate.js';

describe('meanStd', () => {
  it('uses the sample standard deviation and ignores NaN', () => {
    const ms = meanStd([1, 2, 3, Number.NaN, 4]);
    expect(ms.n).toBe(4);
    expect(ms.mean).toBe(2.5);
    expect(ms.std).toBeCloseTo(Math.sqrt(5 / 3), 15);
  });

  it('gives std 0 for one value and NaN for none', () => {
    expect(meanStd([0.5])).toEqual({ mean: 0.5, std: 0, n: 1 });
    const none = meanStd([Number.NaN]);
    expect(none.n).toBe(0);
    expect(none.mean).toBeNaN();
  });
});

describe('formatMeanStd', () => {
  it('formats mean ± std, a lone mean, or a dash', () => {
    expect(formatMeanStd({ mean: 0.91234, std: 0.0128, n: 3 }, 3)).toBe('0.912 ± 0.013');
    expect(formatMeanStd({ mean: 0.91234, std: 0, n: 1 }, 3)).toBe('0.912');
    expect(formatMeanStd(meanStd([]))).toBe('—');
    expect(formatMeanStd(meanStd([1, 2]), 1)).toBe('1.5 ± 0.7');
  });
});
