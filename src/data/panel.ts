import { UserError } from '../errors.js';
import type { Rng } from '../rng.js';

export type NodeRole = 'channel' | 'kpi' | 'target';
export const NODE_ROLES: readonly NodeRole[] = ['channel', 'kpi', 'target'];

export interface NodeSpec {
  name: string;
  role: NodeRole;
}

export interface PanelInit {
  /** Shape [shops S, nodes N, steps T]. */
  shape: readonly [number, number, number];
  /** Values in C order over (shop, node, time): values[(s * N + n) * T + t]. */
  values: Float32Array;
  /** Defaults to `x0 … x{N-1}`, the last node being the target and the others channels. */
  nodes?: NodeSpec[];
  /** Defaults to `"0" … "{S-1}"`. */
  shopIds?: string[];
  /** Static context per shop, [S, k] in C order. */
  context?: Float32Array;
  contextNames?: string[];
  /**
   * True graph, `graph[i * N + j] = 1` ⇔ j → i. Length N·N (shared by every shop) or
   * S·N·N (one graph per shop, shop-major).
   */
  graph?: Uint8Array;
  /** True contribution of each channel to the target, [S, C, T] with C channels in node order. */
  contributions?: Float32Array;
  /** Where the panel came from, used in error messages and result files. */
  source?: string;
}

/** Default node specs: `x0 … x{N-1}`, the last is the target, the others channels. */
export function defaultNodes(count: number): NodeSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `x${i}`,
    role: i === count - 1 ? 'target' : 'channel',
  }));
}

/**
 * A multi-shop panel: S shops × N nodes × T time steps, Float32Array-backed, with node roles,
 * optional per-shop context, true graphs and true channel contributions.
 * Graph orientation everywhere: `A[i][j] = 1` ⇔ j → i (row = effect, column = cause).
 */
export class Panel {
  readonly shops: number;
  readonly nodeCount: number;
  readonly steps: number;
  readonly values: Float32Array;
  readonly nodes: readonly NodeSpec[];
  readonly shopIds: readonly string[];
  readonly context: Float32Array | undefined;
  readonly contextNames: readonly string[];
  readonly graph: Uint8Array | undefined;
  readonly contributions: Float32Array | undefined;
  readonly source: string;

  constructor(init: PanelInit) {
    const [S, N, T] = init.shape;
    const source = init.source ?? 'panel';
    this.source = source;
    const fail = (msg: string): never => {
      throw new UserError(`${source}: ${msg}`);
    };
    if (![S, N, T].every((d) => Number.isInteger(d) && d > 0)) fail(`shape [${init.shape}] must be positive`);
    if (init.values.length !== S * N * T) {
      fail(`values hold ${init.values.length} numbers, shape [${S}, ${N}, ${T}] needs ${S * N * T}`);
    }
    this.shops = S;
    this.nodeCount = N;
    this.steps = T;
    this.values = init.values;
    this.nodes = init.nodes ?? defaultNodes(N);
    if (this.nodes.length !== N) fail(`${this.nodes.length} node names for ${N} nodes`);
    const names = new Set(this.nodes.map((n) => n.name));
    if (names.size !== N) fail('node names must be unique');
    for (const node of this.nodes) {
      if (!NODE_ROLES.includes(node.role)) fail(`node "${node.name}" has unknown role "${node.role}"`);
    }
    if (this.nodes.filter((n) => n.role === 'target').length !== 1)
      fail('exactly one node must have role "target"');
    this.shopIds = init.shopIds ?? Array.from({ length: S }, (_, s) => String(s));
    if (this.shopIds.length !== S) fail(`${this.shopIds.length} shop ids for ${S} shops`);
    this.context = init.context;
    this.contextNames = init.contextNames ?? [];
    if (init.context) {
      if (init.context.length % S !== 0)
        fail(`context has ${init.context.length} numbers, not a multiple of ${S} shops`);
      const k = init.context.length / S;
      if (init.contextNames && init.contextNames.length !== k)
        fail(`${init.contextNames.length} context names for ${k} columns`);
      if (!init.contextNames) this.contextNames = Array.from({ length: k }, (_, i) => `context${i}`);
    }
    this.graph = init.graph;
    if (init.graph && init.graph.length !== N * N && init.graph.length !== S * N * N) {
      fail(`graph has ${init.graph.length} entries; expected ${N}×${N} or ${S}×${N}×${N}`);
    }
    this.contributions = init.contributions;
    const C = this.channelIndices.length;
    if (init.contributions && init.contributions.length !== S * C * T) {
      fail(`contributions hold ${init.contributions.length} numbers; expected ${S}×${C}×${T}`);
    }
  }

  get contextSize(): number {
    return this.context ? this.context.length / this.shops : 0;
  }

  /** True when one graph is shared by every shop. */
  get graphShared(): boolean {
    return this.graph !== undefined && this.graph.length === this.nodeCount * this.nodeCount;
  }

