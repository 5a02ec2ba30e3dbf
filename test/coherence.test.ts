/**
 * Gradient coherence: constructed cases with exact answers, and a small MLP against a direct
 * computation from explicitly stored per-example gradients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, serializeModel, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import { coherenceAnalyzer, shuffleSamples, type CoherenceParams } from '../analyzers/coherence/index.js';
import type { LoadedDataset } from '../analyzers/types.js';
import { prepareLossModel } from '../native/autodiff/index.js';
import { LossRunner, sliceBatch } from '../native/autodiff/runner.js';

const rng = new Rng(5);
const randn = (dims: number[], s = 1) => tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => s * rng.normal()));

function dataset(x: number[][], y: number[] | number[][], shape: number[]): LoadedDataset {
  const float = Array.isArray(y[0]);
  return {
    sha256: 'test',
    format: 'npz',
    count: x.length,
    sampleShape: shape,
    x: Float32Array.from(x.flat()),
    y: float ? Float32Array.from((y as number[][]).flat()) : Int32Array.from(y as number[]),
    yShape: float ? [(y as number[][])[0]!.length] : [],
  };
}

async function analyze(model: Model, data: LoadedDataset, params: Partial<CoherenceParams> = {}) {
  return coherenceAnalyzer.run({
    model: { sha256: 'm', bytes: serializeModel(model), ir: model },
    dataset: data,
    params: { batchSize: 4, maxSamples: 1000, loss: 'auto', precision: 'auto', randomLabelControl: false, seed: 0, ...params } as CoherenceParams,
    progress: () => {},
    signal: new AbortController().signal,
  });
}

const linear = (W: Tensor) =>
  buildModel({
    inputs: [{ name: 'x', dims: ['N', 4] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'W'], outputs: ['out'] }],
    outputs: ['out'],
    initializers: { W },
  });

test('identical examples give mCoherence = m and alpha = 1', async () => {
  const m = 7;
  const x = Array.from({ length: m }, () => [0.3, -1.2, 0.8, 0.5]);
  const r = await analyze(linear(randn([4, 3])), dataset(x, new Array(m).fill(2), [4]));
  assert.ok(Math.abs(r.real.metrics.mCoherence - m) < 1e-9 * m, String(r.real.metrics.mCoherence));
  assert.ok(Math.abs(r.real.metrics.alpha - 1) < 1e-9);
  assert.equal(r.real.metrics.examples, m);
});

test('a linear model whose examples excite disjoint parameters gives mCoherence = 1', async () => {
  // One-hot inputs: example i's gradient lives in row i of W only, so gradients are orthogonal.
  const x = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1.5 : 0)));
  const r = await analyze(linear(randn([4, 2])), dataset(x, [[0.5, -1], [2, 0], [1, 1], [-3, 0.2]], [4]), { loss: 'mse' });
  assert.ok(Math.abs(r.real.metrics.mCoherence - 1) < 1e-12, String(r.real.metrics.mCoherence));
  assert.ok(Math.abs(r.real.metrics.alpha - 0.25) < 1e-12);
});

test('small MLP: metrics equal a direct computation from stored per-example gradients; shuffled labels differ', async () => {
  const model = buildModel({
    inputs: [{ name: 'x', dims: ['N', 4] }],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: int(1) } },
      { op: 'Tanh', inputs: ['h'], outputs: ['a'] },
      { op: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['logits'] },
    ],
    outputs: ['logits'],
    initializers: { W1: randn([6, 4]), b1: randn([6]), W2: randn([6, 3]), b2: randn([3]) },
  });
  const m = 10;
  const x = Array.from({ length: m }, () => Array.from({ length: 4 }, () => rng.normal()));
  const y = Array.from({ length: m }, (_, i) => i % 3);
  const data = dataset(x, y, [4]);
  const r = await analyze(model, data, { randomLabelControl: true, seed: 3 });

  // Direct: per-example gradients, one run per example, stored.
  const prepared = await prepareLossModel(model);
  const runner = await LossRunner.create(prepared);
  const direct = async (labels: number[]) => {
    const per: Float64Array[] = [];
    // The dataset holds x in float32: round the same way.
    const batch = { inputs: { x: tensor('float64', [m, 4], Float32Array.from(x.flat())) }, labels: tensor('int64', [m], labels) };
    for (let i = 0; i < m; i++) {
      const one = sliceBatch(batch, i);
      one.weights = tensor('float64', [1], [1]);
      per.push((await runner.gradient(one)).grad);
    }
    const sum = per.reduce((a, g) => a.map((v, k) => v + g[k]!), new Float64Array(runner.dim));
    const top = sum.reduce((s, v) => s + v * v, 0);
    const bottom = per.reduce((s, g) => s + g.reduce((t, v) => t + v * v, 0), 0);
    // GSNR per coordinate, mean over coordinates with nonzero variance.
    const gsnr: number[] = [];
    for (let k = 0; k < runner.dim; k++) {
      const mean = sum[k]! / m;
      const variance = per.reduce((s, g) => s + (g[k]! - mean) ** 2, 0) / m;
      if (variance > 0) gsnr.push((mean * mean) / variance);
    }
    return { mCoherence: top / bottom, gsnrMean: gsnr.reduce((a, b) => a + b, 0) / gsnr.length, per };
  };
  const real = await direct(y);
  assert.ok(Math.abs(r.real.metrics.mCoherence - real.mCoherence) < 1e-9 * real.mCoherence, `${r.real.metrics.mCoherence} vs ${real.mCoherence}`);
  assert.ok(Math.abs(r.real.metrics.alpha - real.mCoherence / m) < 1e-9);
  assert.ok(Math.abs(r.real.metrics.gsnrMean - real.gsnrMean) < 1e-6 * real.gsnrMean, `${r.real.metrics.gsnrMean} vs ${real.gsnrMean}`);
  assert.ok(Math.abs(r.real.metrics.gradientDiversity - 1 / real.mCoherence) < 1e-9);

  // Per layer: W2 alone.
  const k = prepared.params.indexOf('W2');
  const o = runner.offsets[k]!;
  const size = 18;
  const sumW2 = real.per.reduce((a, g) => a.map((v, i) => v + g[o + i]!), new Float64Array(size));
  const topW2 = sumW2.reduce((s, v) => s + v * v, 0);
  const bottomW2 = real.per.reduce((s, g) => s + g.subarray(o, o + size).reduce((t, v) => t + v * v, 0), 0);
  const layer = r.real.perLayer.find((l) => l.name === 'W2')!;
  assert.ok(Math.abs(layer.mCoherence - topW2 / bottomW2) < 1e-9 * layer.mCoherence);

  const shuffled = Array.from(shuffleSamples(Int32Array.from(y), 1, 3));
  const control = await direct(shuffled);
  assert.ok(r.randomLabels);
  assert.ok(Math.abs(r.randomLabels.metrics.mCoherence - control.mCoherence) < 1e-9 * control.mCoherence);
  assert.notDeepEqual(shuffled, y);
  await runner.release();
});
