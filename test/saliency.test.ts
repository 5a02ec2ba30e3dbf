/**
 * Saliency maps on hand-built models whose answers are worked out here in float64.
 *
 * The conv model: x [N,2,5,5] -> Conv(3 filters 3x3, pad 1) = Z -> Relu = A -> GlobalAveragePool
 * -> Flatten -> Gemm(W2 [4,3]) -> scores. The score of class t is sum_k W2[t,k] mean(A_k) + b2[t],
 * so d score / d A_k(p) = W2[t,k] / 25 at every position (constant per channel), and
 * d score / d Z_k(p) = W2[t,k] / 25 [Z_k(p) > 0]. Every map follows in closed form from Z,
 * which the test computes with its own float64 convolution. ORT runs Conv in float32 only, so
 * maps agree to float32 rounding: |diff| <= 1e-5 on normalized maps, 1e-5 relative on the raw
 * range. A wrong formula (mean vs sum, squared vs not, a missing ReLU, a wrong channel or a
 * wrong patch) gives O(0.1) differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor } from '../native/onnx/tensor.js';
import { int, ints, serializeModel, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import { saliencyAnalyzer, parseIndices, candidateLayers, type SaliencyParams, type SaliencyResult } from '../analyzers/saliency/index.js';
import { validateParams } from '../analyzers/params.js';
import type { LoadedDataset, LoadedModel } from '../analyzers/types.js';
import { AppError } from '../common/errors.js';

const N = 3;
const CIN = 2;
const K = 3;
const H = 5;
const W = 5;
const CLASSES = 4;
const rng = new Rng(2024);
const randArr = (n: number, s = 1) => Array.from({ length: n }, () => s * rng.normal());
const w1 = randArr(K * CIN * 9, 0.5);
const b1 = [0.1, -0.2, 0.05];
const w2 = [0.9, -0.4, 0.3, -0.5, 0.8, 0.2, 0.1, 0.2, -0.7, -0.3, -0.6, 0.9];
const b2 = [0.1, 0, -0.1, 0.2];
const xs = Array.from({ length: N }, () => randArr(CIN * H * W));
const labels = [1, 0, 3];

/** Conv -> Relu -> GAP -> Gemm; with `sigmoid`, one logit and its sigmoid as the output. */
function convModel(batch: number | string, head: { w2: number[]; b2: number[]; sigmoid?: boolean } = { w2, b2 }): Model {
  const scores = head.sigmoid ? 'logit' : 'scores';
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: [batch, CIN, H, W] }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['Z'], attrs: { pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) } },
      { op: 'Relu', inputs: ['Z'], outputs: ['A'] },
      { op: 'GlobalAveragePool', inputs: ['A'], outputs: ['P'] },
      { op: 'Flatten', inputs: ['P'], outputs: ['F'] },
      { op: 'Gemm', inputs: ['F', 'w2', 'b2'], outputs: [scores], attrs: { transB: int(1) } },
      ...(head.sigmoid ? [{ op: 'Sigmoid', inputs: ['logit'], outputs: ['prob'] }] : []),
    ],
    outputs: [head.sigmoid ? 'prob' : 'scores'],
    initializers: {
      w1: tensor('float32', [K, CIN, 3, 3], w1),
      b1: tensor('float32', [K], b1),
      w2: tensor('float32', [head.b2.length, K], head.w2),
      b2: tensor('float32', [head.b2.length], head.b2),
    },
  });
}

function loaded(model: Model): LoadedModel {
  const bytes = serializeModel(model);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes, ir: model };
}

function dataset(x: number[][], y: number[], shape: number[]): LoadedDataset {
  return { sha256: 'd', format: 'npz', count: x.length, sampleShape: shape, x: Float32Array.from(x.flat()), y: Int32Array.from(y), yShape: [] };
}

const f32 = (v: number) => Math.fround(v);

