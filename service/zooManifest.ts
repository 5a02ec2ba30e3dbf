/**
 * Zoo manifests: which ONNX file has which hyperparameters. JSON (an array of entries, or
 * { name?, axes?, metadata?, models: [...] }) where an entry is { file, hyperparameters?: {...} }
 * or flat { file, width, batchSize, seed, ... }; or CSV with a header row, a `file` column and one
 * column per hyperparameter. Numeric-looking values become numbers.
 */
import { parse } from 'csv-parse/sync';
import { AppError } from '../common/errors.js';
import type { Hyperparameters, ZooAxes } from '../storage/zoos.js';

export interface ManifestEntry {
  file: string;
  hyperparameters: Hyperparameters;
}

export interface Manifest {
  name: string | null;
  axes: Partial<ZooAxes>;
  metadata: Record<string, unknown>;
  entries: ManifestEntry[];
}

const bad = (msg: string) => new AppError('BAD_PARAMS', `zoo manifest: ${msg}`);

export function parseManifest(text: string, filename = 'manifest'): Manifest {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') throw bad('empty');
  const json = /\.json$/i.test(filename) || trimmed.startsWith('[') || trimmed.startsWith('{');
  const m = json ? parseJson(trimmed) : parseCsv(trimmed);
  if (m.entries.length === 0) throw bad('lists no models');
  const seen = new Set<string>();
  for (const e of m.entries) {
    if (seen.has(e.file)) throw bad(`file ${e.file} is listed twice`);
    seen.add(e.file);
  }
  return m;
}

function parseJson(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(`not valid JSON (${(err as Error).message})`);
  }
  const obj = Array.isArray(raw) ? { models: raw } : (raw as Record<string, unknown>);
  if (!obj || typeof obj !== 'object' || !Array.isArray(obj.models)) throw bad('expected an array of entries or an object with "models"');
  const entries = (obj.models as unknown[]).map((e, i) => {
    if (!e || typeof e !== 'object') throw bad(`entry ${i} is not an object`);
    const { file, hyperparameters, ...rest } = e as Record<string, unknown>;
    if (typeof file !== 'string' || file === '') throw bad(`entry ${i} has no "file"`);
    const hp: Hyperparameters = {};
    for (const [k, v] of Object.entries({ ...rest, ...((hyperparameters as Record<string, unknown>) ?? {}) })) hp[k] = scalar(v, `entry ${i}, ${k}`);
    return { file, hyperparameters: hp };
  });
  const axes = (obj.axes ?? {}) as Partial<ZooAxes>;
  return {
    name: typeof obj.name === 'string' ? obj.name : null,
    axes,
    metadata: (obj.metadata && typeof obj.metadata === 'object' ? obj.metadata : {}) as Record<string, unknown>,
    entries,
  };
}

function scalar(v: unknown, where: string): number | string {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') return coerce(v);
  if (typeof v === 'boolean') return String(v);
  throw bad(`${where}: expected a number or a string`);
}

const coerce = (s: string): number | string => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s.trim());

function parseCsv(text: string): Manifest {
  // csv-parse, as datasets/csv.ts: quoted cells may hold commas, quotes ("") and line breaks.
  let rows: string[][];
  try {
    rows = parse(text, { trim: true, skip_empty_lines: true, relax_column_count: true, bom: true, comment: '#', comment_no_infix: true }) as string[][];
  } catch (err) {
    throw bad(`the CSV does not parse: ${(err as Error).message}`);
  }
  const header = rows[0] ?? [];
  const fileCol = header.findIndex((h) => h.toLowerCase() === 'file');
  if (fileCol < 0) throw bad('the CSV header has no "file" column');
  const entries = rows.slice(1).map((cells, i) => {
    if (cells.length !== header.length) throw bad(`CSV row ${i + 2} has ${cells.length} cells, the header ${header.length}`);
    const hp: Hyperparameters = {};
    header.forEach((h, k) => {
      if (k !== fileCol && cells[k] !== '') hp[h] = coerce(cells[k]!);
    });
    return { file: cells[fileCol]!, hyperparameters: hp };
  });
  return { name: null, axes: {}, metadata: {}, entries };
}

const LOAD_NAMES = ['width', 'load', 'hidden', 'channels', 'params', 'parameters', 'size'];
const TEMPERATURE_NAMES = ['batchSize', 'batch_size', 'batch', 'lr', 'learningRate', 'learning_rate', 'temperature'];

/**
 * The phase-diagram axes (Yang et al. / Schurholt et al.: a load-like hyperparameter, model
 * width, against a temperature-like one, batch size or learning rate): the manifest's choice,
 * else the first hyperparameter with a conventional name that varies.
 */
export function detectAxes(entries: ManifestEntry[], given: Partial<ZooAxes>): ZooAxes {
  const names = [...new Set(entries.flatMap((e) => Object.keys(e.hyperparameters)))];
  const varies = (n: string) => new Set(entries.map((e) => String(e.hyperparameters[n]))).size > 1;
  const pick = (candidates: string[]) => names.find((n) => candidates.some((c) => c.toLowerCase() === n.toLowerCase()) && varies(n)) ?? null;
  for (const [k, v] of Object.entries(given)) if (v && !names.includes(v)) throw bad(`axis ${k} names ${v}, which no entry has`);
  return { load: given.load ?? pick(LOAD_NAMES), temperature: given.temperature ?? pick(TEMPERATURE_NAMES) };
}
