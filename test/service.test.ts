/**
 * The main path over real HTTP: upload the MNIST CNN and 100 MNIST test images, run evaluate
 * in a worker process, check accuracy and loss against an independent computation (plain
 * onnxruntime, one sample at a time), then ask again and get the cached answer at once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { writeNpz } from '../datasets/npz.js';
import { MNIST_CSV, MNIST_MODEL, removeDir, startTestService, type TestService } from './helpers/serviceHarness.js';

const UPLOAD_MODEL = `mutation($file: Upload!, $name: String) {
  uploadModel(file: $file, name: $name) {
    id sha256 name sizeBytes opsetImports { domain version } producer { name version }
    inputs { name dtype shape } outputs { name dtype shape }
    parameterCount opHistogram { opType count } autodiffSupported unsupportedOps
  }
}`;
const UPLOAD_DATASET = `mutation($file: Upload!, $modelId: ID) { uploadDataset(file: $file, modelId: $modelId) { id format count sampleShape hasLabels } }`;
const RUN = `mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id status cached params } }`;
const RESULT = `query($id: ID!) {
  analysis(id: $id) {
    id status cached durationMs params error { code message }
    model { id name } dataset { id }
    result { __typename ... on EvaluateResult { accuracy loss lossKind count correct confusionMatrix } }
    resultJson
  }
}`;

/** MNIST CSV rows (label, 784 pixels 0..255) as x in [0, 1], shape [n, 1, 28, 28], and labels. */
function mnist(): { x: Float32Array; y: BigInt64Array; count: number } {
  const rows = readFileSync(MNIST_CSV, 'utf8').trim().split('\n');
  const x = new Float32Array(rows.length * 784);
  const y = new BigInt64Array(rows.length);
  rows.forEach((row, i) => {
    const v = row.split(',').map(Number);
    y[i] = BigInt(v[0]!);
    for (let j = 0; j < 784; j++) x[i * 784 + j] = v[j + 1]! / 255;
  });
  return { x, y, count: rows.length };
}

/** Accuracy and mean NLL computed without onnxscope: the model ends in LogSoftmax, so NLL = -output[label]. */
async function independentEvaluation(data: ReturnType<typeof mnist>): Promise<{ accuracy: number; loss: number }> {
  const session = await ort.InferenceSession.create(readFileSync(MNIST_MODEL));
  let correct = 0;
  let nll = 0;
  for (let i = 0; i < data.count; i++) {
    const input = new ort.Tensor('float32', data.x.slice(i * 784, (i + 1) * 784), [1, 1, 28, 28]);
    const out = (await session.run({ [session.inputNames[0]!]: input }))[session.outputNames[0]!]!.data as Float32Array;
    const label = Number(data.y[i]);
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k]! > out[best]!) best = k;
    if (best === label) correct++;
    nll -= out[label]!;
  }
  await session.release();
  return { accuracy: correct / data.count, loss: nll / data.count };
}

let svc: TestService;
let modelId: string;
let datasetId: string;
const data = mnist();

before(async () => {
  svc = await startTestService({ workers: 2 });
});

after(async () => {
  await svc.stop();
  removeDir(svc.dataDir);
});

