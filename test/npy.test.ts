import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../src/data/npy.js';
import { expectUserError, shared, useTempDirs } from './helpers.js';

const tempDir = useTempDirs();
const datasets = path.join(shared, 'datasets');

function tmp(): string {
  return tempDir('causalmmm-npy-');
}

/**
 * Builds `.npy` bytes by hand: any format version, header text and raw data, with `pad`
 * extra spaces so tests can make the data start at any offset.
 */
function craft(opts: { version?: number; header: string; data?: Uint8Array; pad?: number }): Uint8Array {
  const version = opts.version ?? 1;
  const header = new TextEncoder().encode(`${opts.header}${' '.repeat(opts.pad ?? 0)}\n`);
  const prefix = version === 1 ? 10 : 12;
  const data = opts.data ?? new Uint8Array(0);
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, prefix);
  out.set(data, prefix + header.length);
  return out;
}

function dict(descr: string, shape: string, fortran = false): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

describe('encodeNpy / parseNpy round trip', () => {
  it('round-trips float32, float64 and uint8 with numpy-compatible headers', () => {
    const cases = [
      { shape: [2, 3], data: new Float32Array([1.5, -2, 3.25, 0, 1e-7, 65504]), dtype: 'f4' },
      { shape: [3, 1, 2], data: new Float64Array([Math.PI, -1e300, 0, 5e-324, 1, 2]), dtype: 'f8' },
      { shape: [4], data: new Uint8Array([0, 1, 255, 7]), dtype: 'u1' },
    ];
    for (const c of cases) {
      const bytes = encodeNpy(c);
      expect(bytes[6]).toBe(1);
      expect(bytes[7]).toBe(0);
      const headerLen = bytes[8] | (bytes[9] << 8);
      expect((10 + headerLen) % 64).toBe(0);
      expect(bytes[10 + headerLen - 1]).toBe(0x0a);
      const back = parseNpy(bytes, 'mem.npy');
      expect(back.shape).toEqual(c.shape);
      expect(back.dtype).toBe(c.dtype);
      expect(back.data.constructor).toBe(c.data.constructor);
      expect(Array.from(back.data)).toEqual(Array.from(c.data));
    }
  });

  it('writes the same header bytes numpy writes', () => {
    const bytes = encodeNpy({ shape: [2, 3], data: new Float32Array(6) });
    const header = new TextDecoder().decode(bytes.subarray(10, 128));
    // numpy 2.x: np.save of a (2, 3) float32 array writes exactly this 118-byte header.
    expect(header).toBe(`${"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117)}\n`);
    expect(bytes.length).toBe(128 + 24);
  });

  it('writes 1-d shapes as (n,) and 0-d as ()', () => {
    const one = encodeNpy({ shape: [5], data: new Float64Array(5) });
    expect(new TextDecoder().decode(one.subarray(10, 70))).toContain("'shape': (5,)");
    const scalar = parseNpy(encodeNpy({ shape: [], data: new Float64Array([2.5]) }), 'scalar.npy');
    expect(scalar.shape).toEqual([]);
    expect(Array.from(scalar.data)).toEqual([2.5]);
    const empty = parseNpy(encodeNpy({ shape: [0, 3], data: new Float32Array(0) }), 'empty.npy');
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.data.length).toBe(0);
  });

  it('writes booleans as |b1 when asked', () => {
    const bytes = encodeNpy({ shape: [3], data: new Uint8Array([1, 0, 1]), dtype: 'b1' });
    const back = parseNpy(bytes, 'b.npy');
    expect(back.dtype).toBe('b1');
    expect(Array.from(back.data)).toEqual([1, 0, 1]);
  });

  it('writes and reads files, atomically, leaving no temp file', () => {
    const dir = tmp();
    const file = path.join(dir, 'a.npy');
    writeNpy(file, { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    writeNpy(file, { shape: [3], data: new Float64Array([7, 8, 9]) });
    expect(readdirSync(dir)).toEqual(['a.npy']);
    const back = readNpy(file);
    expect(back.shape).toEqual([3]);
    expect(back.dtype).toBe('f8');
    expect(Array.from(back.data)).toEqual([7, 8, 9]);
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => encodeNpy({ shape: [2, 2], data: new Float32Array(3) })).toThrow(/needs 4 values/);
  });
});

