import type { Preprocessing } from '../common/preprocessing.js';

/** The shapes of stored rows, as the rest of the code base sees them (camelCase, parsed JSON). */

export interface TensorSummary {
  name: string;
  dtype: string;
  /** Fixed dims as numbers, symbolic dims as their names, unknown as null. */
  shape: Array<number | string | null> | null;
}

export interface ModelSummary {
  opsetImports: Array<{ domain: string; version: number }>;
  producer: { name: string; version: string };
  irVersion: number;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  parameterCount: number;
  opHistogram: Array<{ opType: string; count: number }>;
  autodiffSupported: boolean;
  unsupportedOps: string[];
}

export interface ModelRecord {
  id: string;
  sha256: string;
  name: string;
  sizeBytes: number;
  summary: ModelSummary;
  createdAt: Date;
}

export interface DatasetSummary {
  count: number;
  /** Per-sample shape after the dataset's own preprocessing (before fitting to a model). */
  sampleShape: number[];
  yShape: number[];
  hasLabels: boolean;
  classes?: string[];
  /** The element type x is stored in (npz dtype; csv float32; image folders uint8). */
  dtype?: string;
  /** [min, max] of x after the dataset's preprocessing, and as stored. */
  valueRange?: [number, number];
  rawValueRange?: [number, number];
  /** Samples per class label 0..max (class labels only). */
  labelHistogram?: number[];
  /** How labels were read when not as given (one-hot, names). */
  labelNote?: string;
  /** Which preprocessing valueRange reflects: dataset, image-folder default or none. */
  preprocessingSource?: string;
}

export type DatasetFormat = 'npz' | 'csv' | 'imagefolder';

export interface DatasetRecord {
  id: string;
  /** The dataset's identity: the file's sha256, or with preprocessing datasetIdentity(file, spec). */
  sha256: string;
  /** sha256 of the file's bytes (its blob). */
  fileSha256: string;
  /** The preprocessing given at upload (canonical), null when none. */
  preprocessing: Preprocessing | null;
  name: string;
  format: DatasetFormat;
  sizeBytes: number;
  summary: DatasetSummary;
  createdAt: Date;
}

export type AnalysisStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

export const TERMINAL_STATUSES: readonly AnalysisStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export interface AnalysisRecord {
  id: string;
  modelId: string;
  datasetId: string | null;
  analyzer: string;
  analyzerVersion: number;
  /** Canonical params (defaults filled in). */
  params: Record<string, unknown>;
  cacheKey: string;
  status: AnalysisStatus;
  progress: number;
  message: string | null;
  cached: boolean;
  attempts: number;
  error: { code: string; message: string } | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
}

export interface ResultRecord {
  cacheKey: string;
  analyzer: string;
  analyzerVersion: number;
  result: unknown;
  durationMs: number;
  createdAt: Date;
}

export interface ArtifactRecord {
  /** A plain file name, e.g. "saliency_0.png". */
  name: string;
  sha256: string;
  mimeType: string;
  sizeBytes: number;
}
