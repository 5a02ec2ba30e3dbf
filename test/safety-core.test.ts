/**
 * safety analyzer, pieces: the VNNLIB parser, the lowering of ONNX graphs to layer chains
 * (checked against ONNX Runtime), and the soundness of IBP/CROWN bounds (checked by sampling).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../common/random.js';
import { AppError } from '../common/errors.js';
import { int, ints, type Model } from '../native/onnx/ir.js';
import { tensor } from '../native/onnx/tensor.js';
import { createSession, runModelOnce, runSession } from '../native/runtime/session.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { parseVnnlib } from '../analyzers/safety/vnnlib.js';
import { applyLayer, forward, lowerNetwork, type Network } from '../analyzers/safety/network.js';
import { backward, layerBounds, ibpOutput, type Box } from '../analyzers/safety/bounds.js';
import { marginFor } from '../analyzers/safety/engine.js';
import { buildModel } from './helpers/onnx-builder.js';
import { randomCnn, randomMlp, vNet } from './helpers/safety-nets.js';
import { readTestData, testData } from './helpers/test-data.js';

process.env.ONNXSCOPE_EP ??= 'cpu';
const MNISTFC = testData('vnncomp2021/mnistfc');

const isBadParams = (err: unknown) => err instanceof AppError && err.code === 'BAD_PARAMS';

test('vnnlib: bounds, and/or to DNF, linear terms, strictness', () => {
  const p = parseVnnlib(`
    ; comment
    (declare-const X_0 Real) (declare-const X_1 Real)
    (declare-const Y_0 Real) (declare-const Y_1 Real) (declare-const Y_2 Real)
    (assert (<= X_0 0.5)) (assert (>= X_0 -0.5))
    (assert (and (>= X_1 0) (<= X_1 (* 2 0.25))))
    (assert (or (and (>= Y_0 Y_1) (< (+ Y_0 (* -1 Y_2)) 3)) (and (<= (- Y_2 Y_1) -1))))
  `);
  assert.equal(p.numInputs, 2);
  assert.equal(p.numOutputs, 3);
  assert.equal(p.disjuncts.length, 2);
  const [d0, d1] = p.disjuncts;
  assert.deepEqual([...d0!.lo], [-0.5, 0]);
  assert.deepEqual([...d0!.hi], [0.5, 0.5]);
  // Y_0 >= Y_1  ->  -Y_0 + Y_1 <= 0
  assert.deepEqual([...d0!.constraints[0]!.a], [-1, 1, 0]);
  assert.equal(d0!.constraints[0]!.b, 0);
  assert.equal(d0!.constraints[0]!.strict, false);
  // Y_0 - Y_2 < 3
  assert.deepEqual([...d0!.constraints[1]!.a], [1, 0, -1]);
  assert.equal(d0!.constraints[1]!.b, 3);
  assert.equal(d0!.constraints[1]!.strict, true);
  // Y_2 - Y_1 <= -1
  assert.deepEqual([...d1!.constraints[0]!.a], [0, -1, 1]);
  assert.equal(d1!.constraints[0]!.b, -1);
});

test('vnnlib: malformed or unsupported properties are BAD_PARAMS', () => {
  const head = '(declare-const X_0 Real)(declare-const Y_0 Real)';
  assert.throws(() => parseVnnlib(`${head}(assert (<= X_0 1))`), isBadParams, 'no lower bound on X_0');
  assert.throws(() => parseVnnlib(`${head}(assert (<= X_0 1)`), isBadParams, 'unbalanced');
  assert.throws(() => parseVnnlib(`${head}(assert (<= X_0 Y_0))`), isBadParams, 'mixed input/output');
  assert.throws(() => parseVnnlib(`${head}(assert (<= (* X_0 Y_0) 1))`), isBadParams, 'non-linear');
  assert.throws(() => parseVnnlib(`${head}(assert (<= Z 1))`), isBadParams, 'undeclared');
  // An empty input box drops the disjunct.
  const p = parseVnnlib(`${head}(assert (<= X_0 0))(assert (>= X_0 1))(assert (<= Y_0 0))`);
  assert.equal(p.disjuncts.length, 0);
});

test('vnnlib: the real VNN-COMP mnistfc property parses to 784 bounds and 9 disjuncts', () => {
  const text = readFileSync(`${MNISTFC}/prop_0_0.03.vnnlib`, 'utf8');
  const p = parseVnnlib(text);
  assert.equal(p.numInputs, 784);
  assert.equal(p.numOutputs, 10);
  assert.equal(p.disjuncts.length, 9);
  // Independent read of the bounds with a regular expression.
  const hi = new Map<number, number>();
  const lo = new Map<number, number>();
  for (const m of text.matchAll(/\(assert \((<=|>=) X_(\d+) ([-\d.e]+)\)\)/g)) (m[1] === '<=' ? hi : lo).set(Number(m[2]), Number(m[3]));
  assert.equal(hi.size, 784);
  for (let i = 0; i < 784; i++) {
    assert.equal(p.disjuncts[0]!.lo[i], lo.get(i));
    assert.equal(p.disjuncts[0]!.hi[i], hi.get(i));
  }
  // Label 8 (comment); each disjunct is Y_j >= Y_8 for j != 8.
  const js = p.disjuncts.map((d) => d.constraints[0]!.a.findIndex((v) => v === -1));
  assert.deepEqual(js, [0, 1, 2, 3, 4, 5, 6, 7, 9]);
  for (const d of p.disjuncts) assert.equal(d.constraints[0]!.a[8], 1);
});

async function ortForward(model: Model, x: Float32Array, dims: number[]): Promise<Float64Array> {
  const out = await runModelOnce(model, { [model.graph.inputs[0]!.name]: { dtype: 'float32', dims, data: x } });
  return Float64Array.from(Object.values(out)[0]!.data as Float32Array);
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

test('lowering: the layer chain computes what ONNX Runtime computes (Conv/BN/pools/activations/shape ops)', async () => {
  const rng = new Rng(3);
  const cases: Array<[string, Model]> = [
    ['cnn maxpool relu', randomCnn(1)],
    ['cnn avgpool sigmoid', randomCnn(2, { pool: 'AveragePool', act: 'Sigmoid' })],
    ['cnn maxpool tanh', randomCnn(3, { act: 'Tanh' })],
    [
      'shape and arithmetic ops',
      buildModel({
        opset: 13,
        inputs: [{ name: 'x', dtype: 'float32', dims: [1, 2, 3, 4] }],
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: ints([0, 3, 1, 2]) } },
          { op: 'Pad', inputs: ['t', 'pads', 'pv'], outputs: ['p'], attrs: { mode: { kind: 'string', value: 'constant' } } },
          { op: 'Sub', inputs: ['k', 'p'], outputs: ['s'] },
          { op: 'Div', inputs: ['s', 'k'], outputs: ['d'] },
          { op: 'Conv', inputs: ['d', 'cw'], outputs: ['c'], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 1]), group: int(2), dilations: ints([1, 2]) } },
          { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['g'] },
          { op: 'Reshape', inputs: ['g', 'shape'], outputs: ['r'] },
          { op: 'MatMul', inputs: ['r', 'mw'], outputs: ['y'] },
        ],
        outputs: ['y'],
        initializers: {
          pads: tensor('int64', [8], [0, 0, 1, 0, 0, 0, 0, 1]),
          pv: tensor('float32', [], [0.5]),
          k: tensor('float32', [1, 1, 1, 4], [1, 2, -1, 0.5]),
          cw: tensor('float32', [4, 2, 2, 2], Array.from({ length: 32 }, () => Math.fround(rng.normal()))),
          shape: tensor('int64', [2], [1, -1]),
          mw: tensor('float32', [4, 3], Array.from({ length: 12 }, () => Math.fround(rng.normal()))),
        },
      }),
    ],
  ];
  for (const [name, model] of cases) {
    const net = lowerNetwork(upgradeOpset(model));
    for (let t = 0; t < 3; t++) {
      const x = Float32Array.from({ length: net.numInputs }, () => Math.fround(rng.uniform(-1, 1)));
      const ours = forward(net, x);
      const ort = await ortForward(model, x, net.inputShape);
      assertClose(ours, ort, 1e-5, name);
    }
  }
});

test('lowering: refuses what it cannot bound (two computed inputs, unknown ops) with UNSUPPORTED_OP', () => {
  const residual = buildModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 3] }],
    nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Add', inputs: ['x', 'r'], outputs: ['y'] },
    ],
    outputs: ['y'],
  });
  assert.throws(() => lowerNetwork(residual), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_OP');
  const softmax = buildModel({ opset: 13, inputs: [{ name: 'x', dtype: 'float32', dims: [1, 3] }], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'] }], outputs: ['y'] });
  assert.throws(() => lowerNetwork(softmax), (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_OP' && /Softmax/.test(e.message));
});

/** Every intermediate and output value of x, per layer input. */
function trace(net: Network, x: Float64Array): Float64Array[] {
  const vals: Float64Array[] = [x];
  let v = x;
  for (const L of net.layers) {
    v = applyLayer(L, v);
    vals.push(v);
  }
  return vals;
}

