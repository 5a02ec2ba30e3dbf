/**
 * A model whose spatial dims are symbolic, run on a dataset that fixes them: the typed GraphQL
 * result says which dims were fixed to what (a result on guessed shapes must say so).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './helpers/onnx-builder.js';
import { serializeModel } from '../native/onnx/ir.js';
import { writeNpz } from '../datasets/npz.js';
import { serviceForSuite } from './helpers/serviceHarness.js';

const suite = serviceForSuite();

test('evaluate on [N,3,H,W] with 5x6 samples reports H = 5 and W = 6 in its typed result', async () => {
  // Global average pooling makes the logits of each sample its three channel means.
  const model = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3, 'H', 'W'] }],
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['x'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['logits'] },
    ],
    outputs: ['logits'],
  });
  const up = await suite.svc.upload(`mutation($file: Upload!) { uploadModel(file: $file) { id } }`, {}, { bytes: serializeModel(model), filename: 'gap.onnx' });
  assert.equal(up.body.errors, undefined, JSON.stringify(up.body.errors));
  // Sample k is constant k/10 in channel k % 3, so its argmax is class k % 3 = its label.
  const x = new Float32Array(4 * 3 * 5 * 6);
  for (let k = 0; k < 4; k++) x.fill((k + 1) / 10, (k * 3 + (k % 3)) * 30, (k * 3 + (k % 3) + 1) * 30);
  const npz = writeNpz({ x: { dtype: 'f4', shape: [4, 3, 5, 6], data: x }, y: { dtype: 'i8', shape: [4], data: new BigInt64Array([0n, 1n, 2n, 0n]) } });
  const ds = await suite.svc.upload(`mutation($file: Upload!, $modelId: ID) { uploadDataset(file: $file, modelId: $modelId) { id } }`, { modelId: up.body.data!.uploadModel.id }, { bytes: npz, filename: 'maps.npz' });
  assert.equal(ds.body.errors, undefined, JSON.stringify(ds.body.errors));
  const run = await suite.svc.gql(`mutation($input: RunAnalysisInput!) { runAnalysis(input: $input) { id } }`, {
    input: { modelId: up.body.data!.uploadModel.id, datasetId: ds.body.data!.uploadDataset.id, analyzer: 'evaluate' },
  });
  assert.equal(run.body.errors, undefined, JSON.stringify(run.body.errors));
  const done = await suite.svc.waitFor(run.body.data!.runAnalysis.id);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done.error));
  const r = await suite.svc.gql(`query($id: ID!) { analysis(id: $id) { result { ... on EvaluateResult { accuracy fixedDims { input axis symbol value } } } } }`, { id: done.id });
  assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
  assert.equal(r.body.data!.analysis.result.accuracy, 1);
  assert.deepEqual(r.body.data!.analysis.result.fixedDims, [
    { input: 'x', axis: 2, symbol: 'H', value: 5 },
    { input: 'x', axis: 3, symbol: 'W', value: 6 },
  ]);
});
