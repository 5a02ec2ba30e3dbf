/**
 * TopK, Mod, Shrink, ThresholdedRelu, Compress, Det and OneHot rules: gradient and HVP against
 * central finite differences (helpers/gradcheck.ts), closed-form values, and graphs built from
 * shapes probed at batches 2 and 3 run at batch 4.
 *
 * Precision: float64 (h = 1e-6, rtol 1e-6) except where ONNX Runtime's CPU kernels force less:
 * Det and OneHot have no float64 kernels, so they run in float32 with the checker's float32
 * defaults, and their gradients and Hessian-vector products are also compared with float64
 * references computed here; Shrink's float64 kernel computes in float32, so it gets h = 1e-2
 * (exact for a piecewise-linear function away from its kinks) and rtol 1e-4.
 * Linear ops are squared (helpers/squared-op.ts) so the HVP check is never vacuous. Inputs are
 * kept away from kinks, jumps and ties, where no derivative exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, singleOp, type InputSpec } from './helpers/onnx-builder.js';
import { squaredOp } from './helpers/squared-op.js';
import { assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import type { DType } from '../native/onnx/dtype.js';
import { float, int, type Attr, type Model } from '../native/onnx/ir.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { buildHvp } from '../native/autodiff/hvp.js';
import { probeShapes, type ShapeMap } from '../native/autodiff/shapes.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import { runModelOnce } from '../native/runtime/session.js';
import { AppError } from '../common/errors.js';
import { Rng } from '../common/random.js';

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const rand = (dims: number[], r: Rng, lo = -1, hi = 1, dtype: DType = 'float64') =>
  tensor(dtype, dims, Array.from({ length: size(dims) }, () => r.uniform(lo, hi)));
const i64 = (dims: number[], v: number[]) => tensor('int64', dims, v);
const spec = (name: string, dims: (number | string)[], dtype: DType = 'float64'): InputSpec => ({ name, dims, dtype });
const values = (t: Tensor) => Array.from(t.data as Float64Array, Number);

/** Redraws entries of `t` closer than `margin` to any of `points` (kinks, jumps), so finite differences are meaningful. */
function awayFrom(t: Tensor, points: number[], margin: number, r: Rng, lo: number, hi: number): Tensor {
  const d = t.data as Float64Array;
  for (let i = 0; i < d.length; i++) while (points.some((p) => Math.abs(d[i]! - p) < margin)) d[i] = r.uniform(lo, hi);
  return t;
}

/** Asserts |got - want| <= rtol * max(1, max |want|) elementwise. */
function assertClose(got: number[], want: number[], rtol: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  const scale = Math.max(1, ...want.map(Math.abs));
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= rtol * scale, `${label}[${i}]: ${g} vs ${want[i]}`));
}

/**
 * Gradient and H v of s = sum(u * y0) w.r.t. `wrt`, from the graphs the autodiff builds (u is
 * baked in as a constant), for comparison with closed forms.
 */
async function gradAndHv(model: Model, feeds: Record<string, Tensor>, wrt: string, u: Tensor, v: Tensor): Promise<{ grad: number[]; hv: number[] }> {
  const m = buildModel({
    inputs: model.graph.inputs.map((i) => ({ name: i.name, dims: i.shape as (number | string)[], dtype: i.dtype })),
    initializers: { ...Object.fromEntries(model.graph.initializers), 'head/u': u },
    nodes: [
      ...model.graph.nodes.map((n) => ({ op: n.opType, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs })),
      { op: 'Mul', inputs: ['y0', 'head/u'], outputs: ['head/p'] },
      { op: 'ReduceSum', inputs: ['head/p'], outputs: ['head/s'], attrs: { keepdims: int(0) } },
    ],
    outputs: ['head/s'],
  });
  const hvp = await buildHvp(m, 'head/s', [wrt], { feeds: () => feeds });
  const out = await runModelOnce(hvp.model, { ...feeds, [hvp.tangentInputs.get(wrt)!]: v });
  return { grad: values(out[hvp.grads.get(wrt)!]!), hv: values(out[hvp.hvps.get(wrt)!]!) };
}