/** Float64 convolution of float32-rounded values, pad 1, 3x3: Z[k][p]. */
function refConv(x: number[]): number[][] {
  return Array.from({ length: K }, (_, k) => {
    const out: number[] = [];
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        let s = f32(b1[k]!);
        for (let c = 0; c < CIN; c++)
          for (let a = 0; a < 3; a++)
            for (let b = 0; b < 3; b++) {
              const y = i + a - 1;
              const z = j + b - 1;
              if (y < 0 || y >= H || z < 0 || z >= W) continue;
              s += f32(w1[((k * CIN + c) * 3 + a) * 3 + b]!) * f32(x[(c * H + y) * W + z]!);
            }
        out.push(s);
      }
    return out;
  });
}

const S = H * W;
const relu = (v: number) => (v > 0 ? v : 0);
/** d score_t / d A_k (constant over positions). */
const gA = (t: number) => Array.from({ length: K }, (_, k) => f32(w2[t * K + k]!) / S);

function expectedMap(method: string, x: number[], t: number): number[] {
  const Z = refConv(x);
  const A = Z.map((z) => z.map(relu));
  const g = gA(t);
  const map = new Array<number>(S).fill(0);
  switch (method) {
    case 'gradcam':
      for (let k = 0; k < K; k++) for (let p = 0; p < S; p++) map[p]! += g[k]! * A[k]![p]!;
      return map.map(relu);
    case 'gradcampp': {
      for (let k = 0; k < K; k++) {
        const sumA = A[k]!.reduce((a, b) => a + b, 0);
        const den = 2 * g[k]! ** 2 + sumA * g[k]! ** 3;
        const alpha = den === 0 ? 0 : g[k]! ** 2 / den;
        const wk = S * alpha * relu(g[k]!);
        for (let p = 0; p < S; p++) map[p]! += wk * A[k]![p]!;
      }
      return map.map(relu);
    }
    case 'virtual-identity': {
      const gn = Math.sqrt(g.reduce((a, v) => a + v * v, 0));
      return map.map((_, p) => Math.sqrt(A.reduce((a, Ak) => a + Ak[p]! ** 2, 0)) * gn);
    }
    case 'selective':
      return map.map((_, p) => Math.sqrt(A.reduce((a, Ak, k) => a + relu(Ak[p]! * g[k]!) ** 2, 0)));
    case 'proper': {
      // layer Z: gradient g_k [Z_k > 0]; patch = the 2 x 3 x 3 input window (zeros outside).
      return map.map((_, p) => {
        const i = Math.floor(p / W);
        const j = p % W;
        let patch = 0;
        for (let c = 0; c < CIN; c++)
          for (let a = -1; a <= 1; a++)
            for (let b = -1; b <= 1; b++) {
              if (i + a < 0 || i + a >= H || j + b < 0 || j + b >= W) continue;
              patch += f32(x[(c * H + i + a) * W + j + b]!) ** 2;
            }
        let gsq = 0;
        for (let k = 0; k < K; k++) if (Z[k]![p]! > 0) gsq += g[k]! ** 2;
        return Math.sqrt(gsq * patch);
      });
    }
    case 'gradient': {
      // d score / d x[c,y,z] = sum_k sum_{i,j} g_k [Z_k(i,j) > 0] w1[k,c,y-i+1,z-j+1].
      const gx = new Array<number>(CIN * S).fill(0);
      for (let k = 0; k < K; k++)
        for (let i = 0; i < H; i++)
          for (let j = 0; j < W; j++) {
            if (!(Z[k]![i * W + j]! > 0)) continue;
            for (let c = 0; c < CIN; c++)
              for (let a = 0; a < 3; a++)
                for (let b = 0; b < 3; b++) {
                  const y = i + a - 1;
                  const z = j + b - 1;
                  if (y < 0 || y >= H || z < 0 || z >= W) continue;
                  gx[(c * H + y) * W + z]! += g[k]! * f32(w1[((k * CIN + c) * 3 + a) * 3 + b]!);
                }
          }
      return map.map((_, p) => Math.max(...Array.from({ length: CIN }, (_, c) => Math.abs(gx[c * S + p]!))));
    }
  }
  throw new Error(method);
}

function normalized(m: number[]): { v: number[]; min: number; max: number } {
  const min = Math.min(...m);
  const max = Math.max(...m);
  return { v: m.map((x) => (max > min ? (x - min) / (max - min) : 0)), min, max };
}

