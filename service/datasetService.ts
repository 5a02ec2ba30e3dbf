/** Datasets: ingest uploads (decoded and checked before storing), look them up, load them for a job. */
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors.js';
import { sha256Hex, type BlobReader } from '../storage/blobs.js';
import type { Store } from '../storage/store.js';
import type { DatasetFormat, DatasetRecord, ModelRecord } from '../storage/records.js';
import type { LoadedDataset } from '../analyzers/types.js';
import type { Dim, Model } from '../native/onnx/ir.js';
import type { DType } from '../native/onnx/dtype.js';
import { loadDataset, conformDataset } from '../datasets/index.js';
import { detectDatasetFormat } from './datasetFormat.js';
import { loadStoredModel } from './modelService.js';

export interface DatasetUpload {
  bytes: Uint8Array;
  filename?: string;
  name?: string | null;
  /** When given, the dataset must fit this model's input (DATASET_MISMATCH otherwise). */
  modelId?: string | null;
}

export class DatasetService {
  constructor(
    private readonly store: Store,
    private readonly maxBytes: number,
  ) {}

  async ingest(upload: DatasetUpload): Promise<DatasetRecord> {
    const { bytes } = upload;
    if (bytes.length > this.maxBytes) throw new AppError('TOO_LARGE', `dataset is ${bytes.length} bytes; the limit is ${this.maxBytes}`);
    if (bytes.length === 0) throw new AppError('BAD_DATASET', 'the dataset file is empty');
    const format = detectDatasetFormat(bytes, upload.filename);
    const sha256 = sha256Hex(bytes);
    const dataset = decode(bytes, format, sha256);
    if (upload.modelId) {
      const model = await this.store.models.byId(upload.modelId);
      if (!model) throw new AppError('NOT_FOUND', `no model with id ${upload.modelId}`, { modelId: upload.modelId });
      conformDataset(dataset, (await loadStoredModel(this.store, model.sha256)).ir);
    }
    await this.store.blobs.put(bytes, sha256);
    return this.store.datasets.insertOrGet({
      id: randomUUID(),
      sha256,
      name: upload.name?.trim() || upload.filename || `dataset-${sha256.slice(0, 12)}`,
      format,
      sizeBytes: bytes.length,
      summary: {
        count: dataset.count,
        sampleShape: dataset.sampleShape,
        yShape: dataset.yShape,
        hasLabels: dataset.y !== null,
        ...(dataset.classes ? { classes: dataset.classes } : {}),
      },
    });
  }

  async get(id: string): Promise<DatasetRecord> {
    const d = await this.store.datasets.byId(id);
    if (!d) throw new AppError('NOT_FOUND', `no dataset with id ${id}`, { datasetId: id });
    return d;
  }

  list(): Promise<DatasetRecord[]> {
    return this.store.datasets.list();
  }
}

/** Decodes a stored dataset and fits it to the model's input (reshape, or DATASET_MISMATCH). */
export async function loadStoredDataset(store: { blobs: BlobReader }, sha256: string, format: DatasetFormat, model: Model): Promise<LoadedDataset> {
  const bytes = await store.blobs.get(sha256);
  return conformDataset(decode(bytes, format, sha256), model);
}

/**
 * DATASET_MISMATCH before a job is queued, from stored facts alone (no decoding, no model
 * parsing): conformDataset applied to the dataset's shape with no samples, against the model's
 * declared input.
 */
export function checkDatasetFits(dataset: DatasetRecord, model: ModelRecord): void {
  const shapeOnly: LoadedDataset = {
    sha256: dataset.sha256,
    format: dataset.format,
    count: 0,
    sampleShape: dataset.summary.sampleShape,
    x: new Float32Array(0),
    y: null,
    yShape: dataset.summary.yShape,
  };
  const inputs = model.summary.inputs.map((t) => ({ name: t.name, dtype: t.dtype as DType, shape: t.shape as Dim[] | null }));
  const declared = { graph: { inputs } } as unknown as Model; // conformDataset reads only the graph inputs
  conformDataset(shapeOnly, declared);
}

function decode(bytes: Uint8Array, format: DatasetFormat, sha256: string): LoadedDataset {
  return loadDataset(bytes, format, sha256);
}
