/**
 * Pooling, Pad and normalization rules. float64 where ORT has kernels (MaxPool, GlobalMaxPool,
 * Pad, BatchNormalization, LayerNormalization); AveragePool and GlobalAveragePool run in float32
 * (no float64 kernels): they are linear, so the central difference of u.y has no truncation
 * error and only float32 rounding remains (measured below 1e-4 relative; rtol 1e-3).
 * Linear ops (pools, Pad) have a zero Hessian on their own, so their HVPs are checked through
 * y*y, which sends tangents through each JVP rule and through the ops their VJP emits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../native/autodiff/rules/index.js';
import { buildModel, type InputSpec } from './helpers/onnx-builder.js';
import { checkGradient, checkHvp, type CheckOptions } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { float, int, ints, str, type Attr, type Model } from '../native/onnx/ir.js';
import type { DType } from '../native/onnx/dtype.js';
import { ruleFor } from '../native/autodiff/registry.js';
import { Rng } from '../common/random.js';

const rng = new Rng(23);
const numel = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const rand = (dims: number[], dtype: DType = 'float64', lo = -1, hi = 1) =>
  tensor(dtype, dims, Array.from({ length: numel(dims) }, () => rng.uniform(lo, hi)));
/**
 * Distinct values `gap` apart in random order: no ties, and the finite-difference steps
 * (h * d with d ~ N(0,1): ~1e-6 in float64, ~1e-2 in float32) never reorder them.
 */
const distinct = (dims: number[], dtype: DType = 'float64', gap = 0.05) => {
  const n = numel(dims);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * gap);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform(0, i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return tensor(dtype, dims, v);
};

/** `op` alone, and `op` followed by y*y (for a non-zero Hessian). */
function models(op: string, inputs: InputSpec[], attrs: Record<string, Attr>, extra: { outputs?: number; initializers?: Record<string, Tensor>; opset?: number } = {}) {
  const outs = Array.from({ length: extra.outputs ?? 1 }, (_, i) => (i === 0 ? 'y' : `y${i}`));
  const nodeInputs = [...inputs.map((i) => i.name), ...Object.keys(extra.initializers ?? {})];
  const base = { inputs, initializers: extra.initializers, opset: extra.opset ?? 18 };
  const plain = buildModel({ ...base, nodes: [{ op, inputs: nodeInputs, outputs: outs, attrs }], outputs: ['y'] });
  const squared = buildModel({
    ...base,
    nodes: [
      { op, inputs: nodeInputs, outputs: outs, attrs },
      { op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] },
    ],
    outputs: ['z'],
  });
  return { plain, squared };
}

async function checkOp(
  label: string,
  m: { plain: Model; squared: Model },
  feeds: Record<string, Tensor>,
  opts: CheckOptions = {},
  hvp = true,
): Promise<void> {
  const g = await checkGradient(m.plain, feeds, opts);
  assert.ok(g.ok, `${label} gradient: ${JSON.stringify(g)}`);
  assert.ok(Math.abs(g.analytic) > 1e-4, `${label}: directional derivative is not trivially zero`);
  const g2 = await checkGradient(m.squared, feeds, opts);
  assert.ok(g2.ok, `${label} (squared) gradient: ${JSON.stringify(g2)}`);
  if (!hvp) return;
  const h = await checkHvp(m.squared, feeds, opts);
  assert.ok(h.ok, `${label} (squared) hvp: ${JSON.stringify(h)}`);
}

// ---------------------------------------------------------------- MaxPool

const maxPoolCases: { name: string; x: number[]; attrs: Record<string, Attr> }[] = [
  { name: 'k2 s2', x: [2, 3, 6, 6], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } },
  { name: 'overlapping k3 s1 pads 1', x: [2, 2, 5, 5], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } },
  { name: 'k3 s2 asymmetric pads ceil_mode', x: [1, 2, 6, 7], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 0, 0, 1]), ceil_mode: int(1) } },
  { name: 'dilations 2', x: [2, 2, 7, 7], attrs: { kernel_shape: ints([2, 2]), dilations: ints([2, 2]) } },
  { name: 'auto_pad SAME_UPPER s2', x: [1, 2, 5, 6], attrs: { kernel_shape: ints([3, 2]), strides: ints([2, 2]), auto_pad: str('SAME_UPPER') } },
  { name: '1-D k3 s2', x: [2, 3, 9], attrs: { kernel_shape: ints([3]), strides: ints([2]) } },
];