async function analyze(model: Model, data: LoadedDataset, params: Record<string, unknown>, artifacts?: Map<string, Uint8Array>): Promise<SaliencyResult> {
  return saliencyAnalyzer.run({
    model: loaded(model),
    dataset: data,
    params: validateParams(saliencyAnalyzer.params, params) as SaliencyParams,
    progress: () => {},
    signal: new AbortController().signal,
    ...(artifacts ? { artifacts: { write: async (name: string, bytes: Uint8Array) => void artifacts.set(name, bytes) } } : {}),
  });
}

function assertClose(actual: number[], expected: number[], tol: number, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= tol, `${label}: max |diff| ${worst} > ${tol}`);
}

const model = convModel('N');
const data = dataset(xs, labels, [CIN, H, W]);

function checkMaps(r: SaliencyResult, method: string, label: string) {
  assert.equal(r.maps.length, N);
  for (const m of r.maps) {
    const exp = normalized(expectedMap(method, xs[m.index]!, m.target));
    assert.ok(exp.max > exp.min, `${label}: the expected map is not constant`);
    assertClose(m.values, exp.v, 1e-5, `${label} sample ${m.index}`);
    assert.ok(Math.abs(m.rawMax - exp.max) <= 1e-5 * Math.abs(exp.max) + 1e-9, `${label}: rawMax ${m.rawMax} vs ${exp.max}`);
    assert.ok(Math.abs(m.rawMin - exp.min) <= 1e-5 * Math.abs(exp.max) + 1e-9, `${label}: rawMin ${m.rawMin} vs ${exp.min}`);
    assert.deepEqual(m.shape, [H, W]);
    // Same resolution as the input: upsampling is the identity.
    assertClose(m.upsampled, m.values, 0, `${label} upsampled`);
  }
}

test('Grad-CAM, Grad-CAM++ and NormGrad maps equal the closed forms (conv model, labels as targets)', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ method: 'gradcam' }, 'gradcam'],
    [{ method: 'gradcampp' }, 'gradcampp'],
    [{ method: 'normgrad' }, 'virtual-identity'],
    [{ method: 'normgrad', variant: 'selective' }, 'selective'],
  ];
  for (const [p, method] of cases) {
    const r = await analyze(model, data, { ...p, layer: 'A', target: 'label', indices: '0-2' });
    assert.deepEqual(r.layers, ['A']);
    assert.deepEqual(r.maps.map((m) => m.target), labels);
    assert.equal(r.batched, true);
    checkMaps(r, method, method);
  }
  // The closed forms differ from each other, so matching one is not matching any.
  const a = normalized(expectedMap('gradcam', xs[0]!, 1)).v;
  const b = normalized(expectedMap('virtual-identity', xs[0]!, 1)).v;
  assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 0.05));
});

test('proper NormGrad (conv input patch norm x output gradient norm) and gradient maps', async () => {
  const proper = await analyze(model, data, { method: 'normgrad', variant: 'proper', target: 'label', indices: 'all' });
  assert.deepEqual(proper.layers, ['Z'], 'proper defaults to the last Conv output');
  checkMaps(proper, 'proper', 'proper');
  const grad = await analyze(model, data, { method: 'gradient', target: 'label', indices: 'all' });
  assert.deepEqual(grad.layers, ['x']);
  checkMaps(grad, 'gradient', 'gradient');
  // SmoothGrad without noise is the gradient map, whatever the number of copies.
  const sg = await analyze(model, data, { method: 'smoothgrad', sigma: 0, samples: 3, target: 'label', indices: 'all' });
  sg.maps.forEach((m, i) => assertClose(m.values, grad.maps[i]!.values, 1e-12, 'smoothgrad sigma 0'));
  await assert.rejects(analyze(model, data, { method: 'normgrad', variant: 'proper', layer: 'A' }), (e: AppError) => e.code === 'BAD_PARAMS' && /Conv/.test(e.message));
});

