/**
 * RNN, GRU and LSTM unrolled into primitives (native/onnx/decompose-rnn.ts).
 *
 * For a spread of attribute combinations per op (directions, layouts, with and without B,
 * initial states, peepholes, clip, linear_before_reset, input_forget, activations):
 *  1. the expanded model reproduces ONNX Runtime's own outputs of the original op (every
 *     output: Y, Y_h and LSTM's Y_c), in float32 (|a - b| <= 2e-6 + 1e-5 |b|; ORT's kernels use
 *     their own tanh/sigmoid approximations), at batch sizes 2 and 3 (X's batch dim is symbolic,
 *     so one expanded graph serves both);
 *  2. gradients and Hessian-vector products of a scalar loss through the expanded model, in
 *     float64, with respect to every input (X, W, R, B, initial states, P), match central finite
 *     differences (helpers/gradcheck.ts: h = 1e-6, rtol 1e-6).
 * ONNX Runtime's RNN, GRU and LSTM kernels refuse layout=1 ("Batchwise recurrent operations
 * are not supported"), so for layout=1 the reference is the layout-0 op between explicit
 * Transposes; ONNX's backend test data (libonnx-testdata, *_batchwise) also checks layout 1
 * against the outputs stored by ONNX's reference implementation.
 * Models the unrolling cannot handle (sequence length not static, sequence_lens shorter than the
 * sequence or computed, alpha/beta activations) stay unexpanded and are refused as UNSUPPORTED_OP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../native/autodiff/rules/index.js';
import { buildModel, type InputSpec, type NodeSpec } from './helpers/onnx-builder.js';
import { assertGradientAndHvp } from './helpers/gradcheck.js';
import { dynamicBatchDiff } from './helpers/dynamic-batch.js';
import { tensor, type Tensor } from '../native/onnx/tensor.js';
import { float, int, str, type Attr, type Model } from '../native/onnx/ir.js';
import { loadModel } from '../native/onnx/load.js';
import { upgradeOpset } from '../native/onnx/upgrade.js';
import { toFloat64 } from '../native/onnx/precision.js';
import { isFloatDType } from '../native/onnx/dtype.js';
import { unsupportedOps } from '../native/autodiff/registry.js';
import { assertSupported, prepareLossModel } from '../native/autodiff/index.js';
import { LossRunner, sliceBatch, type Batch } from '../native/autodiff/runner.js';
import { runModelOnce } from '../native/runtime/session.js';
import { AppError } from '../common/errors.js';
import { Rng } from '../common/random.js';
import { onnxBackendData, readBackendTensor } from './helpers/onnx-backend.js';

type Op = 'RNN' | 'GRU' | 'LSTM';
const RECURRENT = /^(RNN|GRU|LSTM)$/;
const GATES: Record<Op, number> = { RNN: 1, GRU: 3, LSTM: 4 };
const SEQ = 3;
const INPUT = 3;
const HIDDEN = 4;

interface Case {
  op: Op;
  label: string;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  bias?: boolean;
  initialH?: boolean;
  initialC?: boolean;
  peepholes?: boolean;
  clip?: number;
  linearBeforeReset?: boolean;
  inputForget?: boolean;
  activations?: string[];
  /** A constant sequence_lens equal to the full length (allowed: nothing is padded). */
  fullSequenceLens?: boolean;
  /** Output slots the node writes (default all); the others are "". */
  outputs?: ('Y' | 'Y_h' | 'Y_c')[];
  opset?: number;
}

