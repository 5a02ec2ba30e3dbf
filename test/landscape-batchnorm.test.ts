/**
 * Batch-norm statistics recomputed along the line between two models (analyzers/landscape/
 * batchnorm.ts), checked against the same computation by hand: x W -> BatchNormalization,
 * MSE loss, two batches, so the running statistics are the average over batches of the batch
 * mean and of the unbiased batch variance (torch.optim.swa_utils.update_bn).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float, serializeModel, type Model } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';
import type { LoadedDataset, LoadedModel } from '../analyzers/types.js';
import { landscapeAnalyzer, type LandscapeParams } from '../analyzers/landscape/index.js';
import { tinyModel } from './helpers/tiny-models.js';

const N = 12;
const BATCH = 6;
const EPS = 1e-3;

interface Weights {
  W: number[]; // 3 x 2, row-major
  scale: number[];
  bias: number[];
}

const STORED = { mean: [0.5, -0.5], variance: [2, 0.5] };

function model(w: Weights): Model {
  return tinyModel({
    input: { name: 'x', shape: ['N', 3] },
    output: { name: 'y', shape: ['N', 2] },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['z'] },
      { op: 'BatchNormalization', inputs: ['z', 'scale', 'bias', 'mean', 'var'], outputs: ['y'], attrs: { epsilon: float(EPS) } },
    ],
    initializers: {
      W: tensor('float32', [3, 2], w.W),
      scale: tensor('float32', [2], w.scale),
      bias: tensor('float32', [2], w.bias),
      mean: tensor('float32', [2], STORED.mean),
      var: tensor('float32', [2], STORED.variance),
    },
  });
}

const A: Weights = { W: [0.9, 0.1, -0.2, 0.4, -1.5, 0.3], scale: [1.2, 0.7], bias: [0.1, -0.2] };
const B: Weights = { W: [-1.1, 0.6, 0.8, -0.3, 0.4, 1.9], scale: [0.5, 1.5], bias: [-0.3, 0.4] };

const rng = new Rng(11);
const X = Array.from({ length: N * 3 }, () => Math.fround(rng.uniform(-1, 1)));
const Y = Array.from({ length: N * 2 }, () => Math.fround(rng.uniform(-1, 1)));
const data: LoadedDataset = {
  sha256: 'bn-data', format: 'npz', count: N, sampleShape: [3], x: Float32Array.from(X), y: Float32Array.from(Y), yShape: [2],
};

const lerp = (a: number[], b: number[], t: number) => a.map((v, i) => Math.fround(v) * (1 - t) + Math.fround(b[i]!) * t);

/** The loss at t on the line, with the given statistics (or those recomputed as update_bn does). */
function lossAt(t: number, stats: 'stored' | 'recomputed'): number {
  const W = lerp(A.W, B.W, t);
  const scale = lerp(A.scale, B.scale, t);
  const bias = lerp(A.bias, B.bias, t);
  const z = Array.from({ length: N }, (_, i) => [0, 1].map((k) => [0, 1, 2].reduce((s, j) => s + X[i * 3 + j]! * W[j * 2 + k]!, 0)));
  let mean = STORED.mean.map(Math.fround);
  let variance = STORED.variance.map(Math.fround);
  if (stats === 'recomputed') {
    mean = [0, 0];
    variance = [0, 0];
    for (let start = 0; start < N; start += BATCH) {
      const rows = z.slice(start, start + BATCH);
      for (const k of [0, 1]) {
        const m = rows.reduce((s, r) => s + r[k]!, 0) / rows.length;
        const unbiased = rows.reduce((s, r) => s + (r[k]! - m) ** 2, 0) / (rows.length - 1);
        mean[k]! += m / (N / BATCH);
        variance[k]! += unbiased / (N / BATCH);
      }
    }
  }
  let loss = 0;
  for (let i = 0; i < N; i++) {
    for (const k of [0, 1]) {
      const out = (scale[k]! * (z[i]![k]! - mean[k]!)) / Math.sqrt(variance[k]! + Math.fround(EPS)) + bias[k]!;
      loss += (out - Y[i * 2 + k]!) ** 2 / 2;
    }
  }
  return loss / N;
}

const loaded = (m: Model, sha: string): LoadedModel => ({ sha256: sha, bytes: serializeModel(m), ir: m });

function analyze(recomputeBatchNorm: boolean) {
  const b = loaded(model(B), 'b');
  return landscapeAnalyzer.run({
    model: loaded(model(A), 'a'),
    dataset: data,
    params: {
      surface: 'none', range: 1, resolution: 5, normalization: 'filter', ignoreBiasAndNorm: true, points: 3, curve: false, curveEpochs: 0, curveLr: 0.01,
      curveMomentum: 0, recomputeBatchNorm, cka: false, batchSize: BATCH, maxSamples: 1000, loss: 'mse', precision: 'float64', seed: 0, otherModel: 'b',
    } as LandscapeParams,
    progress: () => undefined,
    signal: new AbortController().signal,
    resolveModel: async () => b,
  });
}

test('along the line, batch-norm statistics are recomputed at each point as update_bn does', async () => {
  const r = await analyze(true);
  assert.deepEqual(r.interpolation!.ts, [0, 0.5, 1]);
  for (const [i, t] of [0, 0.5, 1].entries()) {
    const want = lossAt(t, 'recomputed');
    assert.ok(Math.abs(r.interpolation!.losses[i]! - want) <= 1e-9 * Math.max(1, want), `t=${t}: ${r.interpolation!.losses[i]} vs ${want}`);
  }
  // The model's own loss still uses the statistics it was saved with.
  assert.ok(Math.abs(r.loss - lossAt(0, 'stored')) <= 1e-9 * Math.max(1, r.loss));
  assert.equal(r.batched, true);
  assert.ok(r.notes.some((n) => /batch-norm statistics of 1 layer\(s\) recomputed/.test(n)), r.notes.join('; '));
  // It matters: the stored statistics give a different loss at the midpoint.
  assert.ok(Math.abs(lossAt(0.5, 'stored') - lossAt(0.5, 'recomputed')) > 0.1);
});

test('with recomputeBatchNorm false the line uses the stored statistics', async () => {
  const r = await analyze(false);
  for (const [i, t] of [0, 0.5, 1].entries()) {
    const want = lossAt(t, 'stored');
    assert.ok(Math.abs(r.interpolation!.losses[i]! - want) <= 1e-9 * Math.max(1, want), `t=${t}: ${r.interpolation!.losses[i]} vs ${want}`);
  }
  assert.ok(!r.notes.some((n) => /batch-norm/.test(n)));
});
