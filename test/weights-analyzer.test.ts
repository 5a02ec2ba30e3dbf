/**
 * The weights analyzer on models: weights found through every route an exporter uses
 * (initializers, Constant nodes, Reshape/Transpose of constants, conv kernels), every model of
 * test/data with plausibility checks against direct computations from its initializers, trained
 * models against random ones of the same scale (lower alpha, as Martin & Mahoney report), the
 * CLI without a dataset, gate rules on its fields, and zoo metrics.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadModel } from '../native/onnx/load.js';
import { onnxBackendData } from './helpers/onnx-backend.js';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../common/random.js';
import { cloneModel, ints, int, serializeModel, tensorAttr, type Model } from '../native/onnx/ir.js';
import { tensor, numel } from '../native/onnx/tensor.js';
import { validateParams } from '../analyzers/params.js';
import { weightsAnalyzer, type WeightsParams, type WeightsResult } from '../analyzers/weights/index.js';
import { buildModel } from './helpers/onnx-builder.js';
import { loaded } from './helpers/tiny-models.js';
import { loadTestModel, testData } from './helpers/test-data.js';
import { cliSync, runCli } from './helpers/cli.js';
import { buildGraphQLSchema } from '../resolvers/index.js';
import { listAnalyzers } from '../analyzers/registry.js';
import { parseGateConfig } from '../gate/config.js';
import { formatPath, valueAt } from '../gate/fields.js';
import { AppError } from '../common/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'onnxscope-weights-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function analyze(model: Model, params: Record<string, unknown> = {}): Promise<WeightsResult> {
  return weightsAnalyzer.run({
    model: loaded(model),
    dataset: null,
    params: validateParams(weightsAnalyzer.params, params) as WeightsParams,
    progress: () => {},
    signal: new AbortController().signal,
  });
}

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);
const rng = new Rng(9);
const randn = (dims: number[]) => tensor('float32', dims, Array.from({ length: numel(dims) }, () => rng.normal()));
const sumSq = (t: ArrayLike<number>) => Array.from(t).reduce((s, x) => s + x * x, 0);

test('weights come from initializers, Constant nodes, Reshape and Transpose of constants, and conv kernels', async () => {
  const gemmW = randn([6, 4]);
  const constW = randn([6, 5]);
  const flatW = randn([15]);
  const transW = randn([2, 3]);
  const kernel = randn([4, 3, 3, 3]);
  const model = buildModel({
    inputs: [{ name: 'x', dims: [1, 4], dtype: 'float32' }, { name: 'img', dims: [1, 3, 8, 8], dtype: 'float32' }],
    initializers: { gemmW, flatW, shape: tensor('int64', [2], [5, 3]), transW, kernel },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'gemmW'], outputs: ['h1'], attrs: { transB: int(1) } },
      { op: 'Constant', inputs: [], outputs: ['constW'], attrs: { value: tensorAttr(constW) } },
      { op: 'MatMul', inputs: ['h1', 'constW'], outputs: ['h2'] },
      { op: 'Reshape', inputs: ['flatW', 'shape'], outputs: ['flatW_2d'] },
      { op: 'MatMul', inputs: ['h2', 'flatW_2d'], outputs: ['h3'] },
      { op: 'Transpose', inputs: ['transW'], outputs: ['transW_t'], attrs: { perm: ints([1, 0]) } },
      { op: 'MatMul', inputs: ['h3', 'transW_t'], outputs: ['h4'] },
      { op: 'Conv', inputs: ['img', 'kernel'], outputs: ['c'], attrs: { kernel_shape: ints([3, 3]) } },
    ],
    outputs: ['h4', 'c'],
  });
  const r = await analyze(model, { minEigenvalues: 2, minTail: 2 });
  assert.deepEqual(r.layers.map((l) => [l.name, l.opType, l.n, l.m, l.matrices]), [
    ['gemmW', 'Gemm', 6, 4, 1],
    ['constW', 'MatMul', 6, 5, 1],
    ['flatW_2d', 'MatMul', 5, 3, 1],
    ['transW_t', 'MatMul', 3, 2, 1],
    ['kernel', 'Conv', 4, 3, 9],
  ]);
  // Σλ = ‖W‖_F²/N from the raw tensors: the SVD and the extraction agree with the entries.
  const raw = [gemmW, constW, flatW, transW, kernel];
  r.layers.forEach((l, i) => close(10 ** l.logNorm, sumSq(raw[i]!.data as Float32Array) / l.n, 1e-6, `${l.name} Σλ`));
  assert.equal(r.parameterCount, 24 + 30 + 15 + 6 + 108);
  const flat = await analyze(model, { convMode: 'flatten', minEigenvalues: 2, minTail: 2 });
  assert.deepEqual([flat.layers[4]!.n, flat.layers[4]!.m, flat.layers[4]!.matrices], [27, 4, 1]);
  assert.equal(flat.convMode, 'flatten');
  const only = await analyze(model, { tensors: '^(gemmW|kernel)$', minEigenvalues: 2, minTail: 2 });
  assert.deepEqual(only.layers.map((l) => l.name), ['gemmW', 'kernel']);
  await assert.rejects(analyze(model, { tensors: 'nothing' }), (e: AppError) => e.code === 'BAD_MODEL');
  assert.throws(() => weightsAnalyzer.checkRequest!({ tensors: '(' } as WeightsParams, false), (e: AppError) => e.code === 'BAD_PARAMS');
  const noWeights = buildModel({ inputs: [{ name: 'x', dims: [1, 4] }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], outputs: ['y'] });
  await assert.rejects(analyze(noWeights), (e: AppError) => e.code === 'BAD_MODEL' && /no constant Gemm, MatMul or Conv/.test(e.message));
});

const MODELS = [
  ['onnxruntime/mnist.onnx', 3],
  ['onnxruntime/cnn_mnist_pytorch.onnx', 4],
  ['vnncomp2021/mnistfc/mnist-net_256x2.onnx', 3],
  ['vnncomp2021/verivital/Convnet_avgpool.onnx', 2],
  ['vnncomp2021/verivital/Convnet_maxpool.onnx', 2],
  ...readdirSync(testData('vnncomp2021/acasxu')).filter((f) => f.endsWith('.onnx')).map((f) => [`vnncomp2021/acasxu/${f}`, 7] as const),
] as const;

test('every model of the test data: plausible per-layer metrics, checked against its initializers', async () => {
  assert.equal(MODELS.length, 50, 'the 5 MNIST nets and the 45 ACAS Xu nets');
  for (const [file, layerCount] of MODELS) {
    const model = loadTestModel(file);
    const r = await analyze(model.ir);
    assert.equal(r.layers.length, layerCount, file);
    for (const l of r.layers) {
      const what = `${file} ${l.name}`;
      assert.equal(l.eigenvalueCount, l.matrices * l.m, what);
      assert.equal(l.parameterCount, l.matrices * l.n * l.m, what);
      assert.ok(l.stableRank >= 1 - 1e-9 && l.stableRank <= l.eigenvalueCount + 1e-9, `${what}: stable rank ${l.stableRank}`);
      assert.ok(l.logNorm >= l.logSpectralNorm - 1e-12, what);
      assert.ok(l.lambdaMin >= 0 && l.lambdaMin <= l.lambdaMax, what);
      close(l.mpSoftrank, l.mpBulkMax / l.lambdaMax, 1e-12, what);
      // The MP scale is the tensor's mean square: Σλ · N / (N · M · matrices).
      close(l.mpBulkMax, ((10 ** l.logNorm * l.n) / l.parameterCount) * (1 + Math.sqrt(l.m / l.n)) ** 2, 1e-9, what);
      if (l.eigenvalueCount < 10) {
        assert.equal(l.alpha, null, `${what}: ${l.eigenvalueCount} eigenvalues are too few to fit`);
        continue;
      }
      assert.ok(l.alpha! > 1 && l.alpha! < 50, `${what}: alpha ${l.alpha}`);
      assert.ok(l.tailCount >= 5 && l.tailCount <= l.eigenvalueCount, what);
      assert.ok(l.xmin! > 0 && l.xmin! <= l.lambdaMax, what);
      assert.ok(l.ksDistance! > 0 && l.ksDistance! < 1, what);
      close(l.alphaWeighted!, l.alpha! * l.logSpectralNorm, 1e-12, what);
      assert.equal(l.correlationTrap, l.shuffled!.numSpikes > 0, what);
      assert.ok(l.randDistance! >= 0 && l.randDistance! <= 1, what);
    }
    const fitted = r.layers.filter((l) => l.alpha !== null);
    assert.equal(r.summary.fittedLayers, fitted.length, file);
    close(r.summary.alpha!, fitted.reduce((s, l) => s + l.alpha!, 0) / fitted.length, 1e-12, `${file} mean alpha`);
    const weight = fitted.reduce((s, l) => s + l.parameterCount, 0);
    close(r.summary.sizeWeighted.alpha!, fitted.reduce((s, l) => s + l.alpha! * l.parameterCount, 0) / weight, 1e-12, `${file} weighted alpha`);
    assert.equal(r.summary.numSpikes, r.layers.reduce((s, l) => s + l.numSpikes, 0));
  }
  // The mnistfc input layer is 256 × 784: ESD of 256 eigenvalues, λ = σ²/784.
  const fc = (await analyze(loadTestModel('vnncomp2021/mnistfc/mnist-net_256x2.onnx').ir)).layers[0]!;
  assert.deepEqual([fc.n, fc.m, fc.tensorShape], [784, 256, [256, 784]]);
});

test('any ONNX model: all 1,072 of ONNX\'s backend test models give a result or BAD_MODEL (no constant weights)', async () => {
  const root = onnxBackendData();
  let total = 0;
  const analyzed: string[] = [];
  for (const suite of ['node', 'pytorch-converted', 'pytorch-operator', 'simple']) {
    for (const name of readdirSync(path.join(root, suite)).sort()) {
      total++;
      const model = loadModel(new Uint8Array(readFileSync(path.join(root, suite, name, 'model.onnx'))));
      // Independently: does some Gemm/MatMul/Conv/ConvTranspose take a float initializer of rank
      // >= 2, directly or through one Transpose (PyTorch's Linear without bias)?
      const source = (i: string) => model.graph.nodes.find((n) => n.opType === 'Transpose' && n.outputs[0] === i)?.inputs[0] ?? i;
      const expected = model.graph.nodes.some((n) => ['Gemm', 'MatMul', 'Conv', 'ConvTranspose'].includes(n.opType) && n.inputs.some((i) => {
        const t = model.graph.initializers.get(source(i));
        return t !== undefined && t.dims.length >= 2 && (t.dtype === 'float32' || t.dtype === 'float64');
      }));
      try {
        const r = await analyze(model, { shuffledControl: false });
        assert.ok(expected, `${suite}/${name} has no weight initializer, yet gave ${r.layers.length} layers`);
        assert.ok(r.layers.every((l) => Number.isFinite(l.logNorm) && Number.isFinite(l.stableRank)), `${suite}/${name}`);
        analyzed.push(`${suite}/${name}`);
      } catch (e) {
        assert.ok(e instanceof AppError && e.code === 'BAD_MODEL', `${suite}/${name}: ${(e as Error).stack}`);
        assert.ok(!expected, `${suite}/${name} has weights but was refused: ${e.message}`);
      }
    }
  }
  assert.equal(total, 1072);
  assert.equal(analyzed.length, 32, analyzed.join(', '));
});

/** The model with every weight tensor replaced by Gaussian entries of the same root mean square. */
function randomized(model: Model, seed: number): Model {
  const out = cloneModel(model);
  const g = new Rng(seed);
  for (const [name, t] of out.graph.initializers) {
    if (t.dtype !== 'float32' || t.dims.length < 2) continue;
    const rms = Math.sqrt(sumSq(t.data as Float32Array) / t.data.length);
    out.graph.initializers.set(name, tensor('float32', [...t.dims], Array.from(t.data as Float32Array, () => rms * g.normal())));
  }
  return out;
}

