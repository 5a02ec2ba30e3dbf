/**
 * Names the autodiff gives its outputs and inputs (grad/<w>, v/<w>, hv/<w>, its own grad/...
 * intermediates) against names a model already uses: a model with a tensor named `one` once
 * produced "Duplicate definition of name (grad/one)" (the gradient output of `one` and the
 * seed constant of the unseeded loss both took that name). Checked by finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel } from './helpers/onnx-builder.js';
import { assertGradientAndHvp } from './helpers/gradcheck.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { buildHvp } from '../native/autodiff/hvp.js';
import { runModelOnce } from '../native/runtime/session.js';

const rng = new Rng(5);
const rand = (dims: number[]) => tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)));

/** y = (x * one)^2 * v/x + hv/one, with intermediates named like the autodiff's own tensors. */
function collidingModel() {
  return buildModel({
    inputs: [
      { name: 'x', dtype: 'float64', dims: [2, 3] },
      { name: 'one', dtype: 'float64', dims: [3] },
      { name: 'v/x', dtype: 'float64', dims: [2, 3] },
      { name: 'hv/one', dtype: 'float64', dims: [2, 3] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['x', 'one'], outputs: ['grad/x'] },
      { op: 'Mul', inputs: ['grad/x', 'grad/x'], outputs: ['grad/one'] },
      { op: 'Mul', inputs: ['grad/one', 'v/x'], outputs: ['grad/Mul_node'] },
      { op: 'Add', inputs: ['grad/Mul_node', 'hv/one'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
}

const feeds = () => ({ x: rand([2, 3]), one: rand([3]), 'v/x': rand([2, 3]), 'hv/one': rand([2, 3]) });

test('tensors named one, grad/x, v/x, hv/one in the model: gradient and HVP build, run and match finite differences', async () => {
  await assertGradientAndHvp(collidingModel(), feeds(), 'colliding names');
});

test('an unseeded scalar loss beside a parameter named one: grad/one is the parameter gradient, not the seed', async () => {
  // s = sum(x * one): ds/done = sum over rows of x, ds/dx = one broadcast.
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float64', dims: [2, 3] },
      { name: 'one', dtype: 'float64', dims: [3] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['x', 'one'], outputs: ['p'] },
      { op: 'ReduceSum', inputs: ['p'], outputs: ['s'], attrs: { keepdims: { kind: 'int', value: 0 } } },
    ],
    outputs: ['s'],
  });
  const f = { x: rand([2, 3]), one: rand([3]) };
  const shapes = await probeShapes(model, () => f);
  const g = buildGradient(model, { of: 's', wrt: ['x', 'one'] }, shapes);
  const out = await runModelOnce(g.model, f);
  const gOne = out[g.grads.get('one')!]!.data as Float64Array;
  const xs = f.x.data as Float64Array;
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(gOne[j]! - (xs[j]! + xs[3 + j]!)) < 1e-12, `d s / d one[${j}]`);
  const gX = out[g.grads.get('x')!]!.data as Float64Array;
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(gX[i]! - (f.one.data as Float64Array)[i % 3]!) < 1e-12, `d s / d x[${i}]`);
  // The HVP graph of the same loss names its v/ inputs and hv/ outputs without clashing either.
  const h = await buildHvp(model, 's', ['x', 'one'], { feeds: () => f });
  const names = new Set<string>();
  for (const n of h.model.graph.nodes) for (const o of n.outputs) {
    assert.ok(!names.has(o), `tensor ${o} defined twice`);
    names.add(o);
  }
});
