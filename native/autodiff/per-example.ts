/**
 * Per-example gradient geometry without materializing N per-example gradients.
 *
 * For the loss sum_i l_i, the cotangent delta at a layer's output holds, row by row, the
 * per-example cotangents (inference mode: examples do not interact). Per parameter tensor and
 * batch this emits
 *   gram/<p>   [B, B]      <g_i, g_j> restricted to p
 *   sqsum/<p>  shape of p  sum_i g_i * g_i (elementwise), for gradient signal-to-noise ratios
 * in one of two forms:
 *  - outer products (Gemm, 2-D MatMul): example i's weight gradient is a_i (x) delta_i, so
 *      <G_i, G_j> = (a_i . a_j)(delta_i . delta_j)   and   sum_i G_i^2 = (A^2)^T (Delta^2)
 *    (Goodfellow 2015, "Efficient per-example gradient computations") — nothing materialized;
 *  - per-example rows, materialized for one layer and one batch only: broadcast operands
 *    (biases, scales: the partial summed over the broadcast axes), sequence MatMul
 *    (G_i = A_i^T Delta_i) and Conv kernels (G_i = Delta_i U_i^T with U_i the input patches,
 *    extracted by a Conv with a one-hot kernel: im2col in standard ONNX).
 * Parameters used any other way (normalization scales, grouped convs, tied weights) are left
 * to per-sample runs (`fallback`).
 */
import { GraphBuilder } from '../onnx/builder.js';
import { attrFloat, attrInt, attrInts, attrString, onnxOpset, type Node } from '../onnx/ir.js';
import { tensor } from '../onnx/tensor.js';
import type { GradientGraph } from './gradient.js';
import { buildGradient } from './gradient.js';
import { prune } from './prune.js';
import type { PreparedModel } from './index.js';
import type { ShapeMap } from './shapes.js';

export interface PerExampleGraph {
  /** Loss model + gradient + per-example outputs. Feed weights = 1 for per-example (not averaged) gradients. */
  gradient: GradientGraph;
  /** param -> output [B, B] with <g_i, g_j> restricted to that parameter. */
  grams: Map<string, string>;
  /** param -> output shaped like the parameter: sum_i g_i^2. */
  sqsums: Map<string, string>;
  /** Parameters that need per-sample runs. */
  fallback: string[];
}

type Term =
  | { kind: 'outer'; a: string; d: string; scale: number; aFirst: boolean }
  | { kind: 'rows'; rows: string };

export function buildPerExampleGrams(p: PreparedModel): PerExampleGraph {
  const gradient = buildGradient(p.model, { of: p.loss, wrt: p.params }, p.shapes);
  const model = gradient.model;
  const b = new GraphBuilder(model.graph, onnxOpset(model), 'pex');
  const grams = new Map<string, string>();
  const sqsums = new Map<string, string>();
  const fallback: string[] = [];
  const output = (name: string, value: string, shape: (string | number)[]) => {
    model.graph.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [value], outputs: [name], attrs: {} });
    model.graph.outputs.push({ name, dtype: p.dtype, shape });
  };
  for (const param of p.params) {
    const users = p.model.graph.nodes.filter((n) => n.inputs.includes(param));
    const term = users.length === 1 ? termFor(b, p.shapes, gradient, users[0]!, param) : null;
    if (!term) {
      fallback.push(param);
      continue;
    }
    const dims = p.values.get(param)!.dims;
    let gram: string;
    let sqsum: string;
    if (term.kind === 'outer') {
      const s2 = term.scale * term.scale;
      const scale = (x: string) => (s2 === 1 ? x : b.mul(x, b.scalar(s2, p.dtype)));
      gram = scale(b.mul(rowGram(b, term.a), rowGram(b, term.d)));
      const a2 = b.mul(term.a, term.a);
      const d2 = b.mul(term.d, term.d);
      const t = (x: string) => b.op('Transpose', [x], { perm: [1, 0] });
      sqsum = scale(term.aFirst ? b.op('MatMul', [t(a2), d2]) : b.op('MatMul', [t(d2), a2]));
    } else {
      gram = rowGram(b, term.rows);
      sqsum = b.op('Reshape', [b.reduceSum(b.mul(term.rows, term.rows), [0], false), b.int64s(dims)]);
    }
    output(`gram/${param}`, gram, ['B', 'B']);
    output(`sqsum/${param}`, sqsum, dims);
    grams.set(param, `gram/${param}`);
    sqsums.set(param, `sqsum/${param}`);
  }
  prune(model);
  return { gradient, grams, sqsums, fallback };
}

/** Gram matrix of the rows of a [B, ...] tensor: [B, B]. */
function rowGram(b: GraphBuilder, x: string): string {
  const flat = b.op('Flatten', [x], { axis: 1 });
  return b.op('MatMul', [flat, b.op('Transpose', [flat], { perm: [1, 0] })]);
}

