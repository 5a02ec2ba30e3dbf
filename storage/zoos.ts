/**
 * Zoos: named populations of stored models with hyperparameters, and zoo runs (batch analyses
 * over a zoo). A run's items are the unit of progress and of resumption: one row per
 * (model, analyzer, role), holding the analysis it became and how it ended, so a restarted
 * process picks up exactly the items that never finished.
 */
import type { Sql, SqlValue } from './db.js';

/** The migration that creates these tables (appended to storage/migrations.ts). */
export const ZOO_MIGRATION = `
  CREATE TABLE zoos (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    axes_json     TEXT NOT NULL,
    metadata_json TEXT NOT NULL,
    created_at    TEXT NOT NULL
  );
  CREATE TABLE zoo_models (
    zoo_id               TEXT NOT NULL REFERENCES zoos(id),
    position             INTEGER NOT NULL,
    model_id             TEXT NOT NULL REFERENCES models(id),
    file                 TEXT NOT NULL,
    hyperparameters_json TEXT NOT NULL,
    PRIMARY KEY (zoo_id, position)
  );
  CREATE TABLE zoo_runs (
    id          TEXT PRIMARY KEY,
    zoo_id      TEXT NOT NULL REFERENCES zoos(id),
    spec_json   TEXT NOT NULL,
    spec_key    TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE INDEX zoo_runs_by_zoo ON zoo_runs(zoo_id, created_at);
  -- One row per (model, analyzer, role) of a run. status: PENDING, SUBMITTED, SUCCEEDED, FAILED.
  CREATE TABLE zoo_run_items (
    run_id        TEXT NOT NULL REFERENCES zoo_runs(id),
    seq           INTEGER NOT NULL,
    model_id      TEXT NOT NULL,
    analyzer      TEXT NOT NULL,
    role          TEXT NOT NULL,
    dataset_id    TEXT,
    params_json   TEXT NOT NULL,
    analysis_id   TEXT,
    cache_key     TEXT,
    cached        INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (run_id, seq)
  );
  CREATE INDEX zoo_run_items_by_status ON zoo_run_items(run_id, status);
`;

export type Hyperparameters = Record<string, number | string>;

/** Which hyperparameters span a phase diagram (Yang et al.: load-like and temperature-like). */
export interface ZooAxes {
  load: string | null;
  temperature: string | null;
}

export interface ZooRecord {
  id: string;
  name: string;
  axes: ZooAxes;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface ZooMemberRecord {
  zooId: string;
  position: number;
  modelId: string;
  file: string;
  hyperparameters: Hyperparameters;
}

export type ZooRunStatus = 'RUNNING' | 'FINISHED';
export type ZooItemStatus = 'PENDING' | 'SUBMITTED' | 'SUCCEEDED' | 'FAILED';

export interface ZooRunSpec {
  analyzers: string[];
  /** Params per analyzer name. */
  params: Record<string, Record<string, unknown>>;
  datasetId: string;
  testDatasetId: string | null;
  /**
   * Which driver moves the run: 'queue' (the server's poller) or 'embedded' (a CLI process).
   * Not part of the spec key; the server never pumps an embedded run a CLI may be driving.
   */
  driver?: 'queue' | 'embedded';
}

export interface ZooRunRecord {
  id: string;
  zooId: string;
  spec: ZooRunSpec;
  specKey: string;
  concurrency: number;
  status: ZooRunStatus;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface ZooItemRecord {
  runId: string;
  seq: number;
  modelId: string;
  analyzer: string;
  /** 'train' / 'test' (evaluate), 'train' (hessian), 'pair:<partner model id>' (landscape). */
  role: string;
  datasetId: string | null;
  params: Record<string, unknown>;
  analysisId: string | null;
  cacheKey: string | null;
  cached: boolean;
  status: ZooItemStatus;
  error: { code: string; message: string } | null;
}

interface ZooRow { id: string; name: string; axes_json: string; metadata_json: string; created_at: string }
interface MemberRow { zoo_id: string; position: number; model_id: string; file: string; hyperparameters_json: string }
interface RunRow { id: string; zoo_id: string; spec_json: string; spec_key: string; concurrency: number; status: string; created_at: string; finished_at: string | null }
interface ItemRow {
  run_id: string; seq: number; model_id: string; analyzer: string; role: string; dataset_id: string | null; params_json: string;
  analysis_id: string | null; cache_key: string | null; cached: number; status: string; error_code: string | null; error_message: string | null;
}

const zoo = (r: ZooRow): ZooRecord => ({
  id: r.id, name: r.name, axes: JSON.parse(r.axes_json) as ZooAxes, metadata: JSON.parse(r.metadata_json) as Record<string, unknown>, createdAt: new Date(r.created_at),
});
const member = (r: MemberRow): ZooMemberRecord => ({
  zooId: r.zoo_id, position: r.position, modelId: r.model_id, file: r.file, hyperparameters: JSON.parse(r.hyperparameters_json) as Hyperparameters,
});
const run = (r: RunRow): ZooRunRecord => ({
  id: r.id, zooId: r.zoo_id, spec: JSON.parse(r.spec_json) as ZooRunSpec, specKey: r.spec_key, concurrency: r.concurrency,
  status: r.status as ZooRunStatus, createdAt: new Date(r.created_at), finishedAt: r.finished_at ? new Date(r.finished_at) : null,
});
const item = (r: ItemRow): ZooItemRecord => ({
  runId: r.run_id, seq: r.seq, modelId: r.model_id, analyzer: r.analyzer, role: r.role, datasetId: r.dataset_id,
  params: JSON.parse(r.params_json) as Record<string, unknown>, analysisId: r.analysis_id, cacheKey: r.cache_key, cached: r.cached === 1,
  status: r.status as ZooItemStatus, error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
});

export class ZooRepo {
  constructor(private readonly db: Sql & { transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> }) {}

