/**
 * The `gradients` analyzer: streamed batches give the full-dataset gradient; the npz artifact
 * holds exactly the reported gradient; a softmax regression matches its closed form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradientsAnalyzer, type GradientsParams } from '../analyzers/gradients/index.js';
import { validateParams } from '../analyzers/params.js';
import { unzipChecked } from '../datasets/npz.js';
import { readNpy } from '../datasets/npy.js';
import { loadDataset } from '../datasets/index.js';
import { loadModel } from '../native/onnx/load.js';
import { serializeModel, type Model } from '../native/onnx/ir.js';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor } from '../native/onnx/tensor.js';
import type { LoadedDataset } from '../analyzers/types.js';
import { readTestData } from './helpers/test-data.js';


async function run(model: Model, dataset: LoadedDataset, params: Record<string, unknown>) {
  const files = new Map<string, Uint8Array>();
  const result = await gradientsAnalyzer.run({
    model: { sha256: 'm', bytes: serializeModel(model), ir: model },
    dataset,
    params: validateParams(gradientsAnalyzer.params, params) as GradientsParams,
    progress: () => {},
    signal: new AbortController().signal,
    artifacts: { write: async (name, bytes) => void files.set(name, bytes) },
  });
  return { result, files };
}

test('real CNN with a fixed batch of 1: batches of 7 give the same loss and gradient as one batch of 100', async () => {
  const model = loadModel(readTestData('onnxruntime/cnn_mnist_pytorch.onnx'));
  const data = { ...loadDataset(readTestData('eran/mnist_test.csv'), 'csv', 'mnist', { preprocessing: { scale: 1 / 255 } }), sampleShape: [1, 28, 28] };
  const a = await run(model, data, { batchSize: 7 });
  const b = await run(model, data, { batchSize: 100 });
  assert.equal(a.result.lossKind, 'nll');
  assert.equal(a.result.samples, 100);
  assert.ok(a.result.batched, 'the fixed batch dimension was made symbolic');
  assert.ok(Math.abs(a.result.loss - b.result.loss) < 1e-5 * b.result.loss);
  assert.ok(Math.abs(a.result.gradNorm - b.result.gradNorm) < 1e-4 * b.result.gradNorm);
  // The artifact holds the gradient whose norms the result reports.
  const arrays = unzipChecked(a.files.get('gradient.npz')!, 'npz');
  for (const t of a.result.tensors) {
    const arr = readNpy(arrays[`${t.name}.npy`]!, t.name);
    assert.deepEqual(arr.shape, t.shape);
    const norm = Math.sqrt(Array.from(arr.data as Float32Array).reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - t.norm) < 1e-5 * Math.max(t.norm, 1e-6), `${t.name}: ${norm} vs ${t.norm}`);
  }
});

test('softmax regression: the mean cross-entropy gradient matches the closed form', async () => {
  const W = [0.5, -0.2, 0.1, 0.3, 0.7, -0.4];
  const model = buildModel({
    inputs: [{ name: 'x', dims: ['N', 2], dtype: 'float32' }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['logits'] }],
    outputs: ['logits'],
    initializers: { W: tensor('float32', [2, 3], W) },
  });
  const xs = [0.5, -1, 1.5, 0.25, -0.75, 2];
  const ys = [0, 2, 1];
  const data: LoadedDataset = { sha256: 'd', format: 'npz', count: 3, sampleShape: [2], x: Float32Array.from(xs), y: Int32Array.from(ys), yShape: [] };
  const { result } = await run(model, data, { batchSize: 2, precision: 'float64' });
  const grad = new Array(6).fill(0);
  let loss = 0;
  for (let i = 0; i < 3; i++) {
    const x = [Math.fround(xs[2 * i]!), Math.fround(xs[2 * i + 1]!)];
    const z = [0, 1, 2].map((c) => x[0]! * Math.fround(W[c]!) + x[1]! * Math.fround(W[3 + c]!));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    loss += -Math.log(e[ys[i]!]! / s) / 3;
    for (let c = 0; c < 3; c++) for (let d = 0; d < 2; d++) grad[d * 3 + c] += (x[d]! * (e[c]! / s - (ys[i] === c ? 1 : 0))) / 3;
  }
  assert.equal(result.precision, 'float64');
  assert.ok(Math.abs(result.loss - loss) < 1e-12);
  const norm = Math.sqrt(grad.reduce((a, v) => a + v * v, 0));
  assert.ok(Math.abs(result.gradNorm - norm) < 1e-12, `${result.gradNorm} vs ${norm}`);
  assert.equal(result.parameterCount, 6);
});