/** BatchNormalization's five inputs for x of dims [N, C, ...]: the variance kept positive. */
function batchNormInputs(dims: number[]): { specs: InputSpec[]; feeds: Record<string, Tensor> } {
  const C = dims[1]!;
  const specs: InputSpec[] = ['x', 'scale', 'bias', 'mean', 'var'].map((name) => ({ name, dims: name === 'x' ? dims : [C] }));
  return { specs, feeds: { x: rand(dims), scale: rand([C]), bias: rand([C]), mean: rand([C]), var: rand([C], 'float64', 0.5, 2) } };
}

for (const c of maxPoolCases) {
  test(`MaxPool ${c.name}`, async () => {
    const m = models('MaxPool', [{ name: 'x', dims: c.x }], c.attrs);
    await checkOp(c.name, m, { x: distinct(c.x) });
  });
}

test('MaxPool whose Indices output is already in the model', async () => {
  const m = models('MaxPool', [{ name: 'x', dims: [2, 2, 5, 5] }], { kernel_shape: ints([3, 3]), strides: ints([1, 1]) }, { outputs: 2 });
  await checkOp('with Indices', m, { x: distinct([2, 2, 5, 5]) });
});

test('MaxPool storage_order=1 (column-major Indices), H != W, with and without the Indices output', async () => {
  const attrs = { kernel_shape: ints([2, 3]), strides: ints([1, 2]), storage_order: int(1) };
  for (const outputs of [1, 2]) {
    const m = models('MaxPool', [{ name: 'x', dims: [2, 2, 5, 7] }], attrs, { outputs });
    await checkOp(`storage_order=1, ${outputs} outputs`, m, { x: distinct([2, 2, 5, 7]) });
  }
});

test('MaxPool HVP, overlapping windows with padding', async () => {
  const m = models('MaxPool', [{ name: 'x', dims: [2, 2, 5, 5] }], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) });
  const h = await checkHvp(m.squared, { x: distinct([2, 2, 5, 5]) });
  assert.ok(h.ok, JSON.stringify(h));
});

// ---------------------------------------------------------------- AveragePool (float32)

const F32 = { rtol: 1e-3 };
const avgCases: { name: string; x: number[]; attrs: Record<string, Attr> }[] = [
  { name: 'k2 s2', x: [2, 3, 6, 6], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } },
  { name: 'overlapping k3 s2', x: [2, 2, 7, 7], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]) } },
  { name: 'k3 s1 pads 1 count_include_pad 0', x: [2, 2, 5, 5], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) } },
  { name: 'k3 s1 pads 1 count_include_pad 1', x: [2, 2, 5, 5], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), count_include_pad: int(1) } },
  { name: 'ceil_mode, asymmetric pads, count_include_pad 0', x: [1, 2, 6, 7], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 0, 0, 1]), ceil_mode: int(1) } },
  { name: 'ceil_mode, asymmetric pads, count_include_pad 1', x: [1, 2, 6, 7], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 0, 0, 1]), ceil_mode: int(1), count_include_pad: int(1) } },
  { name: 'stride 3 leaves a remainder', x: [1, 2, 8, 8], attrs: { kernel_shape: ints([2, 2]), strides: ints([3, 3]) } },
  { name: 'auto_pad SAME_UPPER s2', x: [1, 2, 5, 6], attrs: { kernel_shape: ints([3, 2]), strides: ints([2, 2]), auto_pad: str('SAME_UPPER') } },
  { name: 'auto_pad SAME_LOWER s2', x: [1, 2, 5, 6], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), auto_pad: str('SAME_LOWER') } },
  { name: '1-D k3 s2 pads 1', x: [2, 3, 9], attrs: { kernel_shape: ints([3]), strides: ints([2]), pads: ints([1, 1]) } },
  { name: 'dilations 2, pads, count_include_pad 0', x: [1, 2, 7, 8], attrs: { kernel_shape: ints([2, 3]), dilations: ints([2, 2]), pads: ints([1, 1, 1, 2]) } },
  { name: 'dilations 2, stride 2, ceil_mode, count_include_pad 1', x: [1, 2, 8, 7], attrs: { kernel_shape: ints([3, 2]), dilations: ints([2, 3]), strides: ints([2, 2]), pads: ints([1, 0, 1, 1]), ceil_mode: int(1), count_include_pad: int(1) } },
];
for (const c of avgCases) {
  test(`AveragePool ${c.name}`, async () => {
    // dilations exist from opset 19.
    const m = models('AveragePool', [{ name: 'x', dtype: 'float32', dims: c.x }], c.attrs, { opset: c.attrs.dilations ? 19 : 18 });
    await checkOp(c.name, m, { x: rand(c.x, 'float32') }, F32);
  });
}