/** A model's gradient build from hand-written shapes (for refusals the runtime would not reach). */
function gradientFrom(model: Model, shapes: [string, DType, (number | null)[]][], wrt: string[]) {
  const map: ShapeMap = new Map(shapes.map(([n, dtype, dims]) => [n, { dtype, dims }]));
  return () => buildGradient(model, { of: 'y0', seed: 'u', wrt }, map);
}

const refusal = (op: string, message: RegExp) => (e: unknown) =>
  e instanceof AppError && e.code === 'UNSUPPORTED_OP' && message.test(e.message) && JSON.stringify(e.details?.ops) === JSON.stringify([op]);

// ---------------------------------------------------------------- TopK

interface TopkCase {
  dims: number[];
  k: number;
  attrs: Record<string, Attr>;
  why: string;
}

const topkCases: TopkCase[] = [
  { dims: [3, 5], k: 2, attrs: {}, why: 'default axis -1, largest, sorted' },
  { dims: [4, 3], k: 3, attrs: { axis: int(0) }, why: 'axis 0' },
  { dims: [3, 5], k: 2, attrs: { axis: int(-1), largest: int(0) }, why: 'smallest' },
  { dims: [2, 4, 3], k: 2, attrs: { axis: int(1), largest: int(0), sorted: int(0) }, why: 'middle axis, smallest, unsorted' },
  { dims: [2, 6, 3], k: 4, attrs: { axis: int(1), sorted: int(0) }, why: 'largest, unsorted' },
  { dims: [3, 4], k: 4, attrs: { axis: int(1) }, why: 'k = the whole axis (a permutation)' },
];

for (const c of topkCases) {
  test(`TopK ${c.why} [${c.dims}] k=${c.k}`, async () => {
    // Values squared; Indices cast to float as a second output (it must carry no gradient).
    const m = buildModel({
      inputs: [spec('x', c.dims)],
      initializers: { k: i64([1], [c.k]) },
      nodes: [
        { op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'], attrs: c.attrs },
        { op: 'Mul', inputs: ['v', 'v'], outputs: ['y0'] },
        { op: 'Cast', inputs: ['i'], outputs: ['y1'], attrs: { to: int(11) } },
      ],
      outputs: ['y0', 'y1'],
    });
    await assertGradientAndHvp(m, { x: rand(c.dims, new Rng(10 + c.k)) }, `TopK ${c.why}`);
  });
}

test('TopK gradient is the cotangent scattered to the selected positions (value check)', async () => {
  const x = tensor('float64', [2, 4], [0.3, -1.2, 2.5, 0.9, -0.4, 1.1, -2.0, 0.2]);
  const u = tensor('float64', [2, 2], [10, 20, 30, 40]);
  const v = tensor('float64', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  const largest = buildModel({ inputs: [spec('x', [2, 4])], initializers: { k: i64([1], [2]) }, nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['y0', 'i'], attrs: { axis: int(1) } }], outputs: ['y0'] });
  const { grad, hv } = await gradAndHv(largest, { x }, 'x', u, v);
  // Row 0: 2.5 (col 2), 0.9 (col 3); row 1: 1.1 (col 1), 0.2 (col 3).
  assert.deepEqual(grad, [0, 0, 10, 20, 0, 30, 0, 40]);
  assert.deepEqual(hv, [0, 0, 0, 0, 0, 0, 0, 0]); // linear in x
  const smallest = buildModel({ inputs: [spec('x', [2, 4])], initializers: { k: i64([1], [1]) }, nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['y0', 'i'], attrs: { axis: int(0), largest: int(0) } }], outputs: ['y0'] });
  const s = await gradAndHv(smallest, { x }, 'x', tensor('float64', [1, 4], [1, 2, 3, 4]), v);
  // Column minima: -0.4 (row 1), -1.2 (row 0), -2.0 (row 1), 0.2 (row 1).
  assert.deepEqual(s.grad, [0, 2, 0, 0, 1, 0, 3, 4]);
});

