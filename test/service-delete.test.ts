/**
 * deleteModel / deleteDataset / deleteAnalysis over GraphQL with the worker pool: write-token
 * scoped, refused while an analysis is queued or running, rows and the blobs only they used
 * removed, blobs another row still refers to kept, the database consistent afterwards.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeNpz } from '../datasets/npz.js';
import { serializeModel } from '../native/onnx/ir.js';
import { singleOp } from './helpers/onnx-builder.js';
import { MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';

const WRITER = 'writer-token';
const READER = 'reader-token';
const UPLOAD_MODEL = `mutation($file: Upload!) { uploadModel(file: $file) { id sha256 } }`;
const UPLOAD_DATASET = `mutation($file: Upload!, $pre: PreprocessingInput) { uploadDataset(file: $file, preprocessing: $pre) { id } }`;
const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status cached } }`;
const DELETION = `id analyses results artifacts blobs`;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

let svc: TestService;
let mnistId: string;

before(async () => {
  svc = await startTestService({ jobTimeoutMs: 120_000 }, { ONNXSCOPE_TOKENS: `${WRITER}:read,write;${READER}:read` });
  const r = await svc.upload(UPLOAD_MODEL, {}, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn.onnx' }, WRITER);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  mnistId = r.body.data!.uploadModel.id;
});
after(async () => {
  await svc.stop();
  removeDir(svc.dataDir);
});

async function gql(query: string, variables: Record<string, unknown> = {}, token = WRITER) {
  return svc.gql(query, variables, token);
}

async function runDone(input: Record<string, unknown>): Promise<{ id: string; cached: boolean }> {
  const r = await gql(RUN, { input });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const a = await svc.waitFor(r.body.data!.runAnalysis.id, 60_000, WRITER);
  assert.equal(a.status, 'SUCCEEDED', JSON.stringify(a));
  return { id: a.id, cached: a.cached };
}

async function remove(kind: 'Model' | 'Dataset' | 'Analysis', id: string, token = WRITER) {
  return gql(`mutation($id: ID!) { delete${kind}(id: $id) { ${DELETION} } }`, { id }, token);
}

async function assertConsistent(): Promise<void> {
  const db = svc.app.store.db;
  assert.deepEqual(await db.all('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  assert.deepEqual(await db.all('PRAGMA foreign_key_check'), []);
  // Every blob a row refers to is on disk.
  const rows = await db.all<{ sha256: string }>(
    `SELECT sha256 FROM models UNION SELECT COALESCE(blob_sha256, sha256) FROM datasets UNION SELECT sha256 FROM artifacts`,
  );
  for (const r of rows) assert.ok(await svc.app.store.blobs.has(r.sha256), `blob ${r.sha256} is referenced but missing`);
}

test('deleteAnalysis: read token FORBIDDEN; a result shared with a cached answer stays until the last analysis of it goes', async () => {
  const first = await runDone({ modelId: mnistId, analyzer: 'test-slow', params: { ms: 10, tag: 'shared-result' } });
  const second = await runDone({ modelId: mnistId, analyzer: 'test-slow', params: { ms: 10, tag: 'shared-result' } });
  assert.equal(second.cached, true);
  const before = await svc.footprint();
  const forbidden = await remove('Analysis', first.id, READER);
  assert.equal(forbidden.body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.deepEqual(await svc.footprint(), before);

  const r1 = await remove('Analysis', first.id);
  assert.deepEqual(r1.body.data?.deleteAnalysis, { id: first.id, analyses: 1, results: 0, artifacts: 0, blobs: 0 }, JSON.stringify(r1.body));
  const kept = await gql(`query($id: ID!) { analysis(id: $id) { resultJson artifacts { name } } }`, { id: second.id });
  assert.equal(kept.body.data!.analysis.resultJson.tag, 'shared-result');
  assert.deepEqual(kept.body.data!.analysis.artifacts, [{ name: 'tag.txt' }]);
  assert.equal(await svc.app.store.blobs.has(sha('shared-result')), true);

  const r2 = await remove('Analysis', second.id);
  assert.deepEqual(r2.body.data?.deleteAnalysis, { id: second.id, analyses: 1, results: 1, artifacts: 1, blobs: 1 });
  assert.equal(await svc.app.store.blobs.has(sha('shared-result')), false);
  const gone = await gql(`query($id: ID!) { analysis(id: $id) { id } }`, { id: second.id });
  assert.equal(gone.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  const after = await svc.footprint();
  assert.deepEqual({ ...after, analyses: after.analyses + 2, results: after.results + 1, blobs: after.blobs + 1 }, before);
  await assertConsistent();
});

test('an artifact blob two results share stays until both are gone', async () => {
  // Different params (ms), the same artifact bytes: two results, two artifact rows, one blob.
  const a = await runDone({ modelId: mnistId, analyzer: 'test-slow', params: { ms: 11, tag: 'same-bytes' } });
  const b = await runDone({ modelId: mnistId, analyzer: 'test-slow', params: { ms: 12, tag: 'same-bytes' } });
  assert.deepEqual((await remove('Analysis', a.id)).body.data?.deleteAnalysis, { id: a.id, analyses: 1, results: 1, artifacts: 1, blobs: 0 });
  assert.equal(await svc.app.store.blobs.has(sha('same-bytes')), true);
  assert.deepEqual((await remove('Analysis', b.id)).body.data?.deleteAnalysis, { id: b.id, analyses: 1, results: 1, artifacts: 1, blobs: 1 });
  assert.equal(await svc.app.store.blobs.has(sha('same-bytes')), false);
  await assertConsistent();
});

test('a queued or running analysis: deleting it, its model or its dataset is CONFLICT until it is cancelled', async () => {
  const r = await gql(RUN, { input: { modelId: mnistId, analyzer: 'test-slow', params: { ms: 60_000, tag: 'busy' } } });
  const id = r.body.data!.runAnalysis.id;
  const before = await svc.footprint();
  for (const [kind, target] of [['Analysis', id], ['Model', mnistId]] as const) {
    const refused = await remove(kind, target);
    assert.equal(refused.body.errors?.[0]?.extensions?.code, 'CONFLICT', JSON.stringify(refused.body));
    assert.match(refused.body.errors![0]!.message, new RegExp(`has analyses queued or running \\(${id}\\); cancel them first`));
  }
  assert.deepEqual(await svc.footprint(), before);
  await gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { status } }`, { id });
  assert.deepEqual((await remove('Analysis', id)).body.data?.deleteAnalysis, { id, analyses: 1, results: 0, artifacts: 0, blobs: 0 });
  await assertConsistent();
});

test('deleteModel takes its analyses, results and blobs; the footprint is what it was before the upload', async () => {
  const before = await svc.footprint();
  const bytes = serializeModel(singleOp('Relu', [{ name: 'x', dtype: 'float32', dims: [1, 4] }]));
  const up = await svc.upload(UPLOAD_MODEL, {}, { bytes, filename: 'relu.onnx' }, WRITER);
  assert.equal(up.body.errors, undefined, JSON.stringify(up.body.errors));
  const { id: modelId, sha256 } = up.body.data!.uploadModel;
  await runDone({ modelId, analyzer: 'test-slow', params: { ms: 10, tag: 'relu-model' } });
  await runDone({ modelId, analyzer: 'test-slow', params: { ms: 10, tag: 'relu-model' } });
  const r = await remove('Model', modelId);
  assert.deepEqual(r.body.data?.deleteModel, { id: modelId, analyses: 2, results: 1, artifacts: 1, blobs: 2 }, JSON.stringify(r.body));
  assert.equal(await svc.app.store.blobs.has(sha256), false);
  assert.equal(await svc.app.store.blobs.has(sha('relu-model')), false);
  assert.equal((await gql(`query($id: ID!) { model(id: $id) { id } }`, { id: modelId })).body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  assert.deepEqual(await svc.footprint(), before);
  // The other model is untouched.
  assert.equal((await gql(`query($id: ID!) { model(id: $id) { id } }`, { id: mnistId })).body.data?.model.id, mnistId);
  await assertConsistent();
});

test('deleteDataset: a file two datasets share stays until both are gone; its analyses go with it', async () => {
  const npz = writeNpz({
    x: { dtype: 'f4', shape: [2, 1, 28, 28], data: Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 255) / 255) },
    y: { dtype: 'i4', shape: [2], data: Int32Array.from([3, 7]) },
  });
  const before = await svc.footprint();
  const upload = async (pre: Record<string, unknown> | null) => {
    const r = await svc.upload(UPLOAD_DATASET, { pre }, { bytes: npz, filename: 'two.npz' }, WRITER);
    assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
    return r.body.data!.uploadDataset.id as string;
  };
  const plain = await upload(null);
  const scaled = await upload({ scale: 0.5 });
  assert.notEqual(plain, scaled);
  await runDone({ modelId: mnistId, datasetId: plain, analyzer: 'test-slow', params: { ms: 10, tag: '' } });
  const fileSha = createHash('sha256').update(npz).digest('hex');
  assert.deepEqual((await remove('Dataset', plain)).body.data?.deleteDataset, { id: plain, analyses: 1, results: 1, artifacts: 0, blobs: 0 });
  assert.equal(await svc.app.store.blobs.has(fileSha), true);
  assert.deepEqual((await remove('Dataset', scaled)).body.data?.deleteDataset, { id: scaled, analyses: 0, results: 0, artifacts: 0, blobs: 1 });
  assert.equal(await svc.app.store.blobs.has(fileSha), false);
  assert.deepEqual(await svc.footprint(), before);
  for (const kind of ['Model', 'Dataset', 'Analysis'] as const) {
    assert.equal((await remove(kind, 'no-such-id')).body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  }
  await assertConsistent();
});
