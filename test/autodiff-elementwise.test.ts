/**
 * Elementwise math and selection: Pow, Sqrt, Reciprocal, Exp, Log, Abs, Erf, Clip, Min, Max,
 * Where, Cast, Dropout (rules in unary-math.ts, select.ts, cast-dropout.ts).
 *
 * Every case is checked twice: the op alone (its own second derivative), and squared
 * (helpers/squared-op.ts), because piecewise-linear ops (Abs, Clip, Min/Max, Where, Cast,
 * Dropout) have a zero Hessian alone, which would make the HVP check vacuous; squared,
 * H v = VJP(2 u * JVP(v)) exercises the op's JVP and the JVPs of what its VJP emits.
 * float64 with the checker's default tolerances (h = 1e-6, rtol 1e-6) except Erf (float32 only
 * on ORT's CPU provider, see its test). Random inputs keep away from the non-differentiable points:
 * |x| >= 0.2 for Abs, positive bases where the exponent is differentiated, x at least 0.1 from
 * Clip's bounds, continuous values (no ties) for Min/Max.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, singleOp, type InputSpec } from './helpers/onnx-builder.js';
import { squaredOp } from './helpers/squared-op.js';
import { checkGradient, checkHvp, type CheckOptions, assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, serializeModel, type Attr, type Model } from '../native/onnx/ir.js';
import { dtypeToCode, type DType } from '../native/onnx/dtype.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { buildHvp } from '../native/autodiff/hvp.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { Rng } from '../common/random.js';

const rng = new Rng(41);
const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const rand = (dims: number[], lo = -1, hi = 1, dtype: DType = 'float64') =>
  tensor(dtype, dims, Array.from({ length: numel(dims) }, () => rng.uniform(lo, hi)));
/** Uniform in [lo, hi] with |x| >= gap (random sign). */
const awayFromZero = (dims: number[], gap = 0.2, hi = 1.5, dtype: DType = 'float64') =>
  tensor(dtype, dims, Array.from({ length: numel(dims) }, () => rng.sign() * rng.uniform(gap, hi)));
/** Uniform in [lo, hi] but at least `gap` from every point of `kinks`. */
function avoiding(dims: number[], lo: number, hi: number, kinks: number[], gap = 0.1): Tensor {
  const v: number[] = [];
  while (v.length < numel(dims)) {
    const x = rng.uniform(lo, hi);
    if (kinks.every((k) => Math.abs(x - k) >= gap)) v.push(x);
  }
  return tensor('float64', dims, v);
}
const scalar = (v: number, dtype: DType = 'float64') => tensor(dtype, [], [v]);

const checkBoth = assertGradientAndHvp;

/** The op alone and squared, both checked. */
async function checkOp(
  op: string,
  inputs: InputSpec[],
  feeds: Record<string, Tensor>,
  attrs: Record<string, Attr> = {},
  opts: CheckOptions & { initializers?: Record<string, Tensor>; order?: string[]; label?: string; squared?: boolean } = {},
) {
  const label = opts.label ?? op;
  const names = opts.order ?? [...inputs.map((i) => i.name), ...Object.keys(opts.initializers ?? {})];
  const alone = buildModel({
    inputs,
    initializers: opts.initializers,
    nodes: [{ op, inputs: names, outputs: ['y0'], attrs }],
    outputs: ['y0'],
  });
  await checkBoth(alone, feeds, `${label} alone`, opts);
  // sqrt(x)^2 = x has a zero Hessian: finite-difference noise over a zero reference fails the
  // relative check, and there is nothing to learn from it.
  if (opts.squared === false) return;
  await checkBoth(squaredOp(op, inputs, attrs, { initializers: opts.initializers, order: opts.order }), feeds, `${label} squared`, opts);
}

// ---------------------------------------------------------------- unary math

test('Sqrt, Reciprocal, Exp, Log (positive inputs where needed)', async () => {
  const dims = [2, 3, 4];
  const spec = [{ name: 'x', dims }];
  await checkOp('Sqrt', spec, { x: rand(dims, 0.3, 2) }, {}, { squared: false });
  await checkOp('Reciprocal', spec, { x: awayFromZero(dims, 0.4, 2) });
  await checkOp('Exp', spec, { x: rand(dims, -1.5, 1.5) });
  await checkOp('Log', spec, { x: rand(dims, 0.3, 2) });
});