test('Smooth Grad-CAM++ with samples=1, sigma=0 equals Grad-CAM++ exactly; noise does not reach the activations', async () => {
  const pp = await analyze(model, data, { method: 'gradcampp', layer: 'A', indices: 'all' });
  const s1 = await analyze(model, data, { method: 'smoothgradcampp', layer: 'A', indices: 'all', samples: 1, sigma: 0 });
  assert.deepEqual(s1.maps.map((m) => m.values), pp.maps.map((m) => m.values));
  assert.deepEqual(s1.maps.map((m) => [m.rawMin, m.rawMax]), pp.maps.map((m) => [m.rawMin, m.rawMax]));
  // Here d score / d A is W2/25 for every input, so noisy copies average to the same terms and
  // the map (made from the clean activations) is Grad-CAM++ again, to float rounding.
  const noisy = await analyze(model, data, { method: 'smoothgradcampp', layer: 'A', indices: 'all', samples: 4, sigma: 0.3, seed: 7 });
  assert.equal(noisy.samples, 4);
  noisy.maps.forEach((m, i) => assertClose(m.values, pp.maps[i]!.values, 1e-9, 'smooth with noise'));
  // ...whereas SmoothGrad's input gradient does depend on the noise (ReLU masks move).
  const g0 = await analyze(model, data, { method: 'gradient', indices: 'all' });
  const sg = await analyze(model, data, { method: 'smoothgrad', indices: 'all', samples: 4, sigma: 0.3, seed: 7 });
  assert.ok(sg.maps.some((m, i) => m.values.some((v, p) => Math.abs(v - g0.maps[i]!.values[p]!) > 1e-3)));
  const again = await analyze(model, data, { method: 'smoothgrad', indices: '2', samples: 4, sigma: 0.3, seed: 7 });
  assert.deepEqual(again.maps[0]!.values, sg.maps[2]!.values, 'noise is seeded per sample, independent of batching');
});

test('targets: predicted is the argmax of the scores, a fixed class index, errors name the param', async () => {
  const pred = await analyze(model, data, { method: 'gradcam', layer: 'A', indices: 'all' });
  for (const m of pred.maps) {
    const Z = refConv(xs[m.index]!);
    const pooled = Z.map((z) => z.map(relu).reduce((a, b) => a + b, 0) / S);
    const scores = Array.from({ length: CLASSES }, (_, t) => pooled.reduce((a, v, k) => a + v * f32(w2[t * K + k]!), f32(b2[t]!)));
    const best = scores.indexOf(Math.max(...scores));
    assert.equal(m.predicted, best);
    assert.equal(m.target, best);
    assert.ok(Math.abs(m.score - scores[best]!) < 1e-5);
    const e = scores.map((s) => Math.exp(s - scores[best]!));
    assert.ok(Math.abs(m.probability - 1 / e.reduce((a, b) => a + b, 0)) < 1e-6);
  }
  const fixed = await analyze(model, data, { method: 'gradcam', layer: 'A', target: '2', indices: '1' });
  assert.equal(fixed.maps[0]!.target, 2);
  checkMaps({ ...fixed, maps: fixed.maps.concat(fixed.maps, fixed.maps) }, 'gradcam', 'fixed target');
  await assert.rejects(analyze(model, data, { target: '9' }), (e: AppError) => e.code === 'BAD_PARAMS' && /target/.test(e.message));
  await assert.rejects(analyze(model, data, { target: 'top' }), (e: AppError) => e.code === 'BAD_PARAMS');
  await assert.rejects(analyze(model, data, { indices: '5-6' }), (e: AppError) => e.code === 'BAD_PARAMS' && /indices/.test(e.message));
  await assert.rejects(analyze(model, data, { layer: 'F' }), (e: AppError) => e.code === 'BAD_PARAMS' && /spatial/.test(e.message));
  await assert.rejects(analyze(model, data, { layer: 'nope' }), (e: AppError) => e.code === 'BAD_PARAMS' && /candidates: Z, A/.test(e.message));
});

