/**
 * The evaluate analyzer against references computed here: plain onnxruntime sessions on the
 * original files, one sample per run, with argmax / log-sum-exp / NLL written out in this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { evaluateAnalyzer, type EvaluateParams, type EvaluateResult } from '../analyzers/evaluate/index.js';
import { validateParams } from '../analyzers/params.js';
import { loadDataset, writeNpz, loadNpz } from '../datasets/index.js';
import { detectOutputKind } from '../native/onnx/output-kind.js';
import { loadModel } from '../native/onnx/load.js';
import { cloneModel, type Model } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import type { LoadedDataset, LoadedModel } from '../analyzers/types.js';
import { AppError } from '../common/errors.js';
import { PNG } from 'pngjs';
import { zipSync } from 'fflate';
import { loaded, tinyModel } from './helpers/tiny-models.js';
import { readTestData } from './helpers/test-data.js';

const CNN = 'onnxruntime/cnn_mnist_pytorch.onnx';
const MNIST = 'onnxruntime/mnist.onnx';
const mnistCsv = (): LoadedDataset => loadDataset(readTestData('eran/mnist_test.csv'), 'csv', 'csv-sha', { preprocessing: { scale: 1 / 255 } });

async function evaluate(model: LoadedModel, dataset: LoadedDataset | null, raw: Record<string, unknown> = {}, signal?: AbortSignal): Promise<EvaluateResult> {
  const params = validateParams(evaluateAnalyzer.params, raw) as EvaluateParams;
  const progress: number[] = [];
  const r = await evaluateAnalyzer.run({ model, dataset, params, progress: (f) => void progress.push(f), signal: signal ?? new AbortController().signal });
  if (!signal) assert.equal(progress.at(-1), 1, 'progress ends at 1');
  return r;
}

/** Per-sample outputs of a plain ORT session on `bytes`, fed [1, ...sampleShape]. */
async function reference(bytes: Uint8Array, x: Float32Array, n: number, dims: number[]): Promise<Float64Array[]> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  const per = x.length / n;
  const rows: Float64Array[] = [];
  for (let s = 0; s < n; s++) {
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.slice(s * per, (s + 1) * per), dims) });
    rows.push(Float64Array.from(r[session.outputNames[0]!]!.data as Float32Array));
  }
  await session.release();
  return rows;
}

const argmaxOf = (r: Float64Array) => r.indexOf(Math.max(...r));

function confusionOf(rows: Float64Array[], labels: ArrayLike<number>, k: number): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  rows.forEach((r, i) => m[labels[i]!]![argmaxOf(r)]!++);
  return m;
}

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('evaluate cnn_mnist_pytorch (LogSoftmax) on the MNIST CSV: NLL and accuracy equal a hand loop over ORT', async () => {
  const data = mnistCsv();
  const bytes = readTestData(CNN);
  const rows = await reference(bytes, data.x, data.count, [1, 1, 28, 28]);
  const labels = data.y!;
  const nll = rows.reduce((acc, r, i) => acc - r[labels[i]!]!, 0) / rows.length;
  const correct = rows.filter((r, i) => argmaxOf(r) === labels[i]).length;

  for (const batchSize of [64, 1, 7]) {
    const r = await evaluate(loaded(bytes), data, { batchSize });
    assert.equal(r.lossKind, 'nll');
    assert.equal(r.outputKind, 'log-probabilities');
    assert.equal(r.count, 100);
    assert.equal(r.correct, correct);
    assert.equal(r.accuracy, correct / 100);
    close(r.loss, nll, 1e-6, `loss at batch ${batchSize}`);
    assert.deepEqual(r.confusionMatrix, confusionOf(rows, labels, 10));
    assert.equal(r.batchSize, batchSize);
    assert.equal(r.batched, true);
    assert.equal(r.reshapedInput, true);
    assert.deepEqual(r.inputShape, [1, 28, 28]);
    assert.deepEqual(r.datasetSampleShape, [784]);
    assert.ok(r.throughput > 0 && Number.isFinite(r.throughput));
    const perClassTotal = r.perClassAccuracy!.reduce((a, c) => a + c.count, 0);
    assert.equal(perClassTotal, 100);
    for (const c of r.perClassAccuracy!) {
      const idx = Array.from(labels).flatMap((l, i) => (l === c.class ? [i] : []));
      assert.equal(c.count, idx.length);
      assert.equal(c.correct, idx.filter((i) => argmaxOf(rows[i]!) === c.class).length);
    }
  }
  const few = await evaluate(loaded(bytes), data, { maxSamples: 10, batchSize: 4 });
  assert.equal(few.count, 10);
  close(few.loss, rows.slice(0, 10).reduce((a, r, i) => a - r[labels[i]!]!, 0) / 10, 1e-6, 'first 10');
});

