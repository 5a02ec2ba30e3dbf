/**
 * Conv / ConvTranspose rules. ORT's CPU provider has no float64 Conv/ConvTranspose, so these
 * run in float32 with h = 1e-2. Conv is bilinear, so s(x + h d) is quadratic in h and the
 * central difference has no truncation error for the gradient check; for the HVP check of a
 * single conv the gradient is linear in the inputs (again exact). What remains is float32
 * rounding: each output sums ~30-100 products (relative error ~1e-6 each), and the difference
 * quotient divides an O(1e-2) change of an O(10) sum by 2h, amplifying rounding by ~1/h = 100:
 * ~1e-4 relative at worst; measured: 3e-7..4e-5 for gradients, 3e-6..6e-6 for HVPs (seeds 1-3).
 * rtol = 1e-3 leaves a >10x margin over that; a wrong rule (a misplaced pad, a
 * swapped stride/dilation, a wrong group block) gives O(1) errors. The conv net test squares an
 * activation (truncation ~h^2 ~ 1e-4 in the HVP's finite differences) and uses rtol = 5e-3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, singleOp, type InputSpec } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp, assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { int, ints, str, type Attr, type Model } from '../native/onnx/ir.js';
import { Rng } from '../common/random.js';
import { loadModel } from '../native/onnx/load.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { liftParameters, selectParameters } from '../native/autodiff/params.js';
import { probeShapes } from '../native/autodiff/shapes.js';
import { buildGradient } from '../native/autodiff/gradient.js';
import { readTestData } from './helpers/test-data.js';

const rng = new Rng(17);
const rand32 = (dims: number[], lo = -1, hi = 1) =>
  tensor('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));
const RTOL = 1e-3;

const checkBoth = (model: Model, feeds: Record<string, Tensor>, label: string, rtol = RTOL, wrt?: string[]) =>
  assertGradientAndHvp(model, feeds, label, { rtol, ...(wrt ? { wrt } : {}) });

function convModel(op: string, x: number[], w: number[], bias: number | null, attrs: Record<string, Attr>) {
  const specs: InputSpec[] = [
    { name: 'x', dtype: 'float32', dims: x },
    { name: 'w', dtype: 'float32', dims: w },
  ];
  if (bias !== null) specs.push({ name: 'b', dtype: 'float32', dims: [bias] });
  const feeds: Record<string, Tensor> = {};
  for (const s of specs) feeds[s.name] = rand32(s.dims as number[]);
  return { model: singleOp(op, specs, attrs), feeds };
}

interface Case {
  name: string;
  x: number[];
  w: number[];
  bias: number | null;
  attrs: Record<string, Attr>;
}

const convCases: Case[] = [
  { name: '2-D, pads 1, bias', x: [2, 3, 5, 5], w: [4, 3, 3, 3], bias: 4, attrs: { pads: ints([1, 1, 1, 1]) } },
  { name: '2-D, no bias, no pads', x: [2, 2, 4, 5], w: [3, 2, 2, 3], bias: null, attrs: {} },
  { name: 'strides 2, asymmetric pads, input not a multiple', x: [2, 3, 7, 6], w: [2, 3, 3, 2], bias: 2, attrs: { strides: ints([2, 2]), pads: ints([1, 0, 0, 1]) } },
  { name: 'strides 3, kernel 2 (rows left over)', x: [1, 2, 8, 8], w: [2, 2, 2, 2], bias: 2, attrs: { strides: ints([3, 3]) } },
  { name: 'dilations 2', x: [2, 2, 7, 7], w: [3, 2, 3, 2], bias: 3, attrs: { dilations: ints([2, 2]), pads: ints([1, 2, 1, 0]) } },
  { name: 'dilations 2 and strides 2', x: [1, 2, 9, 8], w: [2, 2, 2, 3], bias: null, attrs: { dilations: ints([2, 1]), strides: ints([2, 2]) } },
  { name: 'group 2', x: [2, 4, 5, 5], w: [6, 2, 3, 3], bias: 6, attrs: { group: int(2), pads: ints([1, 1, 1, 1]) } },
  { name: 'depthwise, stride 2, multiplier 2', x: [2, 3, 6, 6], w: [6, 1, 3, 3], bias: 6, attrs: { group: int(3), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } },
  { name: 'auto_pad SAME_UPPER, stride 2', x: [1, 2, 6, 5], w: [2, 2, 3, 4], bias: 2, attrs: { auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) } },
  { name: 'auto_pad SAME_LOWER, stride 2', x: [1, 2, 6, 5], w: [2, 2, 3, 4], bias: 2, attrs: { auto_pad: str('SAME_LOWER'), strides: ints([2, 2]) } },
  { name: 'auto_pad SAME_UPPER, stride 1, even kernel', x: [1, 2, 5, 5], w: [2, 2, 2, 2], bias: null, attrs: { auto_pad: str('SAME_UPPER') } },
  { name: 'auto_pad VALID', x: [2, 2, 5, 6], w: [3, 2, 3, 3], bias: 3, attrs: { auto_pad: str('VALID'), strides: ints([1, 2]) } },
  { name: '1-D, stride 2, dilation 2, pads', x: [2, 3, 11], w: [2, 3, 3], bias: 2, attrs: { strides: ints([2]), dilations: ints([2]), pads: ints([1, 2]) } },
  { name: '1-D, group 3', x: [2, 3, 6], w: [3, 1, 2], bias: null, attrs: { group: int(3) } },
  { name: 'group 2, stride 2, input not a multiple (cropped weight gradient)', x: [2, 4, 7, 6], w: [4, 2, 2, 3], bias: 4, attrs: { group: int(2), strides: ints([2, 3]), dilations: ints([2, 1]) } },
  { name: '3-D, stride 2, pads', x: [1, 2, 4, 5, 4], w: [2, 2, 2, 3, 2], bias: 2, attrs: { strides: ints([2, 1, 2]), pads: ints([1, 0, 0, 0, 1, 1]) } },
];

for (const c of convCases) {
  test(`Conv ${c.name}`, async () => {
    const { model, feeds } = convModel('Conv', c.x, c.w, c.bias, c.attrs);
    await checkBoth(model, feeds, c.name);
  });
}

const convTCases: Case[] = [
  { name: '2-D basic, bias', x: [2, 3, 4, 4], w: [3, 2, 3, 3], bias: 2, attrs: {} },
  { name: 'stride 2, pads, output_padding 1', x: [2, 2, 3, 4], w: [2, 3, 3, 3], bias: 3, attrs: { strides: ints([2, 2]), pads: ints([1, 0, 1, 1]), output_padding: ints([1, 1]) } },
  { name: 'stride 3, output_padding 2 (> the end pad)', x: [1, 2, 3, 3], w: [2, 2, 2, 2], bias: null, attrs: { strides: ints([3, 3]), output_padding: ints([2, 1]) } },
  { name: 'dilation 2, group 2', x: [2, 4, 4, 3], w: [4, 3, 2, 3], bias: 6, attrs: { dilations: ints([2, 2]), group: int(2) } },
  { name: 'output_shape', x: [1, 2, 3, 3], w: [2, 2, 3, 3], bias: 2, attrs: { strides: ints([2, 2]), output_shape: ints([6, 7]) } },
  { name: 'auto_pad SAME_UPPER, stride 2', x: [1, 2, 3, 4], w: [2, 2, 3, 3], bias: 2, attrs: { strides: ints([2, 2]), auto_pad: str('SAME_UPPER') } },
  { name: 'auto_pad SAME_LOWER, stride 2', x: [1, 2, 3, 4], w: [2, 2, 3, 3], bias: 2, attrs: { strides: ints([2, 2]), auto_pad: str('SAME_LOWER') } },
  { name: '1-D, stride 2, pads', x: [2, 3, 5], w: [3, 2, 4], bias: 2, attrs: { strides: ints([2]), pads: ints([2, 1]) } },
  { name: 'depthwise', x: [2, 3, 4, 4], w: [3, 1, 3, 3], bias: null, attrs: { group: int(3), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } },
  { name: '3-D, stride 2', x: [1, 2, 2, 3, 2], w: [2, 2, 2, 2, 3], bias: 2, attrs: { strides: ints([2, 2, 1]) } },
];

for (const c of convTCases) {
  test(`ConvTranspose ${c.name}`, async () => {
    const { model, feeds } = convModel('ConvTranspose', c.x, c.w, c.bias, c.attrs);
    await checkBoth(model, feeds, c.name);
  });
}

function convNet(batch: number | string) {
  return buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', dims: [batch, 2, 7, 7] },
      { name: 'w1', dtype: 'float32', dims: [4, 1, 3, 3] },
      { name: 'b1', dtype: 'float32', dims: [4] },
      { name: 'w2', dtype: 'float32', dims: [3, 4, 2, 2] },
      { name: 'w3', dtype: 'float32', dims: [3, 2, 3, 3] },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['h1'], attrs: { group: int(2), pads: ints([1, 1, 1, 1]) } },
      { op: 'Mul', inputs: ['h1', 'h1'], outputs: ['q1'] },
      { op: 'Conv', inputs: ['q1', 'w2'], outputs: ['h2'], attrs: { strides: ints([2, 2]) } },
      { op: 'Mul', inputs: ['h2', 'h2'], outputs: ['q2'] },
      { op: 'ConvTranspose', inputs: ['q2', 'w3'], outputs: ['y'], attrs: { strides: ints([2, 2]) } },
    ],
    outputs: ['y'],
  });
}
const netFeeds = (n: number) => {
  const r = new Rng(100 + n);
  const t = (dims: number[], scale = 0.5) =>
    tensor('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => r.uniform(-scale, scale)));
  return { x: t([n, 2, 7, 7], 1), w1: t([4, 1, 3, 3]), b1: t([4]), w2: t([3, 4, 2, 2]), w3: t([3, 2, 3, 3]) };
};

test('a conv net (grouped Conv, square, strided Conv, square, ConvTranspose): gradient and HVP w.r.t. weights', async () => {
  await checkBoth(convNet(2), netFeeds(2), 'conv net', 5e-3, ['w1', 'b1', 'w2', 'w3']);
});

test('conv net graphs built with a symbolic batch give the static-shape numbers at another batch', async () => {
  const diff = await dynamicBatchDiff(convNet('N'), netFeeds, ['w1', 'b1', 'w2', 'w3'], 4);
  assert.ok(diff < 1e-5, `relative difference ${diff}`);
});

/**
 * Real third-party models from test/data, every weight lifted to an
 * input. Relu -> Identity and MaxPool -> AveragePool make the function smooth, so finite
 * differences are meaningful (with kinks, h = 1e-2 in float32 flips many ReLUs/argmaxes); what
 * remains is the models' real Conv/Pad/AveragePool/Gemm/MatMul/Reshape/Flatten structure.
 * Measured: gradient 1e-5..1e-2 relative (the nets are polynomials of degree up to 4 in the
 * weights: h^2 truncation), HVP ~1e-5; rtol 3e-2.
 */
