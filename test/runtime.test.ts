/**
 * native/runtime and native/onnx/batchify on real ORT sessions. Expected values come from
 * plain onnxruntime sessions on the original model files, fed one sample at a time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { createSession, resetProviderChoice, runtimeInfo, runSession, setRuntimeLogger } from '../native/runtime/session.js';
import { SessionCache } from '../native/runtime/cache.js';
import { openRunner } from '../native/runtime/runner.js';
import { forEachBatch, runBatches } from '../native/runtime/batches.js';
import { prepareBatched } from '../native/onnx/batchify.js';
import { loadModel } from '../native/onnx/load.js';
import { serializeModel } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { AppError } from '../common/errors.js';
import { loaded, tinyModel } from './helpers/tiny-models.js';
import { buildModel } from './helpers/onnx-builder.js';
import { float, int } from '../native/onnx/ir.js';
import { readTestData, testData } from './helpers/test-data.js';

const MNIST = 'onnxruntime/mnist.onnx';
const CNN = 'onnxruntime/cnn_mnist_pytorch.onnx';

/** The first n MNIST rows from the CSV, parsed here without the datasets module: pixels / 255. */
function mnistSamples(n: number): { x: Float32Array; labels: number[] } {
  const lines = fs.readFileSync(testData('eran/mnist_test.csv'), 'utf8').trim().split('\n').slice(0, n);
  const x = new Float32Array(n * 784);
  const labels: number[] = [];
  lines.forEach((l, i) => {
    const f = l.split(',').map(Number);
    labels.push(f[0]!);
    for (let j = 0; j < 784; j++) x[i * 784 + j] = f[j + 1]! / 255;
  });
  return { x, labels };
}

/** Reference outputs: a plain ORT session on the original file, one sample per run. */
async function onePerRun(file: string, x: Float32Array, n: number): Promise<Float32Array[]> {
  const model = loadModel(readTestData(file));
  const input = model.graph.inputs[0]!;
  const session = await ort.InferenceSession.create(readTestData(file), { executionProviders: ['cpu'] });
  const out: Float32Array[] = [];
  for (let s = 0; s < n; s++) {
    const feed = new ort.Tensor('float32', x.slice(s * 784, (s + 1) * 784), input.shape as number[]);
    const r = await session.run({ [input.name]: feed });
    out.push(r[session.outputNames[0]!]!.data as Float32Array);
  }
  await session.release();
  return out;
}

const cudaLibraryShipped = (): boolean => {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin/napi-v6/linux/x64');
  return fs.existsSync(path.join(dir, 'libonnxruntime_providers_cuda.so'));
};

test('provider choice: CUDA is tried, its load failure falls back to CPU, is logged once and reported', async () => {
  const saved = process.env.ONNXSCOPE_EP;
  delete process.env.ONNXSCOPE_EP;
  const lines: string[] = [];
  setRuntimeLogger((l) => lines.push(l));
  resetProviderChoice();
  try {
    assert.equal(runtimeInfo().providerInUse, null);
    const s1 = await createSession(readTestData(MNIST));
    const s2 = await createSession(readTestData(CNN));
    const info = runtimeInfo();
    if (cudaLibraryShipped()) {
      assert.equal(info.providerInUse, 'cuda');
    } else {
      assert.equal(info.providerInUse, 'cpu');
      assert.match(info.fallbackReason ?? '', /Failed to load shared library/);
      assert.equal(lines.length, 1, `one log line for two sessions, got ${JSON.stringify(lines)}`);
      assert.match(lines[0]!, /CUDA unavailable.*falling back to cpu/);
    }
    assert.equal(info.requested, 'auto');
    // The sessions run: the fallback produced working sessions, not just a report.
    const out = await runSession(s1, { Input3: tensor('float32', [1, 1, 28, 28]) });
    assert.deepEqual(Object.values(out)[0]!.dims, [1, 10]);
    await s1.release();
    await s2.release();
  } finally {
    if (saved === undefined) delete process.env.ONNXSCOPE_EP;
    else process.env.ONNXSCOPE_EP = saved;
    setRuntimeLogger((l) => process.stderr.write(`${l}\n`));
  }
});