test('uploading a model reports what it is', async () => {
  const r = await svc.upload(UPLOAD_MODEL, { name: 'mnist-cnn' }, { bytes: readFileSync(MNIST_MODEL), filename: 'cnn_mnist_pytorch.onnx' });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const m = r.body.data!.uploadModel;
  modelId = m.id;
  assert.equal(m.name, 'mnist-cnn');
  assert.equal(m.sizeBytes, readFileSync(MNIST_MODEL).length);
  assert.match(m.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(m.opsetImports, [{ domain: '', version: 9 }]);
  assert.deepEqual(m.inputs, [{ name: '0', dtype: 'float32', shape: ['1', '1', '28', '28'] }]);
  assert.deepEqual(m.outputs[0].shape, ['1', '10']);
  assert.ok(m.parameterCount > 10_000);
  assert.ok(m.opHistogram.some((o: { opType: string }) => o.opType === 'Conv'));
  assert.ok(m.opHistogram.some((o: { opType: string }) => o.opType === 'LogSoftmax'));
  assert.equal(typeof m.autodiffSupported, 'boolean');

  // The same bytes again: the same model, stored once.
  const again = await svc.upload(UPLOAD_MODEL, {}, { bytes: readFileSync(MNIST_MODEL), filename: 'copy.onnx' });
  assert.equal(again.body.data!.uploadModel.id, modelId);
  assert.equal((await svc.footprint()).blobs, 1);
});

test('uploading datasets: npz and CSV, checked against the model', async () => {
  const npz = writeNpz({ x: { dtype: 'f4', shape: [data.count, 1, 28, 28], data: data.x }, y: { dtype: 'i8', shape: [data.count], data: data.y } });
  const r = await svc.upload(UPLOAD_DATASET, { modelId }, { bytes: npz, filename: 'mnist100.npz' });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  datasetId = r.body.data!.uploadDataset.id;
  assert.deepEqual(r.body.data!.uploadDataset, { id: datasetId, format: 'npz', count: 100, sampleShape: [1, 28, 28], hasLabels: true });

  const csv = await svc.upload(UPLOAD_DATASET, { modelId }, { bytes: readFileSync(MNIST_CSV), filename: 'mnist_test.csv' });
  assert.equal(csv.body.errors, undefined, JSON.stringify(csv.body.errors));
  assert.equal(csv.body.data!.uploadDataset.format, 'csv');
  assert.equal(csv.body.data!.uploadDataset.count, 100);
});

test('evaluate runs in a worker and matches an independent computation; asking again is answered from the cache', async () => {
  const expected = await independentEvaluation(data);
  const submitted = performance.now();
  const run = await svc.gql(RUN, { input: { modelId, datasetId, analyzer: 'evaluate', params: { batchSize: 16 } } });
  assert.equal(run.body.errors, undefined, JSON.stringify(run.body.errors));
  const first = run.body.data!.runAnalysis;
  assert.equal(first.cached, false);
  assert.equal(first.params.batchSize, 16);
  assert.equal(first.params.loss, 'auto', 'defaults are filled in');

  const done = await svc.waitFor(first.id);
  const waited = performance.now() - submitted;
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.error));
  const full = (await svc.gql(RESULT, { id: first.id })).body.data!.analysis;
  assert.equal(full.result.__typename, 'EvaluateResult');
  assert.equal(full.result.count, 100);
  assert.equal(full.result.lossKind, 'nll');
  assert.equal(full.result.accuracy, expected.accuracy);
  assert.ok(Math.abs(full.result.loss - expected.loss) <= 1e-5 * Math.max(1, expected.loss), `${full.result.loss} vs ${expected.loss}`);
  assert.equal(full.resultJson.accuracy, expected.accuracy);
  assert.equal(full.model.id, modelId);
  assert.equal(full.dataset.id, datasetId);
  // The job's own run time: something was measured, and no more than the client waited for it.
  assert.ok(full.durationMs > 0 && full.durationMs <= waited, `durationMs ${full.durationMs}, waited ${waited.toFixed(0)} ms`);

  const jobsBefore = (await svc.app.store.analyses.countByStatus()) as Record<string, number>;
  const started = Date.now();
  const again = await svc.gql(RUN, { input: { modelId, datasetId, analyzer: 'evaluate', params: { batchSize: 16, loss: 'auto' } } });
  assert.ok(Date.now() - started < 2_000);
  const cached = again.body.data!.runAnalysis;
  assert.equal(cached.cached, true);
  assert.equal(cached.status, 'SUCCEEDED');
  assert.notEqual(cached.id, first.id);
  const cachedFull = (await svc.gql(RESULT, { id: cached.id })).body.data!.analysis;
  assert.deepEqual(cachedFull.resultJson, full.resultJson);
  // No new job: nothing queued or running, one more (cached) SUCCEEDED row.
  const jobsAfter = (await svc.app.store.analyses.countByStatus()) as Record<string, number>;
  assert.equal(jobsAfter.QUEUED ?? 0, 0);
  assert.equal(jobsAfter.RUNNING ?? 0, 0);
  assert.equal(jobsAfter.SUCCEEDED, (jobsBefore.SUCCEEDED ?? 0) + 1);
  assert.equal((await svc.footprint()).results, 1);
});

test('queries: lists, filters, pagination, analyzers and runtime', async () => {
  const r = await svc.gql(`{
    models { id analyses { id } }
    datasets { id }
    analyses(filter: { analyzer: "evaluate", status: SUCCEEDED }, pagination: { offset: 0, limit: 1 }) { total items { id cached } }
    analyzers { name version description needsDataset resultType parameters { name type default min max choices } }
    runtime { onnxruntimeVersion providersAvailable providerInUse threads: intraOpThreads workers }
  }`);
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  const d = r.body.data!;
  assert.equal(d.models.length, 1);
  assert.equal(d.models[0].analyses.length, 2);
  assert.equal(d.datasets.length, 2);
  assert.equal(d.analyses.total, 2);
  assert.equal(d.analyses.items.length, 1);
  const evaluate = d.analyzers.find((a: { name: string }) => a.name === 'evaluate');
  assert.equal(evaluate.resultType, 'EvaluateResult');
  assert.equal(evaluate.needsDataset, true);
  const batchSize = evaluate.parameters.find((p: { name: string }) => p.name === 'batchSize');
  assert.equal(batchSize.type, 'int');
  assert.equal(typeof batchSize.default, 'number');
  assert.ok(d.runtime.onnxruntimeVersion.length > 0);
  assert.ok(d.runtime.providersAvailable.includes('cpu'));
  assert.ok(['cpu', 'cuda'].includes(d.runtime.providerInUse));
  assert.equal(d.runtime.workers, 2);
});
