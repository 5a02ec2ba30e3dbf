/**
 * Opens a data dir: <dir>/onnxscope.sqlite (migrated) and <dir>/blobs. Every process that
 * touches stored data (server, worker, CLI) goes through openStore.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Db } from './db.js';
import { migrate } from './migrations.js';
import { BlobStore } from './blobs.js';
import { ModelRepo } from './models.js';
import { DatasetRepo } from './datasets.js';
import { AnalysisRepo } from './analyses.js';
import { ResultRepo } from './results.js';
import { deleteStored, type Deletion, type DeletionTarget } from './deletion.js';

export interface Store {
  dataDir: string;
  db: Db;
  blobs: BlobStore;
  models: ModelRepo;
  datasets: DatasetRepo;
  analyses: AnalysisRepo;
  results: ResultRepo;
  /** Removes blobs that no row refers to (see BlobStore.gc). */
  collectGarbage(minAgeMs?: number): Promise<string[]>;
  /** Deletes a model, dataset or analysis with what only it refers to (storage/deletion.ts). */
  delete(target: DeletionTarget): Promise<Deletion>;
  close(): Promise<void>;
}

export const DB_FILE = 'onnxscope.sqlite';

export async function openStore(dataDir: string): Promise<Store> {
  await fs.mkdir(dataDir, { recursive: true });
  const db = await Db.open(path.join(dataDir, DB_FILE));
  await migrate(db);
  const blobs = new BlobStore(path.join(dataDir, 'blobs'));
  await blobs.init();
  const models = new ModelRepo(db);
  const datasets = new DatasetRepo(db);
  const results = new ResultRepo(db);
  return {
    dataDir,
    db,
    blobs,
    models,
    datasets,
    analyses: new AnalysisRepo(db),
    results,
    async collectGarbage(minAgeMs = 60_000) {
      const referenced = new Set([...(await models.allShas()), ...(await datasets.allShas()), ...(await results.artifactShas())]);
      return blobs.gc(referenced, minAgeMs);
    },
    delete: (target) => deleteStored(db, blobs, target),
    close: () => db.close(),
  };
}
