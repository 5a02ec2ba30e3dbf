/** Trigonometric/hyperbolic functions, Selu, CumSum, Trilu: gradient and HVP against finite differences. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp } from './helpers/gradcheck.js';
import { float, int, type Attr } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';
import type { DType } from '../native/onnx/dtype.js';

const rng = new Rng(21);
const rand = (dtype: DType, dims: number[], lo: number, hi: number) =>
  tensor(dtype, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));

/** op(x), then squared so the HVP of linear ops is not trivially zero. */
function squared(op: string, inputs: string[], attrs: Record<string, Attr>, dims: number[], dtype: DType, initializers = {}) {
  return buildModel({
    inputs: [{ name: 'x', dims, dtype }],
    nodes: [
      { op, inputs: ['x', ...inputs], outputs: ['y'], attrs },
      { op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] },
    ],
    outputs: ['z'],
    initializers,
  });
}

// Domains keep away from the poles and branch points; ORT has float64 Sin/Cos but float32 only
// for the rest, where h = 1e-2 central differences carry ~1e-4 relative truncation error.
const UNARY: [string, number, number, DType][] = [
  ['Sin', -3, 3, 'float64'],
  ['Cos', -3, 3, 'float64'],
  ['Tan', -1.2, 1.2, 'float32'],
  ['Asin', -0.8, 0.8, 'float32'],
  ['Acos', -0.8, 0.8, 'float32'],
  ['Atan', -3, 3, 'float32'],
  ['Sinh', -2, 2, 'float32'],
  ['Cosh', -2, 2, 'float32'],
  ['Asinh', -3, 3, 'float32'],
  ['Acosh', 1.3, 3, 'float32'],
  ['Atanh', -0.8, 0.8, 'float32'],
  ['Selu', -2, 2, 'float32'],
];

for (const [op, lo, hi, dtype] of UNARY) {
  test(`${op}: gradient and HVP match finite differences`, async () => {
    const model = squared(op, [], {}, [3, 4], dtype);
    // Selu has a kink at 0: keep inputs away from it.
    const x = rand(dtype, [3, 4], lo, hi);
    if (op === 'Selu') for (let i = 0; i < x.data.length; i++) if (Math.abs(Number(x.data[i])) < 0.1) (x.data as Float32Array)[i] = 0.5;
    const opts = dtype === 'float32' ? { rtol: 5e-3 } : {};
    const g = await checkGradient(model, { x }, opts);
    assert.ok(g.ok, JSON.stringify(g));
    const h = await checkHvp(model, { x }, opts);
    assert.ok(h.ok, JSON.stringify(h));
  });
}

test('Selu with custom alpha and gamma', async () => {
  const model = squared('Selu', [], { alpha: float(0.7), gamma: float(1.3) }, [5], 'float32');
  const x = tensor('float32', [5], [-1.5, -0.4, 0.3, 0.9, 2]);
  assert.ok((await checkGradient(model, { x }, { rtol: 5e-3 })).ok);
});

for (const [exclusive, reverse] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
  test(`CumSum exclusive=${exclusive} reverse=${reverse}: gradient and HVP`, async () => {
    const model = squared('CumSum', ['axis'], { exclusive: int(exclusive), reverse: int(reverse) }, [3, 5], 'float64', { axis: tensor('int64', [], [1]) });
    const x = rand('float64', [3, 5], -1, 1);
    assert.ok((await checkGradient(model, { x })).ok);
    assert.ok((await checkHvp(model, { x })).ok);
  });
}

for (const [upper, k] of [[1, 0], [0, 1], [1, -1]]) {
  test(`Trilu upper=${upper} k=${k}: gradient and HVP`, async () => {
    const model = squared('Trilu', ['k'], { upper: int(upper) }, [2, 4, 4], 'float64', { k: tensor('int64', [], [k]) });
    const x = rand('float64', [2, 4, 4], -1, 1);
    assert.ok((await checkGradient(model, { x })).ok);
    assert.ok((await checkHvp(model, { x })).ok);
  });
}