const CASES: Case[] = [
  { op: 'RNN', label: 'RNN defaults (forward, Tanh, no B, zero initial_h)', outputs: ['Y', 'Y_h'] },
  { op: 'RNN', label: 'RNN reverse, B, initial_h', direction: 'reverse', bias: true, initialH: true },
  { op: 'RNN', label: 'RNN bidirectional, B, initial_h, clip', direction: 'bidirectional', bias: true, initialH: true, clip: 0.7 },
  { op: 'RNN', label: 'RNN bidirectional, layout 1, Relu/Sigmoid', direction: 'bidirectional', layout: 1, bias: true, activations: ['Relu', 'Sigmoid'] },
  { op: 'RNN', label: 'RNN layout 1, initial_h, Softsign, only Y_h', layout: 1, initialH: true, activations: ['Softsign'], outputs: ['Y_h'] },
  { op: 'RNN', label: 'RNN opset 22, full-length sequence_lens, Softplus', opset: 22, bias: true, fullSequenceLens: true, activations: ['Softplus'] },
  { op: 'GRU', label: 'GRU defaults', outputs: ['Y', 'Y_h'] },
  { op: 'GRU', label: 'GRU B, initial_h, linear_before_reset', bias: true, initialH: true, linearBeforeReset: true },
  { op: 'GRU', label: 'GRU B, linear_before_reset, zero initial_h', bias: true, linearBeforeReset: true },
  { op: 'GRU', label: 'GRU reverse, B, initial_h, clip', direction: 'reverse', bias: true, initialH: true, clip: 0.5 },
  { op: 'GRU', label: 'GRU bidirectional, B, initial_h, linear_before_reset', direction: 'bidirectional', bias: true, initialH: true, linearBeforeReset: true },
  { op: 'GRU', label: 'GRU bidirectional, layout 1, Relu/Tanh then Sigmoid/Softsign', direction: 'bidirectional', layout: 1, bias: true, initialH: true, activations: ['Relu', 'Tanh', 'Sigmoid', 'Softsign'] },
  { op: 'GRU', label: 'GRU opset 22, layout 1, full-length sequence_lens', opset: 22, layout: 1, bias: true, fullSequenceLens: true },
  { op: 'LSTM', label: 'LSTM defaults', outputs: ['Y', 'Y_h', 'Y_c'] },
  { op: 'LSTM', label: 'LSTM B, initial_h, initial_c, peepholes', bias: true, initialH: true, initialC: true, peepholes: true },
  { op: 'LSTM', label: 'LSTM peepholes, zero initial states', bias: true, peepholes: true },
  { op: 'LSTM', label: 'LSTM initial_c only, clip', initialC: true, bias: true, clip: 0.6 },
  { op: 'LSTM', label: 'LSTM reverse, initial_h, peepholes, input_forget', direction: 'reverse', initialH: true, initialC: true, peepholes: true, inputForget: true, bias: true },
  { op: 'LSTM', label: 'LSTM bidirectional, everything, clip', direction: 'bidirectional', bias: true, initialH: true, initialC: true, peepholes: true, clip: 0.8 },
  { op: 'LSTM', label: 'LSTM bidirectional, layout 1, initial states', direction: 'bidirectional', layout: 1, bias: true, initialH: true, initialC: true },
  { op: 'LSTM', label: 'LSTM layout 1, other activations, only Y_c', layout: 1, bias: true, activations: ['Sigmoid', 'Softplus', 'Softsign'], outputs: ['Y_c'] },
  { op: 'LSTM', label: 'LSTM opset 22, full-length sequence_lens', opset: 22, bias: true, initialH: true, fullSequenceLens: true },
];

const directionsOf = (c: Case) => (c.direction === 'bidirectional' ? 2 : 1);

function attrsOf(c: Case): Record<string, Attr> {
  const a: Record<string, Attr> = { hidden_size: int(HIDDEN) };
  if (c.direction) a.direction = str(c.direction);
  if (c.layout) a.layout = int(c.layout);
  if (c.clip !== undefined) a.clip = float(c.clip);
  if (c.linearBeforeReset) a.linear_before_reset = int(1);
  if (c.inputForget) a.input_forget = int(1);
  if (c.activations) a.activations = { kind: 'strings', value: c.activations };
  return a;
}

/** Dims of every input of the case (the batch as `batch`, a number or a symbol). */
function inputDims(c: Case, batch: number | string): Record<string, (number | string)[]> {
  const nd = directionsOf(c);
  const gh = GATES[c.op] * HIDDEN;
  const state = c.layout ? [batch, nd, HIDDEN] : [nd, batch, HIDDEN];
  const dims: Record<string, (number | string)[]> = {
    X: c.layout ? [batch, SEQ, INPUT] : [SEQ, batch, INPUT],
    W: [nd, gh, INPUT],
    R: [nd, gh, HIDDEN],
  };
  if (c.bias) dims.B = [nd, 2 * gh];
  if (c.initialH) dims.initial_h = state;
  if (c.op === 'LSTM' && c.initialC) dims.initial_c = state;
  if (c.op === 'LSTM' && c.peepholes) dims.P = [nd, 3 * HIDDEN];
  return dims;
}

