import { describe, expect, it } from 'vitest';
import { Panel } from '../src/data/panel.js';
import { UserError } from '../src/errors.js';
import { Rng } from '../src/rng.js';

/** 3 shops × 2 nodes × 4 steps with value = 100·shop + 10·node + t. */
function smallPanel(): Panel {
  const values = new Float32Array(3 * 2 * 4);
  for (let s = 0; s < 3; s++)
    for (let n = 0; n < 2; n++)
      for (let t = 0; t < 4; t++) values[(s * 2 + n) * 4 + t] = 100 * s + 10 * n + t;
  const graph = new Uint8Array(3 * 4);
  graph[1 * 4 + 1 * 2 + 0] = 1; // shop 1: node 0 → node 1
  return new Panel({
    shape: [3, 2, 4],
    values,
    shopIds: ['a', 'b', 'c'],
    context: new Float32Array([1, 2, 3]),
    graph,
    contributions: new Float32Array(3 * 1 * 4).map((_, i) => i),
  });
}

describe('Panel', () => {
  it('indexes shop, node and time in C order', () => {
    const p = smallPanel();
    expect(Array.from(p.series(2, 1))).toEqual([210, 211, 212, 213]);
    expect(p.targetIndex).toBe(1);
    expect(p.channelIndices).toEqual([0]);
    expect(Array.from(p.shopContext(1)!)).toEqual([2]);
    expect(p.contextNames).toEqual(['context0']);
    expect(p.graphShared).toBe(false);
    expect(Array.from(p.trueGraph(1)!)).toEqual([0, 0, 1, 0]);
  });

  it('selects shops with their context, graphs and contributions', () => {
    const sub = smallPanel().selectShops([2, 1]);
    expect(sub.shopIds).toEqual(['c', 'b']);
    expect(Array.from(sub.series(0, 0))).toEqual([200, 201, 202, 203]);
    expect(Array.from(sub.context!)).toEqual([3, 2]);
    expect(Array.from(sub.trueGraph(1)!)).toEqual([0, 0, 1, 0]);
    expect(Array.from(sub.contributions!.subarray(0, 4))).toEqual([8, 9, 10, 11]);
  });

  it('splits time into a history and a forecast window that do not overlap', () => {
    const { history, future } = smallPanel().splitTime(1);
    expect(history.steps).toBe(3);
    expect(Array.from(history.series(1, 1))).toEqual([110, 111, 112]);
    expect(Array.from(future.series(1, 1))).toEqual([113]);
    expect(() => smallPanel().splitTime(4)).toThrow(UserError);
  });

  it('splits shops into disjoint parts that cover every shop, reproducibly', () => {
    const values = new Float32Array(10 * 2 * 3);
    const p = new Panel({ shape: [10, 2, 3], values });
    const a = p.splitShops({ train: 0.6, val: 0.2 }, new Rng(1));
    const b = p.splitShops({ train: 0.6, val: 0.2 }, new Rng(1));
    const ids = [...a.train.shopIds, ...a.val.shopIds, ...a.test.shopIds];
    expect(ids.slice().sort()).toEqual(p.shopIds.slice().sort());
    expect([a.train.shops, a.val.shops, a.test.shops]).toEqual([6, 2, 2]);
    expect(b.train.shopIds).toEqual(a.train.shopIds);
  });

  it('rejects inconsistent shapes with a message naming the source', () => {
    expect(() => new Panel({ shape: [2, 2, 2], values: new Float32Array(7), source: 'x.npy' })).toThrow(
      /x\.npy: values hold 7/,
    );
    expect(
      () =>
        new Panel({
          shape: [1, 2, 2],
          values: new Float32Array(4),
          nodes: [
            { name: 'a', role: 'channel' },
            { name: 'b', role: 'kpi' },
          ],
        }),
    ).toThrow(/exactly one node must have role "target"/);
    expect(
      () => new Panel({ shape: [1, 2, 2], values: new Float32Array(4), graph: new Uint8Array(3) }),
    ).toThrow(/graph has 3/);
  });
});