test('trained models have heavier-tailed ESDs (lower mean alpha) than random weights of the same scale', async () => {
  const files = MODELS.slice(0, 6).map(([f]) => f);
  const rows: string[] = [];
  for (const convMode of ['slices', 'flatten'] as const) {
    for (const file of files) {
      const model = loadTestModel(file).ir;
      const trained = (await analyze(model, { convMode, shuffledControl: false })).summary.alpha!;
      const random = (await analyze(randomized(model, 3), { convMode, shuffledControl: false })).summary.alpha!;
      rows.push(`${convMode} ${file}: trained ${trained.toFixed(2)} random ${random.toFixed(2)}`);
      // mnist.onnx's second conv is 16 × 8 per kernel position: 25 slices of 8 eigenvalues
      // each, no single tail to speak of (its slice alpha is ~17, the random one ~5). As one
      // [16, 200] matrix (flatten) it behaves like the rest.
      if (convMode === 'slices' && file === 'onnxruntime/mnist.onnx') assert.ok(trained > random, rows.at(-1));
      else assert.ok(trained < random, rows.at(-1));
    }
  }
});

test('onnxscope analyze weights runs without a dataset, writes ESD plots and answers from the cache', () => {
  const dataDir = path.join(dir, 'cli');
  const out = path.join(dir, 'out');
  const args = ['analyze', 'weights', '--model', testData('onnxruntime/cnn_mnist_pytorch.onnx'), '--json', '--data-dir', dataDir];
  const first = cliSync([...args, '--out', out]);
  assert.equal(first.code, 0, first.stderr);
  const json = JSON.parse(first.stdout) as { analyzer: string; cached: boolean; result: WeightsResult };
  assert.equal(json.analyzer, 'weights');
  assert.equal(json.cached, false);
  assert.deepEqual(json.result.layers.map((l) => l.name), ['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight']);
  const svgs = readdirSync(out).filter((f) => f.endsWith('.svg')).sort();
  assert.deepEqual(svgs, ['esd_0_conv1.weight.svg', 'esd_1_conv2.weight.svg', 'esd_2_fc1.weight.svg', 'esd_3_fc2.weight.svg']);
  const svg = readFileSync(path.join(out, svgs[2]!), 'utf8');
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /power law alpha=\d/);
  assert.match(svg, /shuffled W/);
  const second = cliSync(args);
  assert.equal(second.code, 0, second.stderr);
  assert.equal((JSON.parse(second.stdout) as { cached: boolean }).cached, true);
  const bad = cliSync([...args, '--param', 'convMode=rows']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /convMode must be one of slices, flatten/);
});

