/** Messages between the pool (parent) and a worker process (child), over the fork IPC channel. */
import type { JobPayload } from '../jobs/payload.js';

/** What a worker needs to open the same store and analyzers as its parent. */
export interface WorkerSetup {
  dataDir: string;
  analyzerModules: string[];
  progressIntervalMs: number;
  logLevel: string;
}

export type ToWorker =
  | { type: 'run'; job: JobPayload }
  /** Abort the running job (cancelled or out of time); the parent kills the worker if it does not stop. */
  | { type: 'abort'; analysisId: string; code: 'CANCELLED' | 'TIMEOUT'; message: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; analysisId: string; attempt: number; progress: number; message: string | null }
  /** The job ended and its end is in the database (result or error). */
  | { type: 'finished'; analysisId: string; attempt: number; ok: boolean; code?: string; message?: string };

export const WORKER_SETUP_ENV = 'ONNXSCOPE_WORKER_SETUP';