function outputBounds(net: Network, box: Box, slope: 'adaptive' | 'parallel' = 'adaptive'): Box {
  const lb = layerBounds(net, box);
  const n = net.numOutputs;
  const C = new Float64Array(2 * n * n);
  for (let j = 0; j < n; j++) {
    C[j * n + j] = 1;
    C[(n + j) * n + j] = -1;
  }
  const r = backward(net, net.layers.length, C, 2 * n, lb.pre, box, false, slope);
  return { lo: r.lower.slice(0, n), hi: r.lower.slice(n).map((v) => -v) };
}

test('soundness: no sampled point of random networks and boxes falls outside the computed bounds', async () => {
  const rng = new Rng(11);
  const nets: Array<[string, Model]> = [
    ['mlp 4-16-16-3', randomMlp([4, 16, 16, 3], 5).model],
    ['mlp 2-8-8-8-2', randomMlp([2, 8, 8, 8, 2], 6).model],
    ['cnn relu maxpool', randomCnn(7)],
    ['cnn sigmoid avgpool', randomCnn(8, { pool: 'AveragePool', act: 'Sigmoid' })],
    ['cnn tanh maxpool', randomCnn(9, { act: 'Tanh' })],
  ];
  let checked = 0;
  let crownTighter = 0;
  for (const [name, model] of nets) {
    const net = lowerNetwork(upgradeOpset(model));
    for (let b = 0; b < 4; b++) {
      const centre = Float64Array.from({ length: net.numInputs }, () => rng.uniform(-1, 1));
      const radius = [0.01, 0.1, 0.3, 1][b]!;
      const box = { lo: centre.map((c) => c - radius * rng.uniform(0.2, 1)), hi: centre.map((c) => c + radius * rng.uniform(0.2, 1)) };
      const lb = layerBounds(net, box);
      const out = outputBounds(net, box);
      const par = outputBounds(net, box, 'parallel');
      const ibp = ibpOutput(net, box);
      for (let j = 0; j < net.numOutputs; j++) {
        assert.ok(out.lo[j]! <= out.hi[j]!, `${name}: empty output bounds`);
        if (out.hi[j]! - out.lo[j]! < ibp.hi[j]! - ibp.lo[j]! - 1e-9) crownTighter++;
      }
      const xs: Float64Array[] = [];
      for (let s = 0; s < 400; s++) {
        // Uniform points, and corners (where ReLU networks reach extremes most often).
        xs.push(box.lo.map((l, i) => (s % 2 === 0 ? rng.uniform(l, box.hi[i]!) : rng.next() < 0.5 ? l : box.hi[i]!)));
      }
      for (const x of xs) {
        const vals = trace(net, x);
        net.layers.forEach((L, k) => {
          const pre = lb.pre[k];
          if (!pre) return;
          for (let i = 0; i < pre.lo.length; i++) {
            assert.ok(vals[k]![i]! >= pre.lo[i]! && vals[k]![i]! <= pre.hi[i]!, `${name} layer ${k} (${L.kind}) neuron ${i}: ${vals[k]![i]} outside [${pre.lo[i]}, ${pre.hi[i]}]`);
          }
        });
        const y = vals[vals.length - 1]!;
        for (let j = 0; j < y.length; j++) {
          assert.ok(y[j]! >= out.lo[j]! && y[j]! <= out.hi[j]!, `${name} output ${j}: ${y[j]} outside [${out.lo[j]}, ${out.hi[j]}]`);
          assert.ok(y[j]! >= ibp.lo[j]! && y[j]! <= ibp.hi[j]!, `${name} output ${j}: IBP`);
          assert.ok(y[j]! >= par.lo[j]! && y[j]! <= par.hi[j]!, `${name} output ${j}: CROWN with parallel lower slopes`);
        }
        checked++;
      }
      // The float32 model as ONNX Runtime runs it stays inside too (float32 round-off is far below the widths here).
      const ort = await ortForward(model, Float32Array.from(xs[0]!), net.inputShape);
      for (let j = 0; j < ort.length; j++) assert.ok(ort[j]! >= out.lo[j]! - 1e-5 && ort[j]! <= out.hi[j]! + 1e-5, `${name}: ORT output ${j}`);
    }
  }
  assert.equal(checked, nets.length * 4 * 400);
  assert.ok(crownTighter > 0, 'CROWN beats IBP somewhere (else the backward pass is not being exercised)');
});

