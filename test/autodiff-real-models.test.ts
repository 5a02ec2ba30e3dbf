/**
 * Gradients of real third-party models (opsets 8 and 9, upgraded to 18 by upgradeOpset) on real
 * MNIST digits (ERAN's mnist_test.csv, pixels / 255): parameter gradients (every parameter, the
 * initializers lifted to graph inputs by native/autodiff/params.ts) and input gradients, against
 * central finite differences.
 *
 * Why not plain float32 finite differences. These models are float32 and ORT has no float64
 * Conv / AveragePool. Measured here with checkGradient in float32: at h = 1e-2..1e-3 a random
 * direction over all weights or all 784 pixels moves pre-activations enough to cross ReLU and
 * max-pool kinks (errors 2..50%); at h = 1e-4 float32 rounding of the O(10) objective
 * (~1e-5 / 2h = 5e-2 absolute) dominates (up to 3% for small derivatives). No single tolerance
 * would both pass reliably and catch a wrong rule. So:
 *  - the FC network (Flatten, Gemm, Relu: all with float64 kernels) is checked with checkGradient
 *    in float64 at its default tolerance (rtol 1e-6);
 *  - every model is checked by comparing the float32 gradient graph's directional derivative
 *    with central differences (h = 1e-6) of a float64 reference of the same function
 *    (helpers/float64-reference.ts: Conv / AveragePool by im2col with Gather + MatMul, verified
 *    here to reproduce the float32 outputs). At h = 1e-6 pre-activations move by ~1e-5, so no
 *    kink is crossed, and float64 rounding adds ~1e-10. What remains is the float32 rounding of
 *    the gradient graph itself: sums of up to ~10^4 products, ~1e-6 relative each; measured over
 *    every case here: 1e-11 .. 1.3e-5 relative (REAL_MODELS_VERBOSE=1 prints them). RTOL = 1e-4; a wrong rule (a misplaced index, a missing transpose, a
 *    dropped term) is off by O(1).
 * Ties: blank image regions make many MaxPool windows exact ties (every cell = the bias).
 * Weight perturbations keep them exact ties (all cells move together), so parameter gradients
 * are well defined at the real digits. Input perturbations break them (no derivative exists
 * there), so input gradients of the max-pool models are checked at the digit plus a fixed
 * dither (uniform +-0.05) that makes the maxima distinct.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import '../native/autodiff/rules/index.js';
import { loadModel } from '../native/onnx/load.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { toFloat64 } from '../native/onnx/precision.js';
import type { Model } from '../native/onnx/ir.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { liftParameters, selectParameters } from '../native/autodiff/params.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import { checkGradient, checkHvp } from './helpers/gradcheck.js';
import { compareWithFloat64Reference } from './helpers/float64-reference.js';
import { mnistRows } from './helpers/mnist-csv.js';
import { Rng } from '../common/random.js';
import { testData } from './helpers/test-data.js';

const RTOL = 1e-4;
const H = 1e-6;

interface RealModel {
  name: string;
  path: string;
  dims: number[];
  /** Max-pool models: input gradients need the ties of blank regions broken (see above). */
  maxPool: boolean;
}

const MODELS: RealModel[] = [
  { name: 'mnist.onnx (opset 8)', path: testData('onnxruntime/mnist.onnx'), dims: [1, 1, 28, 28], maxPool: true },
  { name: 'cnn_mnist_pytorch.onnx (opset 9)', path: testData('onnxruntime/cnn_mnist_pytorch.onnx'), dims: [1, 1, 28, 28], maxPool: true },
  { name: 'mnistfc 256x2 (opset 9)', path: testData('vnncomp2021/mnistfc/mnist-net_256x2.onnx'), dims: [1, 784, 1], maxPool: false },
  { name: 'verivital Convnet_avgpool (opset 9)', path: testData('vnncomp2021/verivital/Convnet_avgpool.onnx'), dims: [1, 1, 28, 28], maxPool: false },
  { name: 'verivital Convnet_maxpool (opset 9)', path: testData('vnncomp2021/verivital/Convnet_maxpool.onnx'), dims: [1, 1, 28, 28], maxPool: true },
];

const digits = mnistRows(3, 10);

interface Prepared {
  model: Model;
  params: string[];
  input: string;
  output: string;
  values: Map<string, Tensor>;
}

function prepare(m: RealModel): Prepared {
  const up = upgradeOpset(loadModel(readFileSync(m.path)));
  const params = selectParameters(up);
  const { model, values } = liftParameters(up, params);
  return { model, params, input: up.graph.inputs[0]!.name, output: up.graph.outputs[0]!.name, values };
}

function pixels(m: RealModel, digit: number, dither: boolean): Tensor {
  const px = [...digits[digit]!.pixels];
  if (dither) {
    const rng = new Rng(1000 + digit);
    for (let i = 0; i < px.length; i++) px[i] = px[i]! + rng.uniform(-0.05, 0.05);
  }
  return tensor('float32', m.dims, px);
}


