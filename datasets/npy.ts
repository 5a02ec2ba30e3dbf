/**
 * NumPy .npy files, read and written by hand (format spec: numpy.lib.format). A file is the
 * magic "\x93NUMPY", a version, a header length, a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (100, 784), } and then the raw values.
 * Any byte order and both memory orders are read; values come back in C (row-major) order.
 */
import { badDataset, checkLimit } from './limits.js';

export type NpyDType = 'f2' | 'f4' | 'f8' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8' | 'b1';

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  /** Values in C order. Int64/uint64 beyond 2^53 lose precision (labels never get there). */
  data: Float64Array | Float32Array | Int32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const SIZES: Record<NpyDType, number> = { f2: 2, f4: 4, f8: 8, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8, b1: 1 };

export const isFloatNpy = (d: NpyDType): boolean => d[0] === 'f';

interface Header {
  dtype: NpyDType;
  /** Set for string arrays ('<U8' UTF-32, '|S8' bytes): their kind and width in characters. */
  text?: { kind: 'U' | 'S'; width: number };
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function parseHeader(bytes: Uint8Array, name: string): Header {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw badDataset(`${name}: not a .npy file (bad magic)`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw badDataset(`${name}: truncated .npy header`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw badDataset(`${name}: unsupported .npy version ${major}`);
  }
  if (start + headerLen > bytes.length) throw badDataset(`${name}: truncated .npy header`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw badDataset(`${name}: cannot read the .npy header ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  const t = /^([<>|=])([US])(\d+)$/.exec(descr);
  const m = t ?? /^([<>|=])([fiub])(\d+)$/.exec(descr);
  const code = m && !t ? (`${m[2]}${m[3]}` as NpyDType) : 'u1';
  if (!m || !(code in SIZES)) {
    throw badDataset(`${name}: unsupported dtype '${descr}' (expected float, int, uint, bool or string; object arrays and structured dtypes are refused)`);
  }
  const textType = t ? { kind: t[2] as 'U' | 'S', width: Number(t[3]) } : undefined;
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw badDataset(`${name}: bad shape (${shapeText})`);
  return { dtype: code, ...(textType ? { text: textType } : {}), littleEndian: m[1] !== '>', fortranOrder: fortran === 'True', shape, dataOffset: start + headerLen };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Reverses the axes of a C-order array: a Fortran-order buffer read flat is the C-order transpose. */
function reverseAxes<T extends Float64Array | Float32Array | Int32Array>(src: T, shapeReversed: number[]): T {
  const rank = shapeReversed.length;
  if (rank < 2) return src;
  const shape = [...shapeReversed].reverse();
  const out = new (src.constructor as new (n: number) => T)(src.length);
  // Strides of the source (C order over shapeReversed), indexed by the output's axes.
  const srcStrides = new Array<number>(rank);
  let s = 1;
  for (let k = rank - 1; k >= 0; k--) {
    srcStrides[rank - 1 - k] = s;
    s *= shapeReversed[k]!;
  }
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.length; i++) {
    let off = 0;
    for (let k = 0; k < rank; k++) off += idx[k]! * srcStrides[k]!;
    out[i] = src[off]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k]! < shape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

export interface NpyReadOptions {
  /** Refuse arrays with more elements than this (TOO_LARGE) before allocating. */
  maxValues?: number;
}

/** Parses one .npy file. Floats come back as Float32Array (f2, f4) or Float64Array (f8); integers and bools as Int32Array, except 64-bit ints, which come back as Float64Array to stay exact to 2^53. */
export function readNpy(bytes: Uint8Array, name = 'array', opts: NpyReadOptions = {}): NpyArray {
  const h = parseHeader(bytes, name);
  if (h.text) throw badDataset(`${name}: a string array ('${h.text.kind}${h.text.width}'); only labels (y) may be strings`);
  const count = h.shape.reduce((a, b) => a * b, 1);
  if (opts.maxValues !== undefined) checkLimit(`${name}: element count`, count, opts.maxValues);
  const size = SIZES[h.dtype];
  const need = h.dataOffset + count * size;
  if (bytes.length < need) throw badDataset(`${name}: holds ${bytes.length - h.dataOffset} data bytes; shape (${h.shape}) of ${h.dtype} needs ${count * size}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, count * size);
  const le = h.littleEndian;
  let data: Float64Array | Float32Array | Int32Array;
  switch (h.dtype) {
    case 'f2': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = halfToFloat(view.getUint16(i * 2, le));
      data = a;
      break;
    }
    case 'f4': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(i * 4, le);
      data = a;
      break;
    }
    case 'f8': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(i * 8, le);
      data = a;
      break;
    }
    case 'i8':
    case 'u8': {
      const a = new Float64Array(count);
      const signed = h.dtype === 'i8';
      for (let i = 0; i < count; i++) a[i] = Number(signed ? view.getBigInt64(i * 8, le) : view.getBigUint64(i * 8, le));
      data = a;
      break;
    }
    case 'u4': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getUint32(i * 4, le);
      data = a;
      break;
    }
    default: {
      const a = new Int32Array(count);
      const read: (o: number) => number =
        h.dtype === 'i4' ? (o) => view.getInt32(o * 4, le)
        : h.dtype === 'i2' ? (o) => view.getInt16(o * 2, le)
        : h.dtype === 'u2' ? (o) => view.getUint16(o * 2, le)
        : h.dtype === 'i1' ? (o) => view.getInt8(o)
        : h.dtype === 'b1' ? (o) => (view.getUint8(o) ? 1 : 0)
        : (o) => view.getUint8(o);
      for (let i = 0; i < count; i++) a[i] = read(i);
      data = a;
    }
  }
  if (h.fortranOrder) data = reverseAxes(data, [...h.shape].reverse());
  return { dtype: h.dtype, shape: h.shape, data };
}

