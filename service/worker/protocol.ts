/** Messages between the pool (parent) and a worker process (child), over the fork IPC channel. */
import type { JobPayload } from '../jobs/payload.js';
import type { RuntimeInfo } from '../../native/runtime/session.js';

/** What a worker needs to open the same store and analyzers as its parent. */
export interface WorkerSetup {
  dataDir: string;
  analyzerModules: string[];
  progressIntervalMs: number;
  logLevel: string;
  /** config.workerMaxRssMb: no tensor the graph fixes may be larger (jobs/resourceGuard.ts). */
  maxRssMb: number;
  /** config.workerNice: set by the worker on itself before it creates any runtime threads (they inherit it). */
  nice: number;
}

export type ToWorker =
  | { type: 'run'; job: JobPayload }
  /** Abort the running job (cancelled or out of time); the parent kills the worker if it does not stop. */
  | { type: 'abort'; analysisId: string; code: 'CANCELLED' | 'TIMEOUT'; message: string }
  /** Report the runtime this worker uses (provider actually chosen, threads). */
  | { type: 'runtimeInfo'; requestId: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; analysisId: string; attempt: number; progress: number; message: string | null }
  /** The job ended and its end is in the database (result or error). */
  | { type: 'finished'; analysisId: string; attempt: number; ok: boolean; code?: string; message?: string }
  | { type: 'runtimeInfo'; requestId: number; info: RuntimeInfo };

export const WORKER_SETUP_ENV = 'ONNXSCOPE_WORKER_SETUP';