const widen = (t: Tensor): Tensor => tensor('float64', [...t.dims], Float64Array.from(t.data as Float32Array));

const compareWithReference = (p: Prepared, feeds: Record<string, Tensor>, wrt: string[], seed: number, corruptSeed = false) =>
  compareWithFloat64Reference(p.model, feeds, wrt, p.output, { seed, h: H, corruptSeed });

test('every real model is covered by the autodiff rules (a missing rule fails here, it never skips)', () => {
  for (const m of MODELS) assert.deepEqual(unsupportedOps(prepare(m).model), [], `${m.name}: ops without rules`);
});

for (const m of MODELS) {
  test(`${m.name}: parameter gradients (all parameters) match a float64 finite-difference reference on real digits`, async () => {
    const p = prepare(m);
    assert.ok(p.params.length >= 2, `parameters found: ${p.params}`);
    for (let k = 0; k < digits.length; k++) {
      const feeds: Record<string, Tensor> = { [p.input]: pixels(m, k, false) };
      for (const [name, v] of p.values) feeds[name] = v;
      const r = await compareWithReference(p, feeds, p.params, 3 + k);
      assert.ok(r.relError <= RTOL, `digit ${k}: ${JSON.stringify(r)}`);
      assert.ok(Math.abs(r.analytic) > 1e-2, 'directional derivative is not trivially zero');
    }
  });

  test(`${m.name}: parameter gradients, one parameter tensor at a time`, async () => {
    const p = prepare(m);
    const feeds: Record<string, Tensor> = { [p.input]: pixels(m, 0, false) };
    for (const [name, v] of p.values) feeds[name] = v;
    for (const w of p.params) {
      const r = await compareWithReference(p, feeds, [w], 17);
      assert.ok(r.relError <= RTOL, `${w}: ${JSON.stringify(r)}`);
    }
  });

  test(`${m.name}: input gradients match the reference on real digits${m.maxPool ? ' (+ dither against max-pool ties)' : ''}`, async () => {
    const p = prepare(m);
    for (let k = 0; k < digits.length; k++) {
      const feeds: Record<string, Tensor> = { [p.input]: pixels(m, k, m.maxPool) };
      for (const [name, v] of p.values) feeds[name] = v;
      const r = await compareWithReference(p, feeds, [p.input], 5 + k);
      assert.ok(r.relError <= RTOL, `digit ${k}: ${JSON.stringify(r)}`);
      assert.ok(Math.abs(r.analytic) > 1e-3, 'directional derivative is not trivially zero');
    }
  });
}

test("mnistfc 256x2 in float64 with checkGradient: parameter and input gradients at the checker's default tolerance (1e-6)", async () => {
  const m = MODELS[2]!;
  const { model, params, input, values } = prepare(m);
  const m64 = toFloat64(model);
  for (let k = 0; k < digits.length; k++) {
    const feeds: Record<string, Tensor> = { [input]: tensor('float64', m.dims, digits[k]!.pixels) };
    for (const [name, v] of values) feeds[name] = widen(v);
    const r = await checkGradient(m64, feeds, { wrt: [...params, input], seed: 9 + k });
    assert.ok(r.ok, `digit ${k}: ${JSON.stringify(r)}`);
  }
});

test('the reference comparison catches a gradient that mis-routes one output', async () => {
  const m = MODELS[3]!;
  const p = prepare(m);
  const feeds: Record<string, Tensor> = { [p.input]: pixels(m, 0, false) };
  for (const [name, v] of p.values) feeds[name] = v;
  const good = await compareWithReference(p, feeds, p.params, 3);
  assert.ok(good.relError <= RTOL, JSON.stringify(good));
  const bad = await compareWithReference(p, feeds, p.params, 3, true);
  assert.ok(bad.relError > 100 * RTOL, `a wrong gradient is far outside RTOL: ${JSON.stringify(bad)}`);
});

test('mnistfc 256x2 in float64 with checkHvp: Hessian-vector products w.r.t. all parameters (exact, forward-over-reverse)', async () => {
  // A ReLU network is piecewise linear in its input but not in its weights (products of layers),
  // so H v w.r.t. the weights is a non-trivial check of the Gemm / Relu / Flatten JVP rules.
  const m = MODELS[2]!;
  const { model, params, input, values } = prepare(m);
  const m64 = toFloat64(model);
  const feeds: Record<string, Tensor> = { [input]: tensor('float64', m.dims, digits[0]!.pixels) };
  for (const [name, v] of values) feeds[name] = widen(v);
  const r = await checkHvp(m64, feeds, { wrt: params });
  assert.ok(r.ok, JSON.stringify(r));
});