test('TopK over a symbolic batch (axis -1 and the batch axis itself) gives the static-shape numbers at another batch', async () => {
  for (const [axis, k] of [[-1, 3], [0, 2]] as const) {
    const m = buildModel({
      inputs: [spec('x', ['N', 5])],
      initializers: { k: i64([1], [k]) },
      nodes: [
        { op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'], attrs: { axis: int(axis) } },
        { op: 'Mul', inputs: ['v', 'v'], outputs: ['y0'] },
      ],
      outputs: ['y0'],
    });
    const feeds = (n: number) => ({ x: rand([n, 5], new Rng(60 + n)) });
    for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `TopK axis ${axis} batch ${n}`);
    const diff = await dynamicBatchDiff(m, feeds, ['x'], 4);
    assert.ok(diff < 1e-12, `axis ${axis}: relative difference ${diff}`);
  }
});

// ---------------------------------------------------------------- Mod

/** Index into an input of shape `dims` for output index `flat` of broadcast shape `out`. */
function broadcastIndex(flat: number, out: number[], dims: number[]): number {
  let idx = 0;
  let stride = 1;
  let rest = flat;
  const lead = out.length - dims.length;
  for (let ax = out.length - 1; ax >= 0; ax--) {
    const coord = rest % out[ax]!;
    rest = Math.floor(rest / out[ax]!);
    const d = ax - lead >= 0 ? dims[ax - lead]! : 1;
    if (ax >= lead) {
      idx += (d === 1 ? 0 : coord) * stride;
      stride *= d;
    }
  }
  return idx;
}

/** a in [-6, 6], c in +-[0.5, 2] with every broadcast pair's quotient at least 0.05 from an integer (where fmod jumps). */
function modFeeds(aDims: number[], cDims: number[], r: Rng): { a: Tensor; c: Tensor } {
  const out = Array.from({ length: Math.max(aDims.length, cDims.length) }, (_, i) => {
    const pick = (d: number[]) => d[i - (Math.max(aDims.length, cDims.length) - d.length)] ?? 1;
    return Math.max(pick(aDims), pick(cDims));
  });
  for (;;) {
    const a = rand(aDims, r, -6, 6);
    const c = rand(cDims, r, 0.5, 2);
    (c.data as Float64Array).forEach((x, i, arr) => (arr[i] = r.sign() * x));
    const safe = Array.from({ length: size(out) }, (_, f) => {
      const q = Math.abs((a.data as Float64Array)[broadcastIndex(f, out, aDims)]! / (c.data as Float64Array)[broadcastIndex(f, out, cDims)]!);
      return Math.abs(q - Math.round(q)) > 0.05;
    });
    if (safe.every(Boolean)) return { a, c };
  }
}

const modCases: { a: number[]; c: number[]; why: string }[] = [
  { a: [3, 4], c: [3, 4], why: 'same shapes, mixed signs' },
  { a: [3, 4], c: [4], why: 'divisor broadcast over rows' },
  { a: [3, 1], c: [1, 4], why: 'both broadcast' },
  { a: [2, 3], c: [], why: 'scalar divisor' },
  { a: [4], c: [2, 4], why: 'dividend broadcast' },
];

for (const c of modCases) {
  test(`Mod fmod=1: ${c.why} ([${c.a}] mod [${c.c}])`, async () => {
    const m = squaredOp('Mod', [spec('a', c.a), spec('c', c.c)], { fmod: int(1) });
    const feeds = modFeeds(c.a, c.c, new Rng(70 + c.a.length * 10 + c.c.length));
    await assertGradientAndHvp(m, feeds, `Mod ${c.why}`);
    for (const w of ['a', 'c']) await assertGradientAndHvp(m, feeds, `Mod ${c.why} wrt ${w}`, { wrt: [w] });
  });
}