test('GlobalAveragePool and GlobalMaxPool (float32: no float64 kernels)', async () => {
  const a = models('GlobalAveragePool', [{ name: 'x', dtype: 'float32', dims: [2, 3, 4, 5] }], {});
  await checkOp('GlobalAveragePool', a, { x: rand([2, 3, 4, 5], 'float32') }, F32);
  const a1 = models('GlobalAveragePool', [{ name: 'x', dtype: 'float32', dims: [2, 3, 7] }], {});
  await checkOp('GlobalAveragePool 1-D', a1, { x: rand([2, 3, 7], 'float32') }, F32);
  const m = models('GlobalMaxPool', [{ name: 'x', dtype: 'float32', dims: [2, 3, 4, 5] }], {});
  await checkOp('GlobalMaxPool', m, { x: distinct([2, 3, 4, 5], 'float32', 0.25) }, F32);
});

// ---------------------------------------------------------------- Pad

const i64 = (v: number[]) => tensor('int64', [v.length], v);

test('Pad constant: pads as a constant, constant_value differentiated', async () => {
  const m = models('Pad', [{ name: 'x', dims: [2, 3, 4] }, { name: 'v', dims: [] }], {}, {});
  // buildModel wires inputs in order: x, v; pads must come second, so build explicitly.
  void m;
  const build = (sq: boolean) =>
    buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'v', dims: [] }],
      initializers: { pads: i64([0, 1, 2, 1, 0, 3]) },
      nodes: [
        { op: 'Pad', inputs: ['x', 'pads', 'v'], outputs: ['y'] },
        ...(sq ? [{ op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] }] : []),
      ],
      outputs: [sq ? 'z' : 'y'],
    });
  await checkOp('Pad constant', { plain: build(false), squared: build(true) }, { x: rand([2, 3, 4]), v: rand([]) });
});

test('Pad with negative pads (crop), pads as a graph input, no constant_value', async () => {
  const build = (sq: boolean) =>
    buildModel({
      inputs: [{ name: 'x', dims: [3, 5] }, { name: 'pads', dtype: 'int64', dims: [4] }],
      nodes: [
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'] },
        ...(sq ? [{ op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] }] : []),
      ],
      outputs: [sq ? 'z' : 'y'],
    });
  await checkOp('Pad crop', { plain: build(false), squared: build(true) }, { x: rand([3, 5]), pads: i64([1, -1, -1, 2]) });
});

test('Pad with an axes input (opset 18) and a constant value', async () => {
  const build = (sq: boolean) =>
    buildModel({
      inputs: [{ name: 'x', dims: [2, 3, 4] }],
      initializers: { pads: i64([1, 2, 0, 1]), v: tensor('float64', [], [0.5]), axes: i64([-1, 1]) },
      nodes: [
        { op: 'Pad', inputs: ['x', 'pads', 'v', 'axes'], outputs: ['y'] },
        ...(sq ? [{ op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] }] : []),
      ],
      outputs: [sq ? 'z' : 'y'],
    });
  await checkOp('Pad axes', { plain: build(false), squared: build(true) }, { x: rand([2, 3, 4]) });
});

