import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '../storage/store.js';
import { sha256Hex } from '../storage/blobs.js';
import { SCHEMA_VERSION } from '../storage/migrations.js';
import type { ModelSummary } from '../storage/records.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'onnxscope-storage-'));

const summary: ModelSummary = {
  opsetImports: [{ domain: '', version: 13 }],
  producer: { name: 't', version: '1' },
  irVersion: 8,
  inputs: [],
  outputs: [],
  parameterCount: 0,
  opHistogram: [],
  autodiffSupported: true,
  unsupportedOps: [],
};

async function withStore(fn: (store: Store, dir: string) => Promise<void>) {
  const dir = tempDir();
  const store = await openStore(dir);
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function addModel(store: Store, bytes = new Uint8Array([1, 2, 3])) {
  const sha256 = await store.blobs.put(bytes);
  return store.models.insertOrGet({ id: `m-${sha256.slice(0, 8)}`, sha256, name: 'm', sizeBytes: bytes.length, summary });
}

const job = (id: string, modelId: string, cacheKey = `key-${id}`) => ({
  id,
  modelId,
  datasetId: null,
  analyzer: 'a',
  analyzerVersion: 1,
  paramsJson: '{}',
  cacheKey,
});

test('the database runs in WAL mode and migrations are idempotent', async () => {
  const dir = tempDir();
  const first = await openStore(dir);
  const mode = await first.db.get<{ journal_mode: string }>('PRAGMA journal_mode');
  assert.equal(mode?.journal_mode, 'wal');
  await first.close();
  const second = await openStore(dir);
  const version = await second.db.get<{ user_version: number }>('PRAGMA user_version');
  assert.equal(version?.user_version, SCHEMA_VERSION);
  await second.close();
  rmSync(dir, { recursive: true, force: true });
});

test('blobs are content-addressed, stored once, with no temp files left', () =>
  withStore(async (store) => {
    const bytes = new TextEncoder().encode('hello blobs');
    const a = await store.blobs.put(bytes);
    const b = await store.blobs.put(bytes);
    assert.equal(a, sha256Hex(bytes));
    assert.equal(a, b);
    assert.deepEqual(await store.blobs.list(), [a]);
    assert.deepEqual(readdirSync(path.join(store.blobs.root, 'tmp')), []);
    assert.deepEqual([...(await store.blobs.get(a))], [...bytes]);
  }));

test('gc removes blobs no row refers to and leftover temp files, keeps referenced ones', () =>
  withStore(async (store) => {
    const model = await addModel(store);
    const orphan = await store.blobs.put(new Uint8Array([9, 9, 9]));
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(store.blobs.pathOf(orphan), old, old);
    utimesSync(store.blobs.pathOf(model.sha256), old, old);
    const removed = await store.collectGarbage(60_000);
    assert.deepEqual(removed, [orphan]);
    assert.deepEqual(await store.blobs.list(), [model.sha256]);
  }));

test('the same model bytes give one row', () =>
  withStore(async (store) => {
    const a = await addModel(store);
    const b = await store.models.insertOrGet({ ...a, id: 'another-id', name: 'other' });
    assert.equal(b.id, a.id);
    assert.equal((await store.models.list()).length, 1);
  }));

test('the queue hands out the oldest job, and a stale attempt cannot overwrite a newer state', () =>
  withStore(async (store) => {
    const model = await addModel(store);
    await store.analyses.insertQueued(job('j1', model.id));
    await store.analyses.insertQueued(job('j2', model.id));
    const first = await store.analyses.claimNext();
    assert.equal(first?.id, 'j1');
    assert.equal(first?.status, 'RUNNING');
    assert.equal(first?.attempts, 1);
    // The worker died: back to the queue, and claimed again as attempt 2.
    assert.equal(await store.analyses.requeue('j1', 1), true);
    const again = await store.analyses.claimNext();
    assert.equal(again?.id, 'j1');
    assert.equal(again?.attempts, 2);
    // A late report from attempt 1 is ignored.
    assert.equal(await store.analyses.fail('j1', 1, 'INTERNAL', 'late'), false);
    const done = await store.analyses.complete(
      { id: 'j1', attempt: 2, cacheKey: 'key-j1', modelSha256: model.sha256, datasetSha256: null, analyzer: 'a', analyzerVersion: 1, paramsJson: '{}' },
      JSON.stringify({ answer: 42 }),
      5,
    );
    assert.equal(done, true);
    const row = await store.analyses.byId('j1');
    assert.equal(row?.status, 'SUCCEEDED');
    assert.deepEqual((await store.results.get('key-j1'))?.result, { answer: 42 });
  }));

test('cancelling wins over a result that arrives later, and the result is still cached', () =>
  withStore(async (store) => {
    const model = await addModel(store);
    await store.analyses.insertQueued(job('j1', model.id));
    await store.analyses.claimNext();
    assert.equal(await store.analyses.cancel('j1'), true);
    const recorded = await store.analyses.complete(
      { id: 'j1', attempt: 1, cacheKey: 'key-j1', modelSha256: model.sha256, datasetSha256: null, analyzer: 'a', analyzerVersion: 1, paramsJson: '{}' },
      '{}',
      1,
    );
    assert.equal(recorded, false);
    assert.equal((await store.analyses.byId('j1'))?.status, 'CANCELLED');
    assert.equal(await store.results.has('key-j1'), true);
  }));

test('a process killed in the middle of writing a result leaves neither half of it', async () => {
  const dir = tempDir();
  let store = await openStore(dir);
  const model = await addModel(store);
  await store.analyses.insertQueued(job('j1', model.id));
  const claimed = await store.analyses.claimNext();
  await store.close();

  const child = fileURLToPath(new URL('./helpers/storageCrashChild.js', import.meta.url));
  const run = spawnSync(process.execPath, [child, dir, 'j1', String(claimed!.attempts), 'key-j1'], { encoding: 'utf8' });
  assert.equal(run.signal, 'SIGKILL', run.stderr);

  store = await openStore(dir);
  assert.equal(await store.results.has('key-j1'), false, 'no half-written result');
  assert.equal((await store.analyses.byId('j1'))?.status, 'RUNNING');
  // What start-up does: jobs left RUNNING go back to the queue.
  assert.equal(await store.analyses.requeueAllRunning(), 1);
  assert.equal((await store.analyses.byId('j1'))?.status, 'QUEUED');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
