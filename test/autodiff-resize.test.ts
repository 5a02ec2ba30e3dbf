/** Resize: the per-axis interpolation-matrix VJP and the same-op JVP, against finite differences. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp } from './helpers/gradcheck.js';
import { str, type Attr } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';

const rng = new Rng(33);

const CASES: { name: string; attrs: Record<string, Attr>; scales?: number[]; sizes?: number[]; dims: number[] }[] = [
  { name: 'linear x2 (half_pixel)', attrs: { mode: str('linear') }, scales: [1, 1, 2, 2], dims: [2, 3, 4, 5] },
  { name: 'linear downsample, align_corners', attrs: { mode: str('linear'), coordinate_transformation_mode: str('align_corners') }, sizes: [2, 3, 3, 2], dims: [2, 3, 5, 4] },
  { name: 'nearest x3 on one axis', attrs: { mode: str('nearest') }, scales: [1, 1, 1, 3], dims: [1, 2, 3, 4] },
  { name: 'cubic sizes', attrs: { mode: str('cubic') }, sizes: [1, 2, 7, 6], dims: [1, 2, 4, 5] },
];

for (const c of CASES) {
  test(`Resize ${c.name}: gradient and HVP match finite differences`, async () => {
    const initializers: Record<string, ReturnType<typeof tensor>> = {};
    if (c.scales) initializers.scales = tensor('float32', [4], c.scales);
    if (c.sizes) initializers.sizes = tensor('int64', [4], c.sizes);
    const model = buildModel({
      inputs: [{ name: 'x', dims: c.dims, dtype: 'float32' }],
      nodes: [
        { op: 'Resize', inputs: ['x', '', c.scales ? 'scales' : '', ...(c.sizes ? ['sizes'] : [])], outputs: ['r'], attrs: c.attrs },
        { op: 'Mul', inputs: ['r', 'r'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers,
    });
    const n = c.dims.reduce((a, b) => a * b, 1);
    // ORT's CPU Resize is float32 only: h = 1e-2 central differences, exact for this quadratic
    // in x up to float32 rounding (the map is linear, its square quadratic).
    const x = tensor('float32', c.dims, Array.from({ length: n }, () => rng.uniform(-1, 1)));
    const g = await checkGradient(model, { x }, { rtol: 1e-3 });
    assert.ok(g.ok, JSON.stringify(g));
    const h = await checkHvp(model, { x }, { rtol: 1e-3 });
    assert.ok(h.ok, JSON.stringify(h));
  });
}