test('Abs away from 0 (its JVP uses Sign, which carries no tangent)', async () => {
  const dims = [3, 5];
  await checkOp('Abs', [{ name: 'x', dims }], { x: awayFromZero(dims) });
});

test('Erf in float32 (ORT CPU has no float64 Erf kernel)', async () => {
  // float32, h = 1e-2: the truncation error of central differences is h^2 |f'''| / 6 ~ 2e-5 relative
  // (|erf'''| <= 2.3), rounding ~ 6e-8 / 2h ~ 3e-6 per element; rtol 1e-3 leaves a 50x margin
  // and is still 1000x below the error of a wrong factor (e.g. dropping 2/sqrt(pi) gives 0.13).
  const dims = [2, 3, 4];
  await checkOp('Erf', [{ name: 'x', dtype: 'float32', dims }], { x: rand(dims, -1.5, 1.5, 'float32') }, {}, { rtol: 1e-3 });
});

// ---------------------------------------------------------------- Pow

test('Pow: base and exponent both differentiable, broadcasting both ways', async () => {
  // a [2,3,4] against b [3,1]; then a [3,1] against b [2,3,4] (the exponent is the larger).
  await checkOp('Pow', [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [3, 1] }], { a: rand([2, 3, 4], 0.4, 2), b: rand([3, 1], -1.5, 2.5) });
  await checkOp('Pow', [{ name: 'a', dims: [3, 1] }, { name: 'b', dims: [2, 3, 4] }], { a: rand([3, 1], 0.4, 2), b: rand([2, 3, 4], -1.5, 2.5) }, {}, { label: 'Pow (exponent larger)' });
  // A scalar exponent input.
  await checkOp('Pow', [{ name: 'a', dims: [4, 2] }, { name: 'b', dims: [] }], { a: rand([4, 2], 0.4, 2), b: scalar(1.7) }, {}, { label: 'Pow (scalar exponent)' });
});

test('Pow: constant exponents (x^2, x^3 of negative bases, x^0.5), integer exponent, constant base', async () => {
  const dims = [2, 5];
  for (const e of [2, 3]) {
    await checkOp('Pow', [{ name: 'a', dims }], { a: awayFromZero(dims) }, {}, { initializers: { e: scalar(e) }, label: `Pow(x, ${e})` });
  }
  await checkOp('Pow', [{ name: 'a', dims }], { a: rand(dims, 0.3, 2) }, {}, { initializers: { e: scalar(0.5) }, label: 'Pow(x, 0.5)', squared: false });
  // int64 exponent (ONNX Pow's T2): cast to the base's dtype, no gradient for it.
  await checkOp('Pow', [{ name: 'a', dims }], { a: awayFromZero(dims) }, {}, { initializers: { e: tensor('int64', [5], [1, 2, 3, 2, 3]) }, label: 'Pow(x, int64)' });
  await checkOp(
    'Pow',
    [{ name: 'a', dims }, { name: 'e', dtype: 'int32', dims: [] }],
    { a: awayFromZero(dims), e: tensor('int32', [], [3]) },
    {},
    { label: 'Pow(x, int32 input)' },
  );
  // 1.5^x: the exponent is the only variable.
  await checkOp('Pow', [{ name: 'x', dims }], { x: rand(dims, -2, 2) }, {}, { initializers: { base: scalar(1.5) }, order: ['base', 'x'], label: 'Pow(1.5, x)' });
});

test('Pow: the exponent gradient is 0 (not NaN) where the base is not positive', async () => {
  // y = a^b with a = [-2, 0, 3], b = 2: dy/db = y log a where a > 0 only.
  const model = singleOp('Pow', [{ name: 'a', dims: [3] }, { name: 'b', dims: [3] }]);
  const feeds = { a: tensor('float64', [3], [-2, 0, 3]), b: tensor('float64', [3], [2, 2, 2]) };
  const shapes = await probeShapes(model, () => feeds);
  const g = buildGradient(model, { of: 'y0', seed: 'u', wrt: ['a', 'b'] }, shapes);
  const s = await createSession(serializeModel(g.model));
  const out = await runSession(s, { ...feeds, u: tensor('float64', [3], [1, 1, 1]) });
  await s.release();
  assert.deepEqual([...(out[g.grads.get('a')!]!.data as Float64Array)], [-4, 0, 6]);
  const db = [...(out[g.grads.get('b')!]!.data as Float64Array)];
  assert.equal(db[0], 0);
  assert.equal(db[1], 0);
  assert.ok(Math.abs(db[2]! - 9 * Math.log(3)) < 1e-12, `db = ${db}`);
});