test('Mod fmod=1 gradients: 1 for the dividend, -trunc(a / c) for the divisor (value check)', async () => {
  const a = tensor('float64', [6], [-4.3, 7.2, 5, 4.3, -7.2, 8]);
  const c = tensor('float64', [6], [2.1, -3.4, 8, -2.1, 3.4, 5]);
  const u = tensor('float64', [6], [1, 2, 3, 4, 5, 6]);
  const v = tensor('float64', [6], [1, 1, 1, 1, 1, 1]);
  const m = singleOp('Mod', [spec('a', [6]), spec('c', [6])], { fmod: int(1) });
  const ga = await gradAndHv(m, { a, c }, 'a', u, v);
  assert.deepEqual(ga.grad, values(u));
  const gc = await gradAndHv(m, { a, c }, 'c', u, v);
  const want = values(a).map((x, i) => -Math.trunc(x / (c.data as Float64Array)[i]!) * (u.data as Float64Array)[i]!);
  assert.deepEqual(gc.grad.map((g) => g + 0), want.map((g) => g + 0)); // + 0: -0 and 0 alike
  assert.deepEqual(gc.hv.map((g) => g + 0), [0, 0, 0, 0, 0, 0]);
});

test('Mod over a symbolic batch gives the static-shape numbers at another batch', async () => {
  const m = squaredOp('Mod', [spec('a', ['N', 4]), spec('c', [1, 4])], { fmod: int(1) });
  const feeds = (n: number) => modFeeds([n, 4], [1, 4], new Rng(80 + n));
  for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `Mod batch ${n}`);
  const diff = await dynamicBatchDiff(m, feeds, ['a', 'c'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});

test('integer Mod is supported and carries no gradient; float Mod with fmod=0 is refused', async () => {
  // y = x * Cast(Mod(Cast(x, int64), 3)): the integer Mod sits on the path from x.
  const m = buildModel({
    inputs: [spec('x', [4])],
    initializers: { three: i64([], [3]) },
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['xi'], attrs: { to: int(7) } },
      { op: 'Mod', inputs: ['xi', 'three'], outputs: ['r'] },
      { op: 'Cast', inputs: ['r'], outputs: ['rf'], attrs: { to: int(11) } },
      { op: 'Mul', inputs: ['x', 'rf'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  assert.deepEqual(unsupportedOps(m), []);
  const x = tensor('float64', [4], [4.5, 5.5, -7.5, 2.5]);
  // Cast truncates: 4, 5, -7, 2 -> Mod 3 (sign of the divisor): 1, 2, 2, 2.
  const { grad } = await gradAndHv(m, { x }, 'x', tensor('float64', [4], [1, 1, 1, 1]), tensor('float64', [4], [1, 1, 1, 1]));
  assert.deepEqual(grad, [1, 2, 2, 2]);
  const bad = singleOp('Mod', [spec('a', [3]), spec('c', [3])]);
  const shapes: [string, DType, number[]][] = [['a', 'float64', [3]], ['c', 'float64', [3]], ['y0', 'float64', [3]]];
  assert.throws(gradientFrom(bad, shapes, ['a', 'c']), refusal('Mod', /fmod=0 on floating-point inputs/));
});

// ---------------------------------------------------------------- Shrink, ThresholdedRelu

const shrinkCases: { attrs: Record<string, Attr>; lambd: number }[] = [
  { attrs: {}, lambd: 0.5 },
  { attrs: { lambd: float(0.25), bias: float(0.5) }, lambd: 0.25 },
  { attrs: { lambd: float(1), bias: float(-0.3) }, lambd: 1 },
  { attrs: { lambd: float(0), bias: float(0.2) }, lambd: 0 },
];

for (const c of shrinkCases) {
  test(`Shrink lambd=${c.lambd} ${JSON.stringify(Object.fromEntries(Object.entries(c.attrs).map(([k, a]) => [k, a.value])))}`, async () => {
    const m = squaredOp('Shrink', [spec('x', [3, 5])], c.attrs);
    const r = new Rng(90 + c.lambd * 100);
    const x = awayFrom(rand([3, 5], r, -2, 2), [-c.lambd, c.lambd], 0.1, r, -2, 2);
    // ONNX Runtime's Shrink rounds through float32, so h = 1e-2. Between kinks z^2 is quadratic,
    // but the checker's head (u + y/2) y makes the objective quartic: h^2 truncation ~2e-4.
    await assertGradientAndHvp(m, { x }, 'Shrink', { step: 1e-2, rtol: 1e-3 });
  });
}

const treluCases: { attrs: Record<string, Attr>; alpha: number }[] = [
  { attrs: {}, alpha: 1 },
  { attrs: { alpha: float(0.25) }, alpha: 0.25 },
  { attrs: { alpha: float(-0.5) }, alpha: -0.5 },
];

for (const c of treluCases) {
  test(`ThresholdedRelu alpha=${c.alpha}`, async () => {
    const m = squaredOp('ThresholdedRelu', [spec('x', [3, 5])], c.attrs);
    const r = new Rng(95 + c.alpha * 100);
    await assertGradientAndHvp(m, { x: awayFrom(rand([3, 5], r, -2, 2), [c.alpha], 0.05, r, -2, 2) }, 'ThresholdedRelu');
  });
}

test('Shrink and ThresholdedRelu gradients are 0/1 masks (value check)', async () => {
  const x = tensor('float64', [6], [-2, -0.7, -0.3, 0.2, 0.6, 1.5]);
  const u = tensor('float64', [6], [1, 2, 3, 4, 5, 6]);
  const v = tensor('float64', [6], [1, 1, 1, 1, 1, 1]);
  const shrink = await gradAndHv(singleOp('Shrink', [spec('x', [6])], { lambd: float(0.5), bias: float(0.1) }), { x }, 'x', u, v);
  assert.deepEqual(shrink.grad, [1, 2, 0, 0, 5, 6]);
  const trelu = await gradAndHv(singleOp('ThresholdedRelu', [spec('x', [6])], { alpha: float(0.5) }), { x }, 'x', u, v);
  assert.deepEqual(trelu.grad, [0, 0, 0, 0, 5, 6]);
});

test('Shrink and ThresholdedRelu over a symbolic batch give the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [spec('x', ['N', 4])],
    nodes: [
      { op: 'Shrink', inputs: ['x'], outputs: ['s'], attrs: { lambd: float(0.25), bias: float(0.125) } },
      { op: 'ThresholdedRelu', inputs: ['x'], outputs: ['t'], attrs: { alpha: float(0.125) } },
      { op: 'Mul', inputs: ['s', 't'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  const feeds = (n: number) => {
    const r = new Rng(100 + n);
    return { x: awayFrom(rand([n, 4], r, -1, 1), [-0.25, 0.125, 0.25], 0.1, r, -1, 1) };
  };
  for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `Shrink * ThresholdedRelu batch ${n}`, { step: 1e-2, rtol: 1e-3 });
  const diff = await dynamicBatchDiff(m, feeds, ['x'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});

// ---------------------------------------------------------------- Compress

const compressCases: { dims: number[]; cond: number[]; axis?: number; why: string }[] = [
  { dims: [3, 2], cond: [0, 1, 1], axis: 0, why: 'axis 0' },
  { dims: [3, 4], cond: [1, 0, 1, 1], axis: 1, why: 'axis 1' },
  { dims: [2, 3, 4], cond: [1, 0, 0, 1], axis: -1, why: 'negative axis' },
  { dims: [2, 5, 2], cond: [0, 1, 1], axis: 1, why: 'condition shorter than the axis' },
  { dims: [3, 2], cond: [1, 1, 1], axis: 0, why: 'everything kept' },
  { dims: [3, 2], cond: [0, 1, 0, 0, 1], why: 'no axis: the flattened input, condition shorter' },
  { dims: [2, 3], cond: [1, 1, 0, 1, 0, 1], why: 'no axis, condition of full length' },
];

for (const c of compressCases) {
  test(`Compress ${c.why}`, async () => {
    const attrs: Record<string, Attr> = c.axis === undefined ? {} : { axis: int(c.axis) };
    const m = squaredOp('Compress', [spec('x', c.dims)], attrs, { initializers: { cond: tensor('bool', [c.cond.length], c.cond) } });
    await assertGradientAndHvp(m, { x: rand(c.dims, new Rng(110 + c.cond.length)) }, `Compress ${c.why}`);
  });
}

test('Compress with a condition computed at run time (a graph input)', async () => {
  for (const axis of [1, undefined]) {
    const m = squaredOp('Compress', [spec('x', [3, 4]), spec('cond', [4], 'bool')], axis === undefined ? {} : { axis: int(axis) });
    for (const cond of [[1, 0, 1, 1], [0, 1, 0, 0]]) {
      const feeds = { x: rand([3, 4], new Rng(120)), cond: tensor('bool', [4], cond) };
      await assertGradientAndHvp(m, feeds, `Compress axis=${axis} cond=${cond}`);
    }
  }
});

test('Compress gradient is the cotangent put back at the kept positions (value check)', async () => {
  const x = tensor('float64', [3, 2], [1, 2, 3, 4, 5, 6]);
  const v = tensor('float64', [3, 2], [1, 1, 1, 1, 1, 1]);
  const cond = tensor('bool', [3], [1, 0, 1]);
  const rows = singleOp('Compress', [spec('x', [3, 2]), spec('cond', [3], 'bool')], { axis: int(0) });
  assert.deepEqual((await gradAndHv(rows, { x, cond }, 'x', tensor('float64', [2, 2], [10, 20, 30, 40]), v)).grad, [10, 20, 0, 0, 30, 40]);
  const flat = singleOp('Compress', [spec('x', [3, 2]), spec('cond', [3], 'bool')]);
  assert.deepEqual((await gradAndHv(flat, { x, cond }, 'x', tensor('float64', [2], [10, 30]), v)).grad, [10, 0, 30, 0, 0, 0]);
});

test('Compress over a symbolic batch (inner axis, batch axis, flattened) gives the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [spec('x', ['N', 4])],
    initializers: { c1: tensor('bool', [4], [1, 0, 1, 1]), c0: tensor('bool', [2], [0, 1]), cf: tensor('bool', [7], [1, 0, 0, 1, 1, 0, 1]) },
    nodes: [
      { op: 'Compress', inputs: ['x', 'c1'], outputs: ['p'], attrs: { axis: int(1) } },
      { op: 'Compress', inputs: ['x', 'c0'], outputs: ['q'], attrs: { axis: int(0) } },
      { op: 'Compress', inputs: ['x', 'cf'], outputs: ['f'] },
      { op: 'Mul', inputs: ['p', 'p'], outputs: ['y0'] },
      { op: 'Mul', inputs: ['q', 'q'], outputs: ['y1'] },
      { op: 'Mul', inputs: ['f', 'f'], outputs: ['y2'] },
    ],
    outputs: ['y0', 'y1', 'y2'],
  });
  const feeds = (n: number) => ({ x: rand([n, 4], new Rng(130 + n)) });
  for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `Compress chain batch ${n}`);
  const diff = await dynamicBatchDiff(m, feeds, ['x'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});

// ---------------------------------------------------------------- Det (float32: ONNX Runtime has no float64 Det)

/** Determinant in float64 (Gaussian elimination with partial pivoting). */
function det(a: number[][]): number {
  const m = a.map((row) => [...row]);
  const n = m.length;
  let d = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i]![k]!) > Math.abs(m[p]![k]!)) p = i;
    if (m[p]![k] === 0) return 0;
    if (p !== k) [m[p], m[k], d] = [m[k]!, m[p]!, -d];
    d *= m[k]![k]!;
    for (let i = k + 1; i < n; i++) {
      const f = m[i]![k]! / m[k]![k]!;
      for (let j = k; j < n; j++) m[i]![j]! -= f * m[k]![j]!;
    }
  }
  return d;
}

/** The matrices of a [..., M, M] tensor as float64 arrays. */
function matrices(t: Tensor, m: number): number[][][] {
  const d = Array.from(t.data as Float32Array, Number);
  return Array.from({ length: d.length / (m * m) }, (_, b) => Array.from({ length: m }, (_, i) => d.slice(b * m * m + i * m, b * m * m + (i + 1) * m)));
}

/** d det / dA (the cofactor matrix), flattened, per matrix: from the Laplace expansion in float64. */
function cofactors(a: number[][]): number[] {
  return a.flatMap((_, i) => a[i]!.map((_, j) => det(a.map((row, r) => row.map((x, c) => (c === j ? (r === i ? 1 : 0) : x))))));
}

const detCases: { dims: number[]; why: string }[] = [
  { dims: [1, 1], why: '1x1' },
  { dims: [2, 2], why: '2x2' },
  { dims: [3, 3], why: '3x3' },
  { dims: [4, 4], why: '4x4' },
  { dims: [3, 2, 2], why: 'batched 2x2' },
  { dims: [2, 3, 3], why: 'batched 3x3' },
  { dims: [2, 2, 3, 3], why: 'two batch dims' },
];

for (const c of detCases) {
  test(`Det ${c.why} [${c.dims}] (float32), plain and squared`, async () => {
    const x = rand(c.dims, new Rng(140 + size(c.dims)), -1, 1, 'float32');
    await assertGradientAndHvp(singleOp('Det', [spec('x', c.dims, 'float32')]), { x }, `Det ${c.why}`);
    await assertGradientAndHvp(squaredOp('Det', [spec('x', c.dims, 'float32')]), { x }, `Det² ${c.why}`);
  });
}

test('Det gradient and HVP equal float64 cofactor references, singular matrices included', async () => {
  const r = new Rng(150);
  const m = 3;
  const x = rand([3, m, m], r, -1, 1, 'float32');
  const xd = x.data as Float32Array;
  // Matrix 1: rank 2 (third row = first + second): det 0, cofactors nonzero.
  for (let j = 0; j < m; j++) xd[9 + 6 + j] = xd[9 + j]! + xd[9 + 3 + j]!;
  // Matrix 2: rank 1: det 0, cofactors 0, but the Hessian is not.
  for (let i = 1; i < m; i++) for (let j = 0; j < m; j++) xd[18 + i * 3 + j] = (i + 1) * xd[18 + j]!;
  const u = tensor('float32', [3], [1.5, -2, 0.75]);
  const v = rand([3, m, m], r, -1, 1, 'float32');
  const { grad, hv } = await gradAndHv(singleOp('Det', [spec('x', [3, m, m], 'float32')]), { x }, 'x', u, v);
  const mats = matrices(x, m);
  const vs = matrices(v, m);
  const uu = Array.from(u.data as Float32Array, Number);
  const wantGrad = mats.flatMap((a, b) => cofactors(a).map((g) => uu[b]! * g));
  // H v = u * d/de C(A + e V): central difference in float64 (C is a polynomial of degree M - 1 = 2, so exact up to rounding).
  const h = 1e-3;
  const shift = (a: number[][], vv: number[][], s: number) => a.map((row, i) => row.map((y, j) => y + s * vv[i]![j]!));
  const wantHv = mats.flatMap((a, b) => {
    const p = cofactors(shift(a, vs[b]!, h));
    const q = cofactors(shift(a, vs[b]!, -h));
    return p.map((y, k) => (uu[b]! * (y - q[k]!)) / (2 * h));
  });
  assertClose(grad, wantGrad, 1e-5, 'Det gradient');
  assertClose(hv, wantHv, 1e-5, 'Det HVP');
  assert.ok(wantGrad.slice(9, 18).some((g) => Math.abs(g) > 0.01), 'rank-2 matrix: nonzero cofactors');
  assert.ok(wantHv.slice(18, 27).some((g) => Math.abs(g) > 0.01), 'rank-1 matrix: nonzero Hessian');
});

test('Det over a symbolic batch gives the static-shape numbers at another batch', async () => {
  const m = squaredOp('Det', [spec('x', ['N', 3, 3], 'float32')]);
  const feeds = (n: number) => ({ x: rand([n, 3, 3], new Rng(160 + n), -1, 1, 'float32') });
  for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `Det batch ${n}`);
  const diff = await dynamicBatchDiff(m, feeds, ['x'], 4);
  assert.ok(diff < 1e-6, `relative difference ${diff}`);
});

