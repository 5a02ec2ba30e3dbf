/**
 * The faster rule forms of issue 16, each against finite differences (test/helpers/gradcheck.ts)
 * and, where finite differences cannot speak (tied maxima), against a hand computation:
 *  - Conv with >= 32 input channels: dW as one GEMM per kernel tap, dX (stride 1) as a Conv with
 *    the flipped kernel (native/autodiff/rules/conv.ts); with fewer channels dW as one GEMM over a
 *    stacked patch matrix, and the flipped-kernel dX from 16 channels;
 *  - MaxPool with non-overlapping windows in float32: dX = MaxUnpool(dY, Indices), and the
 *    MaxUnpool rule itself (native/autodiff/rules/pool.ts).
 * Each case also asserts that the graph uses the form under test, so a change of the selection
 * heuristics cannot leave these forms untested.
 * Tolerances: float32, h = 1e-2 as in autodiff-conv.test.ts; these convs sum 32 x 9 = 288
 * products per output (about 3x the cases there), still far inside rtol = 1e-3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, singleOp } from './helpers/onnx-builder.js';
import { assertGradientAndHvp } from './helpers/gradcheck.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, ints, str, type Attr, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { buildHvp } from '../native/autodiff/hvp.js';
import { runModelOnce } from '../native/runtime/session.js';

const rng = new Rng(29);
const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const rand32 = (dims: number[], scale = 1) => tensor('float32', dims, Array.from({ length: numel(dims) }, () => scale * rng.uniform(-1, 1)));
const RTOL = 1e-3;

/** Op types of the gradient graph of `model` w.r.t. its float inputs (seeded by u . y). */
async function gradientOps(model: Model, feeds: Record<string, Tensor>, wrt: string[]): Promise<Set<string>> {
  const shapes = await probeShapes(model, () => feeds);
  const g = buildGradient(model, { of: model.graph.outputs[0]!.name, seed: 'u', wrt }, shapes);
  return new Set(g.model.graph.nodes.slice(model.graph.nodes.length).map((n) => n.opType));
}

// ---------------------------------------------------------------- Conv, wide

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  attrs: Record<string, Attr>;
  /** dX as a Conv (stride 1, pads within the kernel), else ConvTranspose. */
  convDx: boolean;
}

const C = 32;
const convCases: ConvCase[] = [
  { name: '3x3, pads 1', x: [2, C, 5, 5], w: [3, C, 3, 3], attrs: { pads: ints([1, 1, 1, 1]) }, convDx: true },
  { name: '3x3, no pads, rectangular input', x: [2, C, 5, 6], w: [2, C, 3, 3], attrs: {}, convDx: true },
  { name: 'asymmetric pads, dilation 2', x: [1, C, 7, 6], w: [2, C, 3, 2], attrs: { pads: ints([2, 0, 1, 1]), dilations: ints([2, 1]) }, convDx: true },
  { name: 'auto_pad SAME_UPPER, even kernel', x: [1, C, 5, 5], w: [2, C, 2, 2], attrs: { auto_pad: str('SAME_UPPER') }, convDx: true },
  { name: 'stride 2, pads 1 (dX stays ConvTranspose)', x: [2, C, 7, 6], w: [3, C, 3, 3], attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, convDx: false },
  { name: 'pads larger than the kernel reach (dX stays ConvTranspose)', x: [1, C, 4, 4], w: [2, C, 2, 2], attrs: { pads: ints([2, 2, 2, 2]) }, convDx: false },
  { name: '1-D, pads 1', x: [2, C, 9], w: [3, C, 3], attrs: { pads: ints([1, 1]) }, convDx: true },
  { name: '1x1', x: [2, C, 3, 4], w: [4, C, 1, 1], attrs: {}, convDx: true },
];


/** A float32 Conv (x, w, b) with random feeds, the weights kept small. */
function convWithFeeds(c: { x: number[]; w: number[]; attrs: Parameters<typeof singleOp>[2] }) {
  const specs = [
    { name: 'x', dtype: 'float32' as const, dims: c.x },
    { name: 'w', dtype: 'float32' as const, dims: c.w },
    { name: 'b', dtype: 'float32' as const, dims: [c.w[0]!] },
  ];
  return { model: singleOp('Conv', specs, c.attrs), feeds: { x: rand32(c.x), w: rand32(c.w, 0.3), b: rand32([c.w[0]!]) } };
}

