/**
 * MaxPool with non-overlapping windows takes a path without the Indices output (faster in ORT):
 * checked against finite differences (with and without a remainder the windows do not cover),
 * and its tie convention (the gradient is split evenly among a window's maxima) by exact values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { singleOp, buildModel } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp } from './helpers/gradcheck.js';
import { ints, serializeModel } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { Rng } from '../common/random.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { createSession, runSession } from '../native/runtime/session.js';

const rng = new Rng(9);
/** Distinct values in random order (no ties), squared downstream so the HVP is not trivially zero. */
function distinct(dims: number[]) {
  const n = dims.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.37);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [vals[i], vals[j]] = [vals[j]!, vals[i]!];
  }
  return tensor('float64', dims, vals);
}

for (const [dims, k] of [
  [[2, 3, 6, 8], [2, 2]],
  [[1, 2, 7, 5], [2, 2]],
  [[2, 1, 9, 9], [3, 3]],
  [[2, 2, 10], [4]],
] as [number[], number[]][]) {
  test(`MaxPool kernel=stride=${k} on [${dims}]: gradient and HVP match finite differences`, async () => {
    const model = buildModel({
      inputs: [{ name: 'x', dims }],
      nodes: [
        { op: 'MaxPool', inputs: ['x'], outputs: ['p'], attrs: { kernel_shape: ints(k), strides: ints(k) } },
        { op: 'Mul', inputs: ['p', 'p'], outputs: ['y'] },
      ],
      outputs: ['y'],
    });
    const feeds = { x: distinct(dims) };
    const g = await checkGradient(model, feeds);
    assert.ok(g.ok, JSON.stringify(g));
    const h = await checkHvp(model, feeds);
    assert.ok(h.ok, JSON.stringify(h));
  });
}

test('MaxPool windows: a tie splits the gradient evenly; uncovered border cells get none', async () => {
  // One 2x2 window holds [5, 5, 1, 0]: each 5 gets half of dy. Input 3x2: the last row is outside every window.
  const model = singleOp('MaxPool', [{ name: 'x', dims: [1, 1, 3, 2] }], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
  const shapes = await probeShapes(model);
  const g = buildGradient(model, { of: 'y0', seed: 'u', wrt: ['x'] }, shapes);
  const session = await createSession(serializeModel(g.model));
  const out = await runSession(session, { x: tensor('float64', [1, 1, 3, 2], [5, 5, 1, 0, 9, 9]), u: tensor('float64', [1, 1, 1, 1], [2]) });
  assert.deepEqual(Array.from(out['grad/x']!.data as Float64Array), [1, 1, 0, 0, 0, 0]);
  await session.release();
});