  /** The zoo and all its members in one transaction: a zoo is never half-created. */
  async create(z: Omit<ZooRecord, 'createdAt'>, members: Array<Omit<ZooMemberRecord, 'zooId'>>): Promise<ZooRecord> {
    await this.db.transaction(async (tx) => {
      await tx.run('INSERT INTO zoos (id, name, axes_json, metadata_json, created_at) VALUES (?, ?, ?, ?, ?)', [
        z.id, z.name, JSON.stringify(z.axes), JSON.stringify(z.metadata), new Date().toISOString(),
      ]);
      for (const m of members) {
        await tx.run('INSERT INTO zoo_models (zoo_id, position, model_id, file, hyperparameters_json) VALUES (?, ?, ?, ?, ?)', [
          z.id, m.position, m.modelId, m.file, JSON.stringify(m.hyperparameters),
        ]);
      }
    });
    return (await this.byId(z.id))!;
  }

  async byId(id: string): Promise<ZooRecord | undefined> {
    const r = await this.db.get<ZooRow>('SELECT * FROM zoos WHERE id = ?', [id]);
    return r && zoo(r);
  }

  async byName(name: string): Promise<ZooRecord | undefined> {
    const r = await this.db.get<ZooRow>('SELECT * FROM zoos WHERE name = ? ORDER BY created_at DESC LIMIT 1', [name]);
    return r && zoo(r);
  }

  async list(): Promise<ZooRecord[]> {
    return (await this.db.all<ZooRow>('SELECT * FROM zoos ORDER BY created_at, id')).map(zoo);
  }

  async members(zooId: string): Promise<ZooMemberRecord[]> {
    return (await this.db.all<MemberRow>('SELECT * FROM zoo_models WHERE zoo_id = ? ORDER BY position', [zooId])).map(member);
  }

  async createRun(r: Omit<ZooRunRecord, 'createdAt' | 'finishedAt' | 'status'>, items: Array<Omit<ZooItemRecord, 'runId' | 'analysisId' | 'cacheKey' | 'cached' | 'status' | 'error'>>): Promise<ZooRunRecord> {
    await this.db.transaction(async (tx) => {
      await tx.run('INSERT INTO zoo_runs (id, zoo_id, spec_json, spec_key, concurrency, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        r.id, r.zooId, JSON.stringify(r.spec), r.specKey, r.concurrency, 'RUNNING', new Date().toISOString(),
      ]);
      for (const it of items) {
        await tx.run(
          `INSERT INTO zoo_run_items (run_id, seq, model_id, analyzer, role, dataset_id, params_json, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING')`,
          [r.id, it.seq, it.modelId, it.analyzer, it.role, it.datasetId, JSON.stringify(it.params)],
        );
      }
    });
    return (await this.run(r.id))!;
  }

