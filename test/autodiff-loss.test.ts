/**
 * The loss head, parameter lifting, the flat-vector runner and per-example gradient geometry,
 * each against closed forms computed here in float64.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, ints } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import { assertSupported, prepareLossModel } from '../native/autodiff/index.js';
import { LossRunner, sliceBatch, type Batch } from '../native/autodiff/runner.js';
import { AppError } from '../common/errors.js';

const rng = new Rng(42);
const randn = (dims: number[], scale = 1) =>
  tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()));

const f32 = (t: Tensor): Tensor => ({ dtype: 'float32', dims: t.dims, data: Float32Array.from(t.data as Float64Array) });

const N = 6;
const D = 4;
const C = 3;

/** logits = x W + b (MatMul + Add), a softmax regression. */
function softmaxRegression(W: Tensor, b: Tensor) {
  return buildModel({
    inputs: [{ name: 'x', dims: ['N', D] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['logits'] },
    ],
    outputs: ['logits'],
    initializers: { W, b },
  });
}

function softmaxRows(x: Float64Array, W: Float64Array, b: Float64Array): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < N; i++) {
    const z = Array.from({ length: C }, (_, c) => {
      let s = b[c]!;
      for (let d = 0; d < D; d++) s += x[i * D + d]! * W[d * C + c]!;
      return s;
    });
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    out.push(e.map((v) => v / sum));
  }
  return out;
}

function batchOf(x: Tensor, labels: number[]): Batch {
  return { inputs: { x }, labels: tensor('int64', [labels.length], labels) };
}

