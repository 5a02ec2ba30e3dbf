/**
 * Analyses: every request for an analysis, and (rows with cached = 0) the persisted job queue.
 * Status changes are conditional updates (WHERE status = ...), so a late message from a
 * worker can never overwrite a cancellation or a newer attempt.
 */
import type { Db, Sql, SqlValue } from './db.js';
import type { AnalysisRecord, AnalysisStatus, ArtifactRecord } from './records.js';

interface AnalysisRow {
  id: string;
  model_id: string;
  dataset_id: string | null;
  analyzer: string;
  analyzer_version: number;
  params_json: string;
  cache_key: string;
  status: string;
  progress: number;
  message: string | null;
  cached: number;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
}

const date = (s: string | null) => (s === null ? null : new Date(s));

const toRecord = (r: AnalysisRow): AnalysisRecord => ({
  id: r.id,
  modelId: r.model_id,
  datasetId: r.dataset_id,
  analyzer: r.analyzer,
  analyzerVersion: r.analyzer_version,
  params: JSON.parse(r.params_json) as Record<string, unknown>,
  cacheKey: r.cache_key,
  status: r.status as AnalysisStatus,
  progress: r.progress,
  message: r.message,
  cached: r.cached === 1,
  attempts: r.attempts,
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  createdAt: new Date(r.created_at),
  startedAt: date(r.started_at),
  finishedAt: date(r.finished_at),
  durationMs: r.duration_ms,
});

export interface NewAnalysis {
  id: string;
  modelId: string;
  datasetId: string | null;
  analyzer: string;
  analyzerVersion: number;
  /** Canonical JSON of the params. */
  paramsJson: string;
  cacheKey: string;
}

export interface AnalysisFilter {
  status?: AnalysisStatus;
  analyzer?: string;
  modelId?: string;
  datasetId?: string;
}

const now = () => new Date().toISOString();

export class AnalysisRepo {
  constructor(private readonly db: Db) {}

  async insertQueued(a: NewAnalysis): Promise<AnalysisRecord> {
    await this.db.run(
      `INSERT INTO analyses (id, model_id, dataset_id, analyzer, analyzer_version, params_json, cache_key, status, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'QUEUED', ?)`,
      [a.id, a.modelId, a.datasetId, a.analyzer, a.analyzerVersion, a.paramsJson, a.cacheKey, now()],
    );
    return (await this.byId(a.id))!;
  }

  /** A job run at once by the process that asks for it (the CLI): born RUNNING, attempt 1. */
  async insertRunning(a: NewAnalysis): Promise<AnalysisRecord> {
    const t = now();
    await this.db.run(
      `INSERT INTO analyses (id, model_id, dataset_id, analyzer, analyzer_version, params_json, cache_key, status, attempts,
         created_at, started_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'RUNNING', 1, ?, ?)`,
      [a.id, a.modelId, a.datasetId, a.analyzer, a.analyzerVersion, a.paramsJson, a.cacheKey, t, t],
    );
    return (await this.byId(a.id))!;
  }

  /** A request answered from the results cache: born SUCCEEDED, never queued. */
  async insertCached(a: NewAnalysis): Promise<AnalysisRecord> {
    const t = now();
    await this.db.run(
      `INSERT INTO analyses (id, model_id, dataset_id, analyzer, analyzer_version, params_json, cache_key, status, progress,
         cached, created_at, started_at, finished_at, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'SUCCEEDED', 1, 1, ?, ?, ?, 0)`,
      [a.id, a.modelId, a.datasetId, a.analyzer, a.analyzerVersion, a.paramsJson, a.cacheKey, t, t, t],
    );
    return (await this.byId(a.id))!;
  }

  async byId(id: string): Promise<AnalysisRecord | undefined> {
    const r = await this.db.get<AnalysisRow>('SELECT * FROM analyses WHERE id = ?', [id]);
    return r && toRecord(r);
  }

  /** A queued or running job for the same cache key, so identical requests share one run. */
  async activeByKey(cacheKey: string): Promise<AnalysisRecord | undefined> {
    const r = await this.db.get<AnalysisRow>(
      `SELECT * FROM analyses WHERE cache_key = ? AND status IN ('QUEUED', 'RUNNING') ORDER BY created_at, rowid LIMIT 1`,
      [cacheKey],
    );
    return r && toRecord(r);
  }