describe('parseNpy formats and dtypes', () => {
  it('reads format 2.0 and 3.0 headers', () => {
    const data = bytesOf(new Float64Array([1, 2, 3, 4]));
    for (const version of [2, 3]) {
      const arr = parseNpy(craft({ version, header: dict('<f8', '(2, 2)'), data }), `v${version}.npy`);
      expect(arr.shape).toEqual([2, 2]);
      expect(Array.from(arr.data)).toEqual([1, 2, 3, 4]);
    }
  });

  it('copies data that starts at an unaligned offset', () => {
    const data = bytesOf(new Float64Array([0.1, -7.5, 1e10]));
    const buf = craft({ header: dict('<f8', '(3,)'), data, pad: 3 });
    const offset = buf.length - data.length;
    expect(offset % 8).not.toBe(0);
    // Also place the whole buffer at an odd byte offset of a larger one.
    const host = new Uint8Array(buf.length + 1);
    host.set(buf, 1);
    const arr = parseNpy(host.subarray(1), 'odd.npy');
    expect(Array.from(arr.data)).toEqual([0.1, -7.5, 1e10]);
  });

  it('reads every supported integer dtype', () => {
    const cases: [string, ArrayBufferView, number[]][] = [
      ['|i1', new Int8Array([-128, 0, 127]), [-128, 0, 127]],
      ['<u2', new Uint16Array([0, 65535, 3]), [0, 65535, 3]],
      ['<i2', new Int16Array([-32768, 1, 32767]), [-32768, 1, 32767]],
      ['<u4', new Uint32Array([0, 4294967295, 9]), [0, 4294967295, 9]],
      ['<i4', new Int32Array([-2147483648, 5, 2147483647]), [-2147483648, 5, 2147483647]],
      ['<i8', new BigInt64Array([-(2n ** 53n), 0n, 2n ** 53n]), [-(2 ** 53), 0, 2 ** 53]],
      ['<u8', new BigUint64Array([0n, 12345678901n, 1n]), [0, 12345678901, 1]],
      ['|u1', new Uint8Array([0, 200, 255]), [0, 200, 255]],
    ];
    for (const [descr, view, expected] of cases) {
      const arr = parseNpy(craft({ header: dict(descr, '(3,)'), data: bytesOf(view) }), `${descr}.npy`);
      expect(Array.from(arr.data), descr).toEqual(expected);
      expect(arr.dtype).toBe(descr.slice(1));
    }
    const i8 = parseNpy(
      craft({ header: dict('<i8', '(1,)'), data: bytesOf(new BigInt64Array([7n])) }),
      'i8.npy',
    );
    expect(i8.data).toBeInstanceOf(Float64Array);
  });

  it('rejects 64-bit integers beyond 2^53', () => {
    const data = bytesOf(new BigInt64Array([1n, 2n ** 53n + 1n]));
    expectUserError(
      () => parseNpy(craft({ header: dict('<i8', '(2,)'), data }), 'big.npy'),
      'big.npy',
      'element 1',
      '2^53',
    );
  });

  it('reads booleans to 0/1 and rejects other bytes', () => {
    const arr = parseNpy(craft({ header: dict('|b1', '(3,)'), data: new Uint8Array([1, 0, 1]) }), 'b.npy');
    expect(arr.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(arr.data)).toEqual([1, 0, 1]);
    expectUserError(
      () => parseNpy(craft({ header: dict('|b1', '(2,)'), data: new Uint8Array([0, 2]) }), 'b.npy'),
      'b.npy',
      'element 1',
    );
  });

  it('byte-swaps big-endian data', () => {
    const f8 = new Uint8Array(16);
    const dv = new DataView(f8.buffer);
    dv.setFloat64(0, 1.25, false);
    dv.setFloat64(8, -3e-5, false);
    expect(Array.from(parseNpy(craft({ header: dict('>f8', '(2,)'), data: f8 }), 'be.npy').data)).toEqual([
      1.25, -3e-5,
    ]);
    const i4 = new Uint8Array(8);
    new DataView(i4.buffer).setInt32(0, -70000, false);
    new DataView(i4.buffer).setInt32(4, 123456, false);
    expect(Array.from(parseNpy(craft({ header: dict('>i4', '(2,)'), data: i4 }), 'be.npy').data)).toEqual([
      -70000, 123456,
    ]);
  });

  it('transposes Fortran-order arrays to C order', () => {
    // C-order [[0, 1, 2], [3, 4, 5]] stored column-major.
    const data = bytesOf(new Float32Array([0, 3, 1, 4, 2, 5]));
    const arr = parseNpy(craft({ header: dict('<f4', '(2, 3)', true), data }), 'f.npy');
    expect(arr.shape).toEqual([2, 3]);
    expect(Array.from(arr.data)).toEqual([0, 1, 2, 3, 4, 5]);
    // 2 × 3 × 4 with value = C index; Fortran layout puts index (i, j, k) at i + 2j + 6k.
    const f = new Float64Array(24);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) f[i + 2 * j + 6 * k] = i * 12 + j * 4 + k;
    const cube = parseNpy(craft({ header: dict('<f8', '(2, 3, 4)', true), data: bytesOf(f) }), 'f3.npy');
    expect(Array.from(cube.data)).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });
});

