/**
 * Deleting a model, a dataset or an analysis: the rows go in one transaction, then the blobs no
 * row refers to any more. Rules (checked inside the transaction, so nothing starts meanwhile):
 *
 * - anything with an analysis QUEUED or RUNNING is refused (CONFLICT: cancel it first), and so
 *   is a model in a zoo or an analysis a zoo run filed (their rows refer to it);
 * - a model or dataset takes its analyses with it, and the cached results computed from it
 *   (with their artifact rows); an analysis takes its result only when no other analysis row
 *   (a cached answer, an earlier run) shares its cache key;
 * - a blob goes only when no model, dataset or artifact row refers to it any more (the same
 *   bytes can be a model, a dataset file and an artifact at once).
 *
 * Rows first, blobs after the commit: a crash in between leaves unreferenced blobs, which the
 * start-up gc removes, never a row whose blob is gone. An upload of the same bytes racing the
 * delete re-puts its blob after inserting its row (ModelService / DatasetService.ingest).
 */
import { AppError } from '../common/errors.js';
import type { Db, Sql, SqlValue } from './db.js';
import type { BlobStore } from './blobs.js';

export interface Deletion {
  /** Rows removed per table, and blobs removed. */
  analyses: number;
  results: number;
  artifacts: number;
  blobs: number;
}

export type DeletionTarget = { kind: 'model'; id: string } | { kind: 'dataset'; id: string } | { kind: 'analysis'; id: string };

export async function deleteStored(db: Db, blobs: BlobStore, target: DeletionTarget): Promise<Deletion> {
  const { candidates, counts } = await db.transaction((tx) => deleteRows(tx, target));
  let removed = 0;
  for (const sha of candidates) {
    // Re-checked per blob after the commit: another row may have come to refer to it meanwhile.
    if (await referenced(db, sha)) continue;
    await blobs.remove(sha);
    removed++;
  }
  return { ...counts, blobs: removed };
}

async function deleteRows(tx: Sql, target: DeletionTarget): Promise<{ candidates: Set<string>; counts: Omit<Deletion, 'blobs'> }> {
  const candidates = new Set<string>();
  const column = target.kind === 'model' ? 'model_id' : target.kind === 'dataset' ? 'dataset_id' : 'id';
  const what = `${target.kind} ${target.id}`;
  if (target.kind === 'model') {
    const m = await tx.get<{ sha256: string }>('SELECT sha256 FROM models WHERE id = ?', [target.id]);
    if (!m) throw new AppError('NOT_FOUND', `no model with id ${target.id}`, { modelId: target.id });
    const zoo = await tx.get<{ zoo_id: string }>('SELECT zoo_id FROM zoo_models WHERE model_id = ? LIMIT 1', [target.id]);
    if (zoo) throw new AppError('CONFLICT', `${what} is a member of zoo ${zoo.zoo_id}; a zoo's models stay while the zoo does`, { zooId: zoo.zoo_id });
    candidates.add(m.sha256);
  } else if (target.kind === 'dataset') {
    const d = await tx.get<{ sha256: string; blob_sha256: string | null }>('SELECT sha256, blob_sha256 FROM datasets WHERE id = ?', [target.id]);
    if (!d) throw new AppError('NOT_FOUND', `no dataset with id ${target.id}`, { datasetId: target.id });
    candidates.add(d.blob_sha256 ?? d.sha256);
  } else {
    const a = await tx.get<{ id: string }>('SELECT id FROM analyses WHERE id = ?', [target.id]);
    if (!a) throw new AppError('NOT_FOUND', `no analysis with id ${target.id}`, { analysisId: target.id });
    const item = await tx.get<{ run_id: string }>('SELECT run_id FROM zoo_run_items WHERE analysis_id = ? LIMIT 1', [target.id]);
    if (item) throw new AppError('CONFLICT', `${what} belongs to zoo run ${item.run_id}`, { zooRunId: item.run_id });
  }
  const active = await tx.all<{ id: string }>(
    `SELECT id FROM analyses WHERE ${column} = ? AND status IN ('QUEUED', 'RUNNING') ORDER BY created_at LIMIT 5`,
    [target.id],
  );
  if (active.length > 0) {
    throw new AppError(
      'CONFLICT',
      `${what} has analyses queued or running (${active.map((r) => r.id).join(', ')}); cancel them first (cancelAnalysis), then delete`,
      { analysisIds: active.map((r) => r.id) },
    );
  }
  // The results to go: computed from this model or dataset, or this analysis's when nothing else shares it.
  let keys: string[];
  if (target.kind === 'analysis') {
    keys = (
      await tx.all<{ cache_key: string }>(
        `SELECT cache_key FROM analyses a WHERE id = ? AND NOT EXISTS (SELECT 1 FROM analyses b WHERE b.cache_key = a.cache_key AND b.id <> a.id)`,
        [target.id],
      )
    ).map((r) => r.cache_key);
  } else {
    const sha = [...candidates][0]!;
    const identity = target.kind === 'dataset' ? (await tx.get<{ sha256: string }>('SELECT sha256 FROM datasets WHERE id = ?', [target.id]))!.sha256 : sha;
    keys = (
      await tx.all<{ cache_key: string }>(
        `SELECT cache_key FROM results WHERE ${target.kind === 'model' ? 'model_sha256' : 'dataset_sha256'} = ?
         UNION SELECT cache_key FROM analyses WHERE ${column} = ?`,
        [identity, target.id],
      )
    ).map((r) => r.cache_key);
  }
  let artifacts = 0;
  let results = 0;
  for (const key of keys) {
    for (const r of await tx.all<{ sha256: string }>('SELECT sha256 FROM artifacts WHERE cache_key = ?', [key])) candidates.add(r.sha256);
    artifacts += (await tx.run('DELETE FROM artifacts WHERE cache_key = ?', [key])).changes;
    results += (await tx.run('DELETE FROM results WHERE cache_key = ?', [key])).changes;
  }
  // A cache key names the model's and the dataset's content, so every analysis row sharing these results goes here too.
  const analyses = (await tx.run(`DELETE FROM analyses WHERE ${column} = ?`, [target.id])).changes;
  if (target.kind === 'model') await tx.run('DELETE FROM models WHERE id = ?', [target.id]);
  if (target.kind === 'dataset') await tx.run('DELETE FROM datasets WHERE id = ?', [target.id]);
  return { candidates, counts: { analyses, results, artifacts } };
}

async function referenced(db: Sql, sha: string): Promise<boolean> {
  const args: SqlValue[] = [sha, sha, sha];
  const row = await db.get(
    `SELECT 1 AS x FROM models WHERE sha256 = ?
     UNION ALL SELECT 1 FROM datasets WHERE COALESCE(blob_sha256, sha256) = ?
     UNION ALL SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1`,
    args,
  );
  return row !== undefined;
}
