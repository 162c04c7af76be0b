import { statSync } from 'node:fs';
import { UserError } from '../errors.js';
import { readFileOrFail, writeFileAtomic } from '../io.js';

/** Typed arrays an `.npy` file is read into. 64-bit integers become `Float64Array` (exact up to 2^53). */
export type NpyData =
  | Float64Array
  | Float32Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array;

/**
 * An n-dimensional array in C order. `dtype` is numpy's kind and item size without the byte
 * order (`f8`, `f4`, `u1`, `i8`, `b1`, …): it records what the file held, which for `i8`, `u8`
 * and `b1` differs from the JavaScript array type.
 */
export interface NpyArray {
  shape: number[];
  dtype: string;
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_SAFE = 2 ** 53;

interface DtypeInfo {
  size: number;
  /** Builds the JavaScript array from little-endian bytes that start at offset 0 of their own buffer. */
  read: (bytes: Uint8Array, count: number) => NpyData | string;
}

const DTYPES: Record<string, DtypeInfo> = {
  f8: { size: 8, read: (b, n) => new Float64Array(b.buffer, 0, n) },
  f4: { size: 4, read: (b, n) => new Float32Array(b.buffer, 0, n) },
  u1: { size: 1, read: (b, n) => new Uint8Array(b.buffer, 0, n) },
  i1: { size: 1, read: (b, n) => new Int8Array(b.buffer, 0, n) },
  u2: { size: 2, read: (b, n) => new Uint16Array(b.buffer, 0, n) },
  i2: { size: 2, read: (b, n) => new Int16Array(b.buffer, 0, n) },
  u4: { size: 4, read: (b, n) => new Uint32Array(b.buffer, 0, n) },
  i4: { size: 4, read: (b, n) => new Int32Array(b.buffer, 0, n) },
  i8: { size: 8, read: (b, n) => bigToFloat(new BigInt64Array(b.buffer, 0, n)) },
  u8: { size: 8, read: (b, n) => bigToFloat(new BigUint64Array(b.buffer, 0, n)) },
  b1: {
    size: 1,
    read: (b, n) => {
      const out = new Uint8Array(b.buffer, 0, n);
      for (let i = 0; i < n; i++) if (out[i] > 1) return `element ${i} is ${out[i]}, not a boolean 0 or 1`;
      return out;
    },
  },
};

function bigToFloat(src: BigInt64Array | BigUint64Array): Float64Array | string {
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v > BigInt(MAX_SAFE) || v < -BigInt(MAX_SAFE)) {
      return `element ${i} is ${v}, beyond 2^53 where a 64-bit integer no longer fits a float64 exactly`;
    }
    out[i] = Number(v);
  }
  return out;
}

/** Reverses the bytes of every `size`-byte item in place (endianness conversion). */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

// --- the header: a Python dict literal -------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

/**
 * Parses the Python literal numpy writes as header (`{'descr': '<f8', 'fortran_order': False,
 * 'shape': (2, 3), }`): dicts, tuples, lists, strings, integers, True/False/None. Throws a
 * plain Error with the position; the caller adds the file name.
 */
