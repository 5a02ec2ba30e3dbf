/**
 * Child process for test/storage.test.ts: opens the store and dies by SIGKILL in the middle of
 * writing a job's result (after the results row is inserted, before COMMIT).
 * argv: dataDir analysisId attempt cacheKey
 */
import { openStore } from '../../storage/store.js';

const [dataDir, analysisId, attempt, cacheKey] = process.argv.slice(2);
const store = await openStore(dataDir!);
await store.db.transaction(async (tx) => {
  await tx.run(
    `INSERT INTO results (cache_key, model_sha256, dataset_sha256, analyzer, analyzer_version, params_json, result_json, duration_ms, created_at)
     VALUES (?, 'm', NULL, 'x', 1, '{}', '{"half":true}', 1, 'now')`,
    [cacheKey!],
  );
  await tx.run(`UPDATE analyses SET status = 'SUCCEEDED' WHERE id = ? AND attempts = ?`, [analysisId!, Number(attempt)]);
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined);
});
