/**
 * Shape / data-movement rules: Flatten, Squeeze, Unsqueeze, Concat, Split, Slice, Gather,
 * GatherElements, GatherND, ScatterElements, ScatterND, Tile. All float64 (ORT has float64
 * kernels for each), default tolerances of the checker (rtol 1e-6). Every model squares the op's
 * outputs (helpers/squared-op.ts) so the HVP check is not vacuous.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, type InputSpec } from './helpers/onnx-builder.js';
import { squaredOp } from './helpers/squared-op.js';
import { checkGradient, checkHvp, type CheckOptions, assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, ints, str, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';

const rng = new Rng(23);
const rand = (dims: number[], lo = -1, hi = 1) =>
  tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));
const i64 = (dims: number[], v: number[]) => tensor('int64', dims, v);
const spec = (name: string, dims: number[]): InputSpec => ({ name, dims });

const checkBoth = assertGradientAndHvp;

test('Flatten at axes 0, 1, 2, -1', async () => {
  for (const axis of [0, 1, 2, -1]) {
    await checkBoth(squaredOp('Flatten', [spec('x', [2, 3, 4])], { axis: int(axis) }), { x: rand([2, 3, 4]) }, `Flatten axis=${axis}`);
  }
});

test('Squeeze (axes input, negative axes, no axes = every size-1 dim) and Unsqueeze', async () => {
  const x = rand([2, 1, 3, 1]);
  await checkBoth(squaredOp('Squeeze', [spec('x', [2, 1, 3, 1])], {}, { initializers: { axes: i64([2], [1, -1]) } }), { x }, 'Squeeze [1,-1]');
  await checkBoth(squaredOp('Squeeze', [spec('x', [2, 1, 3, 1])], {}, { initializers: { axes: i64([1], [3]) } }), { x }, 'Squeeze [3]');
  await checkBoth(squaredOp('Squeeze', [spec('x', [2, 1, 3, 1])]), { x }, 'Squeeze all');
  const u = rand([2, 3]);
  await checkBoth(squaredOp('Unsqueeze', [spec('x', [2, 3])], {}, { initializers: { axes: i64([2], [0, 3]) } }), { x: u }, 'Unsqueeze [0,3]');
  await checkBoth(squaredOp('Unsqueeze', [spec('x', [2, 3])], {}, { initializers: { axes: i64([1], [-1]) } }), { x: u }, 'Unsqueeze [-1]');
});

test('Concat: three inputs on axis 1, negative axis, a constant input that is not differentiated', async () => {
  const feeds = { a: rand([2, 1, 3]), b: rand([2, 4, 3]), c: rand([2, 2, 3]) };
  const ins = [spec('a', [2, 1, 3]), spec('b', [2, 4, 3]), spec('c', [2, 2, 3])];
  await checkBoth(squaredOp('Concat', ins, { axis: int(1) }), feeds, 'Concat axis=1');
  await checkBoth(squaredOp('Concat', ins, { axis: int(-2) }), feeds, 'Concat axis=-2');
  await checkBoth(squaredOp('Concat', ins, { axis: int(1) }), feeds, 'Concat wrt b only', { wrt: ['b'] });
  const withConst = squaredOp('Concat', [spec('a', [2, 3]), spec('b', [2, 2])], { axis: int(-1) }, {
    initializers: { k: rand([2, 4]) },
    order: ['a', 'k', 'b'],
  });
  await checkBoth(withConst, { a: rand([2, 3]), b: rand([2, 2]) }, 'Concat with a constant in the middle');
});

test('Split: split as input, num_outputs (uneven), only some outputs with a cotangent', async () => {
  const x = rand([2, 7, 3]);
  const withSplit = squaredOp('Split', [spec('x', [2, 7, 3])], { axis: int(1) }, { initializers: { s: i64([3], [2, 4, 1]) }, outputCount: 3 });
  await checkBoth(withSplit, { x }, 'Split split=[2,4,1]');
  await checkBoth(withSplit, { x }, 'Split, outputs 0 and 2 only', { outputs: ['y0', 'y2'] });
  await checkBoth(withSplit, { x }, 'Split, output 1 only', { outputs: ['y1'] });
  const byCount = squaredOp('Split', [spec('x', [2, 7, 3])], { axis: int(-2), num_outputs: int(3) }, { outputCount: 3 });
  await checkBoth(byCount, { x }, 'Split num_outputs=3 (3,3,1)');
  await checkBoth(byCount, { x }, 'Split num_outputs=3, last output only', { outputs: ['y2'] });
  const last = squaredOp('Split', [spec('x', [2, 7, 4])], { axis: int(2), num_outputs: int(2) }, { outputCount: 2 });
  await checkBoth(last, { x: rand([2, 7, 4]) }, 'Split last axis');
});

test('Slice: steps, negative steps, clamped ends, negative axes, omitted axes/steps', async () => {
  const x = rand([4, 5, 6]);
  const big = 2 ** 62;
  const cases: { name: string; starts: number[]; ends: number[]; axes?: number[]; steps?: number[] }[] = [
    { name: 'basic', starts: [1, 0], ends: [3, 4], axes: [0, 2] },
    { name: 'steps 2', starts: [0, 1], ends: [5, 6], axes: [1, 2], steps: [2, 2] },
    { name: 'reverse (step -1, start -1, end -inf)', starts: [-1], ends: [-big], axes: [1], steps: [-1] },
    { name: 'step -2 from 5 to 0 (exclusive)', starts: [5, 3], ends: [0, -100], axes: [2, 0], steps: [-2, -1] },
    { name: 'clamped ends, negative axes', starts: [-3, 2], ends: [1000, big], axes: [-1, -2] },
    { name: 'no axes/steps', starts: [1, 1, 1], ends: [3, 4, 5] },
  ];
  for (const c of cases) {
    const init: Record<string, Tensor> = { starts: i64([c.starts.length], c.starts), ends: i64([c.ends.length], c.ends) };
    if (c.axes) init.axes = i64([c.axes.length], c.axes);
    if (c.steps) init.steps = i64([c.steps.length], c.steps);
    await checkBoth(squaredOp('Slice', [spec('x', [4, 5, 6])], {}, { initializers: init }), { x }, `Slice ${c.name}`);
  }
});

test('Gather: axes 0, 1, -1; negative and repeated indices; scalar index; int32 indices', async () => {
  const x = rand([4, 5, 3]);
  const cases: { name: string; axis: number; idx: Tensor }[] = [
    { name: 'axis 0, [[0,-1],[2,0]]', axis: 0, idx: i64([2, 2], [0, -1, 2, 0]) },
    { name: 'axis 1, repeated', axis: 1, idx: i64([5], [4, 4, 0, -5, 2]) },
    { name: 'axis -1, 2-D', axis: -1, idx: i64([2, 3], [2, 0, 1, 1, -1, -3]) },
    { name: 'axis 1, scalar index', axis: 1, idx: i64([], [-2]) },
    { name: 'axis 2, int32', axis: 2, idx: tensor('int32', [4], [0, 2, 2, -1]) },
  ];
  for (const c of cases) {
    await checkBoth(squaredOp('Gather', [spec('x', [4, 5, 3])], { axis: int(c.axis) }, { initializers: { idx: c.idx } }), { x }, `Gather ${c.name}`);
  }
});

test('GatherElements (repeats, negative indices) and GatherND', async () => {
  const x = rand([3, 4]);
  const ge = squaredOp('GatherElements', [spec('x', [3, 4])], { axis: int(1) }, { initializers: { idx: i64([3, 5], [0, 0, 3, -1, 2, 1, 1, 1, 0, 3, 2, -4, 0, 0, 3]) } });
  await checkBoth(ge, { x }, 'GatherElements axis 1');
  const ge0 = squaredOp('GatherElements', [spec('x', [3, 4])], { axis: int(0) }, { initializers: { idx: i64([2, 4], [2, 2, 0, 1, 2, 0, -1, 1]) } });
  await checkBoth(ge0, { x }, 'GatherElements axis 0');
  const x3 = rand([3, 4, 2]);
  const gnd = squaredOp('GatherND', [spec('x', [3, 4, 2])], {}, { initializers: { idx: i64([4, 2], [0, 1, 2, 3, 0, 1, 1, 0]) } });
  await checkBoth(gnd, { x: x3 }, 'GatherND slices, repeated');
  const gnd3 = squaredOp('GatherND', [spec('x', [3, 4, 2])], {}, { initializers: { idx: i64([2, 3], [0, 1, 1, 2, 3, 0]) } });
  await checkBoth(gnd3, { x: x3 }, 'GatherND elements');
});

test('ScatterElements and ScatterND, reduction none and add, w.r.t. data and updates', async () => {
  const data = rand([3, 4]);
  for (const reduction of ['none', 'add']) {
    // "none" needs distinct positions (ONNX leaves repeated ones unspecified); "add" repeats.
    const idxV = reduction === 'none' ? [1, 0, 3, 2, 3, 0] : [1, 1, 3, 0, 0, 0];
    const se = squaredOp('ScatterElements', [spec('data', [3, 4]), spec('upd', [3, 2])], { axis: int(1), reduction: str(reduction) }, {
      initializers: { idx: i64([3, 2], idxV) },
      order: ['data', 'idx', 'upd'],
    });
    await checkBoth(se, { data, upd: rand([3, 2]) }, `ScatterElements ${reduction}`);
    await checkBoth(se, { data, upd: rand([3, 2]) }, `ScatterElements ${reduction} wrt data`, { wrt: ['data'] });
    await checkBoth(se, { data, upd: rand([3, 2]) }, `ScatterElements ${reduction} wrt updates`, { wrt: ['upd'] });
    const nd = squaredOp('ScatterND', [spec('data', [3, 4, 2]), spec('upd', [2, 2])], { reduction: str(reduction) }, {
      initializers: { idx: i64([2, 2], reduction === 'none' ? [0, 1, 2, 3] : [1, 2, 1, 2]) },
      order: ['data', 'idx', 'upd'],
    });
    await checkBoth(nd, { data: rand([3, 4, 2]), upd: rand([2, 2]) }, `ScatterND ${reduction}`);
  }
});

test('Tile: repeats on several axes, repeat 1', async () => {
  for (const reps of [[2, 1, 3], [1, 1, 1], [3, 2, 1]]) {
    const m = squaredOp('Tile', [spec('x', [2, 3, 2])], {}, { initializers: { r: i64([3], reps) } });
    await checkBoth(m, { x: rand([2, 3, 2]) }, `Tile ${reps}`);
  }
});

test('a chain of shape ops with a symbolic batch gives the static-shape numbers at another batch', async () => {
  // x[N,4,3] -> Slice(reverse axis 2) -> Tile([2,1,2]) -> Gather(axis 1) -> Concat(., x2, axis 0)
  //  -> Split(axis 0 into halves by num_outputs) -> Flatten -> squares; Unsqueeze/Squeeze in between.
  const m = buildModel({
    inputs: [
      { name: 'x', dims: ['N', 4, 3] },
      { name: 'w', dims: [4, 3] },
    ],
    initializers: {
      st: i64([1], [-1]), en: i64([1], [-(2 ** 62)]), ax: i64([1], [2]), sp: i64([1], [-1]),
      reps: i64([3], [2, 1, 2]), idx: i64([3], [3, 0, 3]), u: i64([1], [1]),
    },
    nodes: [
      { op: 'Mul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'Slice', inputs: ['xw', 'st', 'en', 'ax', 'sp'], outputs: ['s'] },
      { op: 'Tile', inputs: ['s', 'reps'], outputs: ['t'] },
      { op: 'Gather', inputs: ['t', 'idx'], outputs: ['g'], attrs: { axis: int(1) } },
      { op: 'Concat', inputs: ['g', 'g'], outputs: ['c'], attrs: { axis: int(0) } },
      { op: 'Unsqueeze', inputs: ['c', 'u'], outputs: ['cu'] },
      { op: 'Squeeze', inputs: ['cu', 'u'], outputs: ['cs'] },
      { op: 'Split', inputs: ['cs'], outputs: ['p', 'q'], attrs: { axis: int(0), num_outputs: int(2) } },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'], attrs: { axis: int(1) } },
      { op: 'Mul', inputs: ['f', 'f'], outputs: ['y0'] },
      { op: 'Mul', inputs: ['q', 'q'], outputs: ['y1'] },
    ],
    outputs: ['y0', 'y1'],
  });
  const feeds = (n: number) => {
    const r = new Rng(100 + n);
    const t = (dims: number[]) => tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r.uniform(-1, 1)));
    return { x: t([n, 4, 3]), w: t([4, 3]) };
  };
  await checkBoth(m, feeds(2), 'chain at batch 2');
  const diff = await dynamicBatchDiff(m, feeds, ['x', 'w'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});

test('a wrong Gather gradient would be caught: repeated indices must accumulate', async () => {
  // With idx = [1, 1] the gradient at x[1] is the sum of both cotangents; checking the value
  // directly against the closed form guards against a scatter that overwrites instead of adding.
  const m = squaredOp('Gather', [spec('x', [3])], { axis: int(0) }, { initializers: { idx: i64([2], [1, 1]) } });
  const r = await checkGradient(m, { x: tensor('float64', [3], [0.1, 0.7, -0.4]) });
  assert.ok(r.ok, JSON.stringify(r));
  assert.ok(Math.abs(r.analytic) > 1e-2);
});