const OUTPUT_SLOTS: Record<Op, ('Y' | 'Y_h' | 'Y_c')[]> = { RNN: ['Y', 'Y_h'], GRU: ['Y', 'Y_h'], LSTM: ['Y', 'Y_h', 'Y_c'] };

function nodeInputs(c: Case, names: Record<string, string>): string[] {
  const slots = ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h', 'initial_c', 'P'].slice(0, c.op === 'LSTM' ? 8 : 6);
  const list = slots.map((s) => names[s] ?? '');
  while (list.length > 0 && list[list.length - 1] === '') list.pop();
  return list;
}

/**
 * The model under test (layout as the case says, batch symbolic "N") and its reference for ONNX
 * Runtime: the same node, or for layout 1 the layout-0 node between Transposes. A full-length
 * sequence_lens is a constant of `batch` entries, so those models are built per batch size.
 */
function buildCase(c: Case, batch: number): { model: Model; reference: Model; outputs: string[] } {
  const dims = inputDims(c, 'N');
  const inputs: InputSpec[] = Object.entries(dims).map(([name, d]) => ({ name, dims: d, dtype: 'float32' }));
  const initializers: Record<string, Tensor> = {};
  if (c.fullSequenceLens) initializers.sequence_lens = tensor('int32', [batch], new Array(batch).fill(SEQ));
  const present = Object.fromEntries([...Object.keys(dims), ...Object.keys(initializers)].map((k) => [k, k]));
  const wanted = c.outputs ?? OUTPUT_SLOTS[c.op];
  const outSlots = OUTPUT_SLOTS[c.op].map((s) => (wanted.includes(s) ? s : ''));
  while (outSlots[outSlots.length - 1] === '') outSlots.pop();
  const outputs = outSlots.filter((s) => s !== '');
  const opset = c.opset ?? 18;
  const model = buildModel({ opset, inputs, initializers, nodes: [{ op: c.op, inputs: nodeInputs(c, present), outputs: outSlots, attrs: attrsOf(c) }], outputs });
  if (!c.layout) return { model, reference: model, outputs };

  // Layout 1 -> layout 0 around the op: X, initial states [batch, nd, .] -> [nd, batch, .];
  // Y [seq, nd, batch, H] -> [batch, seq, nd, H]; Y_h, Y_c [nd, batch, H] -> [batch, nd, H].
  const nodes: NodeSpec[] = [];
  const seqFirst: Record<string, string> = { ...present };
  for (const name of ['X', 'initial_h', 'initial_c']) {
    if (!present[name]) continue;
    seqFirst[name] = `${name}_t`;
    nodes.push({ op: 'Transpose', inputs: [name], outputs: [`${name}_t`], attrs: { perm: { kind: 'ints', value: [1, 0, 2] } } });
  }
  const attrs = attrsOf(c);
  delete attrs.layout;
  nodes.push({ op: c.op, inputs: nodeInputs(c, seqFirst), outputs: outSlots.map((s) => (s ? `${s}_0` : '')), attrs });
  for (const s of outputs) {
    const perm = s === 'Y' ? [2, 0, 1, 3] : [1, 0, 2];
    nodes.push({ op: 'Transpose', inputs: [`${s}_0`], outputs: [s], attrs: { perm: { kind: 'ints', value: perm } } });
  }
  const reference = buildModel({ opset, inputs, initializers, nodes, outputs });
  return { model, reference, outputs };
}

function feedsFor(c: Case, batch: number, seed: number): Record<string, Tensor> {
  const rng = new Rng(seed);
  const feeds: Record<string, Tensor> = {};
  // Weights scaled so gates sit in the responsive range of their activations.
  const scale: Record<string, number> = { X: 1, W: 0.5, R: 0.5, B: 0.3, initial_h: 0.5, initial_c: 0.5, P: 0.5 };
  for (const [name, d] of Object.entries(inputDims(c, batch))) {
    const dims = d as number[];
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[name] = tensor('float32', dims, Array.from({ length: n }, () => scale[name]! * rng.normal()));
  }
  return feeds;
}