function termFor(b: GraphBuilder, shapes: ShapeMap, g: GradientGraph, node: Node, param: string): Term | null {
  const slot = node.inputs.indexOf(param);
  const y = node.outputs[0]!;
  const delta = g.cotangents.get(y);
  if (!delta) return null;
  const dims = (name: string) => shapes.get(name)!.dims;
  const batchFirst = (name: string) => dims(name)[0] === null;
  const paramFollowsBatch = batchFirst(param);
  if (paramFollowsBatch) return null;

  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0 || !batchFirst(node.inputs[0]!)) return null;
    if (slot === 1) {
      return { kind: 'outer', a: node.inputs[0]!, d: delta, scale: attrFloat(node, 'alpha', 1), aFirst: attrInt(node, 'transB', 0) === 0 };
    }
    if (slot === 2) return broadcastRows(b, shapes, delta, param, y, attrFloat(node, 'beta', 1));
    return null;
  }
  if (node.opType === 'MatMul' && slot === 1 && dims(param).length === 2) {
    const a = node.inputs[0]!;
    if (!batchFirst(a)) return null;
    if (dims(a).length === 2) return { kind: 'outer', a, d: delta, scale: 1, aFirst: true };
    if (dims(a).length === 3) return { kind: 'rows', rows: b.op('MatMul', [b.op('Transpose', [a], { perm: [0, 2, 1] }), delta]) };
    return null;
  }
  if ((node.opType === 'Add' || node.opType === 'Sub') && batchFirst(y)) {
    const sign = node.opType === 'Sub' && slot === 1 ? -1 : 1;
    return broadcastRows(b, shapes, delta, param, y, sign);
  }
  if (node.opType === 'Mul' && batchFirst(y)) {
    return broadcastRows(b, shapes, b.mul(delta, node.inputs[1 - slot]!), param, y, 1);
  }
  if (node.opType === 'Conv' && batchFirst(y)) {
    if (slot === 2) {
      const spatial = Array.from({ length: dims(y).length - 2 }, (_, i) => i + 2);
      return { kind: 'rows', rows: b.reduceSum(delta, spatial, false) };
    }
    if (slot === 1) return convKernelRows(b, shapes, node, delta);
  }
  return null;
}

/** Per-example partial of a broadcast operand: summed over the axes it is broadcast along (except batch). */
function broadcastRows(b: GraphBuilder, shapes: ShapeMap, partial: string, param: string, y: string, scale: number): Term {
  const pd = shapes.get(param)!.dims;
  const yd = shapes.get(y)!.dims;
  const lead = yd.length - pd.length;
  const axes: number[] = [];
  for (let i = 1; i < yd.length; i++) {
    const k = i - lead;
    if (k < 0 || (pd[k] === 1 && yd[i] !== 1)) axes.push(i);
  }
  let rows = axes.length > 0 ? b.reduceSum(partial, axes, true) : partial;
  if (scale !== 1) rows = b.mul(rows, b.scalar(scale, shapes.get(y)!.dtype));
  return { kind: 'rows', rows };
}

/**
 * Conv kernel, group 1, explicit pads: G_i[co, ci*K + k] = sum_o delta_i[co, o] U_i[ci*K + k, o], where
 * U holds the input patches. U comes from a Conv of every input channel (as its own image) with a
 * one-hot kernel per kernel offset, at the layer's strides, dilations and pads.
 */
function convKernelRows(b: GraphBuilder, shapes: ShapeMap, node: Node, delta: string): Term | null {
  if (attrInt(node, 'group', 1) !== 1 || attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') return null;
  const [x, w] = node.inputs as [string, string];
  const wd = shapes.get(w)!.dims as number[];
  const xd = shapes.get(x)!.dims;
  if (xd.slice(1).some((d) => d === null)) return null;
  const [cout, cin, ...k] = wd as [number, number, ...number[]];
  const kSize = k.reduce((a, c) => a * c, 1);
  const dtype = shapes.get(x)!.dtype;
  const eye = tensor(dtype, [kSize, 1, ...k]);
  for (let i = 0; i < kSize; i++) (eye.data as Float32Array)[i * kSize + i] = 1;
  const spatial = xd.slice(2) as number[];
  const images = b.op('Reshape', [x, b.int64s([-1, 1, ...spatial])]); // [B*Cin, 1, *S]
  const attrs: Record<string, number[]> = { kernel_shape: k };
  for (const name of ['strides', 'dilations', 'pads']) {
    const v = attrInts(node, name);
    if (v) attrs[name] = v;
  }
  const patches = b.op('Conv', [images, b.constant(eye, 'onehot')], attrs); // [B*Cin, K, *O]
  const u = b.op('Reshape', [patches, b.int64s([-1, cin * kSize, (shapes.get(node.outputs[0]!)!.dims.slice(2) as number[]).reduce((a, c) => a * c, 1)])]);
  const d = b.op('Reshape', [delta, b.int64s([-1, cout, (shapes.get(node.outputs[0]!)!.dims.slice(2) as number[]).reduce((a, c) => a * c, 1)])]);
  return { kind: 'rows', rows: b.op('MatMul', [d, b.op('Transpose', [u], { perm: [0, 2, 1] })]) }; // [B, Cout, Cin*K]
}