function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${pos} of ${JSON.stringify(text.trim())}`);
  };
  const value = (): PyValue => {
    skip();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const out: Record<string, PyValue> = {};
      for (;;) {
        skip();
        if (text[pos] === '}') {
          pos++;
          return out;
        }
        const key = value();
        if (typeof key !== 'string') fail('dict key is not a string');
        skip();
        if (text[pos] !== ':') fail("expected ':'");
        pos++;
        out[key as string] = value();
        skip();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') fail("expected ',' or '}'");
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      pos++;
      const out: PyValue[] = [];
      for (;;) {
        skip();
        if (text[pos] === close) {
          pos++;
          return out;
        }
        out.push(value());
        skip();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    const word = /^(True|False|None|[+-]?\d+L?)/.exec(text.slice(pos));
    if (!word) return fail('unexpected token');
    pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace('L', ''));
  };
  const result = value();
  skip();
  if (pos !== text.length) fail('trailing characters');
  return result;
}

/** Strides-based copy of a Fortran-order array (first index fastest) into C order. */
function fortranToC<T extends NpyData>(src: T, shape: number[]): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const k = shape.length;
  if (k < 2) {
    out.set(src);
    return out;
  }
  const fstride: number[] = [];
  let acc = 1;
  for (let d = 0; d < k; d++) {
    fstride.push(acc);
    acc *= shape[d];
  }
  const index = new Array<number>(k).fill(0);
  let f = 0;
  for (let c = 0; c < src.length; c++) {
    out[c] = src[f];
    for (let d = k - 1; d >= 0; d--) {
      index[d]++;
      f += fstride[d];
      if (index[d] < shape[d]) break;
      f -= fstride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Decodes `.npy` bytes (format 1.0, 2.0 or 3.0). Data is copied out of `buf`, so the header
 * length need not leave the data aligned for its typed array. Big-endian files are
 * byte-swapped and Fortran-order files transposed to C order. `name` (usually the file path)
 * starts every error message.
 */
export function parseNpy(buf: Uint8Array, name: string): NpyArray {
  const fail = (msg: string): never => {
    throw new UserError(`${name}: ${msg}`);
  };
  if (buf.length === 0) fail('file is empty, not a .npy array');
  if (buf.length < 10 || !MAGIC.every((b, i) => buf[i] === b)) {
    fail('not a .npy file (missing the \\x93NUMPY magic string)');
  }
  const major = buf[6];
  const minor = buf[7];
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerStart = 10;
    headerLen = buf[8] | (buf[9] << 8);
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(`truncated .npy header (format ${major}.${minor})`);
    headerStart = 12;
    headerLen = (buf[8] | (buf[9] << 8) | (buf[10] << 16) | (buf[11] << 24)) >>> 0;
  } else {
    return fail(`unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) {
    fail(`truncated .npy header: it declares ${headerLen} bytes, the file has ${buf.length - headerStart}`);
  }
  const headerBytes = buf.subarray(headerStart, dataStart);
  const headerText =
    major === 3
      ? new TextDecoder('utf-8').decode(headerBytes)
      : new TextDecoder('latin1').decode(headerBytes);

  let header: PyValue;
  try {
    header = parsePyLiteral(headerText);
  } catch (err) {
    return fail(`cannot parse the .npy header: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    return fail(`.npy header is not a dict: ${headerText.trim()}`);
  }
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!(key in header)) fail(`.npy header lacks the '${key}' key: ${headerText.trim()}`);
  }
  const { descr, fortran_order: fortranOrder, shape: rawShape } = header;
  if (typeof descr !== 'string') {
    return fail(`unsupported dtype ${JSON.stringify(descr)} (structured arrays are not supported)`);
  }
  if (typeof fortranOrder !== 'boolean') fail(`.npy header 'fortran_order' must be True or False`);
  if (
    !Array.isArray(rawShape) ||
    !rawShape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    return fail(
      `.npy header 'shape' must be a tuple of non-negative integers, got ${JSON.stringify(rawShape)}`,
    );
  }
  const shape = rawShape as number[];

  const m = /^([<>|=]?)([a-z])(\d+)$/.exec(descr);
  const dtype = m ? `${m[2]}${m[3]}` : descr;
  const info = DTYPES[dtype];
  if (!m || !info) {
    return fail(`unsupported dtype '${descr}' (supported: f4, f8, i1, i2, i4, i8, u1, u2, u4, u8, b1)`);
  }
  const order = m[1];
  if (order === '|' && info.size > 1) fail(`dtype '${descr}' needs a byte order ('<' or '>'), not '|'`);
  const bigEndian = order === '>' || (order === '=' && !HOST_LITTLE_ENDIAN);

  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * info.size;
  const have = buf.length - dataStart;
  if (have < need) {
    fail(
      `truncated data: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes, the file holds ${have}`,
    );
  }
  if (have > need) {
    fail(
      `size mismatch: shape (${shape.join(', ')}) of ${descr} needs ${need} bytes, the file holds ${have}`,
    );
  }
  // slice() copies into a fresh buffer at offset 0, so every typed array view is aligned.
  const bytes = buf.slice(dataStart, dataStart + need);
  if (info.size > 1 && bigEndian === HOST_LITTLE_ENDIAN) swapBytes(bytes, info.size);
  const data = info.read(bytes, count);
  if (typeof data === 'string') return fail(`dtype ${descr}: ${data}`);
  return { shape: [...shape], dtype, data: fortranOrder ? fortranToC(data, shape) : data };
}

/** Reads an `.npy` file; every problem (missing file included) is a UserError naming `file`. */
export function readNpy(file: string): NpyArray {
  const buf = readFileOrFail(file);
  return parseNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}

const WRITE_DESCR: [new (...args: never[]) => NpyData, string][] = [
  [Float64Array, '<f8'],
  [Float32Array, '<f4'],
  [Uint8Array, '|u1'],
  [Int8Array, '|i1'],
  [Uint16Array, '<u2'],
  [Int16Array, '<i2'],
  [Uint32Array, '<u4'],
  [Int32Array, '<i4'],
];

/**
 * Encodes a C-order array as `.npy` format 1.0 (2.0 only for headers beyond 64 KiB), with the
 * header padded so the data starts at a multiple of 64 bytes, as numpy does. The dtype follows
 * the typed array; a `Uint8Array` whose `dtype` is `b1` is written as `|b1`. `Float64Array`
 * holding 64-bit integers (dtype `i8`/`u8`) is written as `<f8`.
 */
export function encodeNpy(array: { shape: readonly number[]; data: NpyData; dtype?: string }): Uint8Array {
  const { shape, data } = array;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(`encodeNpy: bad shape [${shape.join(', ')}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(
      `encodeNpy: shape [${shape.join(', ')}] needs ${count} values, data holds ${data.length}`,
    );
  }
  const entry = WRITE_DESCR.find(([ctor]) => data instanceof ctor);
  if (!entry) throw new TypeError(`encodeNpy: unsupported array type ${(data as object).constructor.name}`);
  const descr = entry[1] === '|u1' && array.dtype === 'b1' ? '|b1' : entry[1];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = `${dict.padEnd(headerLen - 1)}\n`;
  const bytes = new Uint8Array(total + data.byteLength);
  bytes.set(MAGIC, 0);
  bytes[6] = major;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  bytes.set(new TextEncoder().encode(header), prefix);
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (!HOST_LITTLE_ENDIAN && data.BYTES_PER_ELEMENT > 1) swapBytes(raw, data.BYTES_PER_ELEMENT);
  bytes.set(raw, total);
  return bytes;
}

/** Writes an `.npy` file atomically (see `encodeNpy` for the format). */
export function writeNpy(
  file: string,
  array: { shape: readonly number[]; data: NpyData; dtype?: string },
): void {
  const bytes = encodeNpy(array);
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`${file}: is a directory, cannot write an .npy file there`);
  }
  writeFileAtomic(file, bytes);
}