  get targetIndex(): number {
    return this.nodes.findIndex((n) => n.role === 'target');
  }

  get channelIndices(): number[] {
    return this.nodes.flatMap((n, i) => (n.role === 'channel' ? [i] : []));
  }

  nodeIndex(name: string): number {
    return this.nodes.findIndex((n) => n.name === name);
  }

  /** One shop's N × T block (a view, not a copy). */
  shopValues(shop: number): Float32Array {
    const size = this.nodeCount * this.steps;
    return this.values.subarray(shop * size, (shop + 1) * size);
  }

  /** One node's series of one shop (a view). */
  series(shop: number, node: number): Float32Array {
    const start = (shop * this.nodeCount + node) * this.steps;
    return this.values.subarray(start, start + this.steps);
  }

  /** One shop's context vector (a view). */
  shopContext(shop: number): Float32Array | undefined {
    const k = this.contextSize;
    return this.context?.subarray(shop * k, (shop + 1) * k);
  }

  /** The true N × N graph of one shop (`[i * N + j] = 1` ⇔ j → i), if known. */
  trueGraph(shop: number): Uint8Array | undefined {
    if (!this.graph) return undefined;
    if (this.graphShared) return this.graph;
    const size = this.nodeCount * this.nodeCount;
    return this.graph.subarray(shop * size, (shop + 1) * size);
  }

  /** A new panel holding the given shops, in the given order. */
  selectShops(indices: readonly number[]): Panel {
    const N = this.nodeCount;
    const T = this.steps;
    const k = this.contextSize;
    const C = this.channelIndices.length;
    const gather = <A extends Float32Array | Uint8Array>(src: A, width: number): A => {
      const out = new (src.constructor as new (length: number) => A)(indices.length * width);
      for (const [r, s] of indices.entries()) out.set(src.subarray(s * width, (s + 1) * width), r * width);
      return out;
    };
    return new Panel({
      shape: [indices.length, N, T],
      values: gather(this.values, N * T),
      nodes: [...this.nodes],
      shopIds: indices.map((s) => this.shopIds[s]),
      context: this.context ? gather(this.context, k) : undefined,
      contextNames: this.context ? [...this.contextNames] : undefined,
      graph: this.graph && !this.graphShared ? gather(this.graph, N * N) : this.graph,
      contributions: this.contributions ? gather(this.contributions, C * T) : undefined,
      source: this.source,
    });
  }

  /** A new panel holding time steps [start, end) of every shop. */
  sliceTime(start: number, end: number): Panel {
    if (
      !(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= this.steps && start < end)
    ) {
      throw new RangeError(`time slice [${start}, ${end}) outside [0, ${this.steps})`);
    }
    const cut = (src: Float32Array, rows: number) => {
      const L = end - start;
      const out = new Float32Array(rows * L);
      for (let r = 0; r < rows; r++)
        out.set(src.subarray(r * this.steps + start, r * this.steps + end), r * L);
      return out;
    };
    const C = this.channelIndices.length;
    return new Panel({
      shape: [this.shops, this.nodeCount, end - start],
      values: cut(this.values, this.shops * this.nodeCount),
      nodes: [...this.nodes],
      shopIds: [...this.shopIds],
      context: this.context,
      contextNames: this.context ? [...this.contextNames] : undefined,
      graph: this.graph,
      contributions: this.contributions ? cut(this.contributions, this.shops * C) : undefined,
      source: this.source,
    });
  }

  /**
   * Splits over time: `history` holds the first T − horizon steps and `future` the last
   * `horizon` steps, so that nothing of the forecast window reaches a method's inputs.
   */
  splitTime(horizon: number): { history: Panel; future: Panel } {
    if (!(Number.isInteger(horizon) && horizon > 0 && horizon < this.steps)) {
      throw new UserError(`${this.source}: forecast horizon ${horizon} must be in 1…${this.steps - 1}`);
    }
    return {
      history: this.sliceTime(0, this.steps - horizon),
      future: this.sliceTime(this.steps - horizon, this.steps),
    };
  }

  /**
   * Splits shops at random (seeded) into train / validation / test by the given fractions of
   * the shop count; the test part takes what is left, so every shop lands in exactly one part.
   */
  splitShops(fractions: { train: number; val: number }, rng: Rng): { train: Panel; val: Panel; test: Panel } {
    const order = rng.shuffle(Array.from({ length: this.shops }, (_, s) => s));
    const nTrain = Math.round(fractions.train * this.shops);
    const nVal = Math.round(fractions.val * this.shops);
    if (nTrain < 1 || nTrain + nVal > this.shops) {
      throw new UserError(
        `${this.source}: split ${JSON.stringify(fractions)} of ${this.shops} shops leaves a part empty`,
      );
    }
    return {
      train: this.selectShops(order.slice(0, nTrain)),
      val: this.selectShops(order.slice(nTrain, nTrain + nVal)),
      test: this.selectShops(order.slice(nTrain + nVal)),
    };
  }
}
