import type { Sql } from './db.js';
import type { DatasetFormat, DatasetRecord, DatasetSummary } from './records.js';
import type { Preprocessing } from '../common/preprocessing.js';

interface DatasetRow {
  id: string;
  sha256: string;
  name: string;
  format: string;
  size_bytes: number;
  summary_json: string;
  created_at: string;
  blob_sha256: string | null;
  preprocessing_json: string | null;
}

const toRecord = (r: DatasetRow): DatasetRecord => ({
  id: r.id,
  sha256: r.sha256,
  fileSha256: r.blob_sha256 ?? r.sha256,
  preprocessing: r.preprocessing_json ? (JSON.parse(r.preprocessing_json) as Preprocessing) : null,
  name: r.name,
  format: r.format as DatasetFormat,
  sizeBytes: r.size_bytes,
  summary: JSON.parse(r.summary_json) as DatasetSummary,
  createdAt: new Date(r.created_at),
});

export class DatasetRepo {
  constructor(private readonly db: Sql) {}

  /** Inserts the dataset, or returns the row already stored for the same bytes and preprocessing. */
  async insertOrGet(d: Omit<DatasetRecord, 'createdAt'>): Promise<DatasetRecord> {
    await this.db.run(
      `INSERT INTO datasets (id, sha256, name, format, size_bytes, summary_json, created_at, blob_sha256, preprocessing_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING`,
      [d.id, d.sha256, d.name, d.format, d.sizeBytes, JSON.stringify(d.summary), new Date().toISOString(),
        d.fileSha256 === d.sha256 ? null : d.fileSha256, d.preprocessing ? JSON.stringify(d.preprocessing) : null],
    );
    const row = await this.bySha(d.sha256);
    if (!row) throw new Error(`dataset ${d.sha256} vanished after insert`);
    return row;
  }

  async byId(id: string): Promise<DatasetRecord | undefined> {
    const r = await this.db.get<DatasetRow>('SELECT * FROM datasets WHERE id = ?', [id]);
    return r && toRecord(r);
  }

  async bySha(sha: string): Promise<DatasetRecord | undefined> {
    const r = await this.db.get<DatasetRow>('SELECT * FROM datasets WHERE sha256 = ?', [sha]);
    return r && toRecord(r);
  }

  async list(): Promise<DatasetRecord[]> {
    return (await this.db.all<DatasetRow>('SELECT * FROM datasets ORDER BY created_at, id')).map(toRecord);
  }

  /** The blobs datasets refer to (their files). */
  async allShas(): Promise<string[]> {
    return (await this.db.all<{ sha256: string }>('SELECT COALESCE(blob_sha256, sha256) AS sha256 FROM datasets')).map((r) => r.sha256);
  }
}
