/**
 * A job as a worker receives it: self-contained (content hashes and canonical params, no
 * in-memory handles), so it can be serialized to a child process today and to a Redis queue
 * later. A worker needs only this, the blob store and the database.
 */
import type { DatasetFormat } from '../../storage/records.js';

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
