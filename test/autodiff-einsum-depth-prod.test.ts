/**
 * Einsum, DepthToSpace / SpaceToDepth and ReduceProd rules. float64 (ONNX Runtime has float64
 * kernels for each), default checker tolerances (rtol 1e-6) unless noted. Einsum and the
 * data-movement ops are squared (helpers/squared-op.ts) so the HVP check is never vacuous;
 * ReduceProd is checked unsquared too, since squaring hides its own second derivative at zeros
 * (p = 0 and grad p = 0 there make the Hessian of p^2 vanish).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, singleOp, type InputSpec } from './helpers/onnx-builder.js';
import { squaredOp } from './helpers/squared-op.js';
import { assertGradientAndHvp, checkGradient, checkHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, serializeModel, str, type Attr, type Model } from '../native/onnx/ir.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { probeShapes, type ShapeMap } from '../native/autodiff/shapes.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import { createSession, runSession } from '../native/runtime/session.js';
import { AppError } from '../common/errors.js';
import { Rng } from '../common/random.js';

const rng = new Rng(41);
const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const rand = (dims: number[], lo = -1, hi = 1, r = rng) => tensor('float64', dims, Array.from({ length: size(dims) }, () => r.uniform(lo, hi)));
const i64 = (v: number[]) => tensor('int64', [v.length], v);
const spec = (name: string, dims: (number | string)[]): InputSpec => ({ name, dims });

/** The gradient of sum(u * of) w.r.t. x, for exact-value checks. */
async function gradientOf(model: Model, feeds: Record<string, Tensor>, u: Tensor, of = 'y0'): Promise<number[]> {
  const shapes = await probeShapes(model, () => feeds);
  const g = buildGradient(model, { of, seed: 'u', wrt: ['x'] }, shapes);
  const s = await createSession(serializeModel(g.model));
  const out = await runSession(s, { ...feeds, u });
  await s.release();
  return [...(out[g.grads.get('x')!]!.data as Float64Array)];
}

// ---------------------------------------------------------------- Einsum

interface EinsumCase {
  equation: string;
  dims: number[][];
  why: string;
}

const einsumCases: EinsumCase[] = [
  { equation: 'ij,jk->ik', dims: [[2, 3], [3, 4]], why: 'matmul' },
  { equation: 'bij,bjk->bik', dims: [[2, 2, 3], [2, 3, 4]], why: 'batched matmul' },
  { equation: 'bij, bjk -> bik', dims: [[3, 2, 3], [3, 3, 2]], why: 'whitespace (as in ONNX test models)' },
  { equation: 'ij->ji', dims: [[3, 4]], why: 'transpose' },
  { equation: 'ij->i', dims: [[3, 4]], why: 'reduction: j summed, gradient expanded back' },
  { equation: 'ij->', dims: [[3, 4]], why: 'full sum to a scalar' },
  { equation: 'i,j->ij', dims: [[3], [4]], why: 'outer product' },
  { equation: 'ij,jk,kl->il', dims: [[2, 3], [3, 4], [4, 2]], why: 'three operands' },
  { equation: 'ij,jk->k', dims: [[2, 3], [3, 4]], why: 'i summed and found in one operand only' },
  { equation: 'ij,jk', dims: [[2, 3], [3, 4]], why: 'implicit output (ik)' },
  { equation: 'cb,ba', dims: [[3, 2], [2, 3]], why: 'implicit output, alphabetical (ac), not in order of appearance (ca)' },
  { equation: 'i,i', dims: [[5], [5]], why: 'implicit inner product (scalar)' },
  { equation: 'ii->i', dims: [[3, 3]], why: 'diagonal' },
  { equation: 'ii', dims: [[4, 4]], why: 'implicit trace' },
  { equation: 'iij->j', dims: [[3, 3, 2]], why: 'trace over a diagonal plus a kept axis' },
  { equation: 'ij,jj->i', dims: [[2, 3], [3, 3]], why: 'diagonal of the second operand' },
  { equation: '...ii->...i', dims: [[2, 3, 3]], why: 'batched diagonal with ellipsis' },
  { equation: '...ij,...jk->...ik', dims: [[2, 2, 3], [2, 3, 2]], why: 'ellipsis matmul' },
  { equation: '...ij,...jk->...ik', dims: [[1, 2, 3], [4, 3, 2]], why: 'ellipsis axis of size 1 broadcast' },
  { equation: '...ij', dims: [[2, 3, 4]], why: 'implicit output with ellipsis (ellipsis first)' },
  { equation: 'ij,ij->ij', dims: [[1, 3], [4, 3]], why: 'letter of size 1 broadcast (ONNX Runtime broadcasts letters as well as ellipses)' },
  { equation: 'bi...,bj...->bij...', dims: [[2, 3, 2], [2, 2, 2]], why: 'ellipsis at the end' },
];

