/**
 * safety analyzer, the op registry of the lowering (network.ts LOWERINGS, one lowering per op
 * family in lower-*.ts): each family on a small model built here, the layer chain's Float64
 * forward pass against ONNX Runtime on random inputs; every registered op appears in one of these
 * models (a new lowering without a test here fails); what a family refuses is UNSUPPORTED_OP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../common/random.js';
import { AppError } from '../common/errors.js';
import { float, int, ints, type Model } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { runModelOnce } from '../native/runtime/session.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { forward, LOWERINGS, lowerNetwork } from '../analyzers/safety/network.js';
import { buildModel } from './helpers/onnx-builder.js';

process.env.ONNXSCOPE_EP ??= 'cpu';

const rng = new Rng(21);
const rand = (n: number, s = 1) => Array.from({ length: n }, () => Math.fround(s * rng.normal()));
const str = (value: string) => ({ kind: 'string' as const, value });

const families: Record<string, Model[]> = {
  shape: [
    buildModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2, 3] }],
      nodes: [
        { op: 'Unsqueeze', inputs: ['x', 'ax0'], outputs: ['u'] },
        { op: 'Squeeze', inputs: ['u', 'ax0'], outputs: ['s'] },
        { op: 'Identity', inputs: ['s'], outputs: ['i'] },
        { op: 'Dropout', inputs: ['i'], outputs: ['d'] },
        { op: 'Flatten', inputs: ['d'], outputs: ['f'], attrs: { axis: int(1) } },
        { op: 'Reshape', inputs: ['f', 'shape'], outputs: ['r'] },
        { op: 'MatMul', inputs: ['r', 'w'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers: { ax0: tensor('int64', [1], [0]), shape: tensor('int64', [2], [1, -1]), w: tensor('float32', [6, 3], rand(18)) },
    }),
  ],
  activation: [
    buildModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 4] }],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['a'] },
        { op: 'Relu', inputs: ['a'], outputs: ['r'] },
        { op: 'MatMul', inputs: ['r', 'w2'], outputs: ['b'] },
        { op: 'Sigmoid', inputs: ['b'], outputs: ['s'] },
        { op: 'MatMul', inputs: ['s', 'w3'], outputs: ['c'] },
        { op: 'Tanh', inputs: ['c'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers: { w1: tensor('float32', [4, 6], rand(24)), w2: tensor('float32', [6, 5], rand(30)), w3: tensor('float32', [5, 3], rand(15)) },
    }),
  ],
  affine: [
    buildModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2, 2, 3] }],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: ints([0, 3, 1, 2]) } },
        { op: 'Pad', inputs: ['t', 'pads', 'pv'], outputs: ['p'], attrs: { mode: str('constant') } },
        { op: 'BatchNormalization', inputs: ['p', 'bs', 'bb', 'bm', 'bv'], outputs: ['n'], attrs: { epsilon: float(1e-3) } },
        { op: 'Add', inputs: ['n', 'k'], outputs: ['a'] },
        { op: 'Sub', inputs: ['k', 'a'], outputs: ['s1'] },
        { op: 'Sub', inputs: ['s1', 'k'], outputs: ['s2'] },
        { op: 'Mul', inputs: ['k', 's2'], outputs: ['m'] },
        { op: 'Div', inputs: ['m', 'k'], outputs: ['d'] },
        { op: 'Reshape', inputs: ['d', 'shape'], outputs: ['r'] },
        { op: 'MatMul', inputs: ['r', 'mw'], outputs: ['mm'] },
        { op: 'Gemm', inputs: ['mm', 'gw', 'gb'], outputs: ['y'], attrs: { transB: int(1), alpha: float(0.5), beta: float(2) } },
      ],
      outputs: ['y'],
      initializers: {
        pads: tensor('int64', [8], [0, 0, 1, 0, 0, 0, 0, 1]),
        pv: tensor('float32', [], [0.5]),
        bs: tensor('float32', [3], rand(3)),
        bb: tensor('float32', [3], rand(3)),
        bm: tensor('float32', [3], rand(3)),
        bv: tensor('float32', [3], [0.5, 1, 2]),
        k: tensor('float32', [1, 1, 1, 3], [1, 2, -0.5]),
        shape: tensor('int64', [2], [1, -1]),
        mw: tensor('float32', [27, 4], rand(108)),
        gw: tensor('float32', [2, 4], rand(8)),
        gb: tensor('float32', [2], rand(2)),
      },
    }),
  ],
  window: [
    buildModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2, 5, 5] }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attrs: { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), group: int(2) } },
        { op: 'MaxPool', inputs: ['c'], outputs: ['m'], attrs: { kernel_shape: ints([2, 2]), strides: ints([1, 1]) } },
        { op: 'GlobalAveragePool', inputs: ['m'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers: { cw: tensor('float32', [4, 1, 3, 3], rand(36)), cb: tensor('float32', [4], rand(4)) },
    }),
    buildModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2, 5, 5] }],
      nodes: [
        {
          op: 'AveragePool',
          inputs: ['x'],
          outputs: ['a'],
          attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), ceil_mode: int(1), count_include_pad: int(1) },
        },
        { op: 'Conv', inputs: ['a', 'cw'], outputs: ['c'], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 1]), auto_pad: str('SAME_UPPER') } },
        { op: 'GlobalMaxPool', inputs: ['c'], outputs: ['y'] },
      ],
      outputs: ['y'],
      initializers: { cw: tensor('float32', [3, 2, 2, 2], rand(24)) },
    }),
  ],
};

for (const [family, models] of Object.entries(families)) {
  test(`lowering registry, ${family} ops: the layer chain computes what ONNX Runtime computes`, async () => {
    for (const model of models) {
      const net = lowerNetwork(upgradeOpset(model));
      for (let t = 0; t < 3; t++) {
        const x = Float32Array.from({ length: net.numInputs }, () => Math.fround(rng.uniform(-2, 2)));
        const ours = forward(net, x);
        const out = await runModelOnce(model, { x: { dtype: 'float32', dims: net.inputShape, data: x } });
        const ort = Object.values(out)[0]!.data as Float32Array;
        assert.equal(ours.length, ort.length);
        for (let i = 0; i < ort.length; i++) assert.ok(Math.abs(ours[i]! - ort[i]!) <= 1e-5 * (1 + Math.abs(ort[i]!)), `${family}[${i}]: ${ours[i]} vs ${ort[i]}`);
      }
    }
  });
}

test('lowering registry: every registered op is exercised by one of the family models above', () => {
  const used = new Set(Object.values(families).flatMap((ms) => ms.flatMap((m) => m.graph.nodes.map((n) => n.opType))));
  const missing = [...LOWERINGS.keys()].filter((op) => !used.has(op));
  assert.deepEqual(missing, []);
  assert.ok(LOWERINGS.size >= 23, `${LOWERINGS.size} lowerings`);
});

test('lowering registry: what a family refuses is UNSUPPORTED_OP, naming the node', () => {
  const one = (op: string, inputs: string[], initializers: Record<string, ReturnType<typeof tensor>>, attrs = {}) =>
    buildModel({ opset: 13, inputs: [{ name: 'x', dtype: 'float32', dims: [1, 1, 3, 3] }], nodes: [{ op, inputs, outputs: ['y'], attrs }], outputs: ['y'], initializers });
  const cases: Array<[string, Model, RegExp]> = [
    ['Div by the computed tensor', one('Div', ['k', 'x'], { k: tensor('float32', [1], [2]) }), /Div .*divides by a computed tensor/],
    ['Pad reflect', one('Pad', ['x', 'pads'], { pads: tensor('int64', [8], [0, 0, 1, 1, 0, 0, 1, 1]) }, { mode: str('reflect') }), /only constant padding/],
    ['MatMul with the computed tensor on the right', one('MatMul', ['w', 'x'], { w: tensor('float32', [3, 3], rand(9)) }), /must be the left operand/],
    ['Softmax (no lowering)', one('Softmax', ['x'], {}), /no rule for: Softmax/],
  ];
  for (const [what, model, message] of cases) {
    assert.throws(() => lowerNetwork(upgradeOpset(model)), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_OP' && message.test(e.message), what);
  }
});
