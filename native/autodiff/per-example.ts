/**
 * Per-example gradient geometry without materializing per-example gradients.
 *
 * For the loss sum_i l_i, the cotangent delta at a layer's output holds, row by row, the
 * per-example cotangents (inference mode: examples do not interact). For a dense layer
 * Y = A W (+ b), example i's weight gradient is the outer product a_i (x) delta_i, so
 *   <G_i, G_j> = (a_i . a_j)(delta_i . delta_j)     (Goodfellow 2015, "Efficient per-example
 *                                                    gradient computations")
 * and the Gram matrix of a layer is (A A^T) * (Delta Delta^T), elementwise. Biases and other
 * broadcast operands give the Gram matrix of their per-example partials summed over the
 * broadcast axes. Sequence inputs [B, T, in] sum over token pairs. Parameters used any other
 * way (convolution kernels, normalization scales, tied weights) are left to per-sample runs
 * (`fallback`): the caller runs the ordinary gradient graph one example at a time for them.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { attrFloat, attrInt, onnxOpset, type Node } from '../onnx/ir.js';
import type { GradientGraph } from './gradient.js';
import { buildGradient } from './gradient.js';
import { prune } from './prune.js';
import type { PreparedModel } from './index.js';
import type { ShapeMap } from './shapes.js';

export interface PerExampleGraph {
  /** Loss model + gradient + Gram outputs. Feed weights = 1 to get per-example (not averaged) gradients. */
  gradient: GradientGraph;
  /** param -> output [B, B] with <g_i, g_j> restricted to that parameter. */
  grams: Map<string, string>;
  /** Parameters whose Gram matrix needs per-sample runs. */
  fallback: string[];
}

export function buildPerExampleGrams(p: PreparedModel): PerExampleGraph {
  const gradient = buildGradient(p.model, { of: p.loss, wrt: p.params }, p.shapes);
  const model = gradient.model;
  const b = new GraphBuilder(model.graph, onnxOpset(model), 'pex');
  const grams = new Map<string, string>();
  const fallback: string[] = [];
  const consumers = (name: string) => p.model.graph.nodes.filter((n) => n.inputs.includes(name));
  for (const param of p.params) {
    const users = consumers(param);
    const gram = users.length === 1 ? gramFor(b, p.shapes, gradient, users[0]!, param) : null;
    if (!gram) {
      fallback.push(param);
      continue;
    }
    const name = `gram/${param}`;
    model.graph.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [gram], outputs: [name], attrs: {} });
    model.graph.outputs.push({ name, dtype: p.dtype, shape: ['B', 'B'] });
    grams.set(param, name);
  }
  prune(model);
  return { gradient, grams, fallback };
}

/** Gram matrix of per-example partials X_i (rows of a [B, ...] tensor): [B, B]. */
function rowGram(b: GraphBuilder, x: string): string {
  const flat = b.op('Flatten', [x], { axis: 1 });
  return b.op('MatMul', [flat, b.op('Transpose', [flat], { perm: [1, 0] })]);
}

function gramFor(b: GraphBuilder, shapes: ShapeMap, g: GradientGraph, node: Node, param: string): string | null {
  const slot = node.inputs.indexOf(param);
  const y = node.outputs[0]!;
  const delta = g.cotangents.get(y);
  if (!delta) return null;
  const rank = (name: string) => shapes.get(name)!.dims.length;
  const batchFirst = (name: string) => shapes.get(name)!.dims[0] === null;
  const scaled = (gram: string, s: number) => (s === 1 ? gram : b.mul(gram, b.scalar(s * s, shapes.get(y)!.dtype)));

  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) return null;
    const a = node.inputs[0]!;
    if (!batchFirst(a)) return null;
    if (slot === 1) return scaled(b.mul(rowGram(b, a), rowGram(b, delta)), attrFloat(node, 'alpha', 1));
    if (slot === 2) return scaled(broadcastOperandGram(b, shapes, delta, param, y), attrFloat(node, 'beta', 1));
    return null;
  }
  if (node.opType === 'MatMul' && slot === 1 && rank(param) === 2) {
    const a = node.inputs[0]!;
    if (!batchFirst(a)) return null;
    if (rank(a) === 2) return b.mul(rowGram(b, a), rowGram(b, delta));
    if (rank(a) === 3) return tokenPairGram(b, a, delta);
    return null;
  }
  if ((node.opType === 'Add' || node.opType === 'Sub') && batchFirst(y) && !batchFirst(param)) {
    return broadcastOperandGram(b, shapes, delta, param, y);
  }
  if (node.opType === 'Mul' && batchFirst(y) && !batchFirst(param)) {
    const other = node.inputs[1 - slot]!;
    return broadcastOperandGram(b, shapes, b.mul(delta, other), param, y);
  }
  if (node.opType === 'Conv' && slot === 2) {
    const spatial = Array.from({ length: rank(y) - 2 }, (_, i) => i + 2);
    return rowGram(b, b.reduceSum(delta, spatial, false));
  }
  return null;
}

/** Per-example partial of a broadcast operand: sum over the axes it is broadcast along (except batch). */
function broadcastOperandGram(b: GraphBuilder, shapes: ShapeMap, partial: string, param: string, y: string): string {
  const pd = shapes.get(param)!.dims;
  const yd = shapes.get(y)!.dims;
  const lead = yd.length - pd.length;
  const axes: number[] = [];
  for (let i = 1; i < yd.length; i++) {
    const k = i - lead;
    if (k < 0 || (pd[k] === 1 && yd[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? b.reduceSum(partial, axes, true) : partial;
  return rowGram(b, summed);
}

/** Sequence inputs: K_ij = sum_{t,s} (a_it . a_js)(d_it . d_js). */
function tokenPairGram(b: GraphBuilder, a: string, delta: string): string {
  // [B, T, C] -> [B*T, C]
  const rows = (x: string) =>
    b.op('Reshape', [x, b.op('Concat', [b.int64s([-1]), b.op('Slice', [b.shape(x), b.int64s([2]), b.int64s([3])])], { axis: 0 })]);
  const tokenGram = (x: string) => {
    const r = rows(x);
    return b.op('MatMul', [r, b.op('Transpose', [r], { perm: [1, 0] })]);
  };
  const bt = b.op('Slice', [b.shape(a), b.int64s([0]), b.int64s([2])]);
  const fourD = b.op('Concat', [bt, bt], { axis: 0 });
  return b.reduceSum(b.op('Reshape', [b.mul(tokenGram(a), tokenGram(delta)), fourD]), [1, 3], false);
}
