/**
 * upgradeOpset: every legacy form is rewritten to its opset-18 form and the upgraded model
 * computes the same outputs as the original in ONNX Runtime (which still runs opsets 7..17):
 * small models per legacy form, the real models in test/data on real MNIST digits, and
 * every model of ONNX's backend test data below opset 18 (when libonnx-testdata is installed).
 * Opset < 7 forms (legacy broadcast) are not guaranteed by ORT, so those are checked against
 * values computed here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel, type InputSpec, type NodeSpec } from './helpers/onnx-builder.js';
import { mnistRows } from './helpers/mnist-csv.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { loadModel } from '../native/onnx/load.js';
import { onnx } from '../native/onnx/proto.js';
import { float, floats, int, ints, onnxOpset, str, type Attr, type Model } from '../native/onnx/ir.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { runModelOnce } from '../native/runtime/session.js';
import { AppError } from '../common/errors.js';
import { Rng } from '../common/random.js';
import { testData } from './helpers/test-data.js';
import { onnxBackendData, readBackendTensor } from './helpers/onnx-backend.js';

const rng = new Rng(41);
const rand = (dims: number[], dtype: 'float32' | 'float64' = 'float32', lo = -2, hi = 2) =>
  tensor(dtype, dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.uniform(lo, hi)));


function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual([...b.dims], [...a.dims], 'shapes differ');
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return d;
}

/** Runs original and upgraded; asserts identical outputs (tol 0 unless given) and opset 18. */
async function sameOutputs(model: Model, feeds: Record<string, Tensor>, label: string, tol = 0): Promise<Model> {
  const up = upgradeOpset(model);
  assert.equal(onnxOpset(up), 18, `${label}: opset`);
  assert.ok(up.irVersion >= 8, `${label}: ir_version`);
  const a = await runModelOnce(model, feeds);
  const b = await runModelOnce(up, feeds);
  for (const o of model.graph.outputs) {
    const d = maxDiff(a[o.name]!, b[o.name]!);
    assert.ok(d <= tol, `${label}: output ${o.name} differs by ${d}`);
  }
  return up;
}

function one(op: string, opset: number, inputs: InputSpec[], attrs: Record<string, Attr> = {}, outputs = ['y'], initializers?: Record<string, Tensor>, order?: string[]): Model {
  const node: NodeSpec = { op, inputs: order ?? inputs.map((i) => i.name), outputs, attrs };
  return buildModel({ opset, inputs, nodes: [node], outputs, initializers });
}

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);
const hasAttr = (m: Model, op: string, attr: string) => m.graph.nodes.some((n) => n.opType === op && n.attrs[attr] !== undefined);

test('Softmax / LogSoftmax / Hardmax < 13: 2-D coercion at axis (default 1, 0, negative) kept exactly', async () => {
  for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    for (const axis of [undefined, 0, 2, -2, -1]) {
      const attrs: Record<string, Attr> = axis === undefined ? {} : { axis: int(axis) };
      const m = one(op, 11, [{ name: 'x', dtype: 'float32', dims: [2, 3, 4] }], attrs);
      const up = await sameOutputs(m, { x: rand([2, 3, 4]) }, `${op} axis=${axis}`, 1e-6);
      if (axis === -1 || axis === 2) assert.deepEqual(ops(up), [op], 'last axis: no reshapes needed');
      else assert.ok(ops(up).includes('Flatten'), `${op} axis=${axis}: coerced through Flatten`);
    }
  }
  // Rank unknown (an intermediate without value info): always the Flatten form.
  const m = buildModel({
    opset: 9,
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3, 4] }],
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Reshape', inputs: ['x', 's'], outputs: ['r'] },
      { op: 'LogSoftmax', inputs: ['r'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  const up = await sameOutputs(m, { x: rand([2, 3, 4]) }, 'LogSoftmax of unknown rank', 1e-6);
  assert.ok(ops(up).includes('Flatten'));
});

