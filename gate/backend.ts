/**
 * Where a gate's analyses run: in this process over the local data dir (gate/embedded.ts) or on
 * a running onnxscope server (gate/remote.ts). Both answer from the same results cache, so a CI
 * run on unchanged models and config runs no analysis job.
 */
import type { Preprocessing } from '../datasets/preprocessing.js';

export interface StoredRef {
  id: string;
  sha256: string;
}

export interface AnalysisRequest {
  modelId: string;
  datasetId: string | null;
  analyzer: string;
  params: Record<string, unknown>;
}

export interface AnalysisAnswer {
  analysisId: string;
  cached: boolean;
  /** The result as stored (JSON: a NaN or infinite number reads as null, on every path). */
  result: unknown;
  /** How long the analysis ran where it ran (null when answered from the cache). */
  durationMs: number | null;
}

/** A checked request: its input errors already surfaced; wait() runs it (or waits for it). */
export interface Submitted {
  /** Throws CANCELLED or TIMEOUT when the signal aborts (with that AppError as its reason). */
  wait(progress: (fraction: number, message?: string) => void, signal: AbortSignal): Promise<AnalysisAnswer>;
  /** Withdraws a queued or running job (a server's); a no-op where nothing runs yet. */
  cancel(): Promise<void>;
}

export interface GateBackend {
  /** For reports: "embedded (DIR)" or the server URL. */
  readonly where: string;
  addModel(bytes: Uint8Array, name: string): Promise<StoredRef>;
  addDataset(bytes: Uint8Array, filename: string, preprocessing: Preprocessing | null): Promise<StoredRef>;
  /** Checks the request (params, dataset fit) and, on a server, queues it. Throws on bad input. */
  submit(req: AnalysisRequest): Promise<Submitted>;
  close(): Promise<void>;
}
