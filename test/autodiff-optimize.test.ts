/**
 * native/autodiff/optimize.ts: common subexpressions merged, dead nodes dropped, outputs kept —
 * checked against the unoptimized graph's own numbers (run by ONNX Runtime) and by counting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel } from './helpers/onnx-builder.js';
import { cloneModel } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { runModelOnce } from '../native/runtime/session.js';
import { eliminateCommonSubexpressions } from '../native/autodiff/optimize.js';
import { buildHvp } from '../native/autodiff/hvp.js';
import { Rng } from '../common/random.js';

const rng = new Rng(5);
const rand = (dims: number[]) => tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)));

test('duplicate nodes and equal small constants are merged; outputs keep their names and values', async () => {
  const model = buildModel({
    inputs: [{ name: 'x', dtype: 'float64', dims: [2, 3] }],
    nodes: [
      { op: 'Mul', inputs: ['x', 'k1'], outputs: ['a'] },
      { op: 'Mul', inputs: ['x', 'k2'], outputs: ['b'] }, // k2 == k1: same node after the constant merge
      { op: 'Exp', inputs: ['a'], outputs: ['ea'] },
      { op: 'Exp', inputs: ['b'], outputs: ['eb'] },
      { op: 'Add', inputs: ['ea', 'eb'], outputs: ['y'] },
      { op: 'Exp', inputs: ['b'], outputs: ['z'] }, // a graph output: kept even though it repeats Exp(b)
      { op: 'Neg', inputs: ['x'], outputs: ['unused'] },
    ],
    outputs: ['y', 'z'],
    initializers: { k1: tensor('float64', [], [0.5]), k2: tensor('float64', [], [0.5]), big: rand([20]) },
  });
  const feeds = { x: rand([2, 3]) };
  const before = await runModelOnce(model, feeds);
  const optimized = eliminateCommonSubexpressions(cloneModel(model));
  assert.deepEqual(optimized.graph.nodes.map((n) => n.opType), ['Mul', 'Exp', 'Add', 'Exp']);
  assert.deepEqual([...optimized.graph.initializers.keys()], ['k1']);
  const after = await runModelOnce(optimized, feeds);
  for (const o of ['y', 'z']) assert.deepEqual(Array.from(after[o]!.data as Float64Array), Array.from(before[o]!.data as Float64Array));
});

test('nodes that draw random numbers are never merged', () => {
  const model = buildModel({
    inputs: [{ name: 'x', dtype: 'float64', dims: [2] }],
    nodes: [
      { op: 'RandomNormalLike', inputs: ['x'], outputs: ['r1'] },
      { op: 'RandomNormalLike', inputs: ['x'], outputs: ['r2'] },
      { op: 'Add', inputs: ['r1', 'r2'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  assert.equal(eliminateCommonSubexpressions(cloneModel(model)).graph.nodes.length, 3);
});

test('an HVP graph after the merge gives the hand-computed H v', async () => {
  // tanh(W x) summed: the tangent pass asks again for shapes and constants the gradient pass made.
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float64', dims: [4, 3] },
      { name: 'w', dtype: 'float64', dims: [3, 5] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
      { op: 'Tanh', inputs: ['h'], outputs: ['t'] },
      { op: 'Mul', inputs: ['t', 't'], outputs: ['q'] },
      { op: 'ReduceSum', inputs: ['q'], outputs: ['s'], attrs: { keepdims: { kind: 'int', value: 0 } } },
    ],
    outputs: ['s'],
  });
  model.graph.outputs = [{ name: 's', dtype: 'float64', shape: [] }];
  const feeds = { x: rand([4, 3]), w: rand([3, 5]) };
  const hvp = await buildHvp(model, 's', ['w'], { feeds: () => feeds });
  const v = rand([3, 5]);
  const run = (m: typeof hvp.model) => runModelOnce(m, { ...feeds, [hvp.tangentInputs.get('w')!]: v });
  const optimizedHv = (await run(hvp.model))[hvp.hvps.get('w')!]!.data as Float64Array;
  // The same products, by hand: s = sum tanh(h)^2, ds/dh = 2 t (1 - t^2), d2s/dh2 = 2 (1 - t^2)(1 - 3 t^2).
  // H v = x^T [d2s/dh2 * (x v)].
  const x = feeds.x.data as Float64Array;
  const w = feeds.w.data as Float64Array;
  const vv = v.data as Float64Array;
  const want = new Float64Array(15);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 5; j++) {
      let h = 0;
      let xv = 0;
      for (let k = 0; k < 3; k++) {
        h += x[i * 3 + k]! * w[k * 5 + j]!;
        xv += x[i * 3 + k]! * vv[k * 5 + j]!;
      }
      const t = Math.tanh(h);
      const c = 2 * (1 - t * t) * (1 - 3 * t * t) * xv;
      for (let k = 0; k < 3; k++) want[k * 5 + j] += x[i * 3 + k]! * c;
    }
  }
  for (let i = 0; i < 15; i++) assert.ok(Math.abs(optimizedHv[i]! - want[i]!) <= 1e-12, `H v[${i}]: ${optimizedHv[i]} vs ${want[i]}`);
  assert.ok(want.some((h) => Math.abs(h) > 1e-3), 'H v is not trivially zero');
});
