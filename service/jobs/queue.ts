/**
 * The job queue seam. The embedded default keeps the queue in SQLite (SqliteJobQueue); a
 * distributed queue (BullMQ on Redis) can implement the same interface, with workers on other
 * machines that share the blob store and the database.
 */
import type { AnalysisRecord } from '../../storage/records.js';
import type { NewAnalysis } from '../../storage/analyses.js';
import type { JobPayload } from './payload.js';

export interface JobQueue {
  /** Persists a new job as QUEUED and wakes the consumers. */
  enqueue(job: NewAnalysis): Promise<AnalysisRecord>;
  /** Takes the next job (marking it RUNNING, attempt + 1), or undefined when none waits. */
  claim(): Promise<JobPayload | undefined>;
  /** Puts a claimed job back (its worker died and it may retry, or the service is stopping). */
  release(job: JobPayload): Promise<void>;
  /** Called whenever jobs may be waiting; returns an unsubscribe function. */
  onAvailable(listener: () => void): () => void;
}