test('Det: matrix sizes that are not static, or larger than 16, are refused with UNSUPPORTED_OP', async () => {
  const dyn = singleOp('Det', [spec('x', ['N', 'N'], 'float32')]);
  const shapes: [string, DType, (number | null)[]][] = [['x', 'float32', [null, null]], ['y0', 'float32', []]];
  assert.throws(gradientFrom(dyn, shapes, ['x']), refusal('Det', /matrix size must be static/));
  const big = singleOp('Det', [spec('x', [17, 17], 'float32')]);
  const probed = await probeShapes(big, () => ({ x: rand([17, 17], new Rng(170), -1, 1, 'float32') }));
  assert.throws(() => buildGradient(big, { of: 'y0', seed: 'u', wrt: ['x'] }, probed), refusal('Det', /17x17 matrices: .* up to 16x16/));
});

// ---------------------------------------------------------------- OneHot (float32: ONNX Runtime has no float64 OneHot values)

interface OneHotCase {
  indices: Tensor;
  depth: Tensor;
  axis?: number;
  why: string;
}

const oneHotCases: OneHotCase[] = [
  { indices: i64([4], [0, 2, 1, 3]), depth: i64([], [4]), why: 'default axis (-1)' },
  { indices: i64([2, 3], [0, 1, -1, 3, 2, 0]), depth: i64([], [4]), axis: 0, why: 'axis 0, a negative index' },
  { indices: i64([2, 3], [1, 4, 2, 0, 0, 3]), depth: i64([1], [5]), axis: 1, why: 'axis 1, depth of shape [1]' },
  { indices: i64([2, 3], [1, 4, 2, 0, -5, 3]), depth: i64([], [5]), axis: -2, why: 'axis -2' },
  { indices: tensor('float32', [2, 2], [1, 9, 2, 4]), depth: tensor('float32', [], [10]), axis: 1, why: 'float indices and depth' },
  { indices: i64([3], [0, 7, 12]), depth: i64([], [10]), why: 'an index out of range (an all-off row)' },
];