for (const c of einsumCases) {
  test(`Einsum "${c.equation}" (${c.why})`, async () => {
    const names = c.dims.map((_, i) => `x${i}`);
    const m = squaredOp('Einsum', c.dims.map((d, i) => spec(names[i]!, d)), { equation: str(c.equation) });
    const feeds = Object.fromEntries(c.dims.map((d, i) => [names[i]!, rand(d)]));
    await assertGradientAndHvp(m, feeds, `Einsum ${c.equation}`);
    // Each operand alone too: the others then have no tangent.
    if (names.length > 1) {
      for (const w of names) await assertGradientAndHvp(m, feeds, `Einsum ${c.equation} wrt ${w}`, { wrt: [w] });
    }
  });
}

test('Einsum with a constant operand (an initializer that is not differentiated)', async () => {
  const m = squaredOp('Einsum', [spec('x', [2, 3])], { equation: str('ij,jk->ik') }, { initializers: { k: rand([3, 4]) } });
  await assertGradientAndHvp(m, { x: rand([2, 3]) }, 'Einsum ij,jk->ik with constant k');
});

test('Einsum gradients have the closed form: diagonal embedding, transpose, broadcast of a sum', async () => {
  const x = tensor('float64', [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // "ii->i": the cotangent goes on the diagonal, zeros elsewhere.
  const diag = singleOp('Einsum', [spec('x', [3, 3])], { equation: str('ii->i') });
  assert.deepEqual(await gradientOf(diag, { x }, tensor('float64', [3], [10, 20, 30])), [10, 0, 0, 0, 20, 0, 0, 0, 30]);
  // "ij->i": each row gets its own cotangent entry.
  const rows = singleOp('Einsum', [spec('x', [3, 3])], { equation: str('ij->i') });
  assert.deepEqual(await gradientOf(rows, { x }, tensor('float64', [3], [1, 2, 3])), [1, 1, 1, 2, 2, 2, 3, 3, 3]);
  // "ij->ji": the transposed cotangent.
  const tr = singleOp('Einsum', [spec('x', [3, 3])], { equation: str('ij->ji') });
  assert.deepEqual(await gradientOf(tr, { x }, tensor('float64', [3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])), [1, 4, 7, 2, 5, 8, 3, 6, 9]);
});

test('Einsum over a symbolic batch (diagonal included) gives the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [spec('x', ['N', 3, 4]), spec('w', [4, 2]), spec('d', ['N', 'N'])],
    nodes: [
      { op: 'Einsum', inputs: ['x', 'w'], outputs: ['a'], attrs: { equation: str('bij,jk->bik') } },
      { op: 'Einsum', inputs: ['a'], outputs: ['s'], attrs: { equation: str('...ij->...') } },
      { op: 'Einsum', inputs: ['d', 'x'], outputs: ['t'], attrs: { equation: str('bb,bij->bj') } },
      { op: 'Mul', inputs: ['s', 's'], outputs: ['y0'] },
      { op: 'Mul', inputs: ['t', 't'], outputs: ['y1'] },
    ],
    outputs: ['y0', 'y1'],
  });
  const feeds = (n: number) => {
    const r = new Rng(300 + n);
    return { x: rand([n, 3, 4], -1, 1, r), w: rand([4, 2], -1, 1, r), d: rand([n, n], -1, 1, r) };
  };
  for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `Einsum chain at batch ${n}`);
  const diff = await dynamicBatchDiff(m, feeds, ['x', 'w', 'd'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});

