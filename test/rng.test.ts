import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';

describe('Rng', () => {
  it('gives the same numbers for the same seed, and different ones for another seed', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xs = Array.from({ length: 20 }, () => a.normal());
    expect(Array.from({ length: 20 }, () => b.normal())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.normal())).not.toEqual(xs);
  });

  it('derives forks from the seed and label only, not from draws made before', () => {
    const a = new Rng(3);
    a.uniform();
    a.uniform();
    expect(a.fork('shop-1').uniform()).toBe(new Rng(3).fork('shop-1').uniform());
    expect(a.fork('shop-1').uniform()).not.toBe(a.fork('shop-2').uniform());
  });

  it('draws standard normals with mean 0 and variance 1', () => {
    const r = new Rng(11);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.015);
  });

  it('shuffles into a permutation', () => {
    const out = new Rng(5).shuffle([1, 2, 3, 4, 5, 6]);
    expect(out.slice().sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