for (const c of oneHotCases) {
  test(`OneHot ${c.why}`, async () => {
    const attrs: Record<string, Attr> = c.axis === undefined ? {} : { axis: int(c.axis) };
    const m = squaredOp('OneHot', [spec('v', [2], 'float32')], attrs, { initializers: { i: c.indices, d: c.depth }, order: ['i', 'd', 'v'] });
    await assertGradientAndHvp(m, { v: tensor('float32', [2], [0.75, -1.25]) }, `OneHot ${c.why}`);
  });
}

test('OneHot gradient w.r.t. values is [sum of dy off the ones, sum of dy on them] (value check)', async () => {
  const m = buildModel({
    inputs: [spec('v', [2], 'float32')],
    initializers: { i: i64([3], [2, 0, -1]), d: i64([], [3]) },
    nodes: [{ op: 'OneHot', inputs: ['i', 'd', 'v'], outputs: ['y0'], attrs: { axis: int(0) } }],
    outputs: ['y0'],
  });
  // axis 0: y[k, j] = on where k == i_j (-1 -> 2). u[k, j] = 3k + j + 1.
  const u = tensor('float32', [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const { grad, hv } = await gradAndHv(m, { v: tensor('float32', [2], [0.5, 2]) }, 'v', u, tensor('float32', [2], [1, 1]));
  // on positions: (2, 0) -> 7, (0, 1) -> 2, (2, 2) -> 9: sum 18; all sum 45.
  assert.deepEqual(grad, [27, 18]);
  assert.deepEqual(hv, [0, 0]);
});

test('OneHot over a symbolic batch (indices follow the batch) gives the static-shape numbers at another batch', async () => {
  // (The head of dynamicBatchDiff broadcasts over the first output axis: axes that keep the batch first.)
  for (const axis of [-1, 1]) {
    const m = squaredOp('OneHot', [spec('i', ['N', 3], 'int64'), spec('v', [2], 'float32')], { axis: int(axis) }, { initializers: { d: i64([], [4]) }, order: ['i', 'd', 'v'] });
    const feeds = (n: number) => {
      const r = new Rng(180 + n);
      return { i: i64([n, 3], Array.from({ length: n * 3 }, () => r.int(8) - 4)), v: tensor('float32', [2], [0.5, -1.5]) };
    };
    for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `OneHot axis ${axis} batch ${n}`);
    const diff = await dynamicBatchDiff(m, feeds, ['v'], 4);
    assert.ok(diff < 1e-6, `axis ${axis}: relative difference ${diff}`);
  }
});