const widen = (feeds: Record<string, Tensor>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, isFloatDType(t.dtype) ? tensor('float64', [...t.dims], t.data as Float32Array) : t]));

function assertClose(got: Tensor, want: Tensor, label: string, atol = 2e-6, rtol = 1e-5): void {
  assert.deepEqual(got.dims, want.dims, `${label}: shape`);
  for (let i = 0; i < want.data.length; i++) {
    const a = Number(got.data[i]);
    const b = Number(want.data[i]);
    assert.ok(Math.abs(a - b) <= atol + rtol * Math.abs(b), `${label}[${i}]: ${a} vs ${b}`);
  }
}

/** Expanded, with no recurrent node left. */
function expand(model: Model, label: string): Model {
  const expanded = upgradeOpset(model);
  assert.deepEqual(expanded.graph.nodes.filter((n) => RECURRENT.test(n.opType)).map((n) => n.opType), [], `${label}: expanded`);
  assert.deepEqual(unsupportedOps(model), [], `${label}: counts as supported`);
  return expanded;
}

for (const c of CASES) {
  test(`${c.label}: expansion reproduces ONNX Runtime's outputs; gradient and HVP match finite differences`, async () => {
    let expanded: Model | null = null;
    for (const batch of [2, 3]) {
      const { model, reference, outputs } = buildCase(c, batch);
      expanded = expand(model, c.label);
      const feeds = feedsFor(c, batch, 100 + batch);
      const want = await runModelOnce(reference, feeds);
      const got = await runModelOnce(expanded, feeds);
      for (const o of outputs) assertClose(got[o]!, want[o]!, `${c.label}, batch ${batch}, ${o}`);
    }
    const { model } = buildCase(c, 2);
    const m64 = toFloat64(expand(model, c.label));
    await assertGradientAndHvp(m64, widen(feedsFor(c, 2, 7)), c.label);
  });
}

test('layout 1: gradient and HVP graphs of the expansion, built at one batch size, are right at another', async () => {
  for (const c of CASES.filter((k) => k.layout === 1 && !k.fullSequenceLens)) {
    const m64 = toFloat64(expand(buildCase(c, 2).model, c.label));
    const wrt = Object.keys(inputDims(c, 2));
    const diff = await dynamicBatchDiff(m64, (batch) => widen(feedsFor(c, batch, 30 + batch)), wrt, 4);
    assert.ok(diff < 1e-9, `${c.label}: symbolic-batch graphs differ by ${diff}`);
  }
});

