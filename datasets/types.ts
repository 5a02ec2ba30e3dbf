/** What a dataset loader produces: the shape every analyzer receives (re-exported by analyzers/types.ts). */
import type { Preprocessing } from './preprocessing.js';

/** A dataset decoded to dense arrays (see DESIGN.md conventions). */
export interface LoadedDataset {
  sha256: string;
  format: 'npz' | 'csv' | 'imagefolder';
  count: number;
  /** Per-sample shape of x, as stored. */
  sampleShape: number[];
  /** count * prod(sampleShape) values, sample-major. */
  x: Float32Array;
  /** Class labels (classification) or float targets (regression); null when absent. */
  y: Int32Array | Float32Array | null;
  /** Per-sample shape of y ([] for class labels). */
  yShape: number[];
  /** Class names, when the format carries them (image folders). */
  classes?: string[];
  /** Samples are CHW images (image folders; a preprocessing spec that named a layout), so they may be resized and transposed to fit a model. */
  chwImages?: boolean;
  /** The element type x was stored in (npz dtype, e.g. uint8); x itself is always float32. */
  sourceDtype?: string;
  /** How labels were read when not as given, e.g. "one-hot y (N, 10) mapped to class indices". */
  labelNote?: string;
  /** [min, max] of x as stored, before preprocessing. */
  rawRange?: [number, number];
  /** The preprocessing applied to x and where it came from (datasets/preprocessing.ts). */
  preprocessing?: AppliedPreprocessing;
}

export type PreprocessingSource = 'dataset' | 'model' | 'image-folder default' | 'none';

export interface AppliedPreprocessing {
  source: PreprocessingSource;
  spec: Preprocessing;
}