for (const mode of ['edge', 'reflect', 'wrap']) {
  test(`Pad mode=${mode}: several axes, asymmetric pads, axes input`, async () => {
    const cases: { x: number[]; pads: number[]; axes?: number[] }[] = [
      { x: [2, 3, 4], pads: [0, 1, 2, 0, 2, 1] },
      { x: [2, 5, 4], pads: [3, 1, 2, 3], axes: [1, -1] },
    ];
    for (const c of cases) {
      const init: Record<string, Tensor> = { pads: i64(c.pads) };
      if (c.axes) init.axes = i64(c.axes);
      const nodeInputs = c.axes ? ['x', 'pads', '', 'axes'] : ['x', 'pads'];
      const build = (sq: boolean) =>
        buildModel({
          inputs: [{ name: 'x', dims: c.x }],
          initializers: init,
          nodes: [
            { op: 'Pad', inputs: nodeInputs, outputs: ['y'], attrs: { mode: str(mode) } },
            ...(sq ? [{ op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] }] : []),
          ],
          outputs: [sq ? 'z' : 'y'],
        });
      await checkOp(`Pad ${mode} ${JSON.stringify(c)}`, { plain: build(false), squared: build(true) }, { x: rand(c.x) });
    }
  });
}

test('Pad edge mode with pads computed at run time: the gradient is refused with a clear error', async () => {
  const model = buildModel({
    inputs: [{ name: 'x', dims: [2, 3] }, { name: 'pads', dtype: 'int64', dims: [4] }],
    nodes: [{ op: 'Pad', inputs: ['x', 'pads'], outputs: ['y'], attrs: { mode: str('edge') } }],
    outputs: ['y'],
  });
  await assert.rejects(checkGradient(model, { x: rand([2, 3]), pads: i64([0, 1, 0, 1]) }), /mode="edge" with pads computed at run time/);
});

// ---------------------------------------------------------------- BatchNormalization

test('BatchNormalization (inference): all five inputs, 4-D and 2-D, epsilon', async () => {
  for (const [dims, eps] of [
    [[2, 3, 4, 4], 1e-5],
    [[4, 3], 0.1],
    [[2, 3, 5], 1e-3],
  ] as [number[], number][]) {
    const { specs, feeds } = batchNormInputs(dims);
    const m = models('BatchNormalization', specs, { epsilon: float(eps) });
    await checkOp(`BN ${JSON.stringify(dims)}`, m, feeds);
    // Hessian of BN itself (not only through y*y): non-zero in (x, scale, mean, var).
    const h = await checkHvp(m.plain, feeds);
    assert.ok(h.ok, `BN plain hvp: ${JSON.stringify(h)}`);
  }
});

test('BatchNormalization: only x, scale, bias differentiated (mean/var constant)', async () => {
  const m = models('BatchNormalization', [
    { name: 'x', dims: [2, 3, 4] },
    { name: 'scale', dims: [3] },
    { name: 'bias', dims: [3] },
    { name: 'mean', dims: [3] },
    { name: 'var', dims: [3] },
  ], {});
  const feeds = { x: rand([2, 3, 4]), scale: rand([3]), bias: rand([3]), mean: rand([3]), var: rand([3], 'float64', 0.5, 2) };
  await checkOp('BN x/scale/bias', m, feeds, { wrt: ['x', 'scale', 'bias'] });
  await checkOp('BN bias only', m, feeds, { wrt: ['bias'] });
});

// ---------------------------------------------------------------- LayerNormalization