test('stacked layers: the second layer\'s sequence length is carried through Squeeze / Transpose / Reshape from the first', async () => {
  // LSTM (bidirectional) -> Transpose [seq, batch, 2, H] -> Reshape [0, 0, -1] -> GRU -> Squeeze -> RNN;
  // only X declares a shape, and sequence_lens of the GRU is a Constant node.
  const nd = 2;
  const inputs: InputSpec[] = [{ name: 'X', dims: [SEQ, 'N', INPUT], dtype: 'float32' }];
  const rng = new Rng(3);
  const w = (dims: number[]) => tensor('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 0.5 * rng.normal()));
  const initializers: Record<string, Tensor> = {
    W1: w([nd, 4 * HIDDEN, INPUT]), R1: w([nd, 4 * HIDDEN, HIDDEN]),
    W2: w([1, 3 * HIDDEN, nd * HIDDEN]), R2: w([1, 3 * HIDDEN, HIDDEN]), B2: w([1, 6 * HIDDEN]),
    W3: w([1, HIDDEN, HIDDEN]), R3: w([1, HIDDEN, HIDDEN]),
    shape: tensor('int64', [3], [0, 0, -1]), axis1: tensor('int64', [1], [1]),
  };
  const model = buildModel({
    opset: 18,
    inputs,
    initializers,
    nodes: [
      { op: 'LSTM', inputs: ['X', 'W1', 'R1'], outputs: ['Y1'], attrs: { hidden_size: int(HIDDEN), direction: str('bidirectional') } },
      { op: 'Transpose', inputs: ['Y1'], outputs: ['Y1t'], attrs: { perm: { kind: 'ints', value: [0, 2, 1, 3] } } },
      { op: 'Reshape', inputs: ['Y1t', 'shape'], outputs: ['X2'] },
      { op: 'Constant', inputs: [], outputs: ['lens'], attrs: { value: { kind: 'tensor', value: tensor('int32', [2], [SEQ, SEQ]) } } },
      { op: 'GRU', inputs: ['X2', 'W2', 'R2', 'B2', 'lens'], outputs: ['Y2'], attrs: { hidden_size: int(HIDDEN), linear_before_reset: int(1) } },
      { op: 'Squeeze', inputs: ['Y2', 'axis1'], outputs: ['X3'] },
      { op: 'RNN', inputs: ['X3', 'W3', 'R3'], outputs: ['Y3', 'Yh3'], attrs: { hidden_size: int(HIDDEN) } },
    ],
    outputs: ['Y3', 'Yh3'],
  });
  const expanded = expand(model, 'stacked');
  const feeds = { X: feedsFor({ op: 'RNN', label: '' }, 2, 5).X! };
  const want = await runModelOnce(model, feeds);
  const got = await runModelOnce(expanded, feeds);
  for (const o of ['Y3', 'Yh3']) assertClose(got[o]!, want[o]!, `stacked ${o}`);
  await assertGradientAndHvp(toFloat64(expanded), widen(feeds), 'stacked');
});

test('opset 7 RNN/GRU/LSTM go through the upgrade and expand the same way', async () => {
  for (const op of ['RNN', 'GRU', 'LSTM'] as const) {
    const c: Case = { op, label: `${op} opset 7`, opset: 7, bias: true, initialH: true, direction: 'bidirectional' };
    const { model, reference, outputs } = buildCase(c, 2);
    const feeds = feedsFor(c, 2, 9);
    const want = await runModelOnce(reference, feeds);
    const got = await runModelOnce(expand(model, c.label), feeds);
    for (const o of outputs) assertClose(got[o]!, want[o]!, `${c.label} ${o}`);
  }
});

test('an LSTM classifier through the autodiff front door: parameter gradient, H v and per-example gradients', async () => {
  // As PyTorch exports nn.LSTM(batch_first=True) + Linear: x [N, seq, input] -> Transpose ->
  // LSTM -> Y_h [1, N, H] -> Squeeze -> Gemm -> logits. Weights are initializers (parameters).
  const C = 3;
  const rng = new Rng(21);
  const w = (dims: number[], scale = 0.5) => tensor('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()));
  const model = buildModel({
    opset: 17,
    inputs: [{ name: 'x', dims: ['N', SEQ, INPUT], dtype: 'float32' }],
    initializers: {
      W: w([1, 4 * HIDDEN, INPUT]), R: w([1, 4 * HIDDEN, HIDDEN]), B: w([1, 8 * HIDDEN], 0.3),
      Wc: w([C, HIDDEN]), bc: w([C], 0.3), axis0: tensor('int64', [1], [0]),
    },
    nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: { kind: 'ints', value: [1, 0, 2] } } },
      { op: 'LSTM', inputs: ['xt', 'W', 'R', 'B'], outputs: ['', 'h'], attrs: { hidden_size: int(HIDDEN) } },
      { op: 'Squeeze', inputs: ['h', 'axis0'], outputs: ['hs'] },
      { op: 'Gemm', inputs: ['hs', 'Wc', 'bc'], outputs: ['logits'], attrs: { transB: int(1) } },
    ],
    outputs: ['logits'],
  });
  const prepared = await prepareLossModel(model);
  assert.equal(prepared.dtype, 'float64');
  assert.deepEqual([...prepared.params].sort(), ['B', 'R', 'W', 'Wc', 'bc']);
  const runner = await LossRunner.create(prepared, { hvp: true });
  const n = 5;
  const batch: Batch = {
    inputs: { x: tensor('float32', [n, SEQ, INPUT], Array.from({ length: n * SEQ * INPUT }, () => rng.normal())) },
    labels: tensor('int64', [n], [0, 2, 1, 1, 0]),
  };
  const p0 = runner.parameterVector();
  const d = p0.map(() => rng.normal());
  const h = 1e-5;
  const at = async (sign: number) => {
    runner.setParameters(p0.map((v, k) => v + sign * h * d[k]!));
    return runner.gradient(batch);
  };
  const plus = await at(1);
  const minus = await at(-1);
  runner.setParameters(p0);
  const { grad, hv } = await runner.hvp(batch, d);
  const dot = grad.reduce((s, g, k) => s + g * d[k]!, 0);
  const fd = (plus.loss - minus.loss) / (2 * h);
  assert.ok(Math.abs(dot - fd) <= 1e-6 * Math.abs(fd) + 1e-9, `directional derivative ${dot} vs ${fd}`);
  assert.ok(Math.abs(dot) > 1e-3, 'directional derivative is not trivially zero');
  let num = 0;
  let den = 0;
  hv.forEach((v, k) => {
    const fdk = (plus.grad[k]! - minus.grad[k]!) / (2 * h);
    num += (v - fdk) ** 2;
    den += fdk ** 2;
  });
  assert.ok(Math.sqrt(num) <= 1e-5 * Math.sqrt(den), `H v vs finite differences of the gradient: ${Math.sqrt(num / den)}`);
  // Per-example gradients: their sum is the gradient of the summed loss.
  const stats = await runner.perExampleStats(batch);
  const perSum = new Float64Array(runner.dim);
  for (let i = 0; i < n; i++) {
    const one = sliceBatch(batch, i);
    one.weights = tensor('float64', [1], [1]);
    (await runner.gradient(one)).grad.forEach((g, k) => (perSum[k]! += g));
  }
  perSum.forEach((v, k) => assert.ok(Math.abs(stats.sumGrad[k]! - v) <= 1e-9 * Math.max(1, Math.abs(v)), `sumGrad[${k}] ${stats.sumGrad[k]} vs ${v}`));
  await runner.release();
});