// ---------------------------------------------------------------- Clip

test('Clip: min and max as inputs (differentiable), either one alone, constants, crossed bounds', async () => {
  const dims = [3, 4];
  const lo = -0.5;
  const hi = 0.6;
  const x = avoiding(dims, -1.5, 1.5, [lo, hi]);
  const spec: InputSpec[] = [{ name: 'x', dims }, { name: 'lo', dims: [] }, { name: 'hi', dims: [] }];
  await checkOp('Clip', spec, { x, lo: scalar(lo), hi: scalar(hi) }, {}, { label: 'Clip(x, lo, hi)' });
  await checkOp('Clip', [spec[0]!, spec[1]!], { x, lo: scalar(lo) }, {}, { label: 'Clip(x, lo)' });
  await checkOp('Clip', [spec[0]!, spec[2]!], { x, hi: scalar(hi) }, {}, { order: ['x', '', 'hi'], label: 'Clip(x, , hi)' });
  await checkOp('Clip', [spec[0]!], { x }, {}, { initializers: { lo: scalar(lo), hi: scalar(hi) }, label: 'Clip(x, const lo, const hi)' });
  // No bounds: the identity.
  await checkOp('Clip', [spec[0]!], { x }, {}, { label: 'Clip(x)' });
  // lo > hi: ORT computes min(max(x, lo), hi) = hi everywhere, so all of the gradient goes to hi.
  await checkOp('Clip', spec, { x, lo: scalar(0.9), hi: scalar(-0.2) }, {}, { label: 'Clip(x, lo > hi)' });
});

test('Clip gradient passes only where lo < x < hi', async () => {
  const model = singleOp('Clip', [{ name: 'x', dims: [5] }, { name: 'lo', dims: [] }, { name: 'hi', dims: [] }]);
  const feeds = { x: tensor('float64', [5], [-2, -0.5, 0, 0.5, 2]), lo: scalar(-1), hi: scalar(1) };
  const shapes = await probeShapes(model, () => feeds);
  const g = buildGradient(model, { of: 'y0', seed: 'u', wrt: ['x', 'lo', 'hi'] }, shapes);
  const s = await createSession(serializeModel(g.model));
  const out = await runSession(s, { ...feeds, u: tensor('float64', [5], [1, 2, 3, 4, 5]) });
  await s.release();
  assert.deepEqual([...(out[g.grads.get('x')!]!.data as Float64Array)], [0, 2, 3, 4, 0]);
  assert.deepEqual([...(out[g.grads.get('lo')!]!.data as Float64Array)], [1]);
  assert.deepEqual([...(out[g.grads.get('hi')!]!.data as Float64Array)], [5]);
});

// ---------------------------------------------------------------- Min / Max

for (const op of ['Min', 'Max']) {
  test(`${op}: variadic with broadcasting, gradient to the selected input`, async () => {
    await checkOp(op, [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [3, 1] }, { name: 'c', dims: [4] }], { a: rand([2, 3, 4]), b: rand([3, 1]), c: rand([4]) });
    await checkOp(op, [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [2, 3] }], { a: rand([2, 3]), b: rand([2, 3]) }, {}, { label: `${op} (2 inputs)` });
    await checkOp(op, [{ name: 'a', dims: [2, 3] }], { a: rand([2, 3]) }, {}, { label: `${op} (1 input)` });
    await checkOp(op, [{ name: 'a', dims: [2, 3] }], { a: rand([2, 3]) }, {}, { initializers: { c: rand([3]) }, label: `${op} (with a constant)` });
  });
}