test('cross-entropy head: loss, gradient and H v of a softmax regression match closed forms', async () => {
  const W = randn([D, C]);
  const b = randn([C]);
  const x = randn([N, D]);
  const y = [0, 2, 1, 1, 0, 2];
  const prepared = await prepareLossModel(softmaxRegression(W, b));
  assert.equal(prepared.lossKind, 'cross-entropy');
  assert.equal(prepared.dtype, 'float64');
  assert.deepEqual(prepared.params.sort(), ['W', 'b']);
  assert.equal(prepared.parameterCount, D * C + C);
  const runner = await LossRunner.create(prepared, { gradient: true, hvp: true, hvpProducts: true });
  const batch = batchOf(x, y);
  const p = softmaxRows(x.data as Float64Array, W.data as Float64Array, b.data as Float64Array);

  // loss = mean_i -log p_i[y_i]
  const expectedLoss = p.reduce((s, row, i) => s - Math.log(row[y[i]!]!), 0) / N;
  const l = await runner.loss(batch);
  assert.ok(Math.abs(l.loss - expectedLoss) < 1e-12, `${l.loss} vs ${expectedLoss}`);

  // dW[d,c] = 1/N sum_i x_id (p_ic - [y_i = c]);  db[c] = 1/N sum_i (p_ic - [y_i = c])
  const order = prepared.params;
  const g = await runner.gradient(batch);
  const expected = new Map<string, number[]>([
    ['W', new Array(D * C).fill(0)],
    ['b', new Array(C).fill(0)],
  ]);
  for (let i = 0; i < N; i++) {
    for (let c = 0; c < C; c++) {
      const r = (p[i]![c]! - (y[i] === c ? 1 : 0)) / N;
      expected.get('b')![c] += r;
      for (let d = 0; d < D; d++) expected.get('W')![d * C + c] += (x.data as Float64Array)[i * D + d]! * r;
    }
  }
  const flatExpected = order.flatMap((name) => expected.get(name)!);
  flatExpected.forEach((e, i) => assert.ok(Math.abs(g.grad[i]! - e) < 1e-12, `grad[${i}] ${g.grad[i]} vs ${e}`));

  // H = 1/N sum_i (diag(p_i) - p_i p_i^T) (x) [x_i; 1][x_i; 1]^T, applied to v.
  const closedFormHv = (v: Float64Array): number[] => {
    const vOf = (name: string, k: number) => v[runner.offsets[order.indexOf(name)]! + k]!;
    const hvExpected = new Map<string, number[]>([
      ['W', new Array(D * C).fill(0)],
      ['b', new Array(C).fill(0)],
    ]);
    for (let i = 0; i < N; i++) {
      const xi = [...(x.data as Float64Array).subarray(i * D, (i + 1) * D), 1];
      // u_c = sum_d xi_d V[d, c] (V = [vW; vb]); then (diag(p) - p p^T) u; then outer with xi.
      const u = Array.from({ length: C }, (_, c) => xi.reduce((s, xd, d) => s + xd * (d < D ? vOf('W', d * C + c) : vOf('b', c)), 0));
      const pu = p[i]!.reduce((s, pc, c) => s + pc * u[c]!, 0);
      const a = u.map((uc, c) => p[i]![c]! * (uc - pu));
      for (let c = 0; c < C; c++) {
        hvExpected.get('b')![c] += a[c]! / N;
        for (let d = 0; d < D; d++) hvExpected.get('W')![d * C + c] += (xi[d]! * a[c]!) / N;
      }
    }
    return order.flatMap((name) => hvExpected.get(name)!);
  };
  const v = Float64Array.from({ length: runner.dim }, () => rng.normal());
  const h = await runner.hvp(batch, v);
  closedFormHv(v).forEach((e, i) => assert.ok(Math.abs(h.hv[i]! - e) < 1e-12, `hv[${i}] ${h.hv[i]} vs ${e}`));
  // The products-only graph (no loss or gradient outputs) gives the same closed-form H v.
  const lean = await runner.hvpProduct(batch, v);
  closedFormHv(v).forEach((e, i) => assert.ok(Math.abs(lean[i]! - e) < 1e-12, `products-only hv[${i}] ${lean[i]} vs ${e}`));
  await runner.release();

  // A block graph of 3 probes per run: 7 products = two full blocks and one left over, each
  // the closed form of its own v (a swapped or shared tangent would fail).
  const blocked = await LossRunner.create(prepared, { gradient: false, hvpProducts: true, hvpBlock: 3 });
  assert.equal(blocked.blockSize, 3);
  const vs = Array.from({ length: 7 }, () => Float64Array.from({ length: runner.dim }, () => rng.normal()));
  const hs = await blocked.hvpProducts(batch, vs);
  assert.equal(hs.length, 7);
  hs.forEach((hk, k) => closedFormHv(vs[k]!).forEach((e, i) => assert.ok(Math.abs(hk[i]! - e) < 1e-12, `block probe ${k} hv[${i}] ${hk[i]} vs ${e}`)));
  // A partial block (2 of 3, padded with a zero probe) too.
  const two = await blocked.hvpProducts(batch, vs.slice(0, 2));
  two.forEach((hk, k) => closedFormHv(vs[k]!).forEach((e, i) => assert.ok(Math.abs(hk[i]! - e) < 1e-12, `partial block probe ${k} hv[${i}]`)));
  await blocked.release();
});

test('dataset-mean weights: gradients summed over batches equal the full-batch gradient', async () => {
  const prepared = await prepareLossModel(softmaxRegression(randn([D, C]), randn([C])));
  const runner = await LossRunner.create(prepared);
  const x = randn([N, D]);
  const y = [1, 0, 2, 2, 1, 0];
  const full = await runner.gradient(batchOf(x, y));
  const sum = new Float64Array(runner.dim);
  for (let i = 0; i < N; i++) {
    const one = sliceBatch(batchOf(x, y), i);
    one.weights = tensor('float64', [1], [1 / N]);
    const r = await runner.gradient(one);
    r.grad.forEach((gv, k) => (sum[k] += gv));
  }
  sum.forEach((s, k) => assert.ok(Math.abs(s - full.grad[k]!) < 1e-13));
  await runner.release();
});

