/**
 * .npz datasets: a zip of .npy files (np.savez or np.savez_compressed). `x` holds the samples
 * (N x per-sample shape), `y` the labels (N) or regression targets (N x ...), optional.
 */
import { zipSync, type Zippable } from 'fflate';
import { unzipWithin } from '../common/zip.js';
import type { LoadedDataset } from './types.js';
import { badDataset, checkLimit, limitError, resolveLimits, type DatasetLimits } from './limits.js';
import { isFloatNpy, isTextNpy, readNpy, readNpyStrings, writeNpy, type NpyArray, type NpyWritable } from './npy.js';
import { classIndices, oneHotToIndices } from './labels.js';

const NPY_DTYPE_NAMES: Record<string, string> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool',
};

export interface NpzOptions extends DatasetLimits {
  /** Class names in index order, for string labels. Default: sorted. */
  classes?: string[];
}

/** Inflates only after checking declared sizes, so a zip bomb is refused before it expands. */
export function unzipChecked(bytes: Uint8Array, what: string, limits: DatasetLimits = {}): Record<string, Uint8Array> {
  const { maxUncompressedBytes } = resolveLimits(limits);
  return unzipWithin(bytes, maxUncompressedBytes, {
    unreadable: (why, phase) => badDataset(phase === 'scan' ? `${what}: not a readable zip archive (${why})` : `${what}: corrupt zip archive (${why})`),
    tooLarge: (declared) => limitError(`${what}: uncompressed size`, declared, maxUncompressedBytes),
  });
}

export function loadNpz(bytes: Uint8Array, sha256: string, opts: NpzOptions = {}): LoadedDataset {
  const lim = resolveLimits(opts);
  const files = unzipChecked(bytes, 'npz', lim);
  const arrays = new Map<string, Uint8Array>();
  for (const [path, data] of Object.entries(files)) {
    if (path.endsWith('/')) continue;
    arrays.set(path.replace(/\.npy$/, ''), data);
  }
  const keys = [...arrays.keys()];
  const xBytes = arrays.get('x');
  if (!xBytes) throw badDataset(`npz has no array "x" (found: ${keys.join(', ') || 'nothing'}); save it with np.savez(f, x=..., y=...)`);
  const x = readNpy(xBytes, 'x', { maxValues: lim.maxValues });
  if (x.shape.length < 1) throw badDataset('x must have a leading sample dimension; it is a scalar');
  const count = x.shape[0]!;
  if (count === 0) throw badDataset('x holds no samples');
  checkLimit('sample count', count, lim.maxSamples);
  const base = { sha256, format: 'npz' as const, count, sampleShape: x.shape.slice(1), x: toFloat32(x), sourceDtype: NPY_DTYPE_NAMES[x.dtype]! };
  const yBytes = arrays.get('y');
  if (!yBytes) return { ...base, y: null, yShape: [] };
  const sameCount = (shape: number[]) => {
    if (shape[0] !== count) throw badDataset(`x has ${count} samples but y has shape (${shape}); y must have one entry per sample`);
  };
  if (isTextNpy(yBytes, 'y')) {
    const names = readNpyStrings(yBytes, 'y', { maxValues: lim.maxValues });
    sameCount(names.shape);
    if (names.shape.length !== 1) throw badDataset(`string labels y must be one name per sample, shape (N,); got (${names.shape})`);
    const { y, classes, order } = classIndices(names.data, opts.classes, (i) => `y[${i}]`);
    return { ...base, y, yShape: [], classes, labelNote: `class names in y mapped to indices ${order}` };
  }
  const y = readNpy(yBytes, 'y', { maxValues: lim.maxValues });
  sameCount(y.shape);
  if (!isFloatNpy(y.dtype) && y.shape.length === 2 && y.shape[1]! > 1) {
    const k = y.shape[1]!;
    return { ...base, y: oneHotToIndices(y.data, count, k), yShape: [], labelNote: `one-hot y (${count}, ${k}) mapped to class indices` };
  }
  if (opts.classes && !isFloatNpy(y.dtype)) return { ...base, y: labels(y), yShape: y.shape.slice(1), classes: opts.classes };
  return { ...base, y: labels(y), yShape: y.shape.slice(1) };
}

function toFloat32(a: NpyArray): Float32Array {
  return a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
}

/** Integer (and bool) y are class labels; float y are regression targets. */
function labels(a: NpyArray): Int32Array | Float32Array {
  if (isFloatNpy(a.dtype)) return a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
  if (a.data instanceof Int32Array) return a.data;
  const out = new Int32Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = a.data[i]!;
    if (v > 2147483647 || v < -2147483648) throw badDataset(`y[${i}] = ${v} does not fit a class label`);
    out[i] = v;
  }
  return out;
}

export interface NpzWriteOptions {
  /** Deflate the entries (np.savez_compressed); default stored (np.savez). */
  compress?: boolean;
}

/** Writes named arrays as an .npz (each becomes NAME.npy), readable by numpy.load and loadNpz. */
export function writeNpz(arrays: Record<string, NpyWritable>, opts: NpzWriteOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [name, arr] of Object.entries(arrays)) files[`${name}.npy`] = [writeNpy(arr), { level: opts.compress ? 6 : 0 }];
  return zipSync(files);
}