for (const c of convCases) {
  test(`Conv with ${C} input channels, ${c.name}: gradient and HVP (x and w)`, async () => {
    const { model, feeds } = convWithFeeds(c);
    const ops = await gradientOps(model, feeds, ['x', 'w', 'b']);
    assert.ok(ops.has('Gemm'), 'dW is formed by GEMMs');
    assert.equal(ops.has('ConvTranspose'), !c.convDx, c.convDx ? 'dX is a Conv' : 'dX is a ConvTranspose');
    // A single Conv is bilinear in (x, w): H v = (conv(v_x, w) + conv(x, v_w)) paired back, non-zero.
    await assertGradientAndHvp(model, feeds, c.name, { rtol: RTOL });
  });
}

// ---------------------------------------------------------------- Conv, narrow

/**
 * Fewer than 32 input channels: dW from one patch matrix (the taps' strided Slices stacked by
 * Concat) and one GEMM; from 16 channels on, dX at stride 1 is the flipped-kernel Conv.
 */
const narrowCases: (ConvCase & { c: number })[] = [
  { name: '3 channels, 3x3, pads 1', c: 3, x: [2, 3, 5, 5], w: [4, 3, 3, 3], attrs: { pads: ints([1, 1, 1, 1]) }, convDx: false },
  { name: '1 channel, 5x5, stride 2', c: 1, x: [2, 1, 9, 8], w: [3, 1, 5, 5], attrs: { strides: ints([2, 2]) }, convDx: false },
  { name: '16 channels, 3x3, pads 1 (flipped-kernel dX)', c: 16, x: [2, 16, 4, 5], w: [8, 16, 3, 3], attrs: { pads: ints([1, 1, 1, 1]) }, convDx: true },
  { name: '10 channels, dilation 2, asymmetric pads', c: 10, x: [1, 10, 7, 6], w: [3, 10, 3, 2], attrs: { pads: ints([2, 0, 1, 1]), dilations: ints([2, 1]) }, convDx: false },
  { name: '2 channels, 1-D, stride 2, pads 1', c: 2, x: [2, 2, 9], w: [3, 2, 3], attrs: { strides: ints([2]), pads: ints([1, 1]) }, convDx: false },
];

for (const c of narrowCases) {
  test(`Conv with ${c.name}: patch-matrix dW, gradient and HVP (x and w)`, async () => {
    const { model, feeds } = convWithFeeds(c);
    const ops = await gradientOps(model, feeds, ['x', 'w', 'b']);
    assert.ok(ops.has('Gemm') && ops.has('Concat'), `dW is one GEMM over a stacked patch matrix, got ${[...ops]}`);
    assert.equal(ops.has('ConvTranspose'), !c.convDx, c.convDx ? 'dX is a Conv' : 'dX is a ConvTranspose');
    await assertGradientAndHvp(model, feeds, c.name, { rtol: RTOL });
  });
}

test('a wide conv net with a square between the convs: gradient and HVP w.r.t. the first weight', async () => {
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', dims: [2, C, 6, 6] },
      { name: 'w1', dtype: 'float32', dims: [C, C, 3, 3] },
      { name: 'w2', dtype: 'float32', dims: [3, C, 3, 3] },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1'], outputs: ['h'], attrs: { pads: ints([1, 1, 1, 1]) } },
      { op: 'Mul', inputs: ['h', 'h'], outputs: ['q'] },
      { op: 'Conv', inputs: ['q', 'w2'], outputs: ['y'], attrs: { pads: ints([1, 1, 1, 1]) } },
    ],
    outputs: ['y'],
  });
  const feeds = { x: rand32([2, C, 6, 6]), w1: rand32([C, C, 3, 3]), w2: rand32([3, C, 3, 3], 0.1) };
  // y is quadratic in w1 (q = h^2) and the checker's head adds y^2 / 2, so the finite differences
  // of the gradient carry an h^2 truncation: w1 of unit size keeps the relative step near 1e-2
  // (truncation ~1e-4), and rtol 5e-3 is the conv-net tolerance of autodiff-conv.test.ts. The
  // backward pass runs both wide forms: dX of the second conv, dW of the first.
  await assertGradientAndHvp(model, feeds, 'wide conv net', { rtol: 5e-3, wrt: ['w1'] });
});