test('per-example Gram matrix: batched formulas equal explicit per-example gradients (dense, sequence, conv fallback)', async () => {
  const cases = [
    {
      name: 'Gemm MLP',
      model: buildModel({
        inputs: [{ name: 'x', dims: ['N', D] }],
        nodes: [
          { op: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: int(1) } },
          { op: 'Tanh', inputs: ['h'], outputs: ['a'] },
          { op: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['logits'] },
        ],
        outputs: ['logits'],
        initializers: { W1: randn([5, D]), b1: randn([5]), W2: randn([5, C]), b2: randn([C]) },
      }),
      x: randn([N, D]),
    },
    {
      name: 'token MatMul',
      model: buildModel({
        inputs: [{ name: 'x', dims: ['N', 3, D] }],
        nodes: [
          { op: 'MatMul', inputs: ['x', 'W'], outputs: ['h'] },
          { op: 'Add', inputs: ['h', 'b'], outputs: ['hb'] },
          { op: 'ReduceSum', inputs: ['hb', 'axis1'], outputs: ['logits'], attrs: { keepdims: int(0) } },
        ],
        outputs: ['logits'],
        initializers: { W: randn([D, C]), b: randn([C]), axis1: tensor('int64', [1], [1]) },
      }),
      x: randn([N, 3, D]),
    },
    {
      name: 'Conv kernel (im2col rows) + bias, float32',
      model: buildModel({
        inputs: [{ name: 'x', dims: ['N', 2, 5, 5], dtype: 'float32' }],
        nodes: [
          { op: 'Conv', inputs: ['x', 'K', 'kb'], outputs: ['c'], attrs: { pads: ints([1, 0, 1, 1]), strides: ints([2, 1]), kernel_shape: ints([3, 2]) } },
          { op: 'Flatten', inputs: ['c'], outputs: ['f'], attrs: { axis: int(1) } },
          { op: 'Gemm', inputs: ['f', 'W', 'b'], outputs: ['logits'] },
        ],
        outputs: ['logits'],
        initializers: { K: f32(randn([3, 2, 3, 2])), kb: f32(randn([3])), W: f32(randn([3 * 3 * 5, C], 0.3)), b: f32(randn([C])) },
      }),
      x: f32(randn([N, 2, 5, 5])),
      tol: 1e-4,
    },
  ];
  for (const c of cases) {
    const prepared = await prepareLossModel(c.model);
    const runner = await LossRunner.create(prepared);
    const y = [0, 1, 2, 0, 1, 2];
    const batch = batchOf(c.x, y);
    const tol = (c as { tol?: number }).tol ?? 1e-10;
    const stats = await runner.perExampleStats(batch);
    const per: Float64Array[] = [];
    for (let i = 0; i < N; i++) {
      const one = sliceBatch(batch, i);
      one.weights = tensor('float64', [1], [1]);
      per.push((await runner.gradient(one)).grad);
    }
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const dot = per[i]!.reduce((s, v, k) => s + v * per[j]![k]!, 0);
        assert.ok(Math.abs(stats.gram[i * N + j]! - dot) <= tol * Math.max(1, Math.abs(dot)), `${c.name} gram[${i},${j}] ${stats.gram[i * N + j]} vs ${dot}`);
      }
    }
    const sum = per.reduce((acc, g) => acc.map((v, k) => v + g[k]!), new Float64Array(runner.dim));
    sum.forEach((s, k) => assert.ok(Math.abs(stats.sumGrad[k]! - s) <= tol * Math.max(1, Math.abs(s)), `${c.name} sumGrad`));
    const sq = per.reduce((acc, g) => acc.map((v, k) => v + g[k]! * g[k]!), new Float64Array(runner.dim));
    sq.forEach((s, k) => assert.ok(Math.abs(stats.sqSum[k]! - s) <= tol * Math.max(1, Math.abs(s)), `${c.name} sqSum[${k}] ${stats.sqSum[k]} vs ${s}`));
    await runner.release();
  }
});