const lnCases: { name: string; x: number[]; scale: number[]; bias: number[] | null; attrs: Record<string, Attr> }[] = [
  { name: 'axis -1', x: [2, 3, 5], scale: [5], bias: [5], attrs: {} },
  { name: 'axis 1 over two axes, epsilon 0.1', x: [2, 3, 4], scale: [3, 4], bias: [3, 4], attrs: { axis: int(1), epsilon: float(0.1) } },
  { name: 'axis 1 with a broadcast scale, no bias', x: [2, 3, 4], scale: [4], bias: null, attrs: { axis: int(1) } },
  { name: '2-D, axis -1, bias broadcast', x: [4, 6], scale: [6], bias: [1], attrs: {} },
];
for (const c of lnCases) {
  test(`LayerNormalization ${c.name}`, async () => {
    const specs: InputSpec[] = [
      { name: 'x', dims: c.x },
      { name: 'scale', dims: c.scale },
    ];
    const feeds: Record<string, Tensor> = { x: rand(c.x), scale: rand(c.scale) };
    if (c.bias) {
      specs.push({ name: 'bias', dims: c.bias });
      feeds.bias = rand(c.bias);
    }
    const m = models('LayerNormalization', specs, c.attrs);
    await checkOp(c.name, m, feeds);
    const h = await checkHvp(m.plain, feeds);
    assert.ok(h.ok, `LN plain hvp: ${JSON.stringify(h)}`);
  });
}

test('LayerNormalization with its Mean and InvStdDev outputs used (float32: the stash type)', async () => {
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', dims: [3, 6] },
      { name: 'scale', dtype: 'float32', dims: [6] },
    ],
    nodes: [{ op: 'LayerNormalization', inputs: ['x', 'scale'], outputs: ['y', 'mean', 'inv'], attrs: { epsilon: float(0.05) } }],
    outputs: ['y', 'mean', 'inv'],
  });
  const feeds = { x: rand([3, 6], 'float32'), scale: rand([6], 'float32') };
  // Nonlinear (1/sqrt): h = 1e-2 gives truncation ~h^2 = 1e-4 on top of float32 rounding ~1e-4; rtol 1e-2.
  const g = await checkGradient(model, feeds, { rtol: 1e-2 });
  assert.ok(g.ok, JSON.stringify(g));
  const h = await checkHvp(model, feeds, { rtol: 1e-2 });
  assert.ok(h.ok, JSON.stringify(h));
});

/**
 * ORT has no float64 InstanceNormalization kernel: float32 with h = 1e-2. The op is nonlinear
 * (1/sqrt of the variance), so central differences carry truncation ~h^2 = 1e-4 on top of
 * float32 rounding ~1e-4; rtol 1e-2 (a wrong formula is off by O(1)).
 */
test('InstanceNormalization (float32): 1-D and 2-D spatial, epsilon; gradient and HVP', async () => {
  const f32 = { rtol: 1e-2 };
  for (const [dims, eps] of [
    [[2, 3, 5], 1e-5],
    [[2, 2, 3, 4], 0.1],
  ] as [number[], number][]) {
    const C = dims[1]!;
    const specs: InputSpec[] = [
      { name: 'x', dtype: 'float32', dims },
      { name: 'scale', dtype: 'float32', dims: [C] },
      { name: 'bias', dtype: 'float32', dims: [C] },
    ];
    const feeds = { x: rand(dims, 'float32'), scale: rand([C], 'float32'), bias: rand([C], 'float32') };
    const m = models('InstanceNormalization', specs, { epsilon: float(eps) });
    await checkOp(`InstanceNorm ${JSON.stringify(dims)}`, m, feeds, f32);
    const h = await checkHvp(m.plain, feeds, f32);
    assert.ok(h.ok, `InstanceNorm plain hvp: ${JSON.stringify(h)}`);
    await checkOp(`InstanceNorm bias only ${JSON.stringify(dims)}`, m, feeds, { ...f32, wrt: ['bias'] }, false);
  }
});

