/**
 * Activations and softmax: Relu, LeakyRelu, PRelu, Elu, Sigmoid, HardSigmoid, Tanh, Softplus,
 * Gelu (opset 20, approximate none/tanh, and the decomposed export), Softmax, LogSoftmax
 * (rules in activations.ts, softmax.ts).
 *
 * Each case runs the op alone and squared (helpers/squared-op.ts): Relu, LeakyRelu, PRelu and
 * HardSigmoid are piecewise linear, so alone their Hessian is zero and only the squared model
 * makes the HVP check bite. float64 with the checker's defaults (h = 1e-6, rtol 1e-6) except
 * Gelu approximate="none" (ORT CPU runs it through Erf, which has no float64 kernel).
 * Inputs keep at least 0.1 away from kinks: 0 for the Relu family, the ends of HardSigmoid's
 * linear region (alpha x + beta = 0 or 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, type InputSpec } from './helpers/onnx-builder.js';
import { squaredOp } from './helpers/squared-op.js';
import { checkGradient, checkHvp, type CheckOptions, assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { float, int, serializeModel, str, type Attr, type Model } from '../native/onnx/ir.js';
import type { DType } from '../native/onnx/dtype.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { Rng } from '../common/random.js';

const rng = new Rng(43);
const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const rand = (dims: number[], lo = -1, hi = 1, dtype: DType = 'float64') =>
  tensor(dtype, dims, Array.from({ length: numel(dims) }, () => rng.uniform(lo, hi)));
/** Uniform in [lo, hi] but at least `gap` from every point of `kinks`. */
function avoiding(dims: number[], lo: number, hi: number, kinks: number[], gap = 0.1, dtype: DType = 'float64'): Tensor {
  const v: number[] = [];
  while (v.length < numel(dims)) {
    const x = rng.uniform(lo, hi);
    if (kinks.every((k) => Math.abs(x - k) >= gap)) v.push(x);
  }
  return tensor(dtype, dims, v);
}

const checkBoth = assertGradientAndHvp;

async function checkOp(
  op: string,
  inputs: InputSpec[],
  feeds: Record<string, Tensor>,
  attrs: Record<string, Attr> = {},
  opts: CheckOptions & { label?: string; opset?: number; initializers?: Record<string, Tensor> } = {},
) {
  const label = opts.label ?? op;
  const names = [...inputs.map((i) => i.name), ...Object.keys(opts.initializers ?? {})];
  const alone = buildModel({
    opset: opts.opset ?? 18,
    inputs,
    initializers: opts.initializers,
    nodes: [{ op, inputs: names, outputs: ['y0'], attrs }],
    outputs: ['y0'],
  });
  await checkBoth(alone, feeds, `${label} alone`, opts);
  const sq = squaredOp(op, inputs, attrs, { opset: opts.opset, initializers: opts.initializers });
  await checkBoth(sq, feeds, `${label} squared`, opts);
}

const X = (dims: number[], dtype: DType = 'float64'): InputSpec[] => [{ name: 'x', dtype, dims }];

test('Relu, LeakyRelu (default and alpha variants), Elu (alpha variants)', async () => {
  const dims = [2, 3, 4];
  const x = () => avoiding(dims, -2, 2, [0]);
  await checkOp('Relu', X(dims), { x: x() });
  await checkOp('LeakyRelu', X(dims), { x: x() }, {}, { label: 'LeakyRelu default alpha' });
  for (const alpha of [0.1, -0.3, 1.7]) {
    await checkOp('LeakyRelu', X(dims), { x: x() }, { alpha: float(alpha) }, { label: `LeakyRelu alpha=${alpha}` });
  }
  await checkOp('Elu', X(dims), { x: x() }, {}, { label: 'Elu default alpha' });
  for (const alpha of [0.5, 2.5]) {
    await checkOp('Elu', X(dims), { x: x() }, { alpha: float(alpha) }, { label: `Elu alpha=${alpha}` });
  }
});