test('mse head: gradient of a linear regression is 2/N X^T (Xw + b - y)', async () => {
  const w = randn([D, 1]);
  const b = randn([1]);
  const model = buildModel({
    inputs: [{ name: 'x', dims: ['N', D] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: ['yhat'] },
    ],
    outputs: ['yhat'],
    initializers: { w, b },
  });
  const prepared = await prepareLossModel(model, { loss: 'mse' });
  assert.equal(prepared.lossKind, 'mse');
  const runner = await LossRunner.create(prepared);
  const x = randn([N, D]);
  const yv = randn([N, 1]);
  const g = await runner.gradient({ inputs: { x }, labels: yv });
  const r = Array.from({ length: N }, (_, i) => {
    let s = (b.data as Float64Array)[0]! - (yv.data as Float64Array)[i]!;
    for (let d = 0; d < D; d++) s += (x.data as Float64Array)[i * D + d]! * (w.data as Float64Array)[d]!;
    return s;
  });
  const gw = Array.from({ length: D }, (_, d) => (2 / N) * r.reduce((s, ri, i) => s + ri * (x.data as Float64Array)[i * D + d]!, 0));
  const gb = (2 / N) * r.reduce((s, ri) => s + ri, 0);
  const byName = new Map([
    ['w', gw],
    ['b', [gb]],
  ]);
  prepared.params.flatMap((n) => byName.get(n)!).forEach((e, i) => assert.ok(Math.abs(g.grad[i]! - e) < 1e-12));
  await runner.release();
});

test('sigmoid output: binary cross-entropy from the logit, gradient (p - y) x', async () => {
  const w = randn([D, 1]);
  const model = buildModel({
    inputs: [{ name: 'x', dims: ['N', D] }],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['z'] },
      { op: 'Sigmoid', inputs: ['z'], outputs: ['p'] },
    ],
    outputs: ['p'],
    initializers: { w },
  });
  const prepared = await prepareLossModel(model);
  assert.equal(prepared.lossKind, 'binary-cross-entropy');
  const runner = await LossRunner.create(prepared);
  const x = randn([N, D]);
  const y = [1, 0, 0, 1, 1, 0];
  const g = await runner.gradient({ inputs: { x }, labels: tensor('float64', [N], y) });
  const expected = Array.from({ length: D }, (_, d) =>
    y.reduce((s, yi, i) => {
      let z = 0;
      for (let k = 0; k < D; k++) z += (x.data as Float64Array)[i * D + k]! * (w.data as Float64Array)[k]!;
      return s + ((1 / (1 + Math.exp(-z)) - yi) * (x.data as Float64Array)[i * D + d]!) / N;
    }, 0),
  );
  expected.forEach((e, i) => assert.ok(Math.abs(g.grad[i]! - e) < 1e-12));
  await runner.release();
});

test('unsupported ops are named before any work', () => {
  const model = buildModel({
    inputs: [{ name: 'x', dims: [2, 3] }],
    nodes: [
      { op: 'STFT', inputs: ['x', 'x'], outputs: ['s'] },
      { op: 'Sin', inputs: ['s'], outputs: ['t'] },
      { op: 'DFT', inputs: ['t'], outputs: ['d'] },
    ],
    outputs: ['d'],
  });
  assert.throws(
    () => assertSupported(model),
    (err: unknown) => err instanceof AppError && err.code === 'UNSUPPORTED_OP' && /: DFT, STFT$/.test(err.message),
  );
});

test('fixed parameters (baked into the graphs) give the same loss, gradient and H v; changing them is refused', async () => {
  const prepared = await prepareLossModel(softmaxRegression(randn([D, C]), randn([C])));
  const fed = await LossRunner.create(prepared, { hvp: true });
  const baked = await LossRunner.create(prepared, { hvp: true, fixedParameters: true });
  const batch = batchOf(randn([N, D]), [2, 1, 0, 0, 1, 2]);
  const v = Float64Array.from({ length: fed.dim }, () => rng.normal());
  const [a, b] = [await fed.hvp(batch, v), await baked.hvp(batch, v)];
  assert.deepEqual(Array.from(b.grad), Array.from(a.grad));
  assert.deepEqual(Array.from(b.hv), Array.from(a.hv));
  assert.equal((await baked.loss(batch)).loss, (await fed.loss(batch)).loss);
  assert.throws(() => baked.setParameters(baked.parameterVector()), /fixedParameters/);
  // The fed runner does take new parameters: doubling them changes the loss.
  fed.setParameters(fed.parameterVector().map((x) => 2 * x));
  assert.notEqual((await fed.loss(batch)).loss, (await baked.loss(batch)).loss);
  await fed.release();
  await baked.release();
});