test('GroupNormalization: per-group scale (opset 18) and per-channel scale (opset 21); gradient and HVP', async () => {
  for (const [opset, dims, groups, eps] of [
    [18, [2, 4, 3], 2, 1e-5],
    [18, [2, 6, 2, 2], 3, 0.1],
    [21, [2, 4, 3], 2, 1e-5],
    [21, [2, 6, 2, 2], 3, 0.1],
    [21, [2, 4, 5], 4, 1e-3],
  ] as [number, number[], number, number][]) {
    const P = opset === 18 ? groups : dims[1]!;
    const specs: InputSpec[] = [
      { name: 'x', dims },
      { name: 'scale', dims: [P] },
      { name: 'bias', dims: [P] },
    ];
    const feeds = { x: rand(dims), scale: rand([P]), bias: rand([P]) };
    // Opset 21 computes the statistics in stash_type (float32 by default): ask for double.
    const attrs: Record<string, Attr> = { num_groups: int(groups), epsilon: float(eps) };
    if (opset >= 21) attrs.stash_type = int(11);
    const m = models('GroupNormalization', specs, attrs, { opset });
    const label = `GroupNorm opset ${opset} ${JSON.stringify(dims)} G=${groups}`;
    await checkOp(label, m, feeds);
    const h = await checkHvp(m.plain, feeds);
    assert.ok(h.ok, `${label} plain hvp: ${JSON.stringify(h)}`);
  }
});

/** ORT's LRN: float32 only, 4-D only, odd size. Nonlinear: rtol 1e-2 as above. */
test('LRN (float32): sizes 3 and 5, alpha/beta/bias; gradient and HVP', async () => {
  const f32 = { rtol: 1e-2 };
  for (const [dims, size, alpha, beta, bias] of [
    [[2, 5, 3, 2], 3, 0.5, 0.75, 1],
    [[2, 6, 4, 1], 5, 1, 0.5, 2],
    [[1, 4, 2, 3], 3, 0.3, 1.5, 1.5],
  ] as [number[], number, number, number, number][]) {
    const m = models('LRN', [{ name: 'x', dtype: 'float32', dims }], { size: int(size), alpha: float(alpha), beta: float(beta), bias: float(bias) });
    const feeds = { x: rand(dims, 'float32', -2, 2) };
    await checkOp(`LRN ${JSON.stringify(dims)} size ${size}`, m, feeds, f32);
    const h = await checkHvp(m.plain, feeds, f32);
    assert.ok(h.ok, `LRN plain hvp: ${JSON.stringify(h)}`);
  }
});

// ---------------------------------------------------------------- symbolic batch

test('pool/norm graphs built with a symbolic batch give the static-shape numbers at another batch', async () => {
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', dims: ['N', 2, 6, 6] },
      { name: 'w', dtype: 'float32', dims: [2, 1, 1] },
      { name: 'ls', dtype: 'float32', dims: [4] },
    ],
    initializers: { pads: i64([0, 0, 1, 0, 0, 0, 0, 1]) },
    nodes: [
      { op: 'Mul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'Pad', inputs: ['xw', 'pads'], outputs: ['p'] },
      { op: 'AveragePool', inputs: ['p'], outputs: ['a'], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } },
      { op: 'Mul', inputs: ['a', 'a'], outputs: ['a2'] },
      { op: 'LayerNormalization', inputs: ['a2', 'ls'], outputs: ['y'], attrs: { axis: int(-1), epsilon: float(0.1) } },
    ],
    outputs: ['y'],
  });
  const feeds = (n: number) => {
    const r = new Rng(200 + n);
    const t = (dims: number[]) => tensor('float32', dims, Array.from({ length: numel(dims) }, () => r.uniform(-1, 1)));
    return { x: t([n, 2, 6, 6]), w: t([2, 1, 1]), ls: t([4]) };
  };
  const diff = await dynamicBatchDiff(model, feeds, ['w', 'ls'], 4);
  assert.ok(diff < 1e-4, `relative difference ${diff}`);
});