test('provider choice: ONNXSCOPE_EP=cpu never tries CUDA; a bad value is BAD_PARAMS', async () => {
  const saved = process.env.ONNXSCOPE_EP;
  const lines: string[] = [];
  setRuntimeLogger((l) => lines.push(l));
  resetProviderChoice();
  try {
    process.env.ONNXSCOPE_EP = 'cpu';
    const s = await createSession(readTestData(MNIST), { intraOpThreads: 1, interOpThreads: 1 });
    await s.release();
    const info = runtimeInfo();
    assert.equal(info.providerInUse, 'cpu');
    assert.equal(info.requested, 'cpu');
    assert.equal(info.fallbackReason, null, 'no CUDA attempt, so no fallback reason');
    assert.equal(info.intraOpThreads, 1);
    assert.equal(info.interOpThreads, 1);
    assert.deepEqual(lines, ['onnxscope runtime: execution provider cpu (ONNXSCOPE_EP=cpu)']);
    process.env.ONNXSCOPE_EP = 'tpu';
    await assert.rejects(createSession(readTestData(MNIST)), (e: unknown) => e instanceof AppError && e.code === 'BAD_PARAMS' && /ONNXSCOPE_EP=tpu/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.ONNXSCOPE_EP;
    else process.env.ONNXSCOPE_EP = saved;
    setRuntimeLogger((l) => process.stderr.write(`${l}\n`));
    resetProviderChoice();
  }
});

test('runtimeInfo lists what the binding lists and the installed version', () => {
  const require = createRequire(import.meta.url);
  const version = (require('onnxruntime-node/package.json') as { version: string }).version;
  const info = runtimeInfo();
  assert.equal(info.onnxruntimeVersion, version);
  assert.deepEqual(
    info.availableProviders.map((p) => p.name),
    ort.listSupportedBackends().map((b) => b.name),
  );
  assert.ok(info.availableProviders.some((p) => p.name === 'cpu' && p.bundled));
});

test('session cache: LRU eviction, one creation per key, failures not cached, leases outlive eviction', async () => {
  const cache = new SessionCache(2);
  const bytes = readTestData(MNIST);
  let builds = 0;
  const build = () => {
    builds++;
    return bytes;
  };
  const [a1, a2] = await Promise.all([cache.acquire('a', 'v', build), cache.acquire('a', 'v', build)]);
  assert.equal(builds, 1, 'concurrent acquires share one creation');
  assert.equal(a1.session, a2.session);
  a2.release();
  const b = await cache.acquire('b', 'v', build);
  b.release();
  (await cache.acquire('a', 'v', build)).release(); // a is now the most recent
  const c = await cache.acquire('c', 'v', build);
  c.release();
  assert.equal(builds, 3);
  assert.equal(cache.size, 2);
  assert.ok(cache.has('a', 'v') && cache.has('c', 'v') && !cache.has('b', 'v'), 'b was least recently used');
  assert.ok(!cache.has('a', 'other'), 'variant is part of the key');

  // a1 is still leased; evicting a must not free it under us.
  (await cache.acquire('d', 'v', build)).release();
  (await cache.acquire('e', 'v', build)).release();
  assert.ok(!cache.has('a', 'v'));
  const feed = { Input3: new ort.Tensor('float32', new Float32Array(784), [1, 1, 28, 28]) };
  const out = await a1.session.run(feed);
  assert.deepEqual(out[a1.session.outputNames[0]!]!.dims, [1, 10]);
  a1.release();
  await new Promise((r) => setTimeout(r, 20));
  await assert.rejects(a1.session.run(feed), 'released once the last lease ended');

  let fail = true;
  const flaky = () => {
    if (fail) throw new Error('disk on fire');
    return bytes;
  };
  await assert.rejects(cache.acquire('f', 'v', flaky), /disk on fire/);
  assert.ok(!cache.has('f', 'v'), 'a failed creation is not cached');
  fail = false;
  (await cache.acquire('f', 'v', flaky)).release();
  cache.clear();
  assert.equal(cache.size, 0);
});

for (const file of [MNIST, CNN]) {
  test(`batchify ${file}: batched outputs equal per-sample outputs of the original`, async () => {
    const model = loadModel(readTestData(file));
    const plan = await prepareBatched(model);
    assert.equal(plan.batched, true, plan.reason);
    assert.equal(plan.model.graph.inputs[0]!.shape![0], 'N');
    if (file === MNIST) assert.ok(plan.changes.includes('Reshape "Times212_reshape0": target [1,256] -> [-1,256]'), plan.changes.join('\n'));
    const n = 10;
    const { x } = mnistSamples(n);
    const expected = await onePerRun(file, x, n);
    const session = await ort.InferenceSession.create(serializeModel(plan.model), { executionProviders: ['cpu'] });
    for (const size of [n, 7]) {
      const r = await session.run({ [model.graph.inputs[0]!.name]: new ort.Tensor('float32', x.slice(0, size * 784), [size, 1, 28, 28]) });
      const got = r[session.outputNames[0]!]!;
      assert.deepEqual(got.dims, [size, 10]);
      const data = got.data as Float32Array;
      for (let s = 0; s < size; s++) {
        for (let k = 0; k < 10; k++) {
          const diff = Math.abs(data[s * 10 + k]! - expected[s]![k]!);
          assert.ok(diff <= 1e-4 + 1e-4 * Math.abs(expected[s]![k]!), `sample ${s} class ${k}: ${data[s * 10 + k]} vs ${expected[s]![k]}`);
        }
      }
    }
    await session.release();
  });
}

test('batchify: [1,-1] Reshape targets become [-1,K] with K probed', async () => {
  const model = tinyModel({
    input: { name: 'x', shape: [1, 2, 3] },
    output: { name: 'y', shape: [1, 6] },
    nodes: [{ op: 'Reshape', inputs: ['x', 'shape'], outputs: ['y'] }],
    initializers: { shape: tensor('int64', [2], [1, -1]) },
  });
  const plan = await prepareBatched(model);
  assert.equal(plan.batched, true, plan.reason);
  assert.ok(plan.changes.some((c) => c.endsWith('target [1,-1] -> [-1,6]')), plan.changes.join('; '));
  const s = await createSession(serializeModel(plan.model));
  const x = Float32Array.from({ length: 18 }, (_, i) => i);
  const out = await runSession(s, { x: { dtype: 'float32', dims: [3, 2, 3], data: x } });
  assert.deepEqual(out.y!.dims, [3, 6]);
  assert.deepEqual(Array.from(out.y!.data as Float32Array), Array.from(x));
  await s.release();
});

/** y = x + sum over the batch of x: identical to 2x at batch 1, mixes samples at batch N. */
const batchMixer = () =>
  tinyModel({
    input: { name: 'x', shape: [1, 4] },
    output: { name: 'y', shape: [1, 4] },
    nodes: [
      { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['s'], attrs: { keepdims: { kind: 'int', value: 1 } } },
      { op: 'Add', inputs: ['x', 's'], outputs: ['y'] },
    ],
    initializers: { axes: tensor('int64', [1], [0]) },
  });

test('batchify refuses what it cannot verify; the runner then goes one sample at a time', async () => {
  const model = batchMixer();
  const plan = await prepareBatched(model);
  assert.equal(plan.batched, false);
  assert.match(plan.reason ?? '', /does not match per-sample runs/);

  const runner = await openRunner(loaded(model), { sampleShape: [4] });
  assert.equal(runner.batched, false);
  const x = Float32Array.from({ length: 12 }, (_, i) => i + 1);
  const out = await runner.run(x, 3);
  assert.deepEqual(out.y!.dims, [3, 4]);
  assert.deepEqual(Array.from(out.y!.data as Float32Array), Array.from(x, (v) => 2 * v));
  runner.close();

  const fixedTwo = tinyModel({
    input: { name: 'x', shape: [2, 4] },
    output: { name: 'y', shape: [2, 4] },
    nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
  });
  const p2 = await prepareBatched(fixedTwo);
  assert.equal(p2.batched, false);
  assert.match(p2.reason!, /fixed first dimension of 2/);
});

test('batch streamer: batch sizes, progress, outputs in order, cancellation between batches', async () => {
  const n = 100;
  const { x } = mnistSamples(n);
  const runner = await openRunner(loaded(readTestData(CNN)), { sampleShape: [1, 28, 28] });
  assert.equal(runner.batched, true);
  const counts: number[] = [];
  const fractions: number[] = [];
  const stats = await forEachBatch(runner, { x, count: n, sampleShape: [1, 28, 28] }, (b) => void counts.push(b.count), {
    batchSize: 32,
    progress: (f) => fractions.push(f),
  });
  assert.deepEqual(counts, [32, 32, 32, 4]);
  assert.deepEqual(fractions, [0.32, 0.64, 0.96, 1]);
  assert.equal(stats.samples, 100);
  assert.equal(stats.batches, 4);

  const { outputs } = await runBatches(runner, { x, count: n, sampleShape: [1, 28, 28] }, { batchSize: 64, maxSamples: 20 });
  const expected = await onePerRun(CNN, x, 20);
  const all = outputs['21']!;
  assert.deepEqual(all.dims, [20, 10]);
  for (let s = 0; s < 20; s++) for (let k = 0; k < 10; k++) assert.ok(Math.abs(Number(all.data[s * 10 + k]) - expected[s]![k]!) < 1e-4);

  const controller = new AbortController();
  let seen = 0;
  await assert.rejects(
    forEachBatch(
      runner,
      { x, count: n, sampleShape: [1, 28, 28] },
      () => {
        seen++;
        controller.abort();
      },
      { batchSize: 10, signal: controller.signal },
    ),
    (e: unknown) => e instanceof AppError && e.code === 'CANCELLED',
  );
  assert.equal(seen, 1, 'stopped after the batch during which it was cancelled');
  runner.close();
});

test("a run leaves the caller's feeds as they were, also where onnxruntime updates an input in place (training-mode BatchNormalization)", async () => {
  // ORT's kernel aliases outputs 1, 2 (running statistics) to inputs 3, 4; when nothing reads
  // those outputs (as in a derived gradient graph) it writes them into the input buffers.
  const specs = ['x', 'scale', 'bias', 'mean', 'var'].map((name) => ({ name, dtype: 'float64' as const, dims: name === 'x' ? [4, 2] : [2] }));
  const model = buildModel({
    inputs: specs,
    nodes: [{ op: 'BatchNormalization', inputs: specs.map((s) => s.name), outputs: ['y', 'rm', 'rv'], attrs: { training_mode: int(1), momentum: float(0.5) } }],
    outputs: ['y'],
  });
  const feeds = {
    x: tensor('float64', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]),
    scale: tensor('float64', [2], [1, 1]),
    bias: tensor('float64', [2], [0, 0]),
    mean: tensor('float64', [2], [10, 20]),
    var: tensor('float64', [2], [1, 1]),
  };
  const session = await createSession(serializeModel(model));
  try {
    const first = await runSession(session, feeds);
    const second = await runSession(session, feeds);
    // Unprotected, mean would now hold 0.5 * (10, 20) + 0.5 * (4, 5) = (7, 12.5).
    assert.deepEqual([...(feeds.mean.data as Float64Array)], [10, 20]);
    assert.deepEqual([...(feeds.var.data as Float64Array)], [1, 1]);
    // Batch statistics by hand: channel 0 holds 1, 3, 5, 7 (mean 4, variance 5).
    assert.ok(Math.abs((first.y!.data as Float64Array)[0]! - -3 / Math.sqrt(5 + 1e-5)) < 1e-12);
    assert.deepEqual([...(second.y!.data as Float64Array)], [...(first.y!.data as Float64Array)]);
  } finally {
    await session.release();
  }
});
