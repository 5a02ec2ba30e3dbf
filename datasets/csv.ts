/**
 * CSV datasets: one sample per line, the label in the first column, the features after it.
 *
 * - Separator: comma (a line with no comma but tabs or semicolons uses those).
 * - Header row: optional; the first line is a header when any of its feature fields is not
 *   a number.
 * - Labels: integers are class labels; other numbers are regression targets; non-numeric
 *   labels are class names, numbered in sorted order (reported as `classes`).
 * - Features are multiplied by `featureScale` (default 1; 1/255 turns 0..255 pixels into [0, 1]).
 * - Empty lines are skipped; every other line must have the same number of fields.
 */
import type { LoadedDataset } from '../analyzers/types.js';
import { badDataset, checkLimit, resolveLimits, type DatasetLimits } from './limits.js';

export interface CsvOptions extends DatasetLimits {
  /** false: every column is a feature and the dataset has no labels. Default true. */
  labels?: boolean;
  /** Multiplies every feature (e.g. 1/255 for 0..255 pixels). Default 1. */
  featureScale?: number;
}

const isNumber = (s: string): boolean => s.length > 0 && Number.isFinite(Number(s));

function splitter(line: string): (l: string) => string[] {
  const sep = line.includes(',') ? ',' : line.includes('\t') ? '\t' : line.includes(';') ? ';' : ',';
  return (l) => l.split(sep).map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
}

export function loadCsv(bytes: Uint8Array, sha256: string, opts: CsvOptions = {}): LoadedDataset {
  const lim = resolveLimits(opts);
  const hasLabels = opts.labels !== false;
  const scale = opts.featureScale ?? 1;
  if (!Number.isFinite(scale)) throw badDataset(`featureScale must be a finite number, got ${scale}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badDataset('the CSV is not valid UTF-8 text');
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const rows: { line: number; fields: string[] }[] = [];
  let split: ((l: string) => string[]) | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    split ??= splitter(l);
    rows.push({ line: i + 1, fields: split(l) });
  }
  if (rows.length === 0) throw badDataset('the CSV has no rows');
  const first = rows[0]!.fields;
  const header = first.slice(hasLabels ? 1 : 0).some((f) => !isNumber(f));
  const data = header ? rows.slice(1) : rows;
  if (data.length === 0) throw badDataset('the CSV has a header but no data rows');
  const width = data[0]!.fields.length;
  const features = width - (hasLabels ? 1 : 0);
  if (features < 1) throw badDataset(`line ${data[0]!.line}: no feature columns (label first, then at least one feature)`);
  checkLimit('sample count', data.length, lim.maxSamples);
  checkLimit('value count', data.length * features, lim.maxValues);

  const x = new Float32Array(data.length * features);
  const rawLabels: string[] = [];
  data.forEach(({ line, fields }, r) => {
    if (fields.length !== width) throw badDataset(`line ${line}: ${fields.length} fields, expected ${width} like the first data row`);
    for (let c = 0; c < features; c++) {
      const f = fields[c + (hasLabels ? 1 : 0)]!;
      const v = Number(f);
      if (!isNumber(f)) throw badDataset(`line ${line}, column ${c + (hasLabels ? 2 : 1)}: "${f.slice(0, 40)}" is not a number`);
      x[r * features + c] = v * scale;
    }
    if (hasLabels) rawLabels.push(fields[0]!);
  });

  const base = { sha256, format: 'csv' as const, count: data.length, sampleShape: [features], x, yShape: [] as number[] };
  if (!hasLabels) return { ...base, y: null };
  if (rawLabels.every(isNumber)) {
    const values = rawLabels.map(Number);
    if (values.every(Number.isInteger)) return { ...base, y: Int32Array.from(values) };
    return { ...base, y: Float32Array.from(values) };
  }
  if (rawLabels.some(isNumber)) {
    const i = rawLabels.findIndex((l) => !isNumber(l));
    throw badDataset(`line ${data[i]!.line}: label "${rawLabels[i]!.slice(0, 40)}" mixes with numeric labels; use numbers or names throughout`);
  }
  const classes = [...new Set(rawLabels)].sort();
  const index = new Map(classes.map((c, i) => [c, i]));
  return { ...base, y: Int32Array.from(rawLabels, (l) => index.get(l)!), classes };
}
