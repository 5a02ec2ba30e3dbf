/**
 * Reductions: ReduceMean, ReduceMax, ReduceMin, ReduceL2, ReduceSumSquare, ReduceL1, ReduceLogSum,
 * ReduceLogSumExp (ReduceSum has its own tests) over axes variants, keepdims 0/1 and
 * noop_with_empty_axes. float64, default checker tolerances. Outputs are squared
 * (helpers/squared-op.ts) so the HVP check is never vacuous (Mean/Max/Min are piecewise linear).
 * Random inputs avoid the non-differentiable points: continuous values (no ties) for Max/Min,
 * |x| >= 0.2 for L1, x > 0 for LogSum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { squaredOp } from './helpers/squared-op.js';
import { checkGradient, checkHvp, assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { buildModel } from './helpers/onnx-builder.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, serializeModel, type Attr, type Model } from '../native/onnx/ir.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { ruleFor } from '../native/autodiff/registry.js';
import { Rng } from '../common/random.js';

const rng = new Rng(31);
const rand = (dims: number[], lo = -1, hi = 1) =>
  tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));
const awayFromZero = (dims: number[]) => {
  const t = rand(dims, 0.2, 1.2);
  for (let i = 0; i < t.data.length; i++) if (rng.uniform(0, 1) < 0.5) (t.data as Float64Array)[i] = -(t.data[i] as number);
  return t;
};
const i64 = (v: number[]) => tensor('int64', [v.length], v);

const checkBoth = (model: Model, feeds: Record<string, Tensor>, label: string) => assertGradientAndHvp(model, feeds, label);

interface Variant {
  name: string;
  axes?: number[];
  attrs: Record<string, Attr>;
}
const variants: Variant[] = [
  { name: 'axes [1], keepdims 1', axes: [1], attrs: {} },
  { name: 'axes [0,-1], keepdims 0', axes: [0, -1], attrs: { keepdims: int(0) } },
  { name: 'axes [2,1], keepdims 1', axes: [2, 1], attrs: { keepdims: int(1) } },
  { name: 'all axes, keepdims 0', attrs: { keepdims: int(0) } },
  { name: 'all axes, keepdims 1', attrs: {} },
  { name: 'empty axes input, noop_with_empty_axes=1', axes: [], attrs: { noop_with_empty_axes: int(1) } },
  { name: 'no axes, noop_with_empty_axes=1 (identity)', attrs: { noop_with_empty_axes: int(1), keepdims: int(0) } },
];

const ops: { op: string; input: (dims: number[]) => Tensor }[] = [
  { op: 'ReduceMean', input: (d) => rand(d, 0.2, 1.5) }, // mean of all entries well away from 0
  { op: 'ReduceMax', input: (d) => rand(d) },
  { op: 'ReduceMin', input: (d) => rand(d) },
  { op: 'ReduceL2', input: (d) => rand(d) },
  { op: 'ReduceSumSquare', input: (d) => rand(d) },
  { op: 'ReduceL1', input: awayFromZero },
  { op: 'ReduceLogSum', input: (d) => rand(d, 0.3, 2) },
  { op: 'ReduceLogSumExp', input: (d) => rand(d, -2, 2) },
];

for (const { op, input } of ops) {
  test(`${op}: axes variants, keepdims, noop_with_empty_axes`, async () => {
    for (const v of variants) {
      const init = v.axes ? { axes: i64(v.axes) } : undefined;
      const m = squaredOp(op, [{ name: 'x', dims: [3, 4, 2] }], v.attrs, { initializers: init });
      await checkBoth(m, { x: input([3, 4, 2]) }, `${op} ${v.name}`);
    }
  });
}

async function gradientOf(model: Model, feeds: Record<string, Tensor>, seed: Tensor): Promise<number[]> {
  const shapes = await probeShapes(model, () => feeds);
  const g = buildGradient(model, { of: 'z0', seed: 'u', wrt: ['x'] }, shapes);
  const s = await createSession(serializeModel(g.model));
  const out = await runSession(s, { ...feeds, u: seed });
  await s.release();
  return [...(out[g.grads.get('x')!]!.data as Float64Array)];
}

test('ReduceMax / ReduceMin with ties split the cotangent evenly among the tied positions', async () => {
  // Row 0 has its max 3 twice, row 1 three times; the min of row 0 is -1 twice.
  const x = tensor('float64', [2, 4], [3, -1, 3, -1, 2, 2, 0, 2]);
  const max = squaredOp('ReduceMax', [{ name: 'x', dims: [2, 4] }], { keepdims: int(0) }, { initializers: { axes: i64([1]) } });
  assert.deepEqual(await gradientOf(max, { x }, tensor('float64', [2], [6, 9])), [3, 0, 3, 0, 3, 3, 0, 3]);
  const min = squaredOp('ReduceMin', [{ name: 'x', dims: [2, 4] }], {}, { initializers: { axes: i64([1]) } });
  assert.deepEqual(await gradientOf(min, { x }, tensor('float64', [2, 1], [4, 1])), [0, 2, 0, 2, 0, 0, 1, 0]);
});

test('reductions over a symbolic batch give the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [
      { name: 'x', dims: ['N', 3, 4] },
      { name: 'w', dims: [3, 4] },
    ],
    initializers: { a1: i64([1]), a2: i64([2]), a0: i64([0]) },
    nodes: [
      { op: 'Mul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'ReduceMean', inputs: ['xw', 'a1'], outputs: ['m'], attrs: { keepdims: int(0) } },
      { op: 'ReduceMax', inputs: ['xw', 'a2'], outputs: ['mx'], attrs: { keepdims: int(1) } },
      { op: 'ReduceL2', inputs: ['xw', 'a0'], outputs: ['l2'], attrs: { keepdims: int(0) } },
      { op: 'ReduceSumSquare', inputs: ['xw'], outputs: ['ss'], attrs: { keepdims: int(1) } },
      { op: 'Mul', inputs: ['m', 'm'], outputs: ['y0'] },
      { op: 'Mul', inputs: ['mx', 'mx'], outputs: ['y1'] },
      { op: 'Mul', inputs: ['l2', 'l2'], outputs: ['y2'] },
      { op: 'Mul', inputs: ['ss', 'ss'], outputs: ['y3'] },
    ],
    outputs: ['y0', 'y1', 'y2', 'y3'],
  });
  const feeds = (n: number) => {
    const r = new Rng(200 + n);
    const t = (dims: number[]) => tensor('float64', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r.uniform(-1, 1)));
    return { x: t([n, 3, 4]), w: t([3, 4]) };
  };
  await checkBoth(m, feeds(2), 'reductions at batch 2');
  const diff = await dynamicBatchDiff(m, feeds, ['x', 'w'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});