test('Smooth Grad-CAM++ subsets: feature maps (channels) and positions (neurons)', async () => {
  const sub = await analyze(model, data, { method: 'smoothgradcampp', samples: 1, sigma: 0, layer: 'A', target: 'label', indices: 'all', channels: '0,2' });
  const full = await analyze(model, data, { method: 'gradcampp', layer: 'A', target: 'label', indices: 'all', neurons: '0-12' });
  for (const m of sub.maps) {
    const A = refConv(xs[m.index]!).map((z) => z.map(relu));
    const g = gA(m.target);
    const map = new Array<number>(S).fill(0);
    for (const k of [0, 2]) {
      const sumA = A[k]!.reduce((a, b) => a + b, 0);
      const den = 2 * g[k]! ** 2 + sumA * g[k]! ** 3;
      const wk = S * (den === 0 ? 0 : g[k]! ** 2 / den) * relu(g[k]!);
      for (let p = 0; p < S; p++) map[p]! += wk * A[k]![p]!;
    }
    const exp = normalized(map.map(relu));
    if (exp.max === 0) {
      assert.equal(m.rawMax, 0, 'no positive weight among the kept channels: an all-zero map');
      continue;
    }
    assertClose(m.values, exp.v, 1e-5, `channels subset sample ${m.index}`);
    assert.ok(Math.abs(m.rawMax - exp.max) <= 1e-5 * exp.max);
  }
  // g is constant over positions, so keeping 13 of 25 positions scales every weight by 13/25.
  const pp = await analyze(model, data, { method: 'gradcampp', layer: 'A', target: 'label', indices: 'all' });
  full.maps.forEach((m, i) => {
    assertClose(m.values, pp.maps[i]!.values, 1e-9, 'neurons subset');
    assert.ok(Math.abs(m.rawMax - (13 / 25) * pp.maps[i]!.rawMax) <= 1e-9 * pp.maps[i]!.rawMax);
  });
  await assert.rejects(analyze(model, data, { method: 'gradcampp', layer: 'A', channels: '3' }), (e: AppError) => e.code === 'BAD_PARAMS' && /channels/.test(e.message));
  await assert.rejects(analyze(model, data, { method: 'normgrad', channels: '0' }), (e: AppError) => e.code === 'BAD_PARAMS');
});

test('indices parsing', () => {
  assert.deepEqual(parseIndices('0,1,2,3', 10), [0, 1, 2, 3]);
  assert.deepEqual(parseIndices('0-9', 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(parseIndices('7, 0-2,1', 10), [0, 1, 2, 7]);
  assert.deepEqual(parseIndices('all', 3), [0, 1, 2]);
  assert.throws(() => parseIndices('3-1', 10), /backwards/);
  assert.throws(() => parseIndices('a', 10), /cannot read/);
  assert.deepEqual(parseIndices('0-9', 3), [0, 1, 2], 'a range stops at the last sample');
  assert.throws(() => parseIndices('3', 3), /out of range/);
});

test('multi-layer NormGrad: weighted sum and weighted geometric mean of normalized maps', async () => {
  for (const combine of ['sum', 'geometric'] as const) {
    const r = await analyze(model, data, { method: 'normgrad', layer: 'Z,A', combine, weights: '1,3', target: 'label', indices: 'all' });
    assert.deepEqual(r.layers, ['Z', 'A']);
    for (const m of r.maps) {
      // Layer Z: d score / d Z = g [Z > 0]; its NormGrad is ||Z(p)|| ||g masked||.
      const Z = refConv(xs[m.index]!);
      const g = gA(m.target);
      const mz = normalized(Array.from({ length: S }, (_, p) => Math.sqrt(Z.reduce((a, zk) => a + zk[p]! ** 2, 0)) * Math.sqrt(Z.reduce((a, zk, k) => a + (zk[p]! > 0 ? g[k]! ** 2 : 0), 0)))).v;
      const ma = normalized(expectedMap('virtual-identity', xs[m.index]!, m.target)).v;
      const comb = mz.map((v, p) => (combine === 'sum' ? 0.25 * v + 0.75 * ma[p]! : Math.pow(v, 0.25) * Math.pow(ma[p]!, 0.75)));
      assertClose(m.values, normalized(comb).v, 1e-5, `${combine} sample ${m.index}`);
    }
  }
  await assert.rejects(analyze(model, data, { method: 'normgrad', layer: 'Z,A', weights: '1' }), (e: AppError) => e.code === 'BAD_PARAMS' && /weights/.test(e.message));
});

test('a model that cannot be batched runs per sample with the same maps', async () => {
  // Reshape [1,3,1,1] -> [3] hard-codes a non-batch first entry: batchify refuses it.
  const fixed = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, CIN, H, W] }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['Z'], attrs: { pads: ints([1, 1, 1, 1]), kernel_shape: ints([3, 3]) } },
      { op: 'Relu', inputs: ['Z'], outputs: ['A'] },
      { op: 'GlobalAveragePool', inputs: ['A'], outputs: ['P'] },
      { op: 'Reshape', inputs: ['P', 'shape3'], outputs: ['F'] },
      { op: 'MatMul', inputs: ['F', 'w2t'], outputs: ['L'] },
      { op: 'Add', inputs: ['L', 'b2'], outputs: ['L2'] },
      { op: 'Reshape', inputs: ['L2', 'shape14'], outputs: ['scores'] },
    ],
    outputs: ['scores'],
    initializers: {
      w1: tensor('float32', [K, CIN, 3, 3], w1),
      b1: tensor('float32', [K], b1),
      shape3: tensor('int64', [1], [K]),
      w2t: tensor('float32', [K, CLASSES], Array.from({ length: K * CLASSES }, (_, i) => w2[(i % CLASSES) * K + Math.floor(i / CLASSES)]!)),
      b2: tensor('float32', [CLASSES], b2),
      shape14: tensor('int64', [2], [1, CLASSES]),
    },
  });
  const r = await analyze(fixed, data, { method: 'gradcampp', layer: 'A', target: 'label', indices: 'all' });
  assert.equal(r.batched, false);
  assert.ok(r.notes.some((n) => /one sample at a time/.test(n)));
  checkMaps(r, 'gradcampp', 'per-sample');
});