/** Asserts the model stays unexpanded and is refused as UNSUPPORTED_OP naming `op`, for `why`. */
function assertRefused(model: Model, op: Op, why: RegExp): void {
  const upgraded = upgradeOpset(model);
  assert.equal(upgraded.graph.nodes.filter((n) => n.opType === op).length, 1, `${op} left as it is`);
  assert.deepEqual(unsupportedOps(model), [op]);
  assert.deepEqual(unsupportedOps(upgraded), [op]);
  assert.throws(
    () => assertSupported(upgraded),
    (e: unknown) => e instanceof AppError && e.code === 'UNSUPPORTED_OP' && JSON.stringify(e.details) === JSON.stringify({ ops: [op] }) && why.test(e.message),
  );
}

test('refused (UNSUPPORTED_OP naming the op): sequence length not static, or not declared', () => {
  const symbolic = buildModel({
    inputs: [{ name: 'X', dims: ['S', 'N', INPUT], dtype: 'float32' }, { name: 'W', dims: [1, 4 * HIDDEN, INPUT], dtype: 'float32' }, { name: 'R', dims: [1, 4 * HIDDEN, HIDDEN], dtype: 'float32' }],
    nodes: [{ op: 'LSTM', inputs: ['X', 'W', 'R'], outputs: ['Y', 'Y_h'], attrs: { hidden_size: int(HIDDEN) } }],
    outputs: ['Y', 'Y_h'],
  });
  assertRefused(symbolic, 'LSTM', /sequence length of X is not static/);
  // Layout 1 reads the sequence length from dim 1: a static dim 0 is not enough.
  const batchwise = buildModel({
    inputs: [{ name: 'X', dims: [2, 'S', INPUT], dtype: 'float32' }, { name: 'W', dims: [1, HIDDEN, INPUT], dtype: 'float32' }, { name: 'R', dims: [1, HIDDEN, HIDDEN], dtype: 'float32' }],
    nodes: [{ op: 'RNN', inputs: ['X', 'W', 'R'], outputs: ['Y'], attrs: { hidden_size: int(HIDDEN), layout: int(1) } }],
    outputs: ['Y'],
  });
  assertRefused(batchwise, 'RNN', /sequence length of X is not static/);
  // X computed by an op whose output shape is not derived (Concat): nothing declared.
  const undeclared = buildModel({
    inputs: [{ name: 'A', dims: [SEQ, 'N', 1], dtype: 'float32' }, { name: 'W', dims: [1, 3 * HIDDEN, 2], dtype: 'float32' }, { name: 'R', dims: [1, 3 * HIDDEN, HIDDEN], dtype: 'float32' }],
    nodes: [
      { op: 'Concat', inputs: ['A', 'A'], outputs: ['X'], attrs: { axis: int(2) } },
      { op: 'GRU', inputs: ['X', 'W', 'R'], outputs: ['Y'], attrs: { hidden_size: int(HIDDEN) } },
    ],
    outputs: ['Y'],
  });
  assertRefused(undeclared, 'GRU', /shape of X is not declared/);
});