test('Reduce*: axes attribute -> input (ReduceSum < 13, others < 18), keepdims, no axes', async () => {
  const x = rand([2, 3, 4]);
  const cases: [string, number, Record<string, Attr>][] = [
    ['ReduceSum', 11, { axes: ints([1, -1]) }],
    ['ReduceSum', 11, { keepdims: int(0) }],
    ['ReduceMean', 13, { axes: ints([0]), keepdims: int(0) }],
    ['ReduceMax', 11, { axes: ints([2]) }],
    ['ReduceMin', 17, { axes: ints([-2]), keepdims: int(0) }],
    ['ReduceL2', 13, { axes: ints([1]) }],
    ['ReduceLogSumExp', 13, { axes: ints([0, 2]) }],
    ['ReduceSumSquare', 11, {}],
    ['ReduceProd', 13, { axes: ints([1]) }],
  ];
  for (const [op, opset, attrs] of cases) {
    const up = await sameOutputs(one(op, opset, [{ name: 'x', dtype: 'float32', dims: [2, 3, 4] }], attrs), { x }, `${op}-${opset} ${JSON.stringify(attrs)}`, 1e-5);
    assert.ok(!hasAttr(up, op, 'axes'), `${op}: axes left as an attribute`);
    if (attrs.axes) assert.equal(up.graph.nodes[0]!.inputs.length, 2);
  }
});

test('Squeeze / Unsqueeze < 13, Split < 13 (split attr, equal split), Split 13..17 without split', async () => {
  const x = rand([2, 1, 6, 1]);
  let up = await sameOutputs(one('Squeeze', 11, [{ name: 'x', dtype: 'float32', dims: [2, 1, 6, 1] }], { axes: ints([1, -1]) }), { x }, 'Squeeze');
  assert.ok(!hasAttr(up, 'Squeeze', 'axes'));
  await sameOutputs(one('Squeeze', 11, [{ name: 'x', dtype: 'float32', dims: [2, 1, 6, 1] }]), { x }, 'Squeeze all');
  up = await sameOutputs(one('Unsqueeze', 9, [{ name: 'x', dtype: 'float32', dims: [2, 1, 6, 1] }], { axes: ints([0, 5]) }), { x }, 'Unsqueeze');
  assert.ok(!hasAttr(up, 'Unsqueeze', 'axes'));
  const s = rand([2, 6, 3]);
  const xs = [{ name: 'x', dtype: 'float32' as const, dims: [2, 6, 3] }];
  up = await sameOutputs(one('Split', 11, xs, { axis: int(1), split: ints([1, 2, 3]) }, ['a', 'b', 'c']), { x: s }, 'Split split=[1,2,3]');
  assert.ok(!hasAttr(up, 'Split', 'split'));
  up = await sameOutputs(one('Split', 7, xs, { axis: int(1) }, ['a', 'b', 'c']), { x: s }, 'Split equal');
  assert.equal(up.graph.nodes[0]!.attrs.num_outputs?.value, 3);
  up = await sameOutputs(one('Split', 13, xs, { axis: int(-1) }, ['a', 'b', 'c']), { x: s }, 'Split-13 equal');
  assert.equal(up.graph.nodes[0]!.attrs.num_outputs?.value, 3);
});