test('MaxPool / BatchNormalization / global pools with a symbolic batch give the static-shape numbers', async () => {
  const model = buildModel({
    inputs: [
      { name: 'x', dtype: 'float32', dims: ['N', 2, 6, 6] },
      { name: 'w', dtype: 'float32', dims: [2, 1, 1] },
      { name: 'scale', dtype: 'float32', dims: [2] },
      { name: 'bias', dtype: 'float32', dims: [2] },
    ],
    initializers: { mean: tensor('float32', [2], [0.1, -0.2]), var: tensor('float32', [2], [0.5, 1.5]) },
    nodes: [
      { op: 'Mul', inputs: ['x', 'w'], outputs: ['xw'] },
      { op: 'MaxPool', inputs: ['xw'], outputs: ['m'], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) } },
      { op: 'BatchNormalization', inputs: ['m', 'scale', 'bias', 'mean', 'var'], outputs: ['bn'] },
      { op: 'Mul', inputs: ['bn', 'bn'], outputs: ['sq'] },
      { op: 'GlobalMaxPool', inputs: ['sq'], outputs: ['gm'] },
      { op: 'GlobalAveragePool', inputs: ['sq'], outputs: ['ga'] },
      { op: 'Add', inputs: ['gm', 'ga'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const feeds = (n: number) => {
    const r = new Rng(500 + n);
    const t = (dims: number[]) => tensor('float32', dims, Array.from({ length: numel(dims) }, () => r.uniform(-1, 1)));
    return { x: distinct([n, 2, 6, 6], 'float32', 0.01), w: t([2, 1, 1]), scale: t([2]), bias: t([2]) };
  };
  const diff = await dynamicBatchDiff(model, feeds, ['w', 'scale', 'bias'], 4);
  assert.ok(diff < 1e-4, `relative difference ${diff}`);
});

test('BatchNormalization training mode: Y, running mean and running var, gradient and HVP', async () => {
  for (const dims of [
    [3, 2, 4],
    [4, 3],
    [2, 2, 3, 3],
  ]) {
    const { specs, feeds } = batchNormInputs(dims);
    const attrs = { training_mode: int(1), momentum: float(0.7), epsilon: float(1e-3) };
    const all = buildModel({
      inputs: specs,
      nodes: [{ op: 'BatchNormalization', inputs: specs.map((s) => s.name), outputs: ['y', 'rm', 'rv'], attrs }],
      outputs: ['y', 'rm', 'rv'],
    });
    const g = await checkGradient(all, feeds);
    assert.ok(g.ok, `BN training ${JSON.stringify(dims)} gradient: ${JSON.stringify(g)}`);
    const h = await checkHvp(all, feeds);
    assert.ok(h.ok, `BN training ${JSON.stringify(dims)} hvp: ${JSON.stringify(h)}`);
    const m = models('BatchNormalization', specs, attrs, { outputs: 3 });
    await checkOp(`BN training y only ${JSON.stringify(dims)}`, m, feeds);
  }
});

test('BatchNormalization training mode under a symbolic batch (n = numel/C at run time)', async () => {
  const model = buildModel({
    inputs: [
      { name: 'x', dims: ['N', 2, 3] },
      { name: 'scale', dims: [2] },
      { name: 'bias', dims: [2] },
    ],
    initializers: { mean: tensor('float64', [2], [0.1, -0.2]), var: tensor('float64', [2], [0.5, 1.5]) },
    nodes: [
      { op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs: ['y', 'rm', 'rv'], attrs: { training_mode: int(1) } },
      { op: 'Mul', inputs: ['y', 'y'], outputs: ['z'] },
    ],
    outputs: ['z'],
  });
  const feeds = (n: number) => {
    const r = new Rng(600 + n);
    const t = (d: number[]) => tensor('float64', d, Array.from({ length: numel(d) }, () => r.uniform(-1, 1)));
    return { x: t([n, 2, 3]), scale: t([2]), bias: t([2]) };
  };
  const diff = await dynamicBatchDiff(model, feeds, ['x', 'scale', 'bias'], 5);
  assert.ok(diff < 1e-10, `relative difference ${diff}`);
});
