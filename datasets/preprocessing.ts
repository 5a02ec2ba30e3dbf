/**
 * A dataset's preprocessing, as data: how the values in a file become what the model sees.
 * Set at upload (GraphQL `preprocessing`), on the CLI (`--scale`, `--mean`, `--std`,
 * `--preprocess spec.json`), in a gate config (`preprocessing:`), or declared by the model
 * (ONNX metadata_props, see modelPreprocessing.ts). It is part of the dataset's identity
 * (datasetIdentity), so the same file prepared two ways is two datasets with two cache keys.
 *
 * Steps, in this order, per sample (datasets/README.md has the formulas):
 *   layout (HWC -> CHW) -> resize -> channel order -> scale -> mean/std -> dtype
 * Label options (labelColumn, classes) are read by the loaders; expectedRange by the
 * input-range check (inputCheck.ts).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/canonicalJson.js';
import { AppError } from '../common/errors.js';

import { CAST_DTYPES, CHANNEL_ORDERS, LAYOUTS, RESIZE_MODES, type CastDtype, type ChannelOrder, type Layout, type Preprocessing, type ResizeMode } from '../common/preprocessing.js';

export { CAST_DTYPES, CHANNEL_ORDERS, LAYOUTS, RESIZE_MODES, type CastDtype, type ChannelOrder, type Layout, type Preprocessing, type ResizeMode };

const KEYS = ['scale', 'mean', 'std', 'channelOrder', 'layout', 'resize', 'dtype', 'labelColumn', 'classes', 'expectedRange'];

const bad = (where: string, message: string) => new AppError('BAD_PARAMS', `${where}: ${message}`, { param: 'preprocessing' });

/** A number or a fraction written "1/255" (what people type for pixel scaling). */
export function parseNumber(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const m = /^\s*([+-]?[\d.]+(?:e[+-]?\d+)?)\s*(?:\/\s*([\d.]+(?:e[+-]?\d+)?))?\s*$/i.exec(value);
    if (m) {
      const v = m[2] === undefined ? Number(m[1]) : Number(m[1]) / Number(m[2]);
      if (Number.isFinite(v)) return v;
    }
  }
  throw bad(where, `expected a finite number or a fraction like 1/255, got ${JSON.stringify(value)}`);
}

/** A list of numbers: an array, or a comma-separated string ("0.485,0.456,0.406"). */
function parseNumbers(value: unknown, where: string): number[] {
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : [value];
  if (items.length === 0) throw bad(where, 'expected at least one number');
  return items.map((v, i) => parseNumber(v, `${where}[${i}]`));
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], where: string): T {
  const hit = choices.find((c) => typeof value === 'string' && c.toLowerCase() === value.toLowerCase());
  if (!hit) throw bad(where, `expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return hit;
}

function positiveInt(value: unknown, where: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw bad(where, `expected a positive integer, got ${JSON.stringify(value)}`);
}

/**
 * Checks a spec given as JSON (GraphQL input, --preprocess file, gate config, model metadata)
 * and returns it in canonical form: only set keys, resize mode filled in. BAD_PARAMS naming
 * the key on anything wrong.
 */
export function parsePreprocessing(input: unknown, where = 'preprocessing'): Preprocessing {
  if (input === null || input === undefined) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw bad(where, 'expected an object');
  const src = input as Record<string, unknown>;
  const unknown = Object.keys(src).filter((k) => !KEYS.includes(k) && src[k] !== undefined && src[k] !== null);
  if (unknown.length > 0) throw bad(where, `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: ${KEYS.join(', ')}`);
  const has = (k: string) => src[k] !== undefined && src[k] !== null;
  const out: Preprocessing = {};
  if (has('scale')) out.scale = parseNumber(src.scale, `${where}.scale`);
  if (has('mean')) out.mean = parseNumbers(src.mean, `${where}.mean`);
  if (has('std')) {
    out.std = parseNumbers(src.std, `${where}.std`);
    if (out.std.some((s) => s === 0)) throw bad(`${where}.std`, 'must be non-zero');
  }
  if (has('channelOrder')) out.channelOrder = oneOf(src.channelOrder, CHANNEL_ORDERS, `${where}.channelOrder`);
  if (has('layout')) out.layout = oneOf(src.layout, LAYOUTS, `${where}.layout`);
  if (has('resize')) {
    const r = src.resize as Record<string, unknown>;
    if (typeof r !== 'object' || Array.isArray(r)) throw bad(`${where}.resize`, 'expected { size: [H, W], mode }');
    const size = typeof r.size === 'string' ? r.size.split(/[x,]/).map(Number) : r.size;
    if (!Array.isArray(size) || size.length !== 2) throw bad(`${where}.resize.size`, `expected [H, W], got ${JSON.stringify(r.size)}`);
    out.resize = {
      size: [positiveInt(size[0], `${where}.resize.size[0]`), positiveInt(size[1], `${where}.resize.size[1]`)],
      mode: r.mode === undefined || r.mode === null ? 'bilinear' : oneOf(r.mode, RESIZE_MODES, `${where}.resize.mode`),
    };
  }
  if (has('dtype')) out.dtype = oneOf(src.dtype, CAST_DTYPES, `${where}.dtype`);
  if (has('labelColumn')) {
    if (typeof src.labelColumn !== 'string' || src.labelColumn === '') throw bad(`${where}.labelColumn`, 'expected a column name');
    out.labelColumn = src.labelColumn;
  }
  if (has('classes')) {
    const c = src.classes;
    if (!Array.isArray(c) || c.length === 0 || c.some((n) => typeof n !== 'string')) throw bad(`${where}.classes`, 'expected a list of class names');
    const dup = c.find((n, i) => c.indexOf(n) !== i);
    if (dup !== undefined) throw bad(`${where}.classes`, `"${dup}" is listed twice`);
    out.classes = c as string[];
  }
  if (has('expectedRange')) {
    const r = parseNumbers(src.expectedRange, `${where}.expectedRange`);
    if (r.length !== 2 || !(r[0]! < r[1]!)) throw bad(`${where}.expectedRange`, `expected [min, max] with min < max, got ${JSON.stringify(src.expectedRange)}`);
    out.expectedRange = [r[0]!, r[1]!];
  }
  return out;
}

export const isEmptyPreprocessing = (p: Preprocessing | null | undefined): boolean => !p || Object.keys(p).length === 0;

/**
 * The dataset's identity (what cache keys use): the file's sha256 alone when there is no
 * preprocessing, so datasets stored before preprocessing existed keep their keys; else the
 * sha256 of the file hash and the canonical spec.
 */
export function datasetIdentity(fileSha256: string, p: Preprocessing | null | undefined): string {
  if (isEmptyPreprocessing(p)) return fileSha256;
  return createHash('sha256').update(`${fileSha256}\u0000${canonicalJson(p)}`).digest('hex');
}

/** One line for logs and results: "scale=0.00392157 mean=[0.5] std=[0.25]". */
export function describePreprocessing(p: Preprocessing): string {
  if (isEmptyPreprocessing(p)) return 'none';
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(Number(v.toPrecision(6))) : JSON.stringify(v)}`)
    .join(' ');
}