test('Slice < 10, Pad < 11 (value, reflect), Clip < 11 (min and max, min only), TopK < 10, Reshape < 5', async () => {
  const x = rand([3, 4, 5]);
  const xs = [{ name: 'x', dtype: 'float32' as const, dims: [3, 4, 5] }];
  let up = await sameOutputs(one('Slice', 9, xs, { starts: ints([1, -3]), ends: ints([3, 1000]), axes: ints([0, 2]) }), { x }, 'Slice axes');
  assert.ok(!hasAttr(up, 'Slice', 'starts'));
  await sameOutputs(one('Slice', 7, xs, { starts: ints([0, 1, 2]), ends: ints([2, 3, 4]) }), { x }, 'Slice no axes');
  up = await sameOutputs(one('Pad', 10, xs, { pads: ints([0, 1, 2, 1, 0, 3]), value: float(1.5) }), { x }, 'Pad value 1.5');
  assert.ok(!hasAttr(up, 'Pad', 'pads') && up.graph.nodes[0]!.inputs.length === 3);
  await sameOutputs(one('Pad', 2, xs, { pads: ints([0, 1, 2, 0, 2, 1]), mode: str('reflect') }), { x }, 'Pad reflect');
  await sameOutputs(one('Pad', 10, xs, { pads: ints([0, 0, 1, 0, 0, 1]), mode: str('edge') }), { x }, 'Pad edge');
  up = await sameOutputs(one('Clip', 6, xs, { min: float(-0.5), max: float(0.75) }), { x }, 'Clip min/max');
  assert.ok(!hasAttr(up, 'Clip', 'min'));
  await sameOutputs(one('Clip', 6, xs, { min: float(0.25) }), { x }, 'Clip min only');
  await sameOutputs(one('Clip', 6, xs, { max: float(0.25) }), { x }, 'Clip max only');
  await sameOutputs(one('TopK', 9, xs, { k: int(2), axis: int(1) }, ['v', 'i']), { x }, 'TopK k=2');
});

test('Dropout < 12 becomes Identity; BatchNormalization 7 (spatial=1, spatial=0 folded) and 9', async () => {
  const x = rand([2, 3, 4, 4]);
  const xs = [{ name: 'x', dtype: 'float32' as const, dims: [2, 3, 4, 4] }];
  const up = await sameOutputs(one('Dropout', 10, xs, { ratio: float(0.3) }), { x }, 'Dropout');
  assert.deepEqual(ops(up), ['Identity']);
  const withMask = buildModel({ opset: 7, inputs: xs, nodes: [{ op: 'Dropout', inputs: ['x'], outputs: ['y', 'mask'], attrs: { ratio: float(0.3) } }], outputs: ['y'] });
  assert.deepEqual(ops(await sameOutputs(withMask, { x }, 'Dropout with an unused mask output')), ['Identity']);
  const stats = (dims: number[], lo: number, hi: number) => rand(dims, 'float32', lo, hi);
  const bnInit = { s: stats([3], 0.5, 2), b: stats([3], -1, 1), m: stats([3], -1, 1), v: stats([3], 0.5, 2) };
  const order = ['x', 's', 'b', 'm', 'v'];
  for (const opset of [7, 9]) {
    const attrs: Record<string, Attr> = { epsilon: float(1e-3) };
    if (opset === 7) attrs.spatial = int(1);
    const u = await sameOutputs(one('BatchNormalization', opset, xs, attrs, ['y'], bnInit, order), { x }, `BN-${opset}`, 1e-5);
    assert.ok(!hasAttr(u, 'BatchNormalization', 'spatial'));
  }
  // spatial=0: statistics per activation (C x H x W). Expected values computed here.
  const per = { s: stats([3, 4, 4], 0.5, 2), b: stats([3, 4, 4], -1, 1), m: stats([3, 4, 4], -1, 1), v: stats([3, 4, 4], 0.5, 2) };
  const m0 = one('BatchNormalization', 7, xs, { epsilon: float(1e-3), spatial: int(0) }, ['y'], per, order);
  const u0 = upgradeOpset(m0);
  assert.deepEqual(ops(u0), ['Mul', 'Add']);
  const y = (await runModelOnce(u0, { x })).y!;
  const n = 3 * 4 * 4;
  for (let i = 0; i < x.data.length; i++) {
    const k = i % n;
    const want = ((Number(x.data[i]) - Number(per.m.data[k])) / Math.sqrt(Number(per.v.data[k]) + 1e-3)) * Number(per.s.data[k]) + Number(per.b.data[k]);
    assert.ok(Math.abs(Number(y.data[i]) - want) < 1e-5, `spatial=0 element ${i}`);
  }
});

