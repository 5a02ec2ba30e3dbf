/**
 * Lowers an ONNX graph (our IR, after opset upgrade) to a chain of layers on flat Float64
 * vectors (layers.ts), the form bound propagation works on. Each op family has its own lowering
 * (lower-*.ts), looked up in LOWERINGS:
 *   affine  y = W x + b  (W sparse, CSR): Gemm, MatMul, Add/Sub/Mul/Div by a constant,
 *           BatchNormalization (inference), Pad (constant), Transpose (lower-affine.ts); Conv,
 *           AveragePool, GlobalAveragePool (lower-window.ts);
 *   relu, sigmoid, tanh (lower-activation.ts), maxpool (MaxPool, GlobalMaxPool; lower-window.ts);
 *   Flatten/Reshape/Squeeze/Unsqueeze/Identity/Dropout only relabel the shape (lower-shape.ts).
 * Only chains are handled: every op has one computed input (the previous op's output) and the
 * rest are constants. Residual adds of two computed tensors are refused with UNSUPPORTED_OP.
 */
import { badModel } from '../../common/errors.js';
import { attrInt, type Model, type Node } from '../../native/onnx/ir.js';
import { numel, type Tensor } from '../../native/onnx/tensor.js';
import type { Layer, Network } from './layers.js';
import { activationLowerings } from './lower-activation.js';
import { affineLowerings } from './lower-affine.js';
import { shapeLowerings } from './lower-shape.js';
import { windowLowerings } from './lower-window.js';
import { intsOf, unsupported, type Lowering } from './lowering.js';

export type { AffineLayer, ElementwiseLayer, Layer, MaxPoolLayer, Network } from './layers.js';

/** Op type -> its lowering (Constant is handled by lowerNetwork itself: it only adds a constant). */
export const LOWERINGS: ReadonlyMap<string, Lowering> = new Map(
  Object.entries({ ...shapeLowerings, ...activationLowerings, ...affineLowerings, ...windowLowerings }),
);

/** The ops of a model that bound propagation cannot lower (empty when all are fine). */
export function unsupportedForBounds(model: Model): string[] {
  const ok = (n: Node) => n.domain === '' && (n.opType === 'Constant' || LOWERINGS.has(n.opType));
  return [...new Set(model.graph.nodes.filter((n) => !ok(n)).map((n) => n.opType))].sort();
}

/** Reshape/Flatten/Identity of a constant: the same values under new dims; null for other ops. */
function foldConstant(node: Node, consts: Map<string, Tensor>): Tensor | null {
  const t = consts.get(node.inputs[0]!);
  if (!t) return null;
  const n = numel(t.dims);
  if (node.opType === 'Identity') return t;
  if (node.opType === 'Flatten') {
    let axis = attrInt(node, 'axis', 1);
    if (axis < 0) axis += t.dims.length;
    return { ...t, dims: [numel(t.dims.slice(0, axis)), numel(t.dims.slice(axis))] };
  }
  if (node.opType === 'Reshape') {
    const shapeT = consts.get(node.inputs[1]!);
    if (!shapeT) return null;
    const target = intsOf(shapeT);
    const dims = target.map((d, i) => (d === 0 && attrInt(node, 'allowzero', 0) !== 1 ? t.dims[i]! : d));
    const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = dims.map((d) => (d === -1 ? n / known : d));
    return numel(out) === n ? { ...t, dims: out } : null;
  }
  return null;
}

/**
 * The model without a trailing Softmax/LogSoftmax over the class axis, or null when it has none.
 * Both are strictly increasing in each logit's lead over the others, so argmax (and which class
 * beats which) is the same on the logits: robustness can be proved there.
 */
export function stripSoftmax(model: Model): Model | null {
  const g = model.graph;
  const last = g.nodes[g.nodes.length - 1];
  if (!last || (last.opType !== 'Softmax' && last.opType !== 'LogSoftmax') || g.outputs.length !== 1 || g.outputs[0]!.name !== last.outputs[0]) return null;
  const axis = attrInt(last, 'axis', -1);
  const rank = g.outputs[0]!.shape?.length ?? 2;
  if (!(axis === -1 || axis === rank - 1 || (rank === 2 && axis === 1))) return null;
  return {
    ...model,
    graph: { ...g, nodes: g.nodes.slice(0, -1), outputs: [{ name: last.inputs[0]!, dtype: g.outputs[0]!.dtype, shape: g.outputs[0]!.shape }] },
  };
}

