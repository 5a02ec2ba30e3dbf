/** Datasets: ingest uploads (decoded and checked before storing), look them up, load them for a job. */
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/errors.js';
import { sha256Hex, type BlobReader } from '../storage/blobs.js';
import type { Store } from '../storage/store.js';
import type { Deletion } from '../storage/deletion.js';
import type { DatasetFormat, DatasetRecord, ModelRecord } from '../storage/records.js';
import type { LoadedDataset } from '../analyzers/types.js';
import type { Dim, Model } from '../native/onnx/ir.js';
import type { DType } from '../native/onnx/dtype.js';
import { loadDataset, conformDataset, datasetIdentity, isEmptyPreprocessing, parsePreprocessing, type Preprocessing } from '../datasets/index.js';
import { modelPreprocessing } from '../datasets/modelPreprocessing.js';
import { labelHistogram } from '../datasets/labels.js';
import { valueRange } from '../common/range.js';
import { detectDatasetFormat } from './datasetFormat.js';
import { loadStoredModel } from './modelService.js';

export interface DatasetUpload {
  bytes: Uint8Array;
  filename?: string;
  name?: string | null;
  /** When given, the dataset must fit this model's input (DATASET_MISMATCH otherwise). */
  modelId?: string | null;
  /** How to prepare the values for the model (datasets/preprocessing.ts); part of the dataset's identity. */
  preprocessing?: Preprocessing | null;
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
    const spec = parsePreprocessing(upload.preprocessing);
    const fileSha256 = sha256Hex(bytes);
    const sha256 = datasetIdentity(fileSha256, spec);
    const dataset = loadDataset(bytes, format, sha256, { preprocessing: spec });
    if (upload.modelId) {
      const model = await this.store.models.byId(upload.modelId);
      if (!model) throw new AppError('NOT_FOUND', `no model with id ${upload.modelId}`, { modelId: upload.modelId });
      const ir = (await loadStoredModel(this.store, model.sha256)).ir;
      const declared = modelPreprocessing(ir);
      conformDataset(declared ? loadDataset(bytes, format, sha256, { preprocessing: spec, modelPreprocessing: declared }) : dataset, ir);
    }
    await this.store.blobs.put(bytes, fileSha256);
    const record = await this.store.datasets.insertOrGet({
      id: randomUUID(),
      sha256,
      fileSha256,
      preprocessing: isEmptyPreprocessing(spec) ? null : spec,
      name: upload.name?.trim() || upload.filename || `dataset-${fileSha256.slice(0, 12)}`,
      format,
      sizeBytes: bytes.length,
      summary: summarize(dataset),
    });
    // A delete of the same bytes may have removed the blob between our put and our row (storage/deletion.ts).
    await this.store.blobs.put(bytes, fileSha256);
    return record;
  }

  /** Removes the dataset, its analyses and their results, and the blobs only they used (CONFLICT while an analysis of it is queued or running). */
  delete(id: string): Promise<Deletion> {
    return this.store.delete({ kind: 'dataset', id });
  }

  async get(id: string): Promise<DatasetRecord> {
    const d = await this.store.datasets.byId(id);
    if (!d) throw new AppError('NOT_FOUND', `no dataset with id ${id}`, { datasetId: id });
    return d;
  }

  list(): Promise<DatasetRecord[]> {
    return this.store.datasets.list();
  }

  /** The first `limit` samples as the analyzers see them (after the dataset's preprocessing), for a dashboard to look at. */
  async samples(id: string, limit: number): Promise<DatasetSample[]> {
    const record = await this.get(id);
    const bytes = await this.store.blobs.get(record.fileSha256);
    const d = loadDataset(bytes, record.format, record.sha256, { preprocessing: record.preprocessing ?? {} });
    const size = d.sampleShape.reduce((a, b) => a * b, 1);
    const ySize = d.yShape.reduce((a, b) => a * b, 1);
    return Array.from({ length: Math.min(limit, d.count) }, (_, i) => ({
      index: i,
      label: d.y ? d.y[i * ySize]! : null,
      values: Array.from(d.x.subarray(i * size, (i + 1) * size)),
    }));
  }
}

export interface DatasetSample {
  index: number;
  label: number | null;
  values: number[];
}

/** What a dashboard shows of a dataset: shapes, dtype, value ranges (after preprocessing and as stored), label histogram. */
function summarize(d: LoadedDataset): DatasetRecord['summary'] {
  const histogram = d.y instanceof Int32Array && d.yShape.length === 0 ? labelHistogram(d.y) : null;
  const range = valueRange(d.x);
  return {
    count: d.count,
    sampleShape: d.sampleShape,
    yShape: d.yShape,
    hasLabels: d.y !== null,
    ...(d.classes ? { classes: d.classes } : {}),
    ...(d.sourceDtype ? { dtype: d.sourceDtype } : {}),
    ...(range ? { valueRange: range } : {}),
    ...(d.rawRange ? { rawValueRange: d.rawRange } : {}),
    ...(histogram ? { labelHistogram: histogram } : {}),
    ...(d.labelNote ? { labelNote: d.labelNote } : {}),
    preprocessingSource: d.preprocessing?.source ?? 'none',
  };
}

/** What decoding a stored dataset needs: the blobs, and its record's file hash and preprocessing (the store, or the server for a remote worker). */
export interface DatasetSource {
  blobs: BlobReader;
  datasets: { bySha(sha256: string): Promise<Pick<DatasetRecord, 'fileSha256' | 'preprocessing'> | undefined> };
}

/**
 * Decodes a stored dataset (its file, by the record's fileSha256) with its preprocessing, or
 * the model's when it has none, and fits it to the model's input (reshape, or DATASET_MISMATCH).
 */
export async function loadStoredDataset(store: DatasetSource, sha256: string, format: DatasetFormat, model: Model): Promise<LoadedDataset> {
  const record = await store.datasets.bySha(sha256);
  const bytes = await store.blobs.get(record?.fileSha256 ?? sha256);
  return conformDataset(loadDataset(bytes, format, sha256, { preprocessing: record?.preprocessing ?? {}, modelPreprocessing: modelPreprocessing(model) }), model);
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
