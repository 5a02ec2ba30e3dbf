/**
 * The service's resource guards, through real worker processes and GraphQL: a worker that
 * exhausts its V8 heap or grows past its resident-size limit fails its job with RESOURCE_LIMIT
 * (not retried) and the service carries on; a model whose graph fixes a tensor bigger than the
 * limit is refused before it runs; one that asks onnxruntime for such a tensor at run time fails
 * with RESOURCE_LIMIT too; a full queue refuses new jobs with QUEUE_FULL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { serializeModel } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { writeNpz } from '../datasets/npz.js';
import { buildModel } from './helpers/onnx-builder.js';
import { MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';

const UPLOAD_MODEL = `mutation($file: Upload!) { uploadModel(file: $file) { id } }`;
const UPLOAD_DATASET = `mutation($file: Upload!) { uploadDataset(file: $file) { id } }`;
const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status } }`;
const HEAP_MB = 96;
const RSS_MB = 600;

async function upload(svc: TestService, query: string, bytes: Uint8Array, filename: string): Promise<string> {
  const r = await svc.upload(query, {}, { bytes, filename });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return Object.values(r.body.data!)[0].id as string;
}

async function run(svc: TestService, input: Record<string, unknown>): Promise<string> {
  const r = await svc.gql(RUN, { input });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  return r.body.data!.runAnalysis.id;
}

describe('memory guards', () => {
  let svc: TestService;
  let mnistId: string;

  before(async () => {
    svc = await startTestService({ workerMaxHeapMb: HEAP_MB, workerMaxRssMb: RSS_MB, jobAttempts: 2, jobTimeoutMs: 120_000 });
    mnistId = await upload(svc, UPLOAD_MODEL, readFileSync(MNIST_MODEL), 'cnn.onnx');
  });
  after(async () => {
    await svc?.stop();
    if (svc) removeDir(svc.dataDir);
  });

  /** The analysis ended FAILED with RESOURCE_LIMIT after one attempt, and the next job still runs. */
  async function expectResourceLimit(id: string, message: RegExp): Promise<void> {
    const a = await svc.waitFor(id, 120_000);
    assert.equal(a.status, 'FAILED', JSON.stringify(a));
    assert.equal(a.error.code, 'RESOURCE_LIMIT', JSON.stringify(a));
    assert.match(a.error.message, message);
    // Not retried into a second crash: the row says one attempt.
    assert.equal((await svc.app.store.analyses.byId(id))!.attempts, 1);
    const next = await run(svc, { modelId: mnistId, analyzer: 'test-slow', params: { ms: 10, tag: `after-${id}` } });
    assert.equal((await svc.waitFor(next, 60_000)).status, 'SUCCEEDED');
  }

  test('a worker that exhausts its V8 heap: RESOURCE_LIMIT naming the heap limit, the service carries on', async () => {
    const id = await run(svc, { modelId: mnistId, analyzer: 'test-slow', params: { ms: 0, heapMb: 4 * HEAP_MB, tag: 'heap' } });
    await expectResourceLimit(id, new RegExp(`V8 heap limit of ${HEAP_MB} MB \\(ONNXSCOPE_WORKER_MAX_HEAP_MB\\)`));
  });

  test('a worker past its resident-size limit is killed: RESOURCE_LIMIT naming the limit', async () => {
    // Buffers live outside the V8 heap, as onnxruntime's tensors do: only the resident-size watch sees them.
    const id = await run(svc, { modelId: mnistId, analyzer: 'test-slow', params: { ms: 0, nativeMb: 8 * RSS_MB, tag: 'rss' } });
    await expectResourceLimit(id, new RegExp(`resident size reached \\d+ MB, over the limit of ${RSS_MB} MB \\(ONNXSCOPE_WORKER_MAX_RSS_MB\\)`));
  });

  test('a tiny model whose graph fixes a 10^12-element tensor is refused before it runs', async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 4] }],
      nodes: [
        { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['big'] },
        { op: 'ReduceSum', inputs: ['big'], outputs: ['total'], attrs: { keepdims: { kind: 'int', value: 0 } } },
        { op: 'Add', inputs: ['x', 'total'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers: { shape: tensor('int64', [2], [1_000_000n, 1_000_000n]) },
    });
    const modelId = await upload(svc, UPLOAD_MODEL, serializeModel(model), 'expand.onnx');
    const id = await run(svc, { modelId, analyzer: 'weights' });
    // 10^12 float32 elements: 4e12 bytes = 3814697 MB.
    await expectResourceLimit(id, new RegExp(`tensor "big" of shape \\[1000000, 1000000\\] would take ${Math.round(4e12 / 2 ** 20)} MB, more than the ${RSS_MB} MB`));
  });

  test('a model that asks onnxruntime for a 10^12-element tensor at run time: RESOURCE_LIMIT, not INTERNAL', async () => {
    // The shape is a product the static check does not evaluate: only the runtime sees the size.
    const model = buildModel({
      inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 4] }],
      nodes: [
        { op: 'Mul', inputs: ['side', 'side'], outputs: ['shape'] },
        { op: 'ConstantOfShape', inputs: ['shape'], outputs: ['big'] },
        { op: 'ReduceSum', inputs: ['big'], outputs: ['total'], attrs: { keepdims: { kind: 'int', value: 0 } } },
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['logits'] },
        { op: 'Add', inputs: ['logits', 'total'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers: { side: tensor('int64', [2], [1000n, 1000n]), w: tensor('float32', [4, 3], Array.from({ length: 12 }, (_, i) => i / 12)) },
    });
    const modelId = await upload(svc, UPLOAD_MODEL, serializeModel(model), 'runtime-expand.onnx');
    const npz = writeNpz({
      x: { dtype: 'f4', shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => i / 16) },
      y: { dtype: 'i4', shape: [4], data: Int32Array.from([0, 1, 2, 0]) },
    });
    const datasetId = await upload(svc, UPLOAD_DATASET, npz, 'four.npz');
    const id = await run(svc, { modelId, datasetId, analyzer: 'evaluate' });
    // Where the machine cannot give 4 TB onnxruntime's allocation fails; where it could, the resident-size watch ends it.
    await expectResourceLimit(id, new RegExp(`could not allocate a buffer of ${Math.round(4e12 / 2 ** 20)} MB|over the limit of ${RSS_MB} MB`));
  });
});

