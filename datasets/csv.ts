/**
 * CSV datasets: one sample per line, a label column and feature columns. Parsed by csv-parse
 * (RFC 4180: quoted fields may hold separators, quotes and line breaks).
 *
 * - Separator: comma (a first line with no comma but tabs or semicolons uses those).
 * - Header row: optional; the first line is a header when any of its feature fields is not
 *   a number. `labelColumn` names the label column of a header (default: the first column).
 * - Labels: integers are class labels; other numbers are regression targets; non-numeric
 *   labels are class names, numbered in sorted order or in the order `classes` gives
 *   (reported as `classes`).
 * - Features are read as they are; scaling is preprocessing (datasets/preprocess.ts).
 * - Empty lines are skipped; every other line must have the same number of fields.
 */
import { parse } from 'csv-parse/sync';
import type { LoadedDataset } from './types.js';
import { badDataset, checkLimit, resolveLimits, type DatasetLimits } from './limits.js';
import { classIndices } from './labels.js';

export interface CsvOptions extends DatasetLimits {
  /** false: every column is a feature and the dataset has no labels. Default true. */
  labels?: boolean;
  /** The label column's header name (needs a header row). Default: the first column. */
  labelColumn?: string;
  /** Class names in index order, for text labels. Default: sorted. */
  classes?: string[];
}

const isNumber = (s: string): boolean => s.length > 0 && Number.isFinite(Number(s));

function separatorOf(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.includes(',') ? ',' : line.includes('\t') ? '\t' : line.includes(';') ? ';' : ',';
}

interface Row {
  line: number;
  fields: string[];
}

function readRows(text: string): Row[] {
  try {
    const records = parse(text, { delimiter: separatorOf(text), trim: true, skip_empty_lines: true, relax_column_count: true, bom: true, info: true }) as unknown as Array<{
      record: string[];
      info: { lines: number };
    }>;
    return records.map((r) => ({ line: r.info.lines, fields: r.record }));
  } catch (err) {
    throw badDataset(`the CSV does not parse: ${(err as Error).message}`);
  }
}

/** The longest line (by raw newlines: a quoted multi-line field only makes lines shorter) within the limit. */
function checkLineLengths(bytes: Uint8Array, limit: number): void {
  let start = 0;
  for (let line = 1; start < bytes.length; line++) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    checkLimit(`CSV line ${line}: length in bytes`, end - start, limit);
    start = end + 1;
  }
}

export function loadCsv(bytes: Uint8Array, sha256: string, opts: CsvOptions = {}): LoadedDataset {
  const lim = resolveLimits(opts);
  const hasLabels = opts.labels !== false;
  checkLineLengths(bytes, lim.maxCsvLineBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw badDataset('the CSV is not valid UTF-8 text');
  }
  const rows = readRows(text);
  if (rows.length === 0) throw badDataset('the CSV has no rows');
  const first = rows[0]!.fields;
  let labelAt = 0;
  if (opts.labelColumn !== undefined) {
    if (!hasLabels) throw badDataset('labelColumn is set but the dataset is read without labels');
    labelAt = first.indexOf(opts.labelColumn);
    if (labelAt < 0) throw badDataset(`no column "${opts.labelColumn}" in the CSV header (columns: ${first.slice(0, 10).join(', ')}${first.length > 10 ? ', ...' : ''})`);
  }
  const isFeature = (c: number) => !hasLabels || c !== labelAt;
  const header = opts.labelColumn !== undefined || first.some((f, c) => isFeature(c) && !isNumber(f));
  const data = header ? rows.slice(1) : rows;
  if (data.length === 0) throw badDataset('the CSV has a header but no data rows');
  const width = data[0]!.fields.length;
  const features = width - (hasLabels ? 1 : 0);
  if (features < 1) throw badDataset(`line ${data[0]!.line}: no feature columns (a label and at least one feature)`);
  if (header && first.length !== width) throw badDataset(`the header has ${first.length} columns but line ${data[0]!.line} has ${width}`);
  checkLimit('sample count', data.length, lim.maxSamples);
  checkLimit('value count', data.length * features, lim.maxValues);

  const x = new Float32Array(data.length * features);
  const rawLabels: string[] = [];
  data.forEach(({ line, fields }, r) => {
    if (fields.length !== width) throw badDataset(`line ${line}: ${fields.length} fields, expected ${width} like the first data row`);
    let k = 0;
    for (let c = 0; c < width; c++) {
      if (!isFeature(c)) continue;
      const f = fields[c]!;
      if (!isNumber(f)) throw badDataset(`line ${line}, column ${c + 1}: "${f.slice(0, 40)}" is not a number`);
      x[r * features + k++] = Number(f);
    }
    if (hasLabels) rawLabels.push(fields[labelAt]!);
  });

  const base = { sha256, format: 'csv' as const, count: data.length, sampleShape: [features], x, yShape: [] as number[], sourceDtype: 'float32' };
  if (!hasLabels) return { ...base, y: null };
  if (!opts.classes && rawLabels.every(isNumber)) {
    const values = rawLabels.map(Number);
    if (values.every(Number.isInteger)) return { ...base, y: Int32Array.from(values) };
    return { ...base, y: Float32Array.from(values) };
  }
  if (!opts.classes && rawLabels.some(isNumber)) {
    const i = rawLabels.findIndex((l) => !isNumber(l));
    throw badDataset(`line ${data[i]!.line}: label "${rawLabels[i]!.slice(0, 40)}" mixes with numeric labels; use numbers or names throughout (or give the class names in order: classes)`);
  }
  const { y, classes, order } = classIndices(rawLabels, opts.classes, (i) => `line ${data[i]!.line}`);
  return { ...base, y, classes, labelNote: `class names mapped to indices ${order}` };
}
