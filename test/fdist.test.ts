import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import {
  fSurvival,
  fSurvivalLog10,
  lnGamma,
  logBetaRegularized,
  logBetaRegularizedUpper,
} from '../src/stats/fdist.js';
import { benjaminiHochberg, benjaminiHochbergLog10Q } from '../src/stats/fdr.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(path.join(here, 'fixtures/granger-statsmodels.json'), 'utf8'));

const relative = (a: number, b: number) => Math.abs(a / b - 1);

describe('lnGamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    expect(lnGamma(1)).toBeCloseTo(0, 14);
    expect(relative(lnGamma(10), Math.log(362880))).toBeLessThan(1e-14);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(relative(lnGamma(101), 363.73937555556347)).toBeLessThan(1e-14);
  });
});

describe('fSurvivalLog10', () => {
  it('reproduces the fixture p-values from its F statistics', () => {
    let worst = 0;
    const dfPairwise = fixture.series_time_by_variable.length - 3 * fixture.lag - 1;
    for (const [kind, df] of [
      ['conditional', fixture.conditional.df],
      ['pairwise', [fixture.lag, dfPairwise]],
    ] as const) {
      const { F, p } = fixture[kind];
      for (let i = 0; i < F.length; i++) {
        for (let j = 0; j < F.length; j++) {
          if (i === j) continue;
          worst = Math.max(worst, relative(fSurvival(F[i][j], df[0], df[1]), p[i][j]));
        }
      }
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('is exact for d1 = 2: P(F > f) = (1 + 2f/d2)^(−d2/2), including far tails', () => {
    for (const d2 of [1, 3, 10, 293, 1435, 100000]) {
      for (const f of [1e-6, 0.3, 3, 40, 1e3, 1e6, 1e12]) {
        const exact = (-d2 / 2) * Math.log10(1 + (2 * f) / d2);
        const got = fSurvivalLog10(f, 2, d2);
        expect(Math.abs(got - exact)).toBeLessThan(1e-9 * Math.max(1, Math.abs(exact)));
      }
    }
    expect(fSurvival(3, 2, 10)).toBeCloseTo(0.09536743164062497, 14);
  });

  it('is exact for d2 = 2 and for F(1, 1)', () => {
    for (const d1 of [1, 4, 15]) {
      for (const f of [0.01, 0.7, 5, 300]) {
        const r = d1 * f;
        const exact = 1 - (r / (r + 2)) ** (d1 / 2);
        expect(relative(fSurvival(f, d1, 2), exact)).toBeLessThan(1e-11);
      }
    }
    for (const f of [0.001, 1, 9, 1e4]) {
      expect(relative(fSurvival(f, 1, 1), 1 - (2 / Math.PI) * Math.atan(Math.sqrt(f)))).toBeLessThan(1e-11);
    }
  });

  it('matches scipy.stats.f.sf and mpmath in the tails', () => {
    const scipy: [number, number, number, number][] = [
      [3, 5, 7, 0.0922465610205496],
      [0.5, 1, 1435, 0.47961493040836434],
      [50, 3, 20, 1.7760683360454804e-9],
      [1000, 4, 100, 1.1425265790104745e-79],
      [2.5, 10, 10, 0.08225366322272007],
      [0.1, 7, 3, 0.9936683964933761],
    ];
    for (const [f, d1, d2, p] of scipy) expect(relative(fSurvival(f, d1, d2), p)).toBeLessThan(1e-10);
    // log10 p from mpmath's betainc at 50 digits: far below double underflow.
    const mpmath: [number, number, number, number][] = [
      [1e6, 3, 20, -51.19272492688646],
      [5000, 5, 1435, -903.7474957052397],
      [1e4, 10, 50, -78.15633028029595],
      [400, 7, 300, -147.31456927546708],
    ];
    for (const [f, d1, d2, l] of mpmath) expect(relative(fSurvivalLog10(f, d1, d2), l)).toBeLessThan(1e-11);
  });

  it('stays finite for enormous F and handles the edges', () => {
    const huge = fSurvivalLog10(1e300, 2, 1435);
    expect(Number.isFinite(huge)).toBe(true);
    expect(huge).toBeLessThan(-400);
    expect(Number.isFinite(fSurvivalLog10(Number.MAX_VALUE, 5, 50))).toBe(true);
    expect(fSurvivalLog10(0, 2, 10)).toBe(0);
    expect(fSurvivalLog10(Number.POSITIVE_INFINITY, 2, 10)).toBe(Number.NEGATIVE_INFINITY);
    expect(fSurvivalLog10(Number.NaN, 2, 10)).toBeNaN();
    // Monotone decreasing in F.
    let previous = 0;
    for (const f of [0.1, 1, 10, 100, 1e4, 1e8]) {
      const l = fSurvivalLog10(f, 3, 40);
      expect(l).toBeLessThan(previous);
      previous = l;
    }
  });
});

describe('regularized incomplete beta', () => {
  it('satisfies I_x(a, b) + (1 − I_x(a, b)) = 1 and known closed forms', () => {
    // I_x(1, b) = 1 − (1 − x)^b.
    expect(relative(Math.exp(logBetaRegularized(0.3, 1, 4)), 1 - 0.7 ** 4)).toBeLessThan(1e-13);
    expect(relative(Math.exp(logBetaRegularizedUpper(0.3, 1, 4)), 0.7 ** 4)).toBeLessThan(1e-13);
    for (const [x, a, b] of [
      [0.2, 3, 5],
      [0.9, 0.5, 20],
      [0.5, 100, 80],
    ]) {
      const sum = Math.exp(logBetaRegularized(x, a, b)) + Math.exp(logBetaRegularizedUpper(x, a, b));
      expect(sum).toBeCloseTo(1, 13);
    }
  });
});

describe('benjaminiHochberg', () => {
  const log10 = (ps: number[]) => ps.map(Math.log10);

  it('rejects the hand-computed set', () => {
    // m = 5, q = 0.05: sorted 0.005 ≤ .01, 0.01 ≤ .02, 0.03 ≤ .03, 0.04 ≤ .04, 0.2 > .05.
    expect(benjaminiHochberg(log10([0.01, 0.04, 0.03, 0.005, 0.2]), 0.05)).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
  });

  it('steps up past a failing rank', () => {
    // m = 5, q = 0.1: thresholds .02 .04 .06 .08 .1; p(2) = .05 fails but p(3) = .055 passes.
    expect(benjaminiHochberg(log10([0.9, 0.055, 0.001, 0.5, 0.05]), 0.1)).toEqual([
      false,
      true,
      true,
      false,
      true,
    ]);
  });

  it('works far below double underflow and never rejects NaN', () => {
    expect(benjaminiHochberg([-500, -320, Number.NaN, 0], 0.05)).toEqual([true, true, false, false]);
    expect(benjaminiHochberg([0, 0, Number.NaN], 1)).toEqual([false, false, false]);
    // NaN counts in m: alone 0.03 ≤ 0.05 is rejected, beside a NaN 0.03 > 0.05 · 1/2 is not.
    expect(benjaminiHochberg([Math.log10(0.03)], 0.05)).toEqual([true]);
    expect(benjaminiHochberg([Math.log10(0.03), Number.NaN], 0.05)).toEqual([false, false]);
    expect(benjaminiHochberg([], 0.05)).toEqual([]);
  });

  it('rejects a bad level', () => {
    expect(() => benjaminiHochberg([0], 0)).toThrow(RangeError);
  });
});

describe('benjaminiHochbergLog10Q', () => {
  const log10 = (ps: number[]) => ps.map(Math.log10);

  it('gives the hand-computed q-values', () => {
    // Sorted .005 .01 .03 .04 .2 → p·5/rank .025 .025 .05 .05 .2, already monotone.
    const q = Array.from(benjaminiHochbergLog10Q(log10([0.01, 0.04, 0.03, 0.005, 0.2])), (v) => 10 ** v);
    for (const [i, want] of [0.025, 0.05, 0.05, 0.025, 0.2].entries()) expect(q[i]).toBeCloseTo(want, 12);
    // The running minimum from the top: .05·5/2 = .125 > .055·5/3 ≈ .0917, so both get .0917.
    const stepped = Array.from(
      benjaminiHochbergLog10Q(log10([0.9, 0.055, 0.001, 0.5, 0.05])),
      (v) => 10 ** v,
    );
    for (const [i, want] of [0.9, 0.055 * (5 / 3), 0.005, 0.625, 0.055 * (5 / 3)].entries())
      expect(stepped[i]).toBeCloseTo(want, 12);
  });

  it('rejects at level α exactly the entries benjaminiHochberg rejects', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const p = Array.from({ length: 12 }, () => (rng.uniform() < 0.1 ? Number.NaN : -4 * rng.uniform()));
      const q = benjaminiHochbergLog10Q(p);
      for (const alpha of [0.01, 0.05, 0.2, 0.5]) {
        expect(Array.from(q, (v) => !Number.isNaN(v) && v <= Math.log10(alpha))).toEqual(
          benjaminiHochberg(p, alpha),
        );
      }
    }
  });
});
