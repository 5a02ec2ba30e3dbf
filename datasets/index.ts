/**
 * Dataset front door: decode bytes of a known format, refuse non-finite values, apply the
 * preprocessing (the dataset's, else the model's, else the format's default), then fit the
 * result to a model with conformDataset. The service and the CLI call these.
 */
import type { AppliedPreprocessing, LoadedDataset } from './types.js';
import { badDataset, type DatasetLimits } from './limits.js';
import { loadCsv } from './csv.js';
import { loadImageFolder } from './imagefolder.js';
import { loadNpz } from './npz.js';
import { applyPreprocessing, hasValueSteps, VALUE_STEPS } from './preprocess.js';
import { valueRange } from '../common/range.js';
import type { Preprocessing } from './preprocessing.js';

export type DatasetFormat = LoadedDataset['format'];

export interface LoadDatasetOptions extends DatasetLimits {
  /** The dataset's own preprocessing (also its label options: labelColumn, classes). */
  preprocessing?: Preprocessing;
  /** What the model declares (modelPreprocessing); applies when the dataset's spec has no value steps. */
  modelPreprocessing?: Preprocessing | null;
  /** CSV: false reads a feature-only file. */
  labels?: boolean;
}

/** Image folders decode to 0..255 pixels; unless told otherwise they are scaled to [0, 1] (torchvision's ToTensor). */
const IMAGE_FOLDER_DEFAULT: Preprocessing = { scale: 1 / 255 };

/** Which preprocessing applies: the dataset's value steps, else the model's, else the format default. */
export function effectivePreprocessing(format: DatasetFormat, own: Preprocessing = {}, model: Preprocessing | null = null): AppliedPreprocessing {
  if (hasValueSteps(own)) return { source: 'dataset', spec: own };
  const labelAndRange = Object.fromEntries(Object.entries(own).filter(([k]) => !(VALUE_STEPS as readonly string[]).includes(k))) as Preprocessing;
  if (model && hasValueSteps(model)) return { source: 'model', spec: { ...model, ...labelAndRange } };
  if (format === 'imagefolder') return { source: 'image-folder default', spec: { ...IMAGE_FOLDER_DEFAULT, ...labelAndRange } };
  return { source: 'none', spec: own };
}

export function loadDataset(bytes: Uint8Array, format: DatasetFormat, sha256: string, opts: LoadDatasetOptions = {}): LoadedDataset {
  if (bytes.length === 0) throw badDataset('the dataset file is empty');
  const applied = effectivePreprocessing(format, opts.preprocessing, opts.modelPreprocessing);
  const { spec } = applied;
  const limits: DatasetLimits = { maxUncompressedBytes: opts.maxUncompressedBytes, maxValues: opts.maxValues, maxSamples: opts.maxSamples };
  let raw: LoadedDataset;
  switch (format) {
    case 'npz':
      raw = loadNpz(bytes, sha256, { ...limits, classes: spec.classes });
      break;
    case 'csv':
      raw = loadCsv(bytes, sha256, { ...limits, labels: opts.labels, labelColumn: spec.labelColumn, classes: spec.classes });
      break;
    case 'imagefolder':
      raw = loadImageFolder(bytes, sha256, { ...limits, classes: spec.classes, ...(spec.resize ? { size: spec.resize.size, resizeMode: spec.resize.mode } : {}) });
      break;
    default:
      throw badDataset(`unknown dataset format ${String(format)}; expected npz, csv or imagefolder`);
  }
  if (format !== 'csv' && spec.labelColumn) throw badDataset(`labelColumn applies to CSV files; this is ${format}`);
  refuseNonFinite(raw);
  const rawRange = valueRange(raw.x);
  return { ...applyPreprocessing(raw, spec), preprocessing: applied, ...(rawRange ? { rawRange } : {}) };
}

/** NaN and Inf are refused at the door, naming the first bad value's index. */
function refuseNonFinite(d: LoadedDataset): void {
  const per = d.sampleShape.reduce((a, b) => a * b, 1);
  const bad = (arr: ArrayLike<number>) => {
    for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i]!)) return i;
    return -1;
  };
  const i = bad(d.x);
  if (i >= 0) {
    throw badDataset(`x[${i}] is ${d.x[i]} (sample ${Math.floor(i / per)}, element ${i % per}); datasets must hold finite numbers`, { index: i, sample: Math.floor(i / per) });
  }
  if (d.y instanceof Float32Array) {
    const j = bad(d.y);
    if (j >= 0) throw badDataset(`y[${j}] is ${d.y[j]}; targets must be finite numbers`, { index: j });
  }
}

export { conformDataset, modelSampleShape, type ConformedDataset } from './conform.js';
export { loadNpz, writeNpz, unzipChecked, type NpzWriteOptions } from './npz.js';
export { readNpy, writeNpy, type NpyArray, type NpyWritable } from './npy.js';
export { loadCsv, type CsvOptions } from './csv.js';
export { loadImageFolder, type ImageFolderOptions } from './imagefolder.js';
export { DEFAULT_LIMITS, type DatasetLimits } from './limits.js';
export { applyPreprocessing } from './preprocess.js';
export { parsePreprocessing, datasetIdentity, describePreprocessing, isEmptyPreprocessing, type Preprocessing } from './preprocessing.js';
