import type { Sql } from './db.js';
import type { ArtifactRecord, ResultRecord } from './records.js';

interface ResultRow {
  cache_key: string;
  analyzer: string;
  analyzer_version: number;
  result_json: string;
  duration_ms: number;
  created_at: string;
}

/** The results cache, read side (rows are written by AnalysisRepo.complete, with the job). */
export class ResultRepo {
  constructor(private readonly db: Sql) {}

  async get(cacheKey: string): Promise<ResultRecord | undefined> {
    const r = await this.db.get<ResultRow>('SELECT * FROM results WHERE cache_key = ?', [cacheKey]);
    return (
      r && {
        cacheKey: r.cache_key,
        analyzer: r.analyzer,
        analyzerVersion: r.analyzer_version,
        result: JSON.parse(r.result_json),
        durationMs: r.duration_ms,
        createdAt: new Date(r.created_at),
      }
    );
  }

  async has(cacheKey: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS x FROM results WHERE cache_key = ?', [cacheKey])) !== undefined;
  }

  async artifacts(cacheKey: string): Promise<ArtifactRecord[]> {
    return this.db.all<ArtifactRecord>(
      `SELECT name, sha256, mime_type AS mimeType, size_bytes AS sizeBytes FROM artifacts WHERE cache_key = ? ORDER BY name`,
      [cacheKey],
    );
  }

  async artifactShas(): Promise<string[]> {
    return (await this.db.all<{ sha256: string }>('SELECT DISTINCT sha256 FROM artifacts')).map((r) => r.sha256);
  }
}