/** True when the .npy holds strings (numpy '<U' or '|S' dtypes). */
export const isTextNpy = (bytes: Uint8Array, name = 'array'): boolean => parseHeader(bytes, name).text !== undefined;

/** Reads a 1-D string array ('<U' UTF-32 or '|S' bytes, trailing NULs stripped), e.g. class-name labels. */
export function readNpyStrings(bytes: Uint8Array, name = 'array', opts: NpyReadOptions = {}): { shape: number[]; data: string[] } {
  const h = parseHeader(bytes, name);
  if (!h.text) throw badDataset(`${name}: not a string array`);
  const count = h.shape.reduce((a, b) => a * b, 1);
  if (opts.maxValues !== undefined) checkLimit(`${name}: element count`, count, opts.maxValues);
  const unit = h.text.kind === 'U' ? 4 : 1;
  const size = unit * h.text.width;
  if (bytes.length < h.dataOffset + count * size) throw badDataset(`${name}: truncated string data`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.dataOffset, count * size);
  const data: string[] = [];
  for (let i = 0; i < count; i++) {
    const codes: number[] = [];
    for (let k = 0; k < h.text.width; k++) {
      const c = unit === 4 ? view.getUint32(i * size + k * 4, h.littleEndian) : view.getUint8(i * size + k);
      if (c === 0) break;
      codes.push(c);
    }
    data.push(String.fromCodePoint(...codes));
  }
  return { shape: h.shape, data };
}

export type NpyWritable =
  | { dtype: 'U'; shape: number[]; data: string[] }
  | { dtype: 'f4'; shape: number[]; data: Float32Array }
  | { dtype: 'f8'; shape: number[]; data: Float64Array }
  | { dtype: 'i4'; shape: number[]; data: Int32Array }
  | { dtype: 'i8'; shape: number[]; data: BigInt64Array | Int32Array | number[] }
  | { dtype: 'u1'; shape: number[]; data: Uint8Array };

/** Writes a little-endian, C-order, version 1.0 .npy file. */
export function writeNpy(arr: NpyWritable): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (arr.data.length !== count) throw new Error(`writeNpy: ${arr.data.length} values for shape (${arr.shape})`);
  const width = arr.dtype === 'U' ? Math.max(1, ...arr.data.map((t) => [...t].length)) : 0;
  const descr = arr.dtype === 'u1' ? '|u1' : arr.dtype === 'U' ? `<U${width}` : `<${arr.dtype}`;
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // The whole preamble (10 bytes + header + '\n') is padded with spaces to a multiple of 64.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const size = arr.dtype === 'U' ? 4 * width : SIZES[arr.dtype];
  const out = new Uint8Array(10 + header.length + count * size);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const base = 10 + header.length;
  for (let i = 0; i < count; i++) {
    const v = arr.data[i]!;
    switch (arr.dtype) {
      case 'f4':
        view.setFloat32(base + i * 4, v as number, true);
        break;
      case 'f8':
        view.setFloat64(base + i * 8, v as number, true);
        break;
      case 'i4':
        view.setInt32(base + i * 4, v as number, true);
        break;
      case 'i8':
        view.setBigInt64(base + i * 8, BigInt(v as number | bigint), true);
        break;
      case 'u1':
        view.setUint8(base + i, v as number);
        break;
      case 'U':
        [...(v as string)].forEach((ch, k) => view.setUint32(base + i * size + k * 4, ch.codePointAt(0)!, true));
        break;
    }
  }
  return out;
}