test('bounds: hand-worked CROWN vs IBP on a two-neuron network', () => {
  // x in [0, 1]; h = relu([2x - 1, x]); y = h0 - h1.
  // True range: x <= 1/2: y = -x; x >= 1/2: y = x - 1, so y in [-1/2, 0].
  // IBP: h0 in [0, 1], h1 in [0, 1] -> y in [-1, 1].
  // CROWN upper: h0 <= (z + 1)/2 = x (chord over [-1, 1]), h1 = x  ->  y <= 0 (exact).
  // CROWN lower: h0 >= 0 (slope 0: u = -l), h1 = x  ->  y >= -1.
  const model = vNet();
  const net = lowerNetwork(model);
  const box = { lo: Float64Array.of(0), hi: Float64Array.of(1) };
  const ibp = ibpOutput(net, box);
  // Tolerance 1e-7: bounds are moved outward by ROUND_REL * (|v| + S) + ROUND_ABS per layer (bounds.ts).
  assert.ok(Math.abs(ibp.lo[0]! + 1) < 1e-7 && Math.abs(ibp.hi[0]! - 1) < 1e-7, `IBP [${ibp.lo}, ${ibp.hi}]`);
  const out = outputBounds(net, box);
  assert.ok(Math.abs(out.hi[0]!) < 1e-7, `CROWN upper ${out.hi[0]}`);
  assert.ok(Math.abs(out.lo[0]! + 1) < 1e-7, `CROWN lower ${out.lo[0]}`);
  // Bounds move outward only by the stated rounding margin.
  assert.ok(out.hi[0]! >= 0 && out.lo[0]! <= -1);
});