test('evaluate mnist.onnx (CNTK logits, hard-coded Reshape): cross-entropy via log-sum-exp, batched after the rewrite', async () => {
  const data = mnistCsv();
  const bytes = readTestData(MNIST);
  const rows = await reference(bytes, data.x, data.count, [1, 1, 28, 28]);
  const labels = data.y!;
  // Reference cross-entropy written independently: -log(softmax(z)[y]) with a plain sum.
  const ce = rows.reduce((acc, z, i) => {
    const m = Math.max(...z);
    const p = Math.exp(z[labels[i]!]! - m) / z.reduce((s, v) => s + Math.exp(v - m), 0);
    return acc - Math.log(p);
  }, 0) / rows.length;
  const r = await evaluate(loaded(bytes), data);
  assert.equal(r.lossKind, 'cross-entropy');
  assert.equal(r.batched, true, r.batchingNote ?? '');
  assert.match(r.batchingNote ?? '', /\[1,256\] -> \[-1,256\]/);
  close(r.loss, ce, 1e-6, 'cross-entropy');
  assert.equal(r.correct, rows.filter((z, i) => argmaxOf(z) === labels[i]).length);
});

/** mnist.onnx with a Softmax appended: NLL of probabilities must equal the logits' cross-entropy. */
function withSoftmax(source: Model): Model {
  const m = cloneModel(source);
  const out = m.graph.outputs[0]!;
  m.graph.nodes.push({ opType: 'Softmax', domain: '', name: 'sm', inputs: [out.name], outputs: ['probs'], attrs: {} });
  m.graph.outputs = [{ ...out, name: 'probs' }];
  m.irVersion = 4;
  return m;
}

test('Softmax output: nll-of-probabilities agrees with cross-entropy on the logits', async () => {
  const data = mnistCsv();
  const base = loadModel(readTestData(MNIST));
  const probs = withSoftmax(base);
  assert.equal(detectOutputKind(probs), 'probabilities');
  const onLogits = await evaluate(loaded(readTestData(MNIST)), data);
  const onProbs = await evaluate(loaded(probs), data);
  assert.equal(onProbs.lossKind, 'nll-of-probabilities');
  close(onProbs.loss, onLogits.loss, 1e-4, 'same loss two ways');
  assert.deepEqual(onProbs.confusionMatrix, onLogits.confusionMatrix);
});

test('output kinds of the real models and of sigmoid heads', () => {
  assert.equal(detectOutputKind(loadModel(readTestData(CNN))), 'log-probabilities');
  assert.equal(detectOutputKind(loadModel(readTestData(MNIST))), 'logits');
  assert.equal(detectOutputKind(loadModel(readTestData('vnncomp2021/mnistfc/mnist-net_256x2.onnx'))), 'logits');
  assert.equal(detectOutputKind(sigmoidModel(1)), 'sigmoid');
  assert.equal(detectOutputKind(sigmoidModel(3)), 'logits', 'a 3-unit sigmoid is multi-label, not binary');
  const undeclared = cloneModel(sigmoidModel(3));
  undeclared.graph.outputs = [{ ...undeclared.graph.outputs[0]!, shape: null }];
  assert.equal(detectOutputKind(undeclared), 'sigmoid', 'an undeclared output shape counts as one unit');
  // Pass-through ops after the head do not hide it.
  const reshaped = cloneModel(loadModel(readTestData(CNN)));
  const last = reshaped.graph.outputs[0]!;
  reshaped.graph.nodes.push({ opType: 'Identity', domain: '', name: 'id', inputs: [last.name], outputs: ['final'], attrs: {} });
  reshaped.graph.outputs = [{ ...last, name: 'final' }];
  assert.equal(detectOutputKind(reshaped), 'log-probabilities');
});

