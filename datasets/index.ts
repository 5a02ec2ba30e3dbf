/**
 * Dataset front door: decode bytes of a known format into a LoadedDataset, then fit it to a
 * model with conformDataset. The service and the CLI call these two.
 */
import type { LoadedDataset } from '../analyzers/types.js';
import { badDataset } from './limits.js';
import { loadCsv, type CsvOptions } from './csv.js';
import { loadImageFolder, type ImageFolderOptions } from './imagefolder.js';
import { loadNpz } from './npz.js';

export type DatasetFormat = LoadedDataset['format'];

export interface LoadDatasetOptions extends ImageFolderOptions, CsvOptions {}

export function loadDataset(bytes: Uint8Array, format: DatasetFormat, sha256: string, opts: LoadDatasetOptions = {}): LoadedDataset {
  if (bytes.length === 0) throw badDataset('the dataset file is empty');
  switch (format) {
    case 'npz':
      return loadNpz(bytes, sha256, opts);
    case 'csv':
      return loadCsv(bytes, sha256, opts);
    case 'imagefolder':
      return loadImageFolder(bytes, sha256, opts);
    default:
      throw badDataset(`unknown dataset format ${String(format)}; expected npz, csv or imagefolder`);
  }
}

export { conformDataset, modelSampleShape, type ConformedDataset } from './conform.js';
export { loadNpz, writeNpz, unzipChecked, type NpzWriteOptions } from './npz.js';
export { readNpy, writeNpy, type NpyArray, type NpyWritable } from './npy.js';
export { loadCsv, type CsvOptions } from './csv.js';
export { loadImageFolder, type ImageFolderOptions, type Normalization } from './imagefolder.js';
export { DEFAULT_LIMITS, type DatasetLimits } from './limits.js';