test('lowering: the VNN-COMP networks match ONNX Runtime', async () => {
  const rng = new Rng(2);
  // mnist.onnx (CNTK, opset 8): constant Reshape of weights folded, SAME_UPPER padding, broadcast Add, MatMul.
  for (const file of [`${MNISTFC}/mnist-net_256x2.onnx`, testData('vnncomp2021/verivital/Convnet_maxpool.onnx'), testData('vnncomp2021/verivital/Convnet_avgpool.onnx'), testData('onnxruntime/mnist.onnx')]) {
    const { loadModel } = await import('../native/onnx/load.js');
    const model = loadModel(new Uint8Array(readFileSync(file)));
    const net = lowerNetwork(upgradeOpset(model));
    const x = Float32Array.from({ length: net.numInputs }, () => Math.fround(rng.next()));
    assertClose(forward(net, x), await ortForward(model, x, net.inputShape), 1e-4, file);
  }
});

test('proof margin: ONNX Runtime float32 stays 5x inside it on the ACAS Xu, mnistfc and verivital nets', async () => {
  // "holds" is proven for the real-valued network; the margin is what ORT's float32 round-off may
  // take back. Each constraint a.y of a property: |a.(y_ORT - y_Float64)| <= margin / 5.
  const { loadModel } = await import('../native/onnx/load.js');
  const rng = new Rng(23);
  const A = 'vnncomp2021/acasxu';
  const cases: Array<[string, string[]]> = [
    [`${A}/ACASXU_run2a_1_1_batch_2000.onnx`, ['prop_1', 'prop_6']],
    [`${A}/ACASXU_run2a_3_3_batch_2000.onnx`, ['prop_2', 'prop_3']],
    [`${A}/ACASXU_run2a_5_9_batch_2000.onnx`, ['prop_4']],
    ['vnncomp2021/mnistfc/mnist-net_256x2.onnx', ['prop_0_0.05', 'prop_7_0.05']],
    ['vnncomp2021/verivital/Convnet_maxpool.onnx', ['specs/maxpool_specs/prop_0_0.004']],
  ];
  let worst = 0;
  for (const [file, props] of cases) {
    const bytes = readTestData(file);
    const model = loadModel(bytes);
    const net = lowerNetwork(upgradeOpset(model));
    const session = await createSession(bytes);
    try {
      for (const name of props) {
        const d = parseVnnlib(readFileSync(testData(`${path.posix.dirname(file)}/${name}.vnnlib`), 'utf8')).disjuncts[0]!;
        const margin = marginFor(net, d);
        for (let t = 0; t < 60; t++) {
          const x = Float32Array.from(d.lo, (l, j) => Math.fround(rng.uniform(l, d.hi[j]!)));
          const out = await runSession(session, { [model.graph.inputs[0]!.name]: { dtype: 'float32', dims: net.inputShape, data: x } });
          const y32 = Object.values(out)[0]!.data as Float32Array;
          const y64 = forward(net, x);
          for (const c of d.constraints) {
            const dev = Math.abs(c.a.reduce((s, a, j) => s + a * (y32[j]! - y64[j]!), 0));
            worst = Math.max(worst, dev / margin);
          }
        }
      }
    } finally {
      await session.release();
    }
  }
  assert.ok(worst > 0, 'float32 and Float64 differ somewhere (the comparison is live)');
  assert.ok(worst <= 0.2, `worst deviation ${worst} of the margin`);
});

