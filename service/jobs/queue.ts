/**
 * The job queue seam. The embedded default keeps the queue in SQLite (SqliteJobQueue); a
 * distributed queue (BullMQ on Redis) can implement the same interface, with workers on other
 * machines that share the blob store and the database.
 */
import type { AnalysisRecord } from '../../storage/records.js';
import type { NewAnalysis } from '../../storage/analyses.js';
import type { JobPayload } from './payload.js';
import type { RuntimeInfo } from '../../native/runtime/session.js';

export interface JobQueue {
  /** Persists a new job as QUEUED and wakes the consumers. */
  enqueue(job: NewAnalysis): Promise<AnalysisRecord>;
  /** Takes the next job (marking it RUNNING, attempt + 1), or undefined when none waits. */
  claim(): Promise<JobPayload | undefined>;
  /** Puts a claimed job back (its worker died and it may retry, or the service is stopping). */
  release(job: JobPayload): Promise<void>;
  /** Called whenever jobs may be waiting; returns an unsubscribe function. */
  onAvailable(listener: () => void): () => void;
  /**
   * Optional: persists several jobs as QUEUED and submits them as one group (a zoo run: one
   * BullMQ flow, a parent with a child per job). Queues without it get enqueue() per job.
   */
  enqueueGroup?(groupId: string, jobs: NewAnalysis[]): Promise<AnalysisRecord[]>;
}

/**
 * Who runs the queue's jobs: the local worker pool (embedded), or `onnxscope worker` processes on
 * other machines (BullMQ). The service asks them only these things.
 */
export interface JobRunners {
  /** Resolves once some worker can take jobs (and be asked about the runtime). */
  readonly whenReady: Promise<void>;
  /** Workers alive and ready to take or running a job. */
  stats(): { size: number; ready: number; busy: number };
  /** Why the runners cannot take work now (empty when they can): /readyz reports these. */
  problems(): string[];
  /** The runtime the workers use (execution provider actually chosen, threads). */
  runtimeInfo(timeoutMs?: number): Promise<RuntimeInfo>;
  /** Stops a running job (cancelled by request). */
  cancel(analysisId: string): void;
  /** The local pid running an analysis, when it runs on this machine. */
  pidOf(analysisId: string): number | undefined;
  /** Stops taking jobs; running ones get graceMs. */
  stop(graceMs: number): Promise<void>;
}
