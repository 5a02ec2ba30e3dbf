/**
 * Blind-spot traversal: a linear classifier whose level set is known in closed form, and a
 * trained MNIST CNN checked by a fresh forward pass of the written images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor } from '../native/onnx/tensor.js';
import { serializeModel, type Model } from '../native/onnx/ir.js';
import { loadModel } from '../native/onnx/load.js';
import { loadDataset } from '../datasets/index.js';
import { loadNpz } from '../datasets/npz.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { blindspotsAnalyzer, type BlindspotsParams } from '../analyzers/blindspots/index.js';
import type { LoadedDataset } from '../analyzers/types.js';
import { validateParams } from '../analyzers/params.js';
import { readTestData } from './helpers/test-data.js';


async function run(model: Model, dataset: LoadedDataset, params: Record<string, unknown>) {
  const files = new Map<string, Uint8Array>();
  const result = await blindspotsAnalyzer.run({
    model: { sha256: 'm', bytes: serializeModel(model), ir: model },
    dataset,
    params: validateParams(blindspotsAnalyzer.params, params) as BlindspotsParams,
    progress: () => {},
    signal: new AbortController().signal,
    artifacts: { write: async (name, bytes) => void files.set(name, bytes) },
  });
  return { result, files };
}

test('linear classifier: the traversal stays on the level set and reaches the projection of the target onto it', async () => {
  // Two classes, logits = x W + b. The level set of p_0 through x0 is the hyperplane
  // {x : u . x = u . x0} with u = W[:,1] - W[:,0]; its point nearest the target is
  // x* = xt - (u . (xt - x0)) / |u|^2 u.
  const W = [0.8, -0.3, 0.2, 0.5, -0.6, 0.9, 0.1, -0.4];
  const model = buildModel({
    inputs: [{ name: 'x', dims: ['N', 4], dtype: 'float32' }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['z'] },
      { op: 'Add', inputs: ['z', 'b'], outputs: ['logits'] },
    ],
    outputs: ['logits'],
    initializers: { W: tensor('float32', [4, 2], W), b: tensor('float32', [2], [0.1, -0.2]) },
  });
  const x0 = [0.2, 0.4, -0.3, 0.1];
  const xt = [1.5, -1.0, 2.0, 0.7];
  const dataset: LoadedDataset = { sha256: 'd', format: 'npz', count: 2, sampleShape: [4], x: Float32Array.from([...x0, ...xt]), y: Int32Array.from([0, 1]), yShape: [] };
  const { result } = await run(model, dataset, { sources: [0], targets: [1], iters: 2000, inputRange: [-100, 100] });
  const u = [0, 1, 2, 3].map((i) => W[i * 2 + 1]! - W[i * 2]!);
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const diff = xt.map((v, i) => v - x0[i]!);
  const k = dot(u, diff) / dot(u, u);
  const expected = xt.map((v, i) => v - k * u[i]!);
  const pair = result.pairs[0]!;
  const finalL2 = Math.sqrt(dot(diff.map((_, i) => expected[i]! - xt[i]!), diff.map((_, i) => expected[i]! - xt[i]!)));
  // (1 - 0.01)^2000 ~ 2e-9 of the initial gap remains; float32 arithmetic limits agreement to ~1e-5.
  assert.ok(Math.abs(pair.finalDistance.l2 - finalL2) < 1e-4, `${pair.finalDistance.l2} vs ${finalL2}`);
  assert.ok(Math.abs(pair.finalConfidence - pair.initialConfidence) < 1e-5, 'confidence stays on the level set');
  assert.ok(pair.confidenceTrace.every((p) => Math.abs(p - pair.initialConfidence) < 1e-5));
  assert.equal(pair.acceptedSteps, 2000);
});

test('trained CNN (verivital Convnet_maxpool): end points keep the source class within pthresh and close 80% of the distance', async () => {
  const model = loadModel(readTestData('vnncomp2021/verivital/Convnet_maxpool.onnx'));
  const mnist = loadDataset(readTestData('eran/mnist_test.csv'), 'csv', 'mnist', { preprocessing: { scale: 1 / 255 } });
  const dataset: LoadedDataset = { ...mnist, sampleShape: [1, 28, 28] };
  const labels = mnist.y as Int32Array;
  const session = await createSession(serializeModel(model));
  const predict = async (x: Float32Array) => {
    const logits = (await runSession(session, { input: { dtype: 'float32', dims: [1, 1, 28, 28], data: x } })).output!.data as Float32Array;
    return logits.indexOf(Math.max(...logits));
  };
  // Sources: the first correctly classified image of classes 0 and 3 (blind spots start from a correct prediction).
  const firstCorrect = async (c: number) => {
    for (let i = 0; i < labels.length; i++) if (labels[i] === c && (await predict(dataset.x.subarray(i * 784, (i + 1) * 784))) === c) return i;
    throw new Error(`no correctly classified ${c}`);
  };
  const sources = [await firstCorrect(0), await firstCorrect(3)];
  const targets = [labels.indexOf(1), labels.indexOf(7), labels.indexOf(8)];
  const pthresh = 0.2;
  const { result, files } = await run(model, dataset, { sources, targets, iters: 400 });
  assert.equal(result.pairs.length, 6);
  assert.equal(result.triangles.length, 2);
  // A fresh forward pass over the written images, not the analyzer's own bookkeeping.
  const written = loadNpz(files.get('blindspots.npz')!, 'out');
  assert.deepEqual(written.sampleShape, [1, 28, 28]);
  for (let i = 0; i < written.count; i++) {
    const x = written.x.subarray(i * 784, (i + 1) * 784);
    const logits = (await runSession(session, { input: { dtype: 'float32', dims: [1, 1, 28, 28], data: x } })).output!.data as Float32Array;
    const m = Math.max(...logits);
    const probs = Array.from(logits, (v) => Math.exp(v - m));
    const z = probs.reduce((s, v) => s + v, 0);
    const source = (written.y as Int32Array)[i]!;
    const pair = result.pairs[i]!;
    assert.equal(source, pair.sourceClass);
    assert.equal(probs.indexOf(Math.max(...probs)), source, `pair ${i} keeps the source class`);
    assert.ok(pair.initialConfidence - probs[source]! / z < pthresh, `pair ${i} confidence within pthresh`);
    // L2 to the target, measured here.
    const t = dataset.x.subarray(pair.target * 784, (pair.target + 1) * 784);
    const s = dataset.x.subarray(pair.source * 784, (pair.source + 1) * 784);
    const dist = (a: Float32Array) => Math.sqrt(a.reduce((acc, v, k) => acc + (v - t[k]!) ** 2, 0));
    assert.ok(dist(x) <= 0.2 * dist(s), `pair ${i}: L2 to target ${dist(x)} vs initially ${dist(s)}`);
  }
  await session.release();
  assert.ok([...files.keys()].some((f) => f.endsWith('.png')));
});