describe('queue limit', () => {
  let svc: TestService;
  let modelId: string;

  before(async () => {
    svc = await startTestService({ maxQueuedJobs: 2, jobTimeoutMs: 120_000 });
    modelId = await upload(svc, UPLOAD_MODEL, readFileSync(MNIST_MODEL), 'cnn.onnx');
  });
  after(async () => {
    await svc?.stop();
    if (svc) removeDir(svc.dataDir);
  });

  test('past ONNXSCOPE_MAX_QUEUED_JOBS waiting jobs a new one is QUEUE_FULL; an identical request still shares its job', async () => {
    const slow = (tag: string) => ({ modelId, analyzer: 'test-slow', params: { ms: 30_000, tag } });
    const running = await run(svc, slow('running'));
    // The one worker takes the first job; the next two wait.
    for (let i = 0; (await svc.app.store.analyses.byId(running))!.status !== 'RUNNING'; i++) {
      assert.ok(i < 600, 'the first job never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const waiting = [await run(svc, slow('w1')), await run(svc, slow('w2'))];
    assert.equal(await svc.app.store.analyses.countQueued(), 2);
    const refused = await svc.gql(RUN, { input: slow('w3') });
    assert.equal(refused.body.errors?.[0]?.extensions?.code, 'QUEUE_FULL', JSON.stringify(refused.body));
    assert.match(refused.body.errors![0]!.message, /2 analyses wait, the limit is 2 \(ONNXSCOPE_MAX_QUEUED_JOBS\)/);
    // The same request as a waiting job shares it instead of queueing another.
    const shared = await svc.gql(RUN, { input: slow('w1') });
    assert.equal(shared.body.data?.runAnalysis.id, waiting[0]);
    assert.equal(await svc.app.store.analyses.countQueued(), 2);
    for (const id of [running, ...waiting]) await svc.gql(`mutation($id: ID!) { cancelAnalysis(id: $id) { status } }`, { id });
    // With the queue empty again new jobs are taken.
    const later = await run(svc, { modelId, analyzer: 'test-slow', params: { ms: 10, tag: 'later' } });
    assert.equal((await svc.waitFor(later, 60_000)).status, 'SUCCEEDED');
  });
});