for (const file of ['vnncomp2021/verivital/Convnet_avgpool.onnx', 'vnncomp2021/verivital/Convnet_maxpool.onnx', 'onnxruntime/mnist.onnx']) {
  test(`real model ${file} (smoothed): gradient and HVP w.r.t. all weights`, async () => {
    const m0 = upgradeOpset(loadModel(readTestData(file)));
    for (const n of m0.graph.nodes) {
      if (n.opType === 'Relu') n.opType = 'Identity';
      if (n.opType === 'MaxPool') n.opType = 'AveragePool';
    }
    const params = selectParameters(m0);
    const { model, values } = liftParameters(m0, params);
    const input = m0.graph.inputs[0]!;
    const dims = input.shape!.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const feeds: Record<string, Tensor> = { [input.name]: rand32(dims, 0, 1), ...Object.fromEntries(values) };
    const g = await checkGradient(model, feeds, { wrt: params, rtol: 3e-2 });
    assert.ok(g.ok, `gradient: ${JSON.stringify(g)}`);
    const h = await checkHvp(model, feeds, { wrt: params, rtol: 3e-2 });
    assert.ok(h.ok, `hvp: ${JSON.stringify(h)}`);
  });
}

test('Conv with spatial dims that vary: refused with UNSUPPORTED_OP (only the batch may vary)', async () => {
  const model = singleOp('Conv', [
    { name: 'x', dtype: 'float32', dims: ['N', 2, 'H', 'W'] },
    { name: 'w', dtype: 'float32', dims: [3, 2, 1, 2] },
  ]);
  const shapes = await probeShapes(model); // symbolic dims are probed at 2 and 3: H, W vary
  assert.throws(
    () => buildGradient(model, { of: 'y0', seed: 'u', wrt: ['w'] }, shapes),
    (e: unknown) => (e as { code?: string }).code === 'UNSUPPORTED_OP' && /fixed spatial sizes/.test(String(e)),
  );
});
