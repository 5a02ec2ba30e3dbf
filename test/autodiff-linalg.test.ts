import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, singleOp, type InputSpec } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp, assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { float, ints, int, type Attr, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';

const rng = new Rng(3);
const rand = (dims: number[], lo = -1, hi = 1) =>
  tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));

/** Gradient and HVP of a model; the HVP of a product of inputs is non-zero, so both can fail. */
const checkBoth = (model: Model, feeds: Record<string, Tensor>, label: string) => assertGradientAndHvp(model, feeds, label, { minAnalytic: 1e-6 });

function opWith(op: string, specs: InputSpec[], attrs: Record<string, Attr> = {}): { model: Model; feeds: Record<string, Tensor> } {
  const feeds: Record<string, Tensor> = {};
  for (const s of specs) feeds[s.name] = rand(s.dims as number[]);
  return { model: singleOp(op, specs, attrs), feeds };
}

test('Transpose: default and explicit perm', async () => {
  const variants: Record<string, Attr>[] = [{}, { perm: ints([1, 2, 0]) }, { perm: ints([0, 2, 1]) }];
  for (const attrs of variants) {
    const { model, feeds } = opWith('Transpose', [{ name: 'x', dims: [2, 3, 4] }], attrs);
    const g = await checkGradient(model, feeds);
    assert.ok(g.ok, `${JSON.stringify(attrs)}: ${JSON.stringify(g)}`);
  }
  // Transpose(x) * x is not linear: its HVP exercises the Transpose JVP.
  const model = buildModel({
    inputs: [{ name: 'x', dims: [3, 3] }],
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['t'] },
      { op: 'Mul', inputs: ['t', 'x'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  await checkBoth(model, { x: rand([3, 3]) }, 'Transpose*x');
});

const matmulCases: [number[], number[]][] = [
  [[3, 4], [4, 5]],
  [[2, 3, 4], [2, 4, 5]],
  [[2, 3, 4], [4, 5]],
  [[3, 4], [2, 4, 5]],
  [[2, 1, 3, 4], [3, 4, 2]],
  [[1, 3, 4], [2, 1, 4, 2]],
  [[4], [4, 5]],
  [[4], [2, 4, 5]],
  [[3, 4], [4]],
  [[2, 3, 4], [4]],
  [[4], [4]],
];
for (const [ad, bd] of matmulCases) {
  test(`MatMul ${JSON.stringify(ad)} x ${JSON.stringify(bd)}`, async () => {
    const { model, feeds } = opWith('MatMul', [
      { name: 'a', dims: ad },
      { name: 'b', dims: bd },
    ]);
    await checkBoth(model, feeds, 'MatMul');
  });
}

test('MatMul / Gemm graphs built with a symbolic batch give the static-shape numbers at another batch', async () => {
  const cases: { a: (number | string)[]; b: (number | string)[]; wrt: string[] }[] = [
    { a: ['N', 3, 4], b: [1, 4, 2], wrt: ['a', 'b'] },
    { a: ['N', 1, 3, 4], b: [2, 4, 2], wrt: ['a', 'b'] },
    { a: [4], b: ['N', 4, 2], wrt: ['a', 'b'] },
    { a: ['N', 3, 4], b: [4], wrt: ['a', 'b'] },
    { a: ['N', 4], b: [4, 3], wrt: ['b'] },
  ];
  for (const c of cases) {
    const model = buildModel({
      inputs: [
        { name: 'a', dims: c.a },
        { name: 'b', dims: c.b },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] },
        { op: 'Mul', inputs: ['m', 'm'], outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    const feeds = (n: number) => {
      const r = new Rng(300 + n);
      const t = (dims: (number | string)[]) => {
        const d = dims.map((x) => (x === 'N' ? n : (x as number)));
        return tensor('float64', d, Array.from({ length: d.reduce((p, q) => p * q, 1) }, () => r.uniform(-1, 1)));
      };
      return { a: t(c.a), b: t(c.b) };
    };
    const diff = await dynamicBatchDiff(model, feeds, c.wrt, 4);
    assert.ok(diff < 1e-10, `${JSON.stringify(c)}: relative difference ${diff}`);
  }
  const gemm = buildModel({
    inputs: [
      { name: 'x', dims: ['N', 3] },
      { name: 'w', dims: [4, 3] },
      { name: 'c', dims: [4] },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w', 'c'], outputs: ['m'], attrs: { transB: int(1), alpha: float(0.5) } },
      { op: 'Mul', inputs: ['m', 'm'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const gf = (n: number) => {
    const r = new Rng(400 + n);
    const t = (d: number[]) => tensor('float64', d, Array.from({ length: d.reduce((p, q) => p * q, 1) }, () => r.uniform(-1, 1)));
    return { x: t([n, 3]), w: t([4, 3]), c: t([4]) };
  };
  const diff = await dynamicBatchDiff(gemm, gf, ['w', 'c'], 5);
  assert.ok(diff < 1e-10, `Gemm: relative difference ${diff}`);
});

const gemmVariants: { tA: number; tB: number; alpha: number; beta: number; c: number[] | null }[] = [
  { tA: 0, tB: 0, alpha: 1, beta: 1, c: [3, 5] },
  { tA: 1, tB: 0, alpha: 0.7, beta: 1, c: [5] },
  { tA: 0, tB: 1, alpha: 1, beta: -1.5, c: [1, 5] },
  { tA: 1, tB: 1, alpha: 2, beta: 0.5, c: [3, 1] },
  { tA: 1, tB: 1, alpha: 1, beta: 1, c: [] },
  { tA: 0, tB: 1, alpha: 1.3, beta: 1, c: null },
];
for (const v of gemmVariants) {
  test(`Gemm transA=${v.tA} transB=${v.tB} alpha=${v.alpha} beta=${v.beta} C=${JSON.stringify(v.c)}`, async () => {
    const specs: InputSpec[] = [
      { name: 'a', dims: v.tA ? [4, 3] : [3, 4] },
      { name: 'b', dims: v.tB ? [5, 4] : [4, 5] },
    ];
    if (v.c) specs.push({ name: 'c', dims: v.c });
    const { model, feeds } = opWith('Gemm', specs, {
      transA: int(v.tA),
      transB: int(v.tB),
      alpha: float(v.alpha),
      beta: float(v.beta),
    });
    await checkBoth(model, feeds, 'Gemm');
  });
}

test('a two-layer MLP (Gemm, MatMul, Transpose): gradient and HVP w.r.t. weights only', async () => {
  const model = buildModel({
    inputs: [
      { name: 'x', dims: [5, 3] },
      { name: 'w1', dims: [4, 3] },
      { name: 'b1', dims: [4] },
      { name: 'w2', dims: [4, 2] },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['x', 'w1', 'b1'], outputs: ['h'], attrs: { transB: int(1) } },
      { op: 'Mul', inputs: ['h', 'h'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'w2'], outputs: ['z'] },
      { op: 'Transpose', inputs: ['z'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const feeds = { x: rand([5, 3]), w1: rand([4, 3]), b1: rand([4]), w2: rand([4, 2]) };
  const g = await checkGradient(model, feeds, { wrt: ['w1', 'b1', 'w2'] });
  assert.ok(g.ok, JSON.stringify(g));
  const h = await checkHvp(model, feeds, { wrt: ['w1', 'b1', 'w2'] });
  assert.ok(h.ok, JSON.stringify(h));
});

test('attention block softmax(X Wq (X Wk)^T / sqrt(d)) X Wv: gradient and HVP', async () => {
  const d = 3;
  const model = buildModel({
    inputs: [
      { name: 'x', dims: [2, 4, 5] },
      { name: 'wq', dims: [5, d] },
      { name: 'wk', dims: [5, d] },
      { name: 'wv', dims: [5, d] },
    ],
    initializers: { scale: tensor('float64', [], [Math.sqrt(d)]) },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'wq'], outputs: ['q'] },
      { op: 'MatMul', inputs: ['x', 'wk'], outputs: ['k'] },
      { op: 'MatMul', inputs: ['x', 'wv'], outputs: ['v'] },
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: ints([0, 2, 1]) } },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
      { op: 'Div', inputs: ['s', 'scale'], outputs: ['sd'] },
      { op: 'Softmax', inputs: ['sd'], outputs: ['p'], attrs: { axis: int(-1) } },
      { op: 'MatMul', inputs: ['p', 'v'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const feeds = { x: rand([2, 4, 5]), wq: rand([5, d]), wk: rand([5, d]), wv: rand([5, d]) };
  await checkBoth(model, feeds, 'attention');
  const w = await checkHvp(model, feeds, { wrt: ['wq', 'wk', 'wv'] });
  assert.ok(w.ok, `attention (weights only) hvp: ${JSON.stringify(w)}`);
});