test('transformer tokens [N, 1 + 4, C] map to a 2 x 2 grid with the class token dropped', async () => {
  const T = 5;
  const C = 3;
  const D = 4;
  const wt = randArr(C * D);
  const wc = [0.5, -1, 0.25, 0.75, -0.5, 0.3, 0.9, -0.2];
  const tok = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: ['N', T, C] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'wt'], outputs: ['Hid'] },
      { op: 'ReduceMean', inputs: ['Hid', 'axes'], outputs: ['M'], attrs: { keepdims: int(0) } },
      { op: 'Gemm', inputs: ['M', 'wc'], outputs: ['scores'], attrs: { transB: int(1) } },
    ],
    outputs: ['scores'],
    initializers: { wt: tensor('float32', [C, D], wt), axes: tensor('int64', [1], [1]), wc: tensor('float32', [2, D], wc) },
  });
  const tx = [randArr(T * C), randArr(T * C)];
  const r = await analyze(tok, dataset(tx, [0, 1], [T, C]), { method: 'gradcam', layer: 'Hid', target: 'label', indices: 'all' });
  for (const m of r.maps) {
    assert.deepEqual(m.shape, [2, 2]);
    const x = tx[m.index]!;
    // d score / d Hid[t, d] = wc[target, d] / T at every token; Grad-CAM averages over the grid.
    const map = Array.from({ length: 4 }, (_, p) => {
      let s = 0;
      for (let d = 0; d < D; d++) {
        let h = 0;
        for (let c = 0; c < C; c++) h += f32(x[(p + 1) * C + c]!) * f32(wt[c * D + d]!);
        s += (f32(wc[m.target * D + d]!) / T) * h;
      }
      return relu(s);
    });
    const exp = normalized(map);
    assert.ok(exp.max > exp.min);
    assertClose(m.values, exp.v, 1e-5, `tokens sample ${m.index}`);
  }
});