export function lowerNetwork(model: Model): Network {
  const g = model.graph;
  const bad = unsupportedForBounds(model);
  if (bad.length > 0) throw unsupported(`bound propagation has no rule for: ${bad.join(', ')}`, bad);
  if (g.inputs.length !== 1) throw unsupported(`bound propagation needs a model with one input, this one has ${g.inputs.length}`);
  if (g.outputs.length < 1) throw badModel('the model has no outputs');
  const input = g.inputs[0]!;
  if (!input.shape) throw badModel(`input ${input.name} has no shape`);
  const inputShape = input.shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : NaN));
  if (inputShape.some((d) => !Number.isInteger(d) || d <= 0)) throw badModel(`input ${input.name} needs fixed dimensions (apart from the batch), has [${input.shape}]`);
  if (inputShape[0] !== 1 && inputShape.length > 1) throw unsupported(`input ${input.name} has batch size ${inputShape[0]}; verification runs one sample`);
  const consts = new Map<string, Tensor>(g.initializers);
  const layers: Layer[] = [];
  let current = input.name;
  let shape = inputShape;
  for (const node of g.nodes) {
    if (node.opType === 'Constant') {
      const v = node.attrs.value;
      if (!v || v.kind !== 'tensor') throw unsupported('Constant without a tensor value');
      consts.set(node.outputs[0]!, v.value);
      continue;
    }
    const computed = node.inputs.filter((n) => n !== '' && !consts.has(n));
    if (computed.length === 0) {
      // Exporters reshape weights in the graph (CNTK's mnist.onnx): fold those.
      const folded = foldConstant(node, consts);
      if (!folded) throw unsupported(`${node.opType} "${node.name}" computes a constant; fold constants before verifying`);
      consts.set(node.outputs[0]!, folded);
      continue;
    }
    if (computed.length > 1 || computed[0] !== current) {
      throw unsupported(`bound propagation handles chains of layers; ${node.opType} "${node.name}" reads ${computed.join(', ')}`);
    }
    const lowering = LOWERINGS.get(node.opType);
    if (!lowering) throw unsupported(`bound propagation has no rule for ${node.opType}`, [node.opType]);
    shape = lowering({
      node,
      shape,
      n: numel(shape),
      current,
      op: `${node.opType} ${node.name}`,
      constOf: (name) => consts.get(name),
      push: (layer) => layers.push(layer),
    });
    current = node.outputs[0]!;
  }
  const out = g.outputs.find((o) => o.name === current);
  if (!out) throw unsupported(`bound propagation needs the chain to end at the model output; it ends at ${current}`);
  return {
    inputName: input.name,
    outputName: current,
    inputShape,
    outputShape: shape,
    layers,
    numInputs: numel(inputShape),
    numOutputs: numel(shape),
  };
}

/** Exact-in-float64 forward pass of the lowered chain (for the search and for tests). */
export function forward(net: Network, x: ArrayLike<number>): Float64Array {
  let v: Float64Array = Float64Array.from(x);
  for (const L of net.layers) v = applyLayer(L, v);
  return v;
}

export function applyLayer(L: Layer, v: Float64Array): Float64Array {
  switch (L.kind) {
    case 'affine': {
      const out = new Float64Array(L.nOut);
      for (let r = 0; r < L.nOut; r++) {
        let s = L.bias[r]!;
        for (let p = L.rowPtr[r]!; p < L.rowPtr[r + 1]!; p++) s += L.val[p]! * v[L.col[p]!]!;
        out[r] = s;
      }
      return out;
    }
    case 'relu':
      return v.map((z) => (z > 0 ? z : 0));
    case 'sigmoid':
      return v.map((z) => 1 / (1 + Math.exp(-z)));
    case 'tanh':
      return v.map((z) => Math.tanh(z));
    case 'maxpool': {
      const out = new Float64Array(L.nOut);
      for (let o = 0; o < L.nOut; o++) {
        let m = -Infinity;
        for (let p = L.ptr[o]!; p < L.ptr[o + 1]!; p++) m = Math.max(m, v[L.idx[p]!]!);
        out[o] = m;
      }
      return out;
    }
  }
}