test('PRelu: slope broadcast (per channel, scalar, full shape), slope differentiable', async () => {
  const dims = [2, 3, 4];
  const x = () => avoiding(dims, -2, 2, [0]);
  for (const sdims of [[3, 1], [1], [4], [2, 3, 4], [1, 3, 1]]) {
    await checkOp('PRelu', [...X(dims), { name: 'slope', dims: sdims }], { x: x(), slope: rand(sdims, -0.5, 1.5) }, {}, { label: `PRelu slope [${sdims}]` });
  }
  // A constant slope (the usual exported model): only x is differentiated.
  await checkOp('PRelu', X(dims), { x: x() }, {}, { initializers: { slope: rand([3, 1], 0, 0.5) }, label: 'PRelu constant slope' });
});

test('Sigmoid, Tanh, Softplus', async () => {
  const dims = [3, 5];
  for (const op of ['Sigmoid', 'Tanh', 'Softplus']) await checkOp(op, X(dims), { x: rand(dims, -3, 3) });
});

test('HardSigmoid (alpha, beta variants): zero gradient outside the linear region', async () => {
  const dims = [4, 5];
  for (const [alpha, beta] of [[0.2, 0.5], [0.5, 0.3], [-0.4, 0.6]] as const) {
    // Kinks where alpha x + beta hits 0 or 1; the attribute is float32, as ORT applies it.
    const a = Math.fround(alpha);
    const b = Math.fround(beta);
    const kinks = [-b / a, (1 - b) / a];
    const lo = Math.min(...kinks) - 1.5;
    const hi = Math.max(...kinks) + 1.5;
    const x = avoiding(dims, lo, hi, kinks);
    const attrs: Record<string, Attr> = alpha === 0.2 && beta === 0.5 ? {} : { alpha: float(alpha), beta: float(beta) };
    await checkOp('HardSigmoid', X(dims), { x }, attrs, { label: `HardSigmoid alpha=${alpha} beta=${beta}` });
  }
  // Exactly zero outside the linear region.
  const model = buildModel({ inputs: X([4]), nodes: [{ op: 'HardSigmoid', inputs: ['x'], outputs: ['y0'] }], outputs: ['y0'] });
  const feeds = { x: tensor('float64', [4], [-4, -1, 1, 4]) };
  const shapes = await probeShapes(model, () => feeds);
  const g = buildGradient(model, { of: 'y0', seed: 'u', wrt: ['x'] }, shapes);
  const s = await createSession(serializeModel(g.model));
  const out = await runSession(s, { ...feeds, u: tensor('float64', [4], [1, 1, 1, 1]) });
  await s.release();
  const dx = [...(out[g.grads.get('x')!]!.data as Float64Array)];
  assert.deepEqual([dx[0], dx[3]], [0, 0]);
  assert.equal(dx[1], Math.fround(0.2));
});

test('Gelu (opset 20) approximate="tanh" in float64 and "none" in float32', async () => {
  const dims = [2, 3, 4];
  await checkOp('Gelu', X(dims), { x: rand(dims, -3, 3) }, { approximate: str('tanh') }, { opset: 20, label: 'Gelu tanh' });
  // float32 (Erf has no float64 CPU kernel), h = 1e-2: central differences are off by
  // h^2 |f'''| / 6 ~ 2e-5 relative (|gelu'''| < 1.2), rounding ~ 6e-8 / 2h ~ 3e-6 per element;
  // rtol 1e-3 leaves a wide margin and still fails a rule that drops the x*pdf term (O(1) error).
  await checkOp('Gelu', X(dims, 'float32'), { x: rand(dims, -3, 3, 'float32') }, {}, { opset: 20, rtol: 1e-3, label: 'Gelu none (default)' });
  await checkOp('Gelu', X(dims, 'float32'), { x: rand(dims, -3, 3, 'float32') }, { approximate: str('none') }, { opset: 20, rtol: 1e-3, label: 'Gelu none' });
  await checkOp('Gelu', X(dims, 'float32'), { x: rand(dims, -3, 3, 'float32') }, { approximate: str('tanh') }, { opset: 20, rtol: 1e-3, label: 'Gelu tanh float32' });
});