test('overlays: one PNG per sample, jet colours follow the map', async () => {
  const files = new Map<string, Uint8Array>();
  const r = await analyze(model, data, { method: 'gradcam', layer: 'A', indices: '0,2', imageWeight: 0 }, files);
  assert.deepEqual([...files.keys()].sort(), ['saliency_0.png', 'saliency_2.png']);
  assert.equal(r.maps[1]!.overlay, 'saliency_2.png');
  for (const m of r.maps) {
    const png = PNG.sync.read(Buffer.from(files.get(`saliency_${m.index}.png`)!));
    assert.equal(png.width, W * 8);
    assert.equal(png.height, H * 8);
    const at = (p: number) => {
      const k = ((Math.floor(p / W) * 8 + 4) * png.width + (p % W) * 8 + 4) * 4;
      return [png.data[k]!, png.data[k + 1]!, png.data[k + 2]!];
    };
    const hot = at(m.values.indexOf(1));
    const cold = at(m.values.indexOf(0));
    assert.ok(hot[0]! > hot[2]!, `hot pixel is red: ${hot}`);
    assert.ok(cold[2]! > cold[0]!, `cold pixel is blue: ${cold}`);
  }
});

test('candidate layers: conv and activation outputs with a spatial map, in graph order', async () => {
  const c = await candidateLayers(model);
  assert.deepEqual(c.map((l) => [l.name, l.kind, l.h, l.w]), [
    ['Z', 'conv', H, W],
    ['A', 'activation', H, W],
  ]);
  const r = await analyze(model, data, { method: 'gradcam', indices: '0' });
  assert.deepEqual(r.layers, ['A'], 'default layer: the last conv/activation output');
  assert.deepEqual(r.candidateLayers, ['Z', 'A']);
});

/** Spearman by the textbook route: average ranks, then Pearson (independent of metrics.ts). */
function spearmanRef(a: number[], b: number[]): number {
  const rank = (v: number[]) => v.map((x) => v.filter((y) => y < x).length + (v.filter((y) => y === x).length + 1) / 2);
  const ra = rank(a);
  const rb = rank(b);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < ra.length; i++) {
    ab += (ra[i]! - ma) * (rb[i]! - mb);
    aa += (ra[i]! - ma) ** 2;
    bb += (rb[i]! - mb) ** 2;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

test('class sensitivity: Spearman between the maps of the top and the bottom class', async () => {
  const r = await analyze(model, data, { method: 'gradcampp', layer: 'A', indices: 'all', metrics: ['classSensitivity'] });
  const cs = r.metrics!.classSensitivity!;
  for (const m of r.maps) {
    const Z = refConv(xs[m.index]!);
    const pooled = Z.map((z) => z.map(relu).reduce((a, b) => a + b, 0) / S);
    const scores = Array.from({ length: CLASSES }, (_, t) => pooled.reduce((a, v, k) => a + v * w2[t * K + k]!, b2[t]!));
    const top = scores.indexOf(Math.max(...scores));
    const bottom = scores.indexOf(Math.min(...scores));
    const expected = spearmanRef(normalized(expectedMap('gradcampp', xs[m.index]!, top)).v, normalized(expectedMap('gradcampp', xs[m.index]!, bottom)).v);
    assert.ok(Math.abs(cs.perIndex[m.index]! - expected) < 1e-9, `sample ${m.index}: ${cs.perIndex[m.index]} vs ${expected}`);
  }
  assert.ok(Math.abs(cs.mean - cs.perIndex.reduce((a, b) => a + b, 0) / N) < 1e-12);
  assert.ok(cs.perIndex.some((v) => v < 0.99), 'the maps of different classes differ');
});

test('deletion and insertion curves: target probability as pixels are removed / inserted in saliency order', async () => {
  const steps = 5;
  const r = await analyze(model, data, { method: 'normgrad', layer: 'A', target: 'label', indices: 'all', metrics: ['deletion', 'insertion'], steps });
  const del = r.metrics!.deletion!;
  assert.equal(del.steps, steps);
  for (const m of r.maps) {
    const x = xs[m.index]!;
    // Positions by decreasing map value (ties by position); step k zeroes the first round(25 k / 5).
    const order = m.upsampled.map((v, p) => [v, p] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, p]) => p);
    const curve: number[] = [];
    for (let k = 0; k <= steps; k++) {
      const removed = new Set(order.slice(0, Math.round((k * S) / steps)));
      const xk = x.map((v, i) => (removed.has(i % S) ? 0 : v));
      const Z = refConv(xk);
      const pooled = Z.map((z) => z.map(relu).reduce((a, b) => a + b, 0) / S);
      const scores = Array.from({ length: CLASSES }, (_, t) => pooled.reduce((a, v, kk) => a + v * f32(w2[t * K + kk]!), f32(b2[t]!)));
      const e = scores.map((s) => Math.exp(s));
      curve.push(e[m.target]! / e.reduce((a, b) => a + b, 0));
    }
    const area = (curve.reduce((a, b) => a + b, 0) - curve[0]! / 2 - curve[steps]! / 2) / steps;
    assert.ok(Math.abs(del.perIndex[m.index]! - area) < 1e-5, `deletion AUC ${del.perIndex[m.index]} vs ${area}`);
    assert.ok(Math.abs(curve[0]! - m.probability) < 1e-5, 'the curve starts at the clean probability');
  }
  const ins = r.metrics!.insertion!;
  assert.equal(ins.meanCurve.length, steps + 1);
  // Insertion ends at the clean image: its last point is the clean probability on average.
  const cleanMean = r.maps.reduce((a, m) => a + m.probability, 0) / N;
  assert.ok(Math.abs(ins.meanCurve[steps]! - cleanMean) < 1e-5);
});