/** The gradient build of a one-Einsum model from hand-written shapes (ONNX Runtime would not run these). */
function buildMalformed(equation: string, dims: number[][], outDims: number[]) {
  const names = dims.map((_, i) => `x${i}`);
  const m = singleOp('Einsum', dims.map((d, i) => spec(names[i]!, d)), { equation: str(equation) });
  const shapes: ShapeMap = new Map(names.map((n, i) => [n, { dtype: 'float64' as const, dims: dims[i]! }]));
  shapes.set('y0', { dtype: 'float64', dims: outDims });
  return () => buildGradient(m, { of: 'y0', seed: 'u', wrt: names }, shapes);
}

test('Einsum: malformed equations are refused with UNSUPPORTED_OP naming the equation', () => {
  assert.deepEqual(unsupportedOps(singleOp('Einsum', [spec('x', [2])], { equation: str('i->i') })), []);
  const cases: [string, number[][], number[], RegExp][] = [
    ['ij->ii', [[2, 2]], [2, 2], /"ij->ii": a subscript repeats in the output/],
    ['ij->ik', [[2, 3]], [2, 3], /"ij->ik": output subscript "k" is in no input/],
    ['ij,jk->ik', [[2, 3]], [2, 3], /"ij,jk->ik": 2 input terms for 1 inputs/],
    ['ijk->i', [[2, 3]], [2], /"ijk->i": input 0 has rank 2/],
    ['i1->i', [[2, 3]], [2], /"i1->i": "1" is not a subscript letter/],
    ['...i...->i', [[2, 3]], [2], /more than one "..."/],
  ];
  for (const [equation, dims, out, message] of cases) {
    assert.throws(buildMalformed(equation, dims, out), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_OP' && message.test(e.message), equation);
  }
});

// ---------------------------------------------------------------- DepthToSpace / SpaceToDepth

interface MoveCase {
  op: 'DepthToSpace' | 'SpaceToDepth';
  attrs: Record<string, Attr>;
  dims: number[]; // without the batch
}

const moveCases: MoveCase[] = [
  { op: 'DepthToSpace', attrs: { blocksize: int(2) }, dims: [8, 2, 3] },
  { op: 'DepthToSpace', attrs: { blocksize: int(2), mode: str('DCR') }, dims: [4, 3, 2] },
  { op: 'DepthToSpace', attrs: { blocksize: int(2), mode: str('CRD') }, dims: [8, 2, 3] },
  { op: 'DepthToSpace', attrs: { blocksize: int(3), mode: str('CRD') }, dims: [18, 2, 2] },
  { op: 'DepthToSpace', attrs: { blocksize: int(3), mode: str('DCR') }, dims: [18, 1, 2] },
  { op: 'SpaceToDepth', attrs: { blocksize: int(2) }, dims: [2, 4, 6] },
  { op: 'SpaceToDepth', attrs: { blocksize: int(3) }, dims: [1, 6, 3] },
];

const label = (c: MoveCase) => `${c.op} ${Object.entries(c.attrs).map(([k, v]) => `${k}=${v.value}`).join(' ')} [N,${c.dims}]`;

for (const c of moveCases) {
  test(`${label(c)} at batch 2 and 3, and built at batches 2/3 run at batch 4`, async () => {
    const m = squaredOp(c.op, [spec('x', ['N', ...c.dims])], c.attrs);
    const feeds = (n: number) => ({ x: rand([n, ...c.dims], -1, 1, new Rng(400 + n)) });
    for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `${label(c)} batch ${n}`);
    const diff = await dynamicBatchDiff(m, feeds, ['x'], 4);
    assert.ok(diff < 1e-12, `relative difference ${diff}`);
  });
}