// ---------------------------------------------------------------- MaxPool -> MaxUnpool

/** Distinct values `gap` apart in random order: no ties, and the steps h*d never reorder them. */
function distinct(dims: number[], gap = 0.05): Tensor {
  const n = numel(dims);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * gap);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform(0, i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return tensor('float32', dims, v);
}

/** MaxPool then y*y: a non-zero Hessian that routes through the pool twice. */
function squaredPool(x: number[], attrs: Record<string, Attr>): Model {
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: x }],
    nodes: [
      { op: 'MaxPool', inputs: ['x'], outputs: ['p'], attrs },
      { op: 'Mul', inputs: ['p', 'p'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
}

const poolCases: { name: string; x: number[]; attrs: Record<string, Attr> }[] = [
  { name: 'k2 s2', x: [2, 3, 6, 6], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } },
  { name: 'k2 s3 (gaps between windows), input not a multiple', x: [2, 2, 8, 7], attrs: { kernel_shape: ints([2, 2]), strides: ints([3, 3]) } },
  { name: 'k3 s3 pads 1 ceil_mode', x: [1, 2, 7, 7], attrs: { kernel_shape: ints([3, 3]), strides: ints([3, 3]), pads: ints([1, 1, 0, 1]), ceil_mode: int(1) } },
  { name: 'k2 s4 dilation 2', x: [1, 2, 9, 9], attrs: { kernel_shape: ints([2, 2]), strides: ints([4, 3]), dilations: ints([2, 2]) } },
  { name: '1-D k3 s3', x: [2, 3, 10], attrs: { kernel_shape: ints([3]), strides: ints([3]) } },
];

for (const c of poolCases) {
  test(`MaxPool float32 ${c.name}: backward by MaxUnpool, gradient and HVP`, async () => {
    const model = squaredPool(c.x, c.attrs);
    const feeds = { x: distinct(c.x) };
    const ops = await gradientOps(model, feeds, ['x']);
    assert.ok(ops.has('MaxUnpool') && !ops.has('ScatterElements'), `non-overlapping windows use MaxUnpool, got ${[...ops]}`);
    await assertGradientAndHvp(model, feeds, c.name, { rtol: RTOL });
  });
}

test('MaxPool float32 with overlapping windows keeps the scatter form', async () => {
  const model = squaredPool([1, 2, 5, 5], { kernel_shape: ints([3, 3]), strides: ints([2, 2]) });
  const ops = await gradientOps(model, { x: distinct([1, 2, 5, 5]) }, ['x']);
  assert.ok(ops.has('ScatterElements') && !ops.has('MaxUnpool'));
});

/**
 * Ties: every 2x2 window holds its maximum twice or more (values on a coarse grid), where
 * finite differences cannot decide. ONNX Runtime's MaxPool takes the first maximum in row-major
 * window order; the gradient of s = sum(u * MaxPool(x)^2) must put 2 u p at exactly that cell,
 * and H v = 2 u v[first] there (the pool is locally linear, y*y has Hessian 2): both computed
 * here by hand.
 */
test('MaxPool float32 ties: gradient and H v go to the first maximum of each window, as the forward picks', async () => {
  const [N, Ch, H, W] = [2, 2, 4, 6];
  const x = tensor('float32', [N, Ch, H, W], Array.from({ length: N * Ch * H * W }, () => Math.floor(rng.uniform(0, 3)) * 0.5));
  // Force ties: in every window copy the maximum to the last cell as well.
  const at = (n: number, c: number, h: number, w: number) => ((n * Ch + c) * H + h) * W + w;
  const xs = x.data as Float32Array;
  const first = new Map<number, number>();
  for (let n = 0; n < N; n++) for (let c = 0; c < Ch; c++) for (let oh = 0; oh < H / 2; oh++) for (let ow = 0; ow < W / 2; ow++) {
    const cells = [at(n, c, 2 * oh, 2 * ow), at(n, c, 2 * oh, 2 * ow + 1), at(n, c, 2 * oh + 1, 2 * ow), at(n, c, 2 * oh + 1, 2 * ow + 1)];
    const max = Math.max(...cells.map((i) => xs[i]!));
    xs[cells[3]!] = max;
    first.set(((n * Ch + c) * (H / 2) + oh) * (W / 2) + ow, cells.find((i) => xs[i] === max)!);
  }
  const model = squaredPool([N, Ch, H, W], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
  const shapes = await probeShapes(model, () => ({ x }));
  const u = rand32([N, Ch, H / 2, W / 2]);
  const v = rand32([N, Ch, H, W]);
  // The HVP graph differentiates a scalar: seed it with s = sum(u * y) by hand.
  const head = buildGradient(model, { of: 'y', seed: 'u', wrt: ['x'] }, shapes);
  const g = await runModelOnce(head.model, { x, u });
  const { hv: seeded, ops } = await hvpOfSeeded(model, u, x, v);
  assert.ok(ops.has('MaxUnpool'), 'the tied case runs the MaxUnpool form');
  const grad = g[head.grads.get('x')!]!.data as Float32Array;
  const want = new Float32Array(xs.length);
  const wantHv = new Float32Array(xs.length);
  for (const [o, cell] of first) {
    const uo = (u.data as Float32Array)[o]!;
    want[cell] = 2 * uo * xs[cell]!;
    wantHv[cell] = 2 * uo * (v.data as Float32Array)[cell]!;
  }
  for (let i = 0; i < xs.length; i++) {
    assert.ok(Math.abs(grad[i]! - want[i]!) <= 1e-6, `gradient at ${i}: ${grad[i]} vs ${want[i]}`);
    assert.ok(Math.abs(seeded[i]! - wantHv[i]!) <= 1e-6, `H v at ${i}: ${seeded[i]} vs ${wantHv[i]}`);
  }
  assert.ok(wantHv.some((h) => h !== 0), 'H v is not trivially zero');
});

/** H v of s = sum(u * model(x)) at x, as a flat array (u baked in as a constant head), and the HVP graph's op types. */
async function hvpOfSeeded(model: Model, u: Tensor, x: Tensor, v: Tensor): Promise<{ hv: Float32Array; ops: Set<string> }> {
  const headed = buildModel({
    inputs: [{ name: 'x', dtype: 'float32', dims: x.dims }],
    nodes: [
      ...model.graph.nodes.map((n) => ({ op: n.opType, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs })),
      { op: 'Mul', inputs: ['y', 'u'], outputs: ['uy'] },
      { op: 'ReduceSum', inputs: ['uy'], outputs: ['s'], attrs: { keepdims: int(0) } },
    ],
    outputs: ['s'],
    initializers: { u },
  });
  headed.graph.outputs = [{ name: 's', dtype: 'float32', shape: [] }];
  const h = await buildHvp(headed, 's', ['x'], { feeds: () => ({ x }) });
  const out = await runModelOnce(h.model, { x, [h.tangentInputs.get('x')!]: v });
  return { hv: out[h.hvps.get('x')!]!.data as Float32Array, ops: new Set(h.model.graph.nodes.map((n) => n.opType)) };
}

// ---------------------------------------------------------------- MaxUnpool

test('MaxUnpool (distinct indices): gradient and HVP of its square', async () => {
  // Indices of a 2x2/2 pool over [2, 2, 4, 4]: one cell per window, offsets of batch and channel included.
  const idx: bigint[] = [];
  for (let nc = 0; nc < 4; nc++) for (let oh = 0; oh < 2; oh++) for (let ow = 0; ow < 2; ow++) {
    const dh = Math.floor(rng.uniform(0, 2));
    const dw = Math.floor(rng.uniform(0, 2));
    idx.push(BigInt(nc * 16 + (2 * oh + dh) * 4 + 2 * ow + dw));
  }
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', dims: [2, 2, 2, 2] },
      { name: 'i', dtype: 'int64', dims: [2, 2, 2, 2] },
    ],
    nodes: [
      { op: 'MaxUnpool', inputs: ['x', 'i'], outputs: ['p'], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } },
      { op: 'Mul', inputs: ['p', 'p'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const feeds = { x: rand32([2, 2, 2, 2]), i: tensor('int64', [2, 2, 2, 2], idx) };
  await assertGradientAndHvp(model, feeds, 'MaxUnpool', { rtol: RTOL, wrt: ['x'] });
});
