import type { Sql } from './db.js';
import type { ModelRecord, ModelSummary } from './records.js';

interface ModelRow {
  id: string;
  sha256: string;
  name: string;
  size_bytes: number;
  summary_json: string;
  created_at: string;
}

const toRecord = (r: ModelRow): ModelRecord => ({
  id: r.id,
  sha256: r.sha256,
  name: r.name,
  sizeBytes: r.size_bytes,
  summary: JSON.parse(r.summary_json) as ModelSummary,
  createdAt: new Date(r.created_at),
});

export class ModelRepo {
  constructor(private readonly db: Sql) {}

  /** Inserts the model, or returns the row already stored for the same bytes. */
  async insertOrGet(m: Omit<ModelRecord, 'createdAt'>): Promise<ModelRecord> {
    await this.db.run(
      `INSERT INTO models (id, sha256, name, size_bytes, summary_json, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(sha256) DO NOTHING`,
      [m.id, m.sha256, m.name, m.sizeBytes, JSON.stringify(m.summary), new Date().toISOString()],
    );
    const row = await this.bySha(m.sha256);
    if (!row) throw new Error(`model ${m.sha256} vanished after insert`);
    return row;
  }

  async byId(id: string): Promise<ModelRecord | undefined> {
    const r = await this.db.get<ModelRow>('SELECT * FROM models WHERE id = ?', [id]);
    return r && toRecord(r);
  }

  async bySha(sha: string): Promise<ModelRecord | undefined> {
    const r = await this.db.get<ModelRow>('SELECT * FROM models WHERE sha256 = ?', [sha]);
    return r && toRecord(r);
  }

  async list(): Promise<ModelRecord[]> {
    return (await this.db.all<ModelRow>('SELECT * FROM models ORDER BY created_at, id')).map(toRecord);
  }

  async allShas(): Promise<string[]> {
    return (await this.db.all<{ sha256: string }>('SELECT sha256 FROM models')).map((r) => r.sha256);
  }
}
