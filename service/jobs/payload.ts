/**
 * A job as a worker receives it: self-contained (content hashes and canonical params, no
 * in-memory handles), so it can be serialized to a child process today and to a Redis queue
 * later. A worker needs only this, the blob store and the database.
 */
import type { AnalysisRecord, DatasetFormat } from '../../storage/records.js';
import type { Store } from '../../storage/store.js';

export interface JobPayload {
  analysisId: string;
  /** 1 for the first run; the database ignores reports from stale attempts. */
  attempt: number;
  cacheKey: string;
  modelSha256: string;
  datasetSha256: string | null;
  datasetFormat: DatasetFormat | null;
  analyzer: string;
  analyzerVersion: number;
  /** Canonical JSON of the params, defaults filled in. */
  paramsJson: string;
}

/** The payload of a stored job; undefined when its model or dataset row is gone. */
export async function payloadOf(store: Store, job: AnalysisRecord): Promise<JobPayload | undefined> {
  const model = await store.models.byId(job.modelId);
  const dataset = job.datasetId ? await store.datasets.byId(job.datasetId) : undefined;
  if (!model || (job.datasetId && !dataset)) return undefined;
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