test('Upsample 7 / 9 and Resize 10 become Resize (asymmetric; nearest floors)', async () => {
  const x = rand([1, 2, 3, 4]);
  const xs = [{ name: 'x', dtype: 'float32' as const, dims: [1, 2, 3, 4] }];
  for (const mode of ['nearest', 'linear']) {
    let up = await sameOutputs(one('Upsample', 7, xs, { mode: str(mode), scales: floats([1, 1, 2, 3]) }), { x }, `Upsample-7 ${mode}`, 1e-6);
    assert.deepEqual(ops(up), ['Resize']);
    const sc = { sc: tensor('float32', [4], [1, 1, 2, 1.5]) };
    up = await sameOutputs(one('Upsample', 9, xs, { mode: str(mode) }, ['y'], sc, ['x', 'sc']), { x }, `Upsample-9 ${mode}`, 1e-6);
    assert.deepEqual(ops(up), ['Resize']);
    up = await sameOutputs(one('Resize', 10, xs, { mode: str(mode) }, ['y'], { sc: tensor('float32', [4], [1, 1, 3, 2]) }, ['x', 'sc']), { x }, `Resize-10 ${mode}`, 1e-6);
    assert.equal(up.graph.nodes[0]!.inputs.length, 3);
  }
});

test('Scatter (opset 9..10) becomes ScatterElements', async () => {
  const m = one('Scatter', 10, [{ name: 'x', dtype: 'float32', dims: [3, 4] }, { name: 'u', dtype: 'float32', dims: [2, 4] }], { axis: int(0) }, ['y'], { i: tensor('int64', [2, 4], [0, 1, 2, 0, 2, 0, 1, 1]) }, ['x', 'i', 'u']);
  const up = await sameOutputs(m, { x: rand([3, 4]), u: rand([2, 4]) }, 'Scatter');
  assert.deepEqual(ops(up), ['ScatterElements']);
});

test('ImageScaler (experimental, removed at 10) becomes Mul + Add', async () => {
  const m = one('ImageScaler', 8, [{ name: 'x', dtype: 'float32', dims: [2, 3, 4, 5] }], { scale: float(0.5), bias: floats([1, -2, 3]) });
  const up = await sameOutputs(m, { x: rand([2, 3, 4, 5]) }, 'ImageScaler', 1e-6);
  assert.deepEqual(ops(up), ['Mul', 'Add']);
});

test('opset < 7 legacy broadcast (axis) gets B reshaped; Gemm broadcast attr dropped', () => {
  const m = buildModel({
    opset: 6,
    inputs: [{ name: 'a', dtype: 'float32', dims: [2, 3, 4, 5] }],
    initializers: { b: tensor('float32', [3, 4], Array.from({ length: 12 }, (_, i) => i)), w: tensor('float32', [5, 2], Array.from({ length: 10 }, (_, i) => i)), c: tensor('float32', [2], [1, 2]) },
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['y'], attrs: { broadcast: int(1), axis: int(1) } },
      { op: 'Mul', inputs: ['a', 'a'], outputs: ['z'], attrs: { broadcast: int(0) } },
      { op: 'Flatten', inputs: ['a'], outputs: ['f'], attrs: { axis: int(3) } },
      { op: 'Gemm', inputs: ['f', 'w', 'c'], outputs: ['g'], attrs: { broadcast: int(1) } },
    ],
    outputs: ['y', 'z', 'g'],
  });
  const up = upgradeOpset(m);
  assert.deepEqual(ops(up), ['Unsqueeze', 'Add', 'Mul', 'Flatten', 'Gemm']);
  const unsq = up.graph.nodes[0]!;
  assert.deepEqual([...up.graph.initializers.get(unsq.inputs[1]!)!.data].map(Number), [2], 'b [3,4] at axis 1 of rank 4 -> [3,4,1]');
  assert.ok(!up.graph.nodes.some((n) => n.attrs.broadcast || n.attrs.axis && n.opType !== 'Flatten'));
});

