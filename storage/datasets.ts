import type { Sql } from './db.js';
import type { DatasetFormat, DatasetRecord, DatasetSummary } from './records.js';

interface DatasetRow {
  id: string;
  sha256: string;
  name: string;
  format: string;
  size_bytes: number;
  summary_json: string;
  created_at: string;
}

const toRecord = (r: DatasetRow): DatasetRecord => ({
  id: r.id,
  sha256: r.sha256,
  name: r.name,
  format: r.format as DatasetFormat,
  sizeBytes: r.size_bytes,
  summary: JSON.parse(r.summary_json) as DatasetSummary,
  createdAt: new Date(r.created_at),
});

export class DatasetRepo {
  constructor(private readonly db: Sql) {}

  /** Inserts the dataset, or returns the row already stored for the same bytes. */
  async insertOrGet(d: Omit<DatasetRecord, 'createdAt'>): Promise<DatasetRecord> {
    await this.db.run(
      `INSERT INTO datasets (id, sha256, name, format, size_bytes, summary_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sha256) DO NOTHING`,
      [d.id, d.sha256, d.name, d.format, d.sizeBytes, JSON.stringify(d.summary), new Date().toISOString()],
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

  async allShas(): Promise<string[]> {
    return (await this.db.all<{ sha256: string }>('SELECT sha256 FROM datasets')).map((r) => r.sha256);
  }
}