test('Max(x, x): tied inputs share the gradient, so the total is dy (not 2 dy)', async () => {
  const model = buildModel({
    inputs: [{ name: 'x', dims: [2, 3] }],
    nodes: [
      { op: 'Max', inputs: ['x', 'x'], outputs: ['m'] },
      { op: 'Min', inputs: ['x', 'm', 'x'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  await checkBoth(model, { x: rand([2, 3]) }, 'Min(x, Max(x, x), x)');
  const sq = buildModel({
    inputs: [{ name: 'x', dims: [2, 3] }],
    nodes: [
      { op: 'Max', inputs: ['x', 'x'], outputs: ['m'] },
      { op: 'Mul', inputs: ['m', 'm'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  await checkBoth(sq, { x: rand([2, 3]) }, 'Max(x, x)^2');
});

// ---------------------------------------------------------------- Where

test('Where: both branches differentiable with broadcasting; the condition is not', async () => {
  const bool = (dims: number[]) => tensor('bool', dims, Array.from({ length: numel(dims) }, () => (rng.next() < 0.5 ? 1 : 0)));
  await checkOp(
    'Where',
    [{ name: 'c', dtype: 'bool', dims: [2, 1, 4] }, { name: 'x', dims: [3, 4] }, { name: 'z', dims: [2, 3, 1] }],
    { c: bool([2, 1, 4]), x: rand([3, 4]), z: rand([2, 3, 1]) },
  );
  // One branch a constant (JVP with a single tangent, smaller than the output).
  await checkOp('Where', [{ name: 'c', dtype: 'bool', dims: [2, 3] }, { name: 'x', dims: [3] }], { c: bool([2, 3]), x: rand([3]) }, {}, { initializers: { z: rand([2, 1]) }, label: 'Where(c, x, const)' });
  await checkOp('Where', [{ name: 'c', dtype: 'bool', dims: [2, 3] }, { name: 'z', dims: [1] }], { c: bool([2, 3]), z: rand([1]) }, {}, { initializers: { x: rand([2, 3]) }, order: ['c', 'x', 'z'], label: 'Where(c, const, z)' });
  // Condition and the variable branch both smaller than the output (the constant branch sets
  // its shape): the single-branch JVP must be expanded.
  await checkOp('Where', [{ name: 'c', dtype: 'bool', dims: [3] }, { name: 'z', dims: [3] }], { c: bool([3]), z: rand([3]) }, {}, { initializers: { x: rand([2, 3]) }, order: ['c', 'x', 'z'], label: 'Where(c[3], const[2,3], z[3])' });
  // ... and consumed by a shape-sensitive op, where a tangent of the wrong shape would not broadcast.
  const flat = buildModel({
    inputs: [{ name: 'c', dtype: 'bool', dims: [3] }, { name: 'z', dims: [3] }],
    initializers: { x: rand([2, 3]), shape: tensor('int64', [1], [6]) },
    nodes: [
      { op: 'Where', inputs: ['c', 'x', 'z'], outputs: ['w'] },
      { op: 'Reshape', inputs: ['w', 'shape'], outputs: ['r'] },
      { op: 'Mul', inputs: ['r', 'r'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  await checkBoth(flat, { c: tensor('bool', [3], [1, 0, 0]), z: rand([3]) }, 'Reshape(Where(c, const, z))^2');
  // A data-dependent condition: Where(x > 0, x^2... ) as a composite, i.e. a hand-written leaky relu.
  const m = buildModel({
    inputs: [{ name: 'x', dims: [3, 4] }],
    initializers: { zero: scalar(0), k: scalar(0.3) },
    nodes: [
      { op: 'Greater', inputs: ['x', 'zero'], outputs: ['c'] },
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['kx'] },
      { op: 'Exp', inputs: ['x'], outputs: ['ex'] },
      { op: 'Where', inputs: ['c', 'ex', 'kx'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  await checkBoth(m, { x: awayFromZero([3, 4]) }, 'Where(x > 0, exp x, 0.3 x)');
});

// ---------------------------------------------------------------- Cast

test('Cast float32 -> float64 -> float32 passes the gradient; casts to int/bool carry none', async () => {
  // float32 input (h = 1e-2): the model is Tanh(Cast(x, double)) * Cast(...) so the float64
  // middle is exact and the only float32 error is the rounding of x +- h d (~6e-8 / 2e-2 = 3e-6
  // relative) plus truncation h^2 |f'''| / 6 ~ 2e-5: rtol 1e-3.
  const f32 = (dims: number[], lo: number, hi: number) => rand(dims, lo, hi, 'float32');
  const m = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }],
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['xd'], attrs: { to: int(dtypeToCode('float64')) } },
      { op: 'Tanh', inputs: ['xd'], outputs: ['t'] },
      { op: 'Mul', inputs: ['t', 'xd'], outputs: ['p'] },
      { op: 'Cast', inputs: ['p'], outputs: ['y0'], attrs: { to: int(dtypeToCode('float32')) } },
    ],
    outputs: ['y0'],
  });
  await checkBoth(m, { x: f32([2, 3], -1.5, 1.5) }, 'Cast f32/f64', { rtol: 1e-3 });
  await checkOp('Cast', [{ name: 'x', dtype: 'float32', dims: [2, 3] }], { x: f32([2, 3], -1.5, 1.5) }, { to: int(dtypeToCode('float64')) }, { rtol: 1e-3, label: 'Cast f32 -> f64' });
  await checkOp('CastLike', [{ name: 'x', dtype: 'float32', dims: [2, 3] }], { x: f32([2, 3], -1.5, 1.5) }, {}, { initializers: { like: scalar(0) }, rtol: 1e-3, label: 'CastLike f32 -> f64' });

  // y = x * float(int(x)): int(x) is piecewise constant, so dy/dx = int(x) exactly. If Cast
  // passed a gradient through the integer cast the checker would see an extra x term.
  for (const to of ['int64', 'int32', 'bool'] as DType[]) {
    const mi = buildModel({
      inputs: [{ name: 'x', dims: [2, 4] }],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['xi'], attrs: { to: int(dtypeToCode(to)) } },
        { op: 'Cast', inputs: ['xi'], outputs: ['xf'], attrs: { to: int(dtypeToCode('float64')) } },
        { op: 'Mul', inputs: ['x', 'xf'], outputs: ['p'] },
        { op: 'Mul', inputs: ['p', 'x'], outputs: ['y0'] },
      ],
      outputs: ['y0'],
    });
    await checkBoth(mi, { x: avoiding([2, 4], -3.5, 3.5, [-3, -2, -1, 0, 1, 2, 3]) }, `Cast to ${to}`);
  }
});

// ---------------------------------------------------------------- Dropout

test('Dropout in inference mode is the identity; its mask output carries nothing', async () => {
  const dims = [2, 3];
  const x = rand(dims);
  const only = { outputs: ['y0'] };
  const dropout = (inputs: string[], initializers: Record<string, Tensor>, outputs = ['z0', 'mask']) =>
    buildModel({
      inputs: [{ name: 'x', dims }],
      initializers,
      nodes: [
        { op: 'Dropout', inputs, outputs },
        { op: 'Mul', inputs: ['z0', 'z0'], outputs: ['y0'] },
      ],
      outputs: ['y0'],
    });
  const no = tensor('bool', [], [0]);
  const yes = tensor('bool', [], [1]);
  await checkBoth(dropout(['x'], {}, ['z0']), { x }, 'Dropout(x)', only);
  await checkBoth(dropout(['x', 'r'], { r: scalar(0.3) }), { x }, 'Dropout(x, 0.3) with mask', only);
  await checkBoth(dropout(['x', 'r', 't'], { r: scalar(0.3), t: no }), { x }, 'Dropout(x, 0.3, false)', only);
  await checkBoth(dropout(['x', 'r', 't'], { r: scalar(0), t: yes }), { x }, 'Dropout(x, 0, true)', only);
  // Training mode with a non-zero ratio is random: refused.
  const training = dropout(['x', 'r', 't'], { r: scalar(0.3), t: yes });
  const shapes = await probeShapes(training, () => ({ x }));
  assert.throws(
    () => buildGradient(training, { of: 'y0', seed: 'u', wrt: ['x'] }, shapes),
    (e: Error & { code?: string }) => e.code === 'UNSUPPORTED_OP' && /training_mode/.test(e.message),
  );
});

// ---------------------------------------------------------------- symbolic batch

test('elementwise rules over a symbolic batch give the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [
      { name: 'x', dims: ['N', 3, 4] },
      { name: 'w', dims: [3, 1] },
      { name: 'p', dims: [4] },
      { name: 'c', dtype: 'bool', dims: ['N', 1, 4] },
    ],
    initializers: { lo: scalar(-0.4), hi: scalar(0.7) },
    nodes: [
      { op: 'Abs', inputs: ['x'], outputs: ['ax'] },
      { op: 'Pow', inputs: ['ax', 'w'], outputs: ['pw'] },
      { op: 'Max', inputs: ['pw', 'p', 'x'], outputs: ['mx'] },
      { op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['cl'] },
      { op: 'Where', inputs: ['c', 'mx', 'p'], outputs: ['wh'] },
      { op: 'Mul', inputs: ['wh', 'cl'], outputs: ['y0'] },
    ],
    outputs: ['y0'],
  });
  const feeds = (n: number) => {
    const r = new Rng(300 + n);
    const t = (dims: number[], lo: number, hi: number) => tensor('float64', dims, Array.from({ length: numel(dims) }, () => r.uniform(lo, hi)));
    const x = t([n, 3, 4], 0.2, 1.3);
    for (let i = 0; i < x.data.length; i++) if (r.next() < 0.5) (x.data as Float64Array)[i] = -(x.data[i] as number);
    return {
      x,
      w: t([3, 1], 0.5, 2),
      p: t([4], -1, 1),
      c: tensor('bool', [n, 1, 4], Array.from({ length: n * 4 }, () => (r.next() < 0.5 ? 1 : 0))),
    };
  };
  const f2 = feeds(2);
  // Keep x away from Clip's bounds for the finite-difference check.
  await checkBoth(m, f2, 'composite at batch 2', { wrt: ['x', 'w', 'p'] });
  const diff = await dynamicBatchDiff(m, feeds, ['x', 'w', 'p'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});

test('every op the elementwise VJPs emit has a JVP rule (the HVP graph builds)', async () => {
  // buildHvp throws "has a VJP rule but no JVP rule" / "no rule for" when an emitted op lacks a
  // JVP; the checks above run it per op, this one gathers the emitted vocabulary in one model.
  // float32 because of Erf.
  const x = tensor('float32', [2, 3], [0.5, -0.7, 1.1, -1.3, 0.9, 1.6]);
  const f32 = (v: number) => scalar(v, 'float32');
  const m = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }],
    initializers: { lo: f32(-0.5), hi: f32(2) },
    nodes: [
      { op: 'Abs', inputs: ['x'], outputs: ['a'] },
      { op: 'Pow', inputs: ['a', 'x'], outputs: ['p'] },
      { op: 'Erf', inputs: ['x'], outputs: ['er'] },
      { op: 'Sqrt', inputs: ['a'], outputs: ['s'] },
      { op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['c'] },
      { op: 'Max', inputs: ['p', 's', 'c', 'er'], outputs: ['mx'] },
      { op: 'ReduceSum', inputs: ['mx'], outputs: ['y0'], attrs: { keepdims: int(0) } },
    ],
    outputs: ['y0'],
  });
  const shapes = await probeShapes(m, () => ({ x }));
  const g = buildGradient(m, { of: 'y0', wrt: ['x'] }, shapes);
  const emitted = new Set(g.model.graph.nodes.slice(m.graph.nodes.length).map((n) => n.opType));
  for (const op of ['Sign', 'Where', 'Greater', 'Less', 'And', 'Log', 'Pow', 'Exp', 'Cast', 'Equal']) {
    assert.ok(emitted.has(op), `expected ${op} in the gradient graph, got ${[...emitted].join(' ')}`);
  }
  const hv = await buildHvp(m, 'y0', ['x'], { feeds: () => ({ x }) });
  const s = await createSession(serializeModel(hv.model));
  const out = await runSession(s, { x, [hv.tangentInputs.get('x')!]: tensor('float32', [2, 3], [1, 1, 1, 1, 1, 1]) });
  await s.release();
  assert.ok([...(out[hv.hvps.get('x')!]!.data as Float32Array)].every(Number.isFinite));
});