test('model randomization: cascading re-draws from the top change the maps, seeded', async () => {
  const p = { method: 'gradcam', layer: 'A', indices: 'all', target: 'label', metrics: ['randomization'], seed: 3 };
  const r = await analyze(model, data, p);
  const rz = r.metrics!.randomization!;
  assert.deepEqual(rz.steps.map((s) => s.randomized), [['Gemm_4'], ['Gemm_4', 'Conv_0']]);
  for (const s of rz.steps) {
    assert.equal(s.perIndex.length, N);
    for (const v of s.perIndex) assert.ok(v >= -1 && v <= 1);
  }
  assert.ok(rz.finalSpearman < 0.9, `maps change: final Spearman ${rz.finalSpearman}`);
  const again = await analyze(model, data, p);
  assert.deepEqual(again.metrics!.randomization, rz, 'same seed, same result');
  const other = await analyze(model, data, { ...p, seed: 4 });
  assert.notDeepEqual(other.metrics!.randomization!.steps[1]!.perIndex, rz.steps[1]!.perIndex);
});

test('a sigmoid output: the logit is differentiated (Grad-CAM++ is not scale-invariant), probability = sigmoid', async () => {
  const bin = convModel('N', { w2: w2.slice(K, 2 * K), b2: [0.1], sigmoid: true });
  const r = await analyze(bin, data, { method: 'gradcampp', layer: 'A', indices: 'all', target: '0' });
  assert.equal(r.scoreTensor, 'logit');
  assert.equal(r.numClasses, 1);
  for (const m of r.maps) {
    // Class 1's weights of the 4-class model are this model's only row: same closed form.
    const exp = normalized(expectedMap('gradcampp', xs[m.index]!, 1));
    assertClose(m.values, exp.v, 1e-5, `binary sample ${m.index}`);
    assert.ok(Math.abs(m.probability - 1 / (1 + Math.exp(-m.score))) < 1e-12);
  }
});

test('a cancelled analysis stops with CANCELLED and reports progress up to 1 otherwise', async () => {
  const ac = new AbortController();
  ac.abort();
  const run = (signal: AbortSignal, progress: (f: number) => void) =>
    saliencyAnalyzer.run({
      model: loaded(model),
      dataset: data,
      params: validateParams(saliencyAnalyzer.params, { layer: 'A', indices: 'all', batchSize: 1 }) as SaliencyParams,
      progress,
      signal,
    });
  await assert.rejects(run(ac.signal, () => {}), (e: AppError) => e.code === 'CANCELLED');
  const seen: number[] = [];
  await run(new AbortController().signal, (f) => seen.push(f));
  assert.equal(seen[seen.length - 1], 1);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'progress never goes back');
});