test('stripSoftmax: bounds on the logits of a LogSoftmax model; log-softmax of them is what ORT outputs', async () => {
  const { loadModel } = await import('../native/onnx/load.js');
  const { stripSoftmax } = await import('../analyzers/safety/network.js');
  const model = loadModel(readTestData('onnxruntime/cnn_mnist_pytorch.onnx'));
  assert.throws(() => lowerNetwork(upgradeOpset(model)), (e: unknown) => e instanceof AppError && /LogSoftmax/.test(e.message));
  const net = lowerNetwork(stripSoftmax(upgradeOpset(model))!);
  const rng = new Rng(4);
  const x = Float32Array.from({ length: 784 }, () => Math.fround(rng.next()));
  const logits = forward(net, x);
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
  assertClose(logits.map((v) => v - lse), await ortForward(model, x, [1, 1, 28, 28]), 1e-4, 'log-softmax of the logits');
  const plain = randomMlp([3, 4, 2], 1).model;
  assert.equal(stripSoftmax(plain), null, 'no softmax, nothing stripped');
});

test('soundness under branch and bound: split subdomains with reused parent bounds contain every sampled point of the subdomain', () => {
  const rng = new Rng(17);
  let kept = 0;
  for (let trial = 0; trial < 6; trial++) {
    const net = lowerNetwork(upgradeOpset(randomMlp([3, 12, 12, 12, 2], 40 + trial).model));
    const box = { lo: Float64Array.from({ length: 3 }, () => rng.uniform(-1, 0)), hi: Float64Array.from({ length: 3 }, () => rng.uniform(0, 1)) };
    const root = layerBounds(net, box);
    const relus = net.layers.map((L, k) => (L.kind === 'relu' ? k : -1)).filter((k) => k >= 0);
    // Two nested splits: an unstable neuron of the first ReLU layer, then one of a later layer.
    const splits = new Map<number, Int8Array>();
    let parent = root;
    const constraints: Array<[number, number, number]> = [];
    for (const k of [relus[0]!, relus[1 + (trial % 2)]!]) {
      const b = parent.pre[k]!;
      const j = [...b.lo.keys()].find((i) => b.lo[i]! < 0 && b.hi[i]! > 0);
      if (j === undefined) continue;
      const side = rng.next() < 0.5 ? 1 : -1;
      const s = (splits.get(k) ?? new Int8Array(b.lo.length)).slice();
      s[j] = side;
      splits.set(k, s);
      constraints.push([k, j, side]);
      const child = layerBounds(net, box, new Map(splits), {}, { pre: parent.pre, upto: k + 1 });
      if (!child.feasible) break;
      parent = child;
    }
    if (!parent.feasible || constraints.length === 0) continue;
    const n = net.numOutputs;
    const C = new Float64Array(2 * n * n);
    for (let j = 0; j < n; j++) (C[j * n + j] = 1), (C[(n + j) * n + j] = -1);
    const out = backward(net, net.layers.length, C, 2 * n, parent.pre, box);
    for (let s = 0; s < 3000; s++) {
      const x = box.lo.map((l, i) => rng.uniform(l, box.hi[i]!));
      const vals = trace(net, x);
      if (!constraints.every(([k, j, side]) => (side === 1 ? vals[k]![j]! >= 0 : vals[k]![j]! <= 0))) continue;
      kept++;
      net.layers.forEach((_, k) => {
        const pre = parent.pre[k];
        if (!pre) return;
        for (let i = 0; i < pre.lo.length; i++) assert.ok(vals[k]![i]! >= pre.lo[i]! && vals[k]![i]! <= pre.hi[i]!, `trial ${trial} layer ${k} neuron ${i}`);
      });
      const y = vals[vals.length - 1]!;
      for (let j = 0; j < n; j++) assert.ok(y[j]! >= out.lower[j]! && y[j]! <= -out.lower[n + j]!, `trial ${trial} output ${j}`);
    }
  }
  assert.ok(kept > 1000, `enough sampled points inside the subdomains (${kept})`);
});