test('DepthToSpace CRD gradient is the exact inverse permutation (value check)', async () => {
  // With dy = DepthToSpace(v) the gradient must be v itself (the op is a permutation).
  const dims = [1, 8, 2, 2];
  const v = rand(dims);
  for (const mode of ['CRD', 'DCR']) {
    const m = singleOp('DepthToSpace', [spec('x', dims)], { blocksize: int(2), mode: str(mode) });
    const fwd = buildModel({ inputs: [spec('v', dims)], nodes: [{ op: 'DepthToSpace', inputs: ['v'], outputs: ['dy'], attrs: { blocksize: int(2), mode: str(mode) } }], outputs: ['dy'] });
    const s = await createSession(serializeModel(fwd));
    const dy = (await runSession(s, { v })).dy!;
    await s.release();
    assert.deepEqual(await gradientOf(m, { x: rand(dims) }, dy), [...(v.data as Float64Array)], mode);
  }
});

// ---------------------------------------------------------------- ReduceProd

/** [3, 4, 2] with slices along axis 1 holding 0, 1, 2 and 3 zeros (slice (i, :, j)). */
function withZeros(): Tensor {
  const x = rand([3, 4, 2], 0.5, 1.5);
  for (let i = 0; i < x.data.length; i++) if (rng.uniform(0, 1) < 0.5) (x.data as Float64Array)[i] = -(x.data[i] as number);
  const zero = (i: number, k: number, j: number) => ((x.data as Float64Array)[i * 8 + k * 2 + j] = 0);
  zero(0, 1, 1); // slice (0, :, 1): one zero
  for (const k of [0, 3]) zero(1, k, 0); // slice (1, :, 0): two zeros
  for (const k of [0, 1, 2]) zero(2, k, 1); // slice (2, :, 1): three zeros
  zero(1, 2, 1); // slice (1, :, 1): one zero
  return x;
}

const prodVariants: { name: string; axes?: number[]; attrs: Record<string, Attr> }[] = [
  { name: 'axes [1], keepdims 1', axes: [1], attrs: {} },
  { name: 'axes [1], keepdims 0', axes: [1], attrs: { keepdims: int(0) } },
  { name: 'axes [0,-1], keepdims 0', axes: [0, -1], attrs: { keepdims: int(0) } },
  { name: 'axes [2,1], keepdims 1', axes: [2, 1], attrs: {} },
  { name: 'all axes, keepdims 0', attrs: { keepdims: int(0) } },
  { name: 'all axes, keepdims 1', attrs: {} },
  { name: 'empty axes, noop_with_empty_axes=1', axes: [], attrs: { noop_with_empty_axes: int(1) } },
];

test('ReduceProd: axes variants and keepdims, without zeros (plain and squared)', async () => {
  // Entries near +-1 keep the product over all 24 of them (and its square) of order 1.
  const x = rand([3, 4, 2], 0.8, 1.25);
  for (let i = 0; i < x.data.length; i += 3) (x.data as Float64Array)[i] = -(x.data[i] as number);
  for (const v of prodVariants) {
    const init = v.axes ? { axes: i64(v.axes) } : undefined;
    await assertGradientAndHvp(squaredOp('ReduceProd', [spec('x', [3, 4, 2])], v.attrs, { initializers: init }), { x }, `ReduceProd² ${v.name}`);
    const plain = buildModel({ inputs: [spec('x', [3, 4, 2])], initializers: init, nodes: [{ op: 'ReduceProd', inputs: v.axes ? ['x', 'axes'] : ['x'], outputs: ['y'], attrs: v.attrs }], outputs: ['y'] });
    await assertGradientAndHvp(plain, { x }, `ReduceProd ${v.name}`);
  }
});

test('ReduceProd with zeros: slices with one, two and three zeros; gradient and HVP', async () => {
  const x = withZeros();
  for (const v of prodVariants) {
    const init = v.axes ? { axes: i64(v.axes) } : undefined;
    const plain = buildModel({ inputs: [spec('x', [3, 4, 2])], initializers: init, nodes: [{ op: 'ReduceProd', inputs: v.axes ? ['x', 'axes'] : ['x'], outputs: ['y'], attrs: v.attrs }], outputs: ['y'] });
    // Over all axes the tensor holds 7 zeros: gradient and Hessian are 0 (the next test covers
    // all axes with one and two zeros).
    if (!v.axes) continue;
    await assertGradientAndHvp(plain, { x }, `ReduceProd with zeros ${v.name}`);
  }
});

