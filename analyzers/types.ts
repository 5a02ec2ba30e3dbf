/**
 * The contract every analyzer implements. An analyzer is a pure function of
 * (model, dataset, params, progress, abort signal) -> typed, JSON-serializable result.
 * The registry (analyzers/registry.ts) lists them; the service and the CLI share it.
 */
import type { Model } from '../native/onnx/ir.js';

export type ParamType = 'int' | 'float' | 'bool' | 'string' | 'enum' | 'intList' | 'floatList' | 'stringList';

export interface ParamSpec {
  name: string;
  type: ParamType;
  description: string;
  /** Filled in when the caller leaves the param out; undefined means "optional, no default". */
  default?: number | boolean | string | number[] | string[];
  min?: number;
  max?: number;
  /** For 'enum'. */
  choices?: string[];
}

export type ParamValues = Record<string, number | boolean | string | number[] | string[] | undefined>;

export type { LoadedModel } from '../native/onnx/loaded.js';
import type { LoadedModel } from '../native/onnx/loaded.js';

export type { LoadedDataset, AppliedPreprocessing, PreprocessingSource } from '../datasets/types.js';
import type { LoadedDataset } from '../datasets/types.js';

/**
 * Where an analyzer puts files people look at or download (PNG overlays, SVG plots, .npz
 * arrays). The CLI's --out writes them to a folder; the service stores them as blobs and
 * serves them by URL. Names are plain file names ("gradient.npz", "saliency_0.png").
 */
export interface ArtifactSink {
  write(name: string, bytes: Uint8Array, mimeType: string): Promise<void>;
}

export interface AnalyzerContext<P extends ParamValues = ParamValues> {
  model: LoadedModel;
  dataset: LoadedDataset | null;
  params: P;
  /** fraction in [0, 1]. Cheap to call often; the caller throttles. */
  progress(fraction: number, message?: string): void;
  signal: AbortSignal;
  /** Absent when nobody collects artifacts: analyzers then skip rendering them. */
  artifacts?: ArtifactSink;
  /**
   * Loads another stored model by id or sha256 (checkpoint series, interpolation between two
   * models). Absent where no model store is reachable; analyzers then refuse such params.
   */
  resolveModel?: (ref: string) => Promise<LoadedModel>;
}

export interface Analyzer<P extends ParamValues = ParamValues, R = unknown> {
  name: string;
  /** Bumped whenever results could change; part of the cache key. */
  version: number;
  description: string;
  needsDataset: boolean;
  params: ParamSpec[];
  /**
   * Checks that need no model: params that only make sense together, and whether this request
   * needs a dataset. Runs when a request is accepted (service, CLI, gate config), so such
   * mistakes are refused before anything runs. Throws BAD_PARAMS or BAD_DATASET.
   */
  checkRequest?(params: P, hasDataset: boolean): void;
  /** Whether these params need a dataset; needsDataset when absent. */
  needsDatasetFor?(params: P): boolean;
  run(ctx: AnalyzerContext<P>): Promise<R>;
}