/** y = sigmoid(x W), W = [[1], [-2]] for units = 1 (or units columns of the same pattern). */
function sigmoidModel(units: number): Model {
  const w = Array.from({ length: 2 * units }, (_, i) => (i < units ? 1 : -2));
  return tinyModel({
    input: { name: 'x', shape: [1, 2] },
    output: { name: 'p', shape: [1, units] },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['z'] },
      { op: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
    ],
    initializers: { w: tensor('float32', [2, units], w) },
  });
}

const dataset = (x: number[], sampleShape: number[], y: Int32Array | Float32Array | null, yShape: number[] = []): LoadedDataset => ({
  sha256: 'd',
  format: 'npz',
  count: x.length / sampleShape.reduce((a, b) => a * b, 1),
  sampleShape,
  x: Float32Array.from(x),
  y,
  yShape,
});

test('sigmoid head: binary cross-entropy from the logit, exact even where the probability rounds to 1', async () => {
  // z = x0 - 2 x1: 30 (p rounds to 1 in float32), -1, 0.5, 3
  const xs = [30, 0, 1, 1, 0.5, 0, 1, -1];
  const labels = Int32Array.of(0, 0, 1, 1);
  const z = [30, -1, 0.5, 3];
  const softplus = (v: number) => Math.log(1 + Math.exp(v)); // fine for these magnitudes
  const expected = z.reduce((a, v, i) => a + softplus(v) - labels[i]! * v, 0) / 4;
  const r = await evaluate(loaded(sigmoidModel(1)), dataset(xs, [2], labels));
  assert.equal(r.lossKind, 'binary-cross-entropy');
  close(r.loss, expected, 1e-6, 'BCE');
  assert.ok(r.loss > 7, 'the z=30, y=0 sample contributes ~30/4, not a clamped value');
  assert.deepEqual(r.confusionMatrix, [
    [1, 1],
    [0, 2],
  ]);
  assert.equal(r.accuracy, 0.75);
});

test('mse: regression loss against float targets', async () => {
  // y = x W with W = [[1, 0], [2, -1], [0, 3]]
  const model = tinyModel({
    input: { name: 'x', shape: [1, 3] },
    output: { name: 'y', shape: [1, 2] },
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: { w: tensor('float32', [3, 2], [1, 0, 2, -1, 0, 3]) },
  });
  const xs = [1, 0, 0, 0, 1, 1, 2, 1, 0];
  const out = [
    [1, 0],
    [2, 2],
    [4, -1],
  ];
  const targets = [1, 1, 0, 2, 4, 1];
  const expected = out.reduce((a, o, i) => a + ((o[0]! - targets[2 * i]!) ** 2 + (o[1]! - targets[2 * i + 1]!) ** 2) / 2, 0) / 3;
  const ds = dataset(xs, [3], Float32Array.from(targets), [2]);
  const r = await evaluate(loaded(model), ds, { loss: 'mse', batchSize: 2 });
  assert.equal(r.lossKind, 'mse');
  close(r.loss, expected, 1e-6, 'mse');
  assert.equal(r.accuracy, null);
  assert.equal(r.confusionMatrix, null);
  await assert.rejects(evaluate(loaded(model), dataset(xs, [3], Float32Array.of(1, 2, 3), [1]), { loss: 'mse' }), (e: unknown) => e instanceof AppError && e.code === 'DATASET_MISMATCH');
});

test('a model that cannot be batched is evaluated per sample, with the same numbers', async () => {
  // logits = x + sum over the batch of x: right at batch 1 only.
  const model = tinyModel({
    input: { name: 'x', shape: [1, 3] },
    output: { name: 'y', shape: [1, 3] },
    nodes: [
      { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['s'], attrs: { keepdims: { kind: 'int', value: 1 } } },
      { op: 'Add', inputs: ['x', 's'], outputs: ['y'] },
    ],
    initializers: { axes: tensor('int64', [1], [0]) },
  });
  const xs = [1, 2, 3, 0, 5, 0, 2, 1, 0];
  const labels = Int32Array.of(2, 1, 1);
  // logits = 2x; CE = logsumexp(2x) - 2x[y]
  let expected = 0;
  for (let i = 0; i < 3; i++) {
    const zz = xs.slice(3 * i, 3 * i + 3).map((v) => 2 * v);
    expected += Math.log(zz.reduce((a, v) => a + Math.exp(v), 0)) - zz[labels[i]!]!;
  }
  const r = await evaluate(loaded(model), dataset(xs, [3], labels), { batchSize: 64 });
  assert.equal(r.batched, false);
  assert.match(r.batchingNote ?? '', /does not match per-sample runs/);
  close(r.loss, expected / 3, 1e-6, 'per-sample CE');
  assert.equal(r.accuracy, 2 / 3);
});

