import { EventEmitter } from 'node:events';
import type { Store } from '../../storage/store.js';
import type { NewAnalysis } from '../../storage/analyses.js';
import type { AnalysisRecord } from '../../storage/records.js';
import type { JobQueue } from './queue.js';
import { payloadOf, type JobPayload } from './payload.js';

/** The persisted queue in the analyses table: QUEUED rows, oldest first. */
export class SqliteJobQueue implements JobQueue {
  private readonly emitter = new EventEmitter();

  constructor(private readonly store: Store) {}

  async enqueue(job: NewAnalysis): Promise<AnalysisRecord> {
    const record = await this.store.analyses.insertQueued(job);
    this.emitter.emit('available');
    return record;
  }

  async claim(): Promise<JobPayload | undefined> {
    const job = await this.store.analyses.claimNext();
    if (!job) return undefined;
    const payload = await payloadOf(this.store, job);
    if (!payload) {
      await this.store.analyses.fail(job.id, job.attempts, 'NOT_FOUND', 'the model or dataset of this job is gone');
      return this.claim();
    }
    return payload;
  }

  async release(job: JobPayload): Promise<void> {
    if (await this.store.analyses.requeue(job.analysisId, job.attempt)) this.emitter.emit('available');
  }

  onAvailable(listener: () => void): () => void {
    this.emitter.on('available', listener);
    return () => this.emitter.off('available', listener);
  }
}