  async run(id: string): Promise<ZooRunRecord | undefined> {
    const r = await this.db.get<RunRow>('SELECT * FROM zoo_runs WHERE id = ?', [id]);
    return r && run(r);
  }

  async runs(zooId: string): Promise<ZooRunRecord[]> {
    return (await this.db.all<RunRow>('SELECT * FROM zoo_runs WHERE zoo_id = ? ORDER BY created_at DESC, id', [zooId])).map(run);
  }

  async activeRuns(): Promise<ZooRunRecord[]> {
    return (await this.db.all<RunRow>(`SELECT * FROM zoo_runs WHERE status = 'RUNNING' ORDER BY created_at`)).map(run);
  }

  /** The newest unfinished run of this zoo with the same spec (what a restarted CLI resumes). */
  async unfinishedRun(zooId: string, specKey: string): Promise<ZooRunRecord | undefined> {
    const r = await this.db.get<RunRow>(`SELECT * FROM zoo_runs WHERE zoo_id = ? AND spec_key = ? AND status = 'RUNNING' ORDER BY created_at DESC LIMIT 1`, [zooId, specKey]);
    return r && run(r);
  }

  /** Records which driver now moves the run (a run resumed by the other kind of process). */
  async setDriver(id: string, driver: 'queue' | 'embedded'): Promise<void> {
    const r = await this.run(id);
    if (!r || r.spec.driver === driver) return;
    await this.db.run('UPDATE zoo_runs SET spec_json = ? WHERE id = ?', [JSON.stringify({ ...r.spec, driver }), id]);
  }

  async finishRun(id: string): Promise<void> {
    await this.db.run(`UPDATE zoo_runs SET status = 'FINISHED', finished_at = ? WHERE id = ? AND status = 'RUNNING'`, [new Date().toISOString(), id]);
  }

  async items(runId: string, status?: ZooItemStatus): Promise<ZooItemRecord[]> {
    const where = status ? ' AND status = ?' : '';
    const params: SqlValue[] = status ? [runId, status] : [runId];
    return (await this.db.all<ItemRow>(`SELECT * FROM zoo_run_items WHERE run_id = ?${where} ORDER BY seq`, params)).map(item);
  }

  async counts(runId: string): Promise<Record<ZooItemStatus, number>> {
    const rows = await this.db.all<{ status: ZooItemStatus; n: number }>('SELECT status, COUNT(*) AS n FROM zoo_run_items WHERE run_id = ? GROUP BY status', [runId]);
    const out: Record<ZooItemStatus, number> = { PENDING: 0, SUBMITTED: 0, SUCCEEDED: 0, FAILED: 0 };
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  async markSubmitted(runId: string, seq: number, analysisId: string, cacheKey: string): Promise<void> {
    await this.db.run(`UPDATE zoo_run_items SET status = 'SUBMITTED', analysis_id = ?, cache_key = ? WHERE run_id = ? AND seq = ?`, [analysisId, cacheKey, runId, seq]);
  }

  async markSucceeded(runId: string, seq: number, analysisId: string, cacheKey: string, cached: boolean): Promise<void> {
    await this.db.run(
      `UPDATE zoo_run_items SET status = 'SUCCEEDED', analysis_id = ?, cache_key = ?, cached = ?, error_code = NULL, error_message = NULL WHERE run_id = ? AND seq = ?`,
      [analysisId, cacheKey, cached ? 1 : 0, runId, seq],
    );
  }

  async markFailed(runId: string, seq: number, code: string, message: string, analysisId: string | null = null): Promise<void> {
    await this.db.run(`UPDATE zoo_run_items SET status = 'FAILED', error_code = ?, error_message = ?, analysis_id = COALESCE(?, analysis_id) WHERE run_id = ? AND seq = ?`, [
      code, message, analysisId, runId, seq,
    ]);
  }

  /** Back to PENDING (an interrupted attempt): the next pass runs it again, from the cache when it finished meanwhile. */
  async markPending(runId: string, seq: number): Promise<void> {
    await this.db.run(`UPDATE zoo_run_items SET status = 'PENDING' WHERE run_id = ? AND seq = ?`, [runId, seq]);
  }
}