test('gate rules on weights fields: model-level aliases, per-layer indices and name selectors, no dataset needed', async () => {
  const schema = await buildGraphQLSchema();
  const gateFile = path.join(dir, 'gate.yml');
  const parse = (text: string) => parseGateConfig(text, gateFile, {}, { schema, analyzers: listAnalyzers() });
  const config = parse('model: m.onnx\nrules:\n  - weights.alpha <= 6\n  - weights.layers[-1].numSpikes >= 1\n  - weights.summary.sizeWeighted.alphaWeighted < 3\n');
  assert.deepEqual(config.rules.map((r) => r.field.path), [['summary', 'alpha'], ['layers', -1, 'numSpikes'], ['summary', 'sizeWeighted', 'alphaWeighted']]);
  assert.deepEqual(config.rules.map((r) => r.field.kind), ['number', 'number', 'number']);
  assert.throws(() => parse('model: m.onnx\nrules:\n  - weights.alfa <= 6\n'), (e: AppError) => e.code === 'BAD_CONFIG' && /alpha \(alias\)/.test(e.message));
  // A layer by name: the selector [name=...] picks the list element whose `name` matches.
  const selected = parse('model: m.onnx\nrules:\n  - weights.layers[name=fc1.weight].alpha <= 6\n  - weights.layers[name="a b"].numSpikes == 0\n');
  assert.deepEqual(selected.rules.map((r) => r.field.path), [['layers', { field: 'name', equals: 'fc1.weight' }, 'alpha'], ['layers', { field: 'name', equals: 'a b' }, 'numSpikes']]);
  assert.deepEqual(selected.rules.map((r) => formatPath(r.field.path)), ['layers[name=fc1.weight].alpha', 'layers[name="a b"].numSpikes']);
  assert.throws(() => parse('model: m.onnx\nrules:\n  - weights.layers[nam=x].alpha <= 6\n'), (e: AppError) => e.code === 'BAD_CONFIG' && /no string field "nam" to select by; fields: name, node/.test(e.message));
  assert.throws(() => parse('model: m.onnx\nrules:\n  - weights.layers[n=x].alpha <= 6\n'), (e: AppError) => e.code === 'BAD_CONFIG' && /no string field "n"/.test(e.message), 'n is an Int, not a string');
  assert.throws(() => parse('model: m.onnx\nrules:\n  - weights.summary[name=x].alpha <= 6\n'), (e: AppError) => e.code === 'BAD_CONFIG' && /is not a list/.test(e.message));
  const layersOf = [{ name: 'a', alpha: 1 }, { name: 'b', alpha: 2 }];
  assert.equal(valueAt({ layers: layersOf }, ['layers', { field: 'name', equals: 'b' }, 'alpha']), 2);
  assert.equal(valueAt({ layers: layersOf }, ['layers', { field: 'name', equals: 'c' }, 'alpha']), undefined);

  writeFileSync(path.join(dir, 'mnistfc.onnx'), readFileSync(testData('vnncomp2021/mnistfc/mnist-net_256x2.onnx')));
  writeFileSync(gateFile, 'model: mnistfc.onnx\nrules:\n  - weights.alpha <= 6\n  - weights.layers[0].alpha < 3\n  - weights.layers[name=layers.2.weight].numSpikes >= 1\n  - weights.alphaMax <= 6\n');
  const report = path.join(dir, 'gate.json');
  const run = await runCli(['gate', '--config', gateFile, '--data-dir', path.join(dir, 'gate-data'), '--report', report]);
  assert.equal(run.code, 1, run.stderr + run.stdout);
  const rules = (JSON.parse(readFileSync(report, 'utf8')) as { rules: Array<{ name: string; status: string; observed: number }> }).rules;
  const direct = await analyze(loadTestModel('vnncomp2021/mnistfc/mnist-net_256x2.onnx').ir);
  assert.deepEqual(rules.map((r) => [r.name, r.status, r.observed]), [
    ['weights.alpha <= 6', 'pass', direct.summary.alpha],
    ['weights.layers[0].alpha < 3', 'pass', direct.layers[0]!.alpha],
    ['weights.layers[name=layers.2.weight].numSpikes >= 1', 'pass', direct.layers[1]!.numSpikes],
    // The 10 × 256 output layer: 10 eigenvalues, a steep tail (alpha ~9) that fails the gate.
    ['weights.alphaMax <= 6', 'fail', direct.summary.alphaMax],
  ]);
  assert.ok(existsSync(report));
});