describe('parseNpy errors name the file and the problem', () => {
  const f8 = (n: number) => bytesOf(new Float64Array(n));
  it('empty file', () => expectUserError(() => parseNpy(new Uint8Array(0), 'e.npy'), 'e.npy', 'empty'));
  it('bad magic', () =>
    expectUserError(
      () => parseNpy(new TextEncoder().encode('PK\x03\x04 not numpy'), 'zip.npy'),
      'zip.npy',
      'magic',
    ));
  it('unsupported version', () => {
    const buf = craft({ header: dict('<f8', '(1,)'), data: f8(1) });
    buf[6] = 4;
    expectUserError(() => parseNpy(buf, 'v4.npy'), 'v4.npy', 'version 4.0');
  });
  it('truncated header', () => {
    const buf = craft({ header: dict('<f8', '(1,)'), data: f8(1) });
    expectUserError(() => parseNpy(buf.subarray(0, 30), 'th.npy'), 'th.npy', 'truncated .npy header');
  });
  it('truncated data', () =>
    expectUserError(
      () => parseNpy(craft({ header: dict('<f8', '(2, 3)'), data: f8(5) }), 'td.npy'),
      'td.npy',
      'truncated data',
      '48 bytes',
      '40',
    ));
  it('trailing bytes (size mismatch)', () =>
    expectUserError(
      () => parseNpy(craft({ header: dict('<f8', '(2,)'), data: f8(3) }), 'sm.npy'),
      'sm.npy',
      'size mismatch',
    ));
  it('header that does not parse', () =>
    expectUserError(
      () => parseNpy(craft({ header: "{'descr': '<f8', 'shape': (2,", data: f8(2) }), 'hp.npy'),
      'hp.npy',
      'cannot parse the .npy header',
    ));
  it('header without shape', () =>
    expectUserError(
      () => parseNpy(craft({ header: "{'descr': '<f8', 'fortran_order': False}", data: f8(2) }), 'hs.npy'),
      'hs.npy',
      "'shape'",
    ));
  it('negative shape', () =>
    expectUserError(() => parseNpy(craft({ header: dict('<f8', '(-2,)') }), 'ns.npy'), 'ns.npy', "'shape'"));
  it('unsupported dtypes', () => {
    expectUserError(
      () => parseNpy(craft({ header: dict('<c16', '(1,)'), data: f8(2) }), 'c.npy'),
      'c.npy',
      "'<c16'",
    );
    expectUserError(
      () => parseNpy(craft({ header: dict('<U5', '(1,)'), data: f8(2) }), 'u.npy'),
      'u.npy',
      'unsupported dtype',
    );
    const structured = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }";
    expectUserError(
      () => parseNpy(craft({ header: structured, data: f8(1) }), 's.npy'),
      's.npy',
      'structured',
    );
    expectUserError(
      () => parseNpy(craft({ header: dict('|f8', '(1,)'), data: f8(1) }), 'o.npy'),
      'o.npy',
      'byte order',
    );
  });
  it('missing file', () => {
    const file = path.join(tmp(), 'nope.npy');
    expectUserError(() => readNpy(file), file, 'no such file');
  });
  it('readNpy names the path on disk', () => {
    const file = path.join(tmp(), 'bad.npy');
    writeFileSync(file, craft({ header: dict('<f8', '(4,)'), data: f8(1) }));
    expectUserError(() => readNpy(file), file, 'truncated data');
  });
});

describe.skipIf(!existsSync(shared))('real files in ../shared/datasets', () => {
  it('netsim-sim3 series and graph', () => {
    const series = readNpy(path.join(datasets, 'netsim-sim3/series.npy'));
    expect(series.shape).toEqual([50, 15, 200]);
    expect(series.dtype).toBe('f8');
    expect(series.data).toBeInstanceOf(Float64Array);
    expect(series.data.every((v) => Number.isFinite(v))).toBe(true);
    const graph = readNpy(path.join(datasets, 'netsim-sim3/graph.npy'));
    expect(graph.shape).toEqual([15, 15]);
    expect(graph.dtype).toBe('u1');
    let diagonal = 0;
    let off = 0;
    for (let i = 0; i < 15; i++) {
      for (let j = 0; j < 15; j++) {
        if (i === j) diagonal += graph.data[i * 15 + j];
        else off += graph.data[i * 15 + j];
      }
    }
    expect(diagonal).toBe(15);
    expect(off).toBe(18);
  });

  it('causalmmm-release arrays', () => {
    const dir = path.join(datasets, 'causalmmm-release');
    expect(readNpy(path.join(dir, 'shuffled_data.npy')).shape).toEqual([300, 8, 100]);
    const edges = readNpy(path.join(dir, 'shuffled_edges.npy'));
    expect(edges.shape).toEqual([300, 56]);
    expect(new Set(edges.data)).toEqual(new Set([0, 1]));
    expect(readNpy(path.join(dir, 'shuffled_context.npy')).shape).toEqual([300, 2]);
  });

  it('re-encodes a real file to bytes numpy would read identically', () => {
    const file = path.join(datasets, 'netsim-sim3/graph.npy');
    const graph = readNpy(file);
    const again = encodeNpy(graph);
    expect(Buffer.from(again.subarray(0, 10)).equals(readFileSync(file).subarray(0, 10))).toBe(true);
    expect(Array.from(parseNpy(again, 'again').data)).toEqual(Array.from(graph.data));
  });
});