  async list(filter: AnalysisFilter, offset: number, limit: number): Promise<{ items: AnalysisRecord[]; total: number }> {
    const where: string[] = [];
    const args: SqlValue[] = [];
    if (filter.status) (where.push('status = ?'), args.push(filter.status));
    if (filter.analyzer) (where.push('analyzer = ?'), args.push(filter.analyzer));
    if (filter.modelId) (where.push('model_id = ?'), args.push(filter.modelId));
    if (filter.datasetId) (where.push('dataset_id = ?'), args.push(filter.datasetId));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.db.all<AnalysisRow>(
      `SELECT * FROM analyses ${clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`,
      [...args, limit, offset],
    );
    const total = (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM analyses ${clause}`, args))?.n ?? 0;
    return { items: rows.map(toRecord), total };
  }

  /** Takes the oldest queued job: QUEUED -> RUNNING with attempts + 1, atomically. */
  async claimNext(): Promise<AnalysisRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const r = await tx.get<AnalysisRow>(
        `SELECT * FROM analyses WHERE status = 'QUEUED' ORDER BY created_at, rowid LIMIT 1`,
      );
      if (!r) return undefined;
      await tx.run(
        `UPDATE analyses SET status = 'RUNNING', attempts = attempts + 1, started_at = ?, progress = 0, message = NULL
         WHERE id = ? AND status = 'QUEUED'`,
        [now(), r.id],
      );
      return toRecord((await tx.get<AnalysisRow>('SELECT * FROM analyses WHERE id = ?', [r.id]))!);
    });
  }

  /**
   * A remote worker starts this job (BullMQ delivered it): QUEUED or RUNNING -> RUNNING with
   * attempts + 1, so a report from the attempt before (a worker presumed dead) no longer counts.
   * Undefined when the job already ended (cancelled, failed, succeeded): the worker skips it.
   */
  async startAttempt(id: string): Promise<AnalysisRecord | undefined> {
    const { changes } = await this.db.run(
      `UPDATE analyses SET status = 'RUNNING', attempts = attempts + 1, started_at = ?, progress = 0, message = NULL
       WHERE id = ? AND cached = 0 AND status IN ('QUEUED', 'RUNNING')`,
      [now(), id],
    );
    return changes === 1 ? this.byId(id) : undefined;
  }

  /** Jobs not yet ended (oldest first): what a distributed queue is reconciled against. */
  async unfinished(limit: number): Promise<AnalysisRecord[]> {
    const rows = await this.db.all<AnalysisRow>(
      `SELECT * FROM analyses WHERE status IN ('QUEUED', 'RUNNING') AND cached = 0 ORDER BY created_at, rowid LIMIT ?`,
      [limit],
    );
    return rows.map(toRecord);
  }

  /** Analyses computed (not answered from the cache) that ended, by status: a monotonic throughput counter. */
  async countComputed(): Promise<Record<string, number>> {
    const rows = await this.db.all<{ status: string; n: number }>(
      `SELECT status, COUNT(*) AS n FROM analyses WHERE cached = 0 AND status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') GROUP BY status`,
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async setProgress(id: string, attempt: number, progress: number, message: string | null): Promise<void> {
    await this.db.run(
      `UPDATE analyses SET progress = ?, message = ? WHERE id = ? AND status = 'RUNNING' AND attempts = ?`,
      [progress, message, id, attempt],
    );
  }

  /**
   * Stores the result (and its artifacts' rows; their blobs are already stored) in the cache and
   * marks the job SUCCEEDED in one transaction: either all of it happens or none. The result is kept even when the job was cancelled meanwhile (it is
   * still a correct result for its key).
   */
  async complete(
    job: { id: string; attempt: number; cacheKey: string; modelSha256: string; datasetSha256: string | null;
      analyzer: string; analyzerVersion: number; paramsJson: string },
    resultJson: string,
    durationMs: number,
    artifacts: ArtifactRecord[] = [],
  ): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const t = now();
      for (const a of artifacts) {
        await tx.run(
          `INSERT INTO artifacts (cache_key, name, sha256, mime_type, size_bytes) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(cache_key, name) DO NOTHING`,
          [job.cacheKey, a.name, a.sha256, a.mimeType, a.sizeBytes],
        );
      }
      await tx.run(
        `INSERT INTO results (cache_key, model_sha256, dataset_sha256, analyzer, analyzer_version, params_json, result_json,
           duration_ms, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(cache_key) DO NOTHING`,
        [job.cacheKey, job.modelSha256, job.datasetSha256, job.analyzer, job.analyzerVersion, job.paramsJson, resultJson,
          durationMs, t],
      );
      const { changes } = await tx.run(
        `UPDATE analyses SET status = 'SUCCEEDED', progress = 1, finished_at = ?, duration_ms = ?, error_code = NULL,
           error_message = NULL
         WHERE id = ? AND status = 'RUNNING' AND attempts = ?`,
        [t, durationMs, job.id, job.attempt],
      );
      return changes === 1;
    });
  }

  /** Ends a queued or running job with an error (attempt guards against stale reports). */
  async fail(id: string, attempt: number | null, code: string, message: string): Promise<boolean> {
    return this.finish(id, attempt, code === 'CANCELLED' ? 'CANCELLED' : 'FAILED', code, message);
  }

  async cancel(id: string): Promise<boolean> {
    return this.finish(id, null, 'CANCELLED', 'CANCELLED', 'cancelled by request');
  }

  private async finish(id: string, attempt: number | null, status: AnalysisStatus, code: string, message: string): Promise<boolean> {
    const t = now();
    const { changes } = await this.db.run(
      `UPDATE analyses SET status = ?, error_code = ?, error_message = ?, finished_at = ?,
         duration_ms = CAST((julianday(?) - julianday(COALESCE(started_at, created_at))) * 86400000 AS INTEGER)
       WHERE id = ? AND status IN ('QUEUED', 'RUNNING') AND (? IS NULL OR attempts = ?)`,
      [status, code, message, t, t, id, attempt, attempt],
    );
    return changes === 1;
  }

  /** A running job goes back to the queue (its worker died and it may retry, or shutdown). */
  async requeue(id: string, attempt: number): Promise<boolean> {
    const { changes } = await this.db.run(
      `UPDATE analyses SET status = 'QUEUED', progress = 0, message = ?, started_at = NULL
       WHERE id = ? AND status = 'RUNNING' AND attempts = ?`,
      ['re-queued', id, attempt],
    );
    return changes === 1;
  }

  /** At start-up: jobs left RUNNING by a process that died go back to the queue. */
  async requeueAllRunning(): Promise<number> {
    const { changes } = await this.db.run(
      `UPDATE analyses SET status = 'QUEUED', progress = 0, message = 're-queued after restart', started_at = NULL
       WHERE status = 'RUNNING'`,
    );
    return changes;
  }

  /** Jobs waiting in the queue (QUEUED, not yet claimed). */
  async countQueued(): Promise<number> {
    return (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM analyses WHERE status = 'QUEUED'`))?.n ?? 0;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM analyses GROUP BY status');
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