test('Gelu as exporters decompose it: x * 0.5 * (1 + Erf(x / sqrt 2)) (Div, Erf, Add, Mul)', async () => {
  const f32 = (v: number) => tensor('float32', [], [v]);
  const model = buildModel({
    inputs: X([2, 3, 4], 'float32'),
    initializers: { sqrt2: f32(Math.SQRT2), one: f32(1), half: f32(0.5) },
    nodes: [
      { op: 'Div', inputs: ['x', 'sqrt2'], outputs: ['xs'] },
      { op: 'Erf', inputs: ['xs'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'one'], outputs: ['e1'] },
      { op: 'Mul', inputs: ['x', 'e1'], outputs: ['xe'] },
      { op: 'Mul', inputs: ['xe', 'half'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  // Same float32 tolerance argument as the Gelu op test.
  const x = rand([2, 3, 4], -3, 3, 'float32');
  await checkBoth(model, { x }, 'decomposed Gelu', { rtol: 1e-3 });
  // And it agrees with the Gelu op's own gradient (both are the same function).
  const op = buildModel({ opset: 20, inputs: X([2, 3, 4], 'float32'), nodes: [{ op: 'Gelu', inputs: ['x'], outputs: ['y0'] }], outputs: ['y0'] });
  const gradOf = async (m: Model) => {
    const shapes = await probeShapes(m, () => ({ x }));
    const g = buildGradient(m, { of: 'y0', seed: 'u', wrt: ['x'] }, shapes);
    const s = await createSession(serializeModel(g.model));
    const out = await runSession(s, { x, u: tensor('float32', [2, 3, 4], Array(24).fill(1)) });
    await s.release();
    return [...(out[g.grads.get('x')!]!.data as Float32Array)];
  };
  const a = await gradOf(model);
  const b = await gradOf(op);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `element ${i}: ${v} vs ${b[i]}`));
});

test('Softmax and LogSoftmax (opset 13+ semantics): axis 0, 1, 2, -1 and the default on 3-D inputs', async () => {
  const dims = [2, 3, 4];
  for (const op of ['Softmax', 'LogSoftmax']) {
    await checkOp(op, X(dims), { x: rand(dims, -2, 2) }, {}, { label: `${op} default axis` });
    for (const axis of [0, 1, 2, -1, -2]) {
      await checkOp(op, X(dims), { x: rand(dims, -2, 2) }, { axis: int(axis) }, { label: `${op} axis=${axis}` });
    }
  }
});

test('a softmax cross-entropy head: LogSoftmax then Mul by one-hot labels and ReduceSum', async () => {
  const model = buildModel({
    inputs: [{ name: 'x', dims: [3, 5] }, { name: 'w', dims: [5, 5] }],
    initializers: { onehot: tensor('float64', [3, 5], [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]) },
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['z'] },
      { op: 'Tanh', inputs: ['z'], outputs: ['h'] },
      { op: 'LogSoftmax', inputs: ['h'], outputs: ['lp'], attrs: { axis: int(1) } },
      { op: 'Mul', inputs: ['lp', 'onehot'], outputs: ['picked'] },
      { op: 'ReduceSum', inputs: ['picked'], outputs: ['y0'], attrs: { keepdims: int(0) } },
    ],
    outputs: ['y0'],
  });
  await checkBoth(model, { x: rand([3, 5]), w: rand([5, 5]) }, 'cross-entropy head');
});

test('activations over a symbolic batch give the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [
      { name: 'x', dims: ['N', 3, 4] },
      { name: 'slope', dims: [3, 1] },
    ],
    nodes: [
      { op: 'PRelu', inputs: ['x', 'slope'], outputs: ['p'] },
      { op: 'Elu', inputs: ['p'], outputs: ['e'], attrs: { alpha: float(0.7) } },
      { op: 'Softmax', inputs: ['e'], outputs: ['s0'], attrs: { axis: int(0) } },
      { op: 'LogSoftmax', inputs: ['e'], outputs: ['s1'], attrs: { axis: int(1) } },
      { op: 'Sigmoid', inputs: ['s1'], outputs: ['g'] },
      { op: 'Mul', inputs: ['s0', 'g'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  const feeds = (n: number) => {
    const r = new Rng(400 + n);
    const t = (dims: number[], lo: number, hi: number) => tensor('float64', dims, Array.from({ length: numel(dims) }, () => r.uniform(lo, hi)));
    const x = t([n, 3, 4], 0.1, 2);
    for (let i = 0; i < x.data.length; i++) if (r.next() < 0.5) (x.data as Float64Array)[i] = -(x.data[i] as number);
    return { x, slope: t([3, 1], 0.1, 0.9) };
  };
  await checkBoth(m, feeds(2), 'composite at batch 2');
  const diff = await dynamicBatchDiff(m, feeds, ['x', 'slope'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});
