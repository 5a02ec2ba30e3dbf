/**
 * Static shapes known before anything runs: what the file declares (graph inputs, value_info,
 * outputs, initializers, Constant nodes), carried forward through a few ops whose output shape
 * follows from their input's by rule alone. Dims are numbers or null (symbolic or unknown);
 * a name missing from the map has an unknown rank.
 *
 * Used where a graph rewrite needs a size the graph fixes, e.g. the sequence length an RNN is
 * unrolled over (decompose-rnn.ts). Deliberately small: a declared shape always wins, and
 * anything not derivable for certain is left unknown (null), never guessed.
 */
import { attrInt, attrInts, type Graph, type Node } from './ir.js';
import { toNumberArray, type Tensor } from './tensor.js';

export type StaticDims = (number | null)[];

/** Ops whose output 0 has exactly the shape of input 0. */
const SAME_SHAPE = new Set([
  'Identity', 'Cast', 'CastLike', 'Dropout', 'Relu', 'Tanh', 'Sigmoid', 'LeakyRelu', 'Elu', 'Selu',
  'HardSigmoid', 'Softsign', 'Softplus', 'Clip', 'Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Erf', 'Gelu',
]);

const RECURRENT = new Set(['RNN', 'GRU', 'LSTM']);

/** The value of a constant tensor: an initializer or the output of a Constant node with a tensor value. */
export function constantTensor(g: Graph, name: string): Tensor | undefined {
  if (!name) return undefined;
  const init = g.initializers.get(name);
  if (init) return init;
  const producer = g.nodes.find((n) => n.opType === 'Constant' && n.outputs[0] === name && (n.domain === '' || n.domain === 'ai.onnx'));
  const v = producer?.attrs.value;
  return v?.kind === 'tensor' ? v.value : undefined;
}

export function staticShapes(g: Graph): Map<string, StaticDims> {
  const shapes = new Map<string, StaticDims>();
  for (const v of [...g.inputs, ...g.valueInfo.values(), ...g.outputs]) {
    if (v.shape && !v.untyped) shapes.set(v.name, v.shape.map((d) => (typeof d === 'number' ? d : null)));
  }
  for (const [name, t] of g.initializers) shapes.set(name, [...t.dims]);
  const constants = new Map<string, number[]>();
  const constantInts = (name: string | undefined): number[] | undefined => {
    if (!name) return undefined;
    const t = g.initializers.get(name);
    return t ? toNumberArray(t) : constants.get(name);
  };
  for (const n of g.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
    if (n.opType === 'Constant' && n.attrs.value?.kind === 'tensor') {
      const t = n.attrs.value.value;
      constants.set(n.outputs[0]!, toNumberArray(t));
      if (!shapes.has(n.outputs[0]!)) shapes.set(n.outputs[0]!, [...t.dims]);
      continue;
    }
    const inferred = infer(n, shapes, constantInts);
    inferred.forEach((dims, i) => {
      const out = n.outputs[i];
      if (out && dims && !shapes.has(out)) shapes.set(out, dims);
    });
  }
  return shapes;
}

function infer(n: Node, shapes: Map<string, StaticDims>, constantInts: (name: string | undefined) => number[] | undefined): (StaticDims | null)[] {
  const x = shapes.get(n.inputs[0] ?? '');
  if (SAME_SHAPE.has(n.opType)) return [x ? [...x] : null];
  if (RECURRENT.has(n.opType)) return recurrentOutputs(n, x);
  if (!x) return [];
  const rank = x.length;
  const norm = (a: number, r: number) => (a < 0 ? a + r : a);
  switch (n.opType) {
    case 'Transpose': {
      const perm = attrInts(n, 'perm') ?? x.map((_, i) => rank - 1 - i);
      if (perm.length !== rank) return [];
      return [perm.map((p) => x[p] ?? null)];
    }
    case 'Unsqueeze': {
      const axes = n.inputs[1] ? constantInts(n.inputs[1]) : attrInts(n, 'axes');
      if (!axes) return [];
      const outRank = rank + axes.length;
      const at = new Set(axes.map((a) => norm(a, outRank)));
      const out: StaticDims = [];
      let k = 0;
      for (let i = 0; i < outRank; i++) out.push(at.has(i) ? 1 : (x[k++] ?? null));
      return [out];
    }
    case 'Squeeze': {
      const axes = n.inputs[1] ? constantInts(n.inputs[1]) : attrInts(n, 'axes');
      // Without axes, every dim of size 1 goes: unknowable while a dim is unknown.
      if (!axes) return x.every((d) => d !== null) ? [x.filter((d) => d !== 1)] : [];
      const at = new Set(axes.map((a) => norm(a, rank)));
      return [x.filter((_, i) => !at.has(i))];
    }
    case 'Reshape': {
      const target = constantInts(n.inputs[1]);
      if (!target) return [];
      const allowZero = attrInt(n, 'allowzero', 0) === 1;
      const out: StaticDims = target.map((d, i) => (d === 0 && !allowZero ? (x[i] ?? null) : d === -1 ? null : d));
      // -1 is the one dim left: known when every other dim, in and out, is.
      const minus = target.indexOf(-1);
      if (minus >= 0 && x.every((d) => d !== null) && out.every((d, i) => i === minus || d !== null)) {
        const total = (x as number[]).reduce((a, b) => a * b, 1);
        const rest = (out as (number | null)[]).reduce<number>((a, d, i) => (i === minus ? a : a * (d as number)), 1);
        out[minus] = rest === 0 ? null : total / rest;
      }
      return [out];
    }
    default:
      return [];
  }
}

/** Y, Y_h (and LSTM's Y_c) from X's shape, the direction, layout and hidden_size (ONNX spec). */
function recurrentOutputs(n: Node, x: StaticDims | undefined): (StaticDims | null)[] {
  const hidden = attrInt(n, 'hidden_size');
  if (!x || x.length !== 3 || hidden === undefined) return [];
  const nd = n.attrs.direction?.kind === 'string' && n.attrs.direction.value === 'bidirectional' ? 2 : 1;
  const batchwise = attrInt(n, 'layout', 0) === 1;
  const [seq, batch] = batchwise ? [x[1]!, x[0]!] : [x[0]!, x[1]!];
  const y: StaticDims = batchwise ? [batch, seq, nd, hidden] : [seq, nd, batch, hidden];
  const state: StaticDims = batchwise ? [batch, nd, hidden] : [nd, batch, hidden];
  return [y, state, state];
}