test('evaluate refuses what it cannot score: no dataset, no labels, bad labels, wrong shapes; honours cancellation', async () => {
  const model = loaded(readTestData(CNN));
  const data = mnistCsv();
  const code = (c: string, re?: RegExp) => (e: unknown) => e instanceof AppError && e.code === c && (!re || re.test(e.message));
  await assert.rejects(evaluate(model, null), code('BAD_DATASET'));
  await assert.rejects(evaluate(model, { ...data, y: null }), code('BAD_DATASET', /labels/));
  const bad = Int32Array.from(data.y!);
  bad[5] = 10;
  await assert.rejects(evaluate(model, { ...data, y: bad }), code('BAD_DATASET', /y\[5\] = 10 is not a class index in 0\.\.9/));
  const wrong = loadNpz(writeNpz({ x: { dtype: 'f4', shape: [2, 10], data: new Float32Array(20) }, y: { dtype: 'i4', shape: [2], data: Int32Array.of(0, 1) } }), 's');
  await assert.rejects(evaluate(model, wrong), code('DATASET_MISMATCH', /\[10\].*\[1,1,28,28\]/));
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(evaluate(model, data, {}, controller.signal), code('CANCELLED'));
});

test('mnistfc ([1,784,1] input): CSV rows reshaped to [784,1], cross-entropy equals the hand loop', async () => {
  const data = mnistCsv();
  const file = 'vnncomp2021/mnistfc/mnist-net_256x2.onnx';
  const rows = await reference(readTestData(file), data.x, data.count, [1, 784, 1]);
  const labels = data.y!;
  const ce = rows.reduce((acc, z, i) => acc + Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[labels[i]!]!, 0) / rows.length;
  const r = await evaluate(loaded(readTestData(file)), data, { batchSize: 32 });
  assert.deepEqual(r.inputShape, [784, 1]);
  assert.equal(r.reshapedInput, true);
  close(r.loss, ce, 1e-6, 'mnistfc cross-entropy');
  assert.equal(r.correct, rows.filter((z, i) => argmaxOf(z) === labels[i]).length);
});

test('the same digits as a PNG image folder give the same evaluation as the CSV', async () => {
  const csv = loadDataset(readTestData('eran/mnist_test.csv'), 'csv', 'raw');
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < csv.count; i++) {
    const png = new PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) {
      const v = csv.x[i * 784 + p]!;
      png.data[p * 4] = png.data[p * 4 + 1] = png.data[p * 4 + 2] = v;
      png.data[p * 4 + 3] = 255;
    }
    files[`digits/${csv.y![i]}/img${String(i).padStart(3, '0')}.png`] = new Uint8Array(PNG.sync.write(png));
  }
  const images = loadDataset(zipSync(files), 'imagefolder', 'png');
  assert.deepEqual(images.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(images.sampleShape, [1, 28, 28]);
  const model = loaded(readTestData(CNN));
  const fromPng = await evaluate(model, images);
  const fromCsv = await evaluate(model, mnistCsv());
  assert.equal(fromPng.reshapedInput, false);
  assert.equal(fromPng.correct, fromCsv.correct);
  close(fromPng.loss, fromCsv.loss, 1e-9, 'same pixels, same loss');
  assert.deepEqual(fromPng.perClassAccuracy!.map((c) => c.name), images.classes);
  // Files are ordered by path, so compare class totals rather than the sample order.
  assert.deepEqual(fromPng.perClassAccuracy!.map((c) => [c.count, c.correct]), fromCsv.perClassAccuracy!.map((c) => [c.count, c.correct]));
});