test('refused: sequence_lens shorter than the sequence, or computed at run time', () => {
  const base = (lens: { init?: Tensor; input?: boolean }) =>
    buildModel({
      inputs: [
        { name: 'X', dims: [SEQ, 2, INPUT], dtype: 'float32' },
        { name: 'W', dims: [1, 3 * HIDDEN, INPUT], dtype: 'float32' },
        { name: 'R', dims: [1, 3 * HIDDEN, HIDDEN], dtype: 'float32' },
        ...(lens.input ? [{ name: 'lens', dims: [2], dtype: 'int32' as const }] : []),
      ],
      initializers: lens.init ? { lens: lens.init } : {},
      nodes: [{ op: 'GRU', inputs: ['X', 'W', 'R', '', 'lens'], outputs: ['Y', 'Y_h'], attrs: { hidden_size: int(HIDDEN) } }],
      outputs: ['Y', 'Y_h'],
    });
  assertRefused(base({ init: tensor('int32', [2], [SEQ, SEQ - 1]) }), 'GRU', /sequence_lens \[3, 2\] is not the full length 3 everywhere/);
  assertRefused(base({ input: true }), 'GRU', /sequence_lens is computed at run time/);
  // The same with the full length everywhere expands.
  expand(base({ init: tensor('int32', [2], [SEQ, SEQ]) }), 'full-length sequence_lens');
});

test('refused: activations that take activation_alpha/beta', () => {
  const model = buildModel({
    inputs: [{ name: 'X', dims: [SEQ, 'N', INPUT], dtype: 'float32' }, { name: 'W', dims: [1, HIDDEN, INPUT], dtype: 'float32' }, { name: 'R', dims: [1, HIDDEN, HIDDEN], dtype: 'float32' }],
    nodes: [{ op: 'RNN', inputs: ['X', 'W', 'R'], outputs: ['Y'], attrs: { hidden_size: int(HIDDEN), activations: { kind: 'strings', value: ['LeakyRelu'] }, activation_alpha: { kind: 'floats', value: [0.1] } } }],
    outputs: ['Y'],
  });
  assertRefused(model, 'RNN', /activation leakyrelu takes activation_alpha\/beta/);
});

test('ONNX backend test models (libonnx-testdata): every RNN/GRU/LSTM case, expanded, reproduces its stored outputs', async (t) => {
  const root = onnxBackendData('node');
  const cases = readdirSync(root).filter((n) => /^test_(simple_rnn|rnn|gru|lstm)_/.test(n));
  let checked = 0;
  for (const name of cases) {
    const dir = join(root, name);
    const model = loadModel(readFileSync(join(dir, 'model.onnx')));
    const read = (f: string): Tensor => readBackendTensor(join(dir, 'test_data_set_0', f));
    const feeds: Record<string, Tensor> = {};
    model.graph.inputs.forEach((v, k) => (feeds[v.name] = read(`input_${k}.pb`)));
    // sequence_lens is a graph input in these files; a model holds it as a constant.
    for (const v of [...model.graph.inputs]) {
      if (isFloatDType(feeds[v.name]!.dtype)) continue;
      model.graph.initializers.set(v.name, feeds[v.name]!);
      model.graph.inputs = model.graph.inputs.filter((i) => i !== v);
      delete feeds[v.name];
    }
    const expanded = expand(model, name);
    const out = await runModelOnce(expanded, feeds);
    expanded.graph.outputs.forEach((o, k) => assertClose(out[o.name]!, read(`output_${k}.pb`), `${name} ${o.name}`));
    checked++;
  }
  t.diagnostic(`${checked} recurrent backend models reproduced`);
  assert.ok(checked >= 12, `only ${checked} cases`);
});