test('legacy broadcast runs: Add-6 with axis=1 equals a[n,c,h,w] + b[c,h]', async () => {
  const m = one('Add', 6, [{ name: 'a', dtype: 'float32', dims: [2, 3, 4, 5] }], { broadcast: int(1), axis: int(1) }, ['y'], { b: tensor('float32', [3, 4], Array.from({ length: 12 }, (_, i) => i * 10)) }, ['a', 'b']);
  const a = rand([2, 3, 4, 5]);
  const y = (await runModelOnce(upgradeOpset(m), { a })).y!;
  for (let i = 0; i < a.data.length; i++) {
    const ch = Math.floor(i / 5) % 12; // (c, h) flat index
    assert.ok(Math.abs(Number(y.data[i]) - (Number(a.data[i]) + ch * 10)) < 1e-5);
  }
});

test('opset >= 18 is kept; ir_version raised; the source model is not changed; subgraphs refused', () => {
  const m19 = one('Relu', 19, [{ name: 'x', dtype: 'float32', dims: [2] }]);
  m19.irVersion = 7;
  const up = upgradeOpset(m19);
  assert.equal(onnxOpset(up), 19);
  assert.equal(up.irVersion, 8);
  const m = one('Squeeze', 11, [{ name: 'x', dtype: 'float32', dims: [2, 1] }], { axes: ints([1]) });
  upgradeOpset(m);
  assert.ok(m.graph.nodes[0]!.attrs.axes, 'source untouched');
  assert.equal(onnxOpset(m), 11);
  const loop = one('If', 11, [{ name: 'c', dtype: 'bool', dims: [] }], { then_branch: { kind: 'graph', value: onnx.GraphProto.create({ name: 't' }) }, else_branch: { kind: 'graph', value: onnx.GraphProto.create({ name: 'e' }) } });
  assert.throws(() => upgradeOpset(loop), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_OP');
});

const REAL = [
  { path: testData('onnxruntime/mnist.onnx'), opset: 8, dims: [1, 1, 28, 28] },
  { path: testData('onnxruntime/cnn_mnist_pytorch.onnx'), opset: 9, dims: [1, 1, 28, 28] },
  { path: testData('vnncomp2021/mnistfc/mnist-net_256x2.onnx'), opset: 9, dims: [1, 784, 1] },
  { path: testData('vnncomp2021/verivital/Convnet_avgpool.onnx'), opset: 9, dims: [1, 1, 28, 28] },
  { path: testData('vnncomp2021/verivital/Convnet_maxpool.onnx'), opset: 9, dims: [1, 1, 28, 28] },
];

test('real models (opsets 8 and 9) give the same outputs after the upgrade on real MNIST digits', async () => {
  const digits = mnistRows(5);
  for (const r of REAL) {
    const m = loadModel(readFileSync(r.path));
    assert.equal(onnxOpset(m), r.opset);
    const up = upgradeOpset(m);
    assert.ok(!up.graph.nodes.some((n) => n.opType === 'Pad' && n.attrs.pads), 'Pad attrs moved to inputs');
    for (const d of digits) {
      const feeds = { [m.graph.inputs[0]!.name]: tensor('float32', r.dims, d.pixels) };
      await sameOutputs(m, feeds, r.path);
    }
  }
});

/** Errors from ORT lacking an op / type / variant whatever the opset (not from the upgrade). */
const ORT_GAPS = /is not a registered function\/op|Could not find an implementation|no runtime tensor type|Unsupported data type|layout_ == 0 was false/;

test('every ONNX backend-test model below opset 18 computes the same outputs after the upgrade', { timeout: 600_000 }, async (t) => {
  const ROOT = onnxBackendData();
  let compared = 0;
  let expectedOnly = 0;
  const failures: string[] = [];
  const byOpset = new Map<number, number>();
  for (const suite of ['node', 'pytorch-converted', 'pytorch-operator', 'simple', 'real']) {
    for (const name of readdirSync(join(ROOT, suite)).sort()) {
      const dir = join(ROOT, suite, name);
      const dataDir = join(dir, 'test_data_set_0');
      if (!existsSync(join(dir, 'model.onnx')) || !existsSync(dataDir)) continue;
      let m: Model;
      try {
        m = loadModel(readFileSync(join(dir, 'model.onnx')));
      } catch {
        continue;
      }
      const opset = onnxOpset(m);
      if (opset >= 18) continue;
      const feeds: Record<string, Tensor> = {};
      try {
        m.graph.inputs.forEach((v, k) => {
          feeds[v.name] = readBackendTensor(join(dataDir, `input_${k}.pb`));
        });
      } catch {
        continue; // sequences / optionals are not plain tensors
      }
      // ORT's outputs for the original; where ORT cannot run it (opsets < 7 it no longer
      // implements, types it lacks) the test data's expected outputs, compared with ONNX's
      // backend-test tolerance (rtol 1e-3, atol 1e-7).
      let before: Record<string, Tensor>;
      let rtol = 1e-6;
      let atol = 0;
      try {
        before = await runModelOnce(m, feeds);
      } catch {
        try {
          before = {};
          m.graph.outputs.forEach((v, k) => {
            before[v.name] = readBackendTensor(join(dataDir, `output_${k}.pb`));
          });
        } catch {
          continue;
        }
        rtol = 1e-3;
        atol = 1e-7;
        expectedOnly++;
      }
      try {
        const up = upgradeOpset(m);
        const after = await runModelOnce(up, feeds);
        for (const o of m.graph.outputs) {
          const x = before[o.name]!;
          const y = after[o.name]!;
          if (x.data.length !== y.data.length) throw new Error(`${o.name}: sizes differ`);
          for (let i = 0; i < x.data.length; i++) {
            const p = Number(x.data[i]);
            const q = Number(y.data[i]);
            if (!(p === q || (Number.isNaN(p) && Number.isNaN(q)) || Math.abs(p - q) <= atol + rtol * Math.max(atol > 0 ? 0 : 1, Math.abs(p)))) {
              throw new Error(`${o.name}[${i}]: ${p} vs ${q}`);
            }
          }
        }
        compared++;
        byOpset.set(opset, (byOpset.get(opset) ?? 0) + 1);
      } catch (err) {
        if (err instanceof AppError && err.code === 'UNSUPPORTED_OP' && /subgraphs/.test(err.message)) continue;
        // Where ORT could not run the original, it may lack the op or type in any opset.
        if (atol > 0 && ORT_GAPS.test((err as Error).message)) continue;
        failures.push(`${suite}/${name} (opset ${opset}): ${(err as Error).message.slice(0, 200)}`);
      }
    }
  }
  t.diagnostic(`compared ${compared} models (${expectedOnly} against the stored expected outputs); by opset ${JSON.stringify([...byOpset].sort((a, b) => a[0] - b[0]))}`);
  assert.deepEqual(failures, []);
  assert.ok(compared > 500, `only ${compared} models compared`);
});

test('the upgrade adapters: one per changed op, looked up by op type, each op registered once', async () => {
  const { registerUpgrade, upgradeAdapterFor, upgradedOps } = await import('../native/onnx/upgrade-adapters.js');
  const ops = upgradedOps();
  for (const op of ['Softmax', 'Squeeze', 'Split', 'Slice', 'Pad', 'Clip', 'Dropout', 'BatchNormalization', 'Upsample', 'Resize', 'Scatter', 'ImageScaler', 'TopK', 'Reshape', 'Concat', 'ReduceSum', 'ReduceMean', 'Add', 'Gemm', 'PRelu']) {
    assert.ok(ops.includes(op), `${op} has an adapter`);
  }
  assert.equal(upgradeAdapterFor('Conv'), undefined, 'Conv did not change: copied');
  assert.throws(() => registerUpgrade(['Softmax'], () => {}), /Softmax registered twice/);
});