test('ReduceProd over all axes with exactly one and exactly two zeros (second derivative at zeros)', async () => {
  const model = buildModel({ inputs: [spec('x', [2, 3])], nodes: [{ op: 'ReduceProd', inputs: ['x'], outputs: ['y'], attrs: { keepdims: int(0) } }], outputs: ['y'] });
  const one = tensor('float64', [2, 3], [0.9, -1.2, 0, 1.1, 0.7, -0.8]);
  await assertGradientAndHvp(model, { x: one }, 'ReduceProd one zero');
  // Two zeros: the gradient is 0, but the Hessian entry between the zeros is the product of the rest.
  const two = tensor('float64', [2, 3], [0.9, 0, -1.2, 1.1, 0, -0.8]);
  // (Relative error is meaningless around 0: the finite difference only has to vanish to its own truncation error.)
  const g = await checkGradient(model, { x: two });
  assert.ok(g.analytic === 0 && Math.abs(g.numeric) < 1e-10, JSON.stringify(g));
  const h = await checkHvp(model, { x: two });
  assert.ok(h.ok, JSON.stringify(h));
});

test('ReduceProd gradient at zeros equals the product of the other entries (value check)', async () => {
  const x = withZeros();
  const m = squaredOp('ReduceProd', [spec('x', [3, 4, 2])], { keepdims: int(0) }, { initializers: { axes: i64([1]) } });
  const u = rand([3, 2]);
  const got = await gradientOf(m, { x }, u, 'z0');
  const d = x.data as Float64Array;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 2; j++) {
      for (let k = 0; k < 4; k++) {
        let others = 1;
        for (let q = 0; q < 4; q++) if (q !== k) others *= d[i * 8 + q * 2 + j]!;
        const want = (u.data as Float64Array)[i * 2 + j]! * others;
        const at = got[i * 8 + k * 2 + j]!;
        assert.ok(Math.abs(at - want) <= 1e-14 * Math.max(1, Math.abs(want)), `x[${i},${k},${j}]: ${at} vs ${want}`);
      }
    }
  }
  // The three kinds of slices are all there: some entries nonzero at a zero of x, some zero.
  assert.ok(got.some((g, i) => d[i] === 0 && g !== 0) && got.some((g, i) => d[i] !== 0 && g === 0));
});

test('ReduceProd over a symbolic batch (reducing the batch axis too) gives the static-shape numbers at another batch', async () => {
  const m = buildModel({
    inputs: [spec('x', ['N', 3, 4])],
    initializers: { a2: i64([2]), a0: i64([0]) },
    nodes: [
      { op: 'ReduceProd', inputs: ['x', 'a2'], outputs: ['p'], attrs: { keepdims: int(0) } },
      { op: 'ReduceProd', inputs: ['x', 'a0'], outputs: ['q'], attrs: { keepdims: int(1) } },
      { op: 'Mul', inputs: ['p', 'p'], outputs: ['y0'] },
      { op: 'Mul', inputs: ['q', 'q'], outputs: ['y1'] },
    ],
    outputs: ['y0', 'y1'],
  });
  const feeds = (n: number) => {
    const x = rand([n, 3, 4], 0.5, 1.5, new Rng(500 + n));
    (x.data as Float64Array)[1] = 0; // a zero in slice (0, 0, :) and in the batch slice (:, 0, 1)
    return { x };
  };
  for (const n of [2, 3]) await assertGradientAndHvp(m, feeds(n), `ReduceProd chain at batch ${n}`);
  const diff = await dynamicBatchDiff(m, feeds, ['x'], 4);
  assert.ok(diff < 1e-12, `relative difference ${diff}`);
});
