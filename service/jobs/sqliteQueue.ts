import { EventEmitter } from 'node:events';
import type { Store } from '../../storage/store.js';
import type { NewAnalysis } from '../../storage/analyses.js';
import type { AnalysisRecord } from '../../storage/records.js';
import type { JobQueue } from './queue.js';
import type { JobPayload } from './payload.js';

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
    const model = await this.store.models.byId(job.modelId);
    const dataset = job.datasetId ? await this.store.datasets.byId(job.datasetId) : undefined;
    if (!model || (job.datasetId && !dataset)) {
      await this.store.analyses.fail(job.id, job.attempts, 'NOT_FOUND', 'the model or dataset of this job is gone');
      return this.claim();
    }
    return {
      analysisId: job.id,
      attempt: job.attempts,
      cacheKey: job.cacheKey,
      modelSha256: model.sha256,
      datasetSha256: dataset?.sha256 ?? null,
      datasetFormat: dataset?.format ?? null,
      analyzer: job.analyzer,
      analyzerVersion: job.analyzerVersion,
      paramsJson: JSON.stringify(job.params),
    };
  }

  async release(job: JobPayload): Promise<void> {
    if (await this.store.analyses.requeue(job.analysisId, job.attempt)) this.emitter.emit('available');
  }

  onAvailable(listener: () => void): () => void {
    this.emitter.on('available', listener);
    return () => this.emitter.off('available', listener);
  }
}
