/**
 * Raises a model's ai.onnx opset to 18 by rewriting every op whose signature or semantics
 * changed between opsets 1 and 18 into its opset-18 form, so the autodiff (and its rules) see
 * one form per op. Each rewrite computes exactly what the old op computed:
 *
 *   Softmax / LogSoftmax / Hardmax < 13   the old op coerced its input to 2-D at `axis` (default 1)
 *                                         and normalized over the second dim: Flatten(axis) ->
 *                                         op(axis=-1) -> Reshape(Shape(x)).
 *   ReduceSum < 13, other Reduce* < 18    `axes` attribute -> int64 input.
 *   Squeeze / Unsqueeze < 13              `axes` attribute -> input.
 *   Split < 13                            `split` attribute -> input; none -> num_outputs (18 needs one).
 *   Split 13..17 without split input      num_outputs = number of outputs.
 *   Slice < 10                            starts / ends / axes attributes -> inputs.
 *   Pad < 11                              pads (`paddings` at opset 1) / value attributes -> inputs.
 *   Clip < 11                             min / max attributes -> scalar inputs.
 *   Dropout < 12                          inference: Identity. When its mask output is read, Dropout 12
 *                                         with a ratio input (opsets 7..9 left that mask unspecified in
 *                                         inference; 12 fills it with true).
 *   BatchNormalization < 9 / < 14         spatial, consumed_inputs, is_test dropped; training-only
 *                                         outputs dropped when unused; spatial=0 (per-activation
 *                                         statistics, constant) folded into Mul + Add.
 *   Upsample (7..9), Resize 10            Resize with coordinate_transformation_mode=asymmetric and
 *                                         nearest_mode=floor (the old index rule: x_in = x_out / scale).
 *   Scatter (9..10)                       ScatterElements (same semantics, renamed at 11).
 *   ImageScaler (experimental, < 10)      Mul(x, scale) + Add(bias as [1, C, 1, 1]).
 *   TopK < 10                             k attribute -> input.
 *   Reshape < 5                           shape attribute -> input.
 *   Concat < 4                            axis defaulted to 1.
 *   Gemm, Add/Sub/Mul/Div, Pow, PRelu... < 7   broadcast attr dropped; a legacy `axis` broadcast
 *                                         (B aligned at `axis`, not at the end) gets B reshaped with
 *                                         trailing 1s (needs the rank of A, from shapes or inference).
 *   PRelu < 7                             a 1-D slope was per channel (axis 1): reshaped to [C, 1, ...].
 *   consumed_inputs (opset < 6)           dropped everywhere.
 * GridSample-16 is kept as it is (valid at 18; its bilinear/bicubic spellings are read by the
 * expansion in decompose-gridsample.ts, which knows the model's opset).
 * Ops that did not change (Conv, MaxPool, AveragePool, Gemm >= 7, ...) are copied; their newer
 * attributes have defaults equal to the old behaviour. Graphs with subgraphs (If/Loop/Scan) below
 * the target are refused (UNSUPPORTED_OP): their bodies would need the same rewrite, and the
 * autodiff has no rules for control flow anyway. Models at opset > 18 are kept as they are
 * (forms from 18 stay valid). The IR version is raised to at least 8 (opset 18 needs it).
 */
import { cloneModel, int, str, attrFloat, attrInt, attrInts, attrString, onnxOpset, type Attr, type Graph, type Model, type Node } from './ir.js';
import { tensor, toNumberArray, type Tensor } from './tensor.js';
import { dtypeFromCode, type DType } from './dtype.js';
import { AppError, badModel } from '../../common/errors.js';
import { expandCompositeOps } from './decompose.js';
import { liftConstantWeights } from './lift-constants.js';

export const TARGET_OPSET = 18;
const MIN_IR_VERSION = 8;

const REDUCE_OPS = new Set([
  'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
]);
const LEGACY_BROADCAST_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less']);

/** Element types and ranks of tensors, propagated forwards as far as simple rules allow. */
class TypeFacts {
  readonly dtypes = new Map<string, DType>();
  readonly ranks = new Map<string, number>();

  constructor(g: Graph) {
    for (const v of [...g.inputs, ...g.valueInfo.values(), ...g.outputs]) {
      if (!v.untyped) this.dtypes.set(v.name, v.dtype);
      if (v.shape) this.ranks.set(v.name, v.shape.length);
    }
    for (const [name, t] of g.initializers) {
      this.dtypes.set(name, t.dtype);
      this.ranks.set(name, t.dims.length);
    }
  }

  dtype(name: string): DType {
    return this.dtypes.get(name) ?? 'float32';
  }

  /** Records the outputs of a node of the source graph (best effort: unknown stays unknown). */
  learn(n: Node, opset: number): void {
    const out = n.outputs[0];
    if (!out) return;
    const in0 = n.inputs[0] ?? '';
    const dt = (() => {
      switch (n.opType) {
        case 'Cast':
          return n.attrs.to?.kind === 'int' ? dtypeFromCode(n.attrs.to.value) : undefined;
        case 'Shape': case 'Size': case 'ArgMax': case 'ArgMin': case 'NonZero':
          return 'int64' as DType;
        case 'Equal': case 'Greater': case 'Less': case 'GreaterOrEqual': case 'LessOrEqual': case 'Not': case 'And': case 'Or': case 'Xor': case 'IsNaN': case 'IsInf':
          return 'bool' as DType;
        case 'Constant':
          return n.attrs.value?.kind === 'tensor' ? n.attrs.value.value.dtype : undefined;
        case 'ConstantOfShape':
          return n.attrs.value?.kind === 'tensor' ? n.attrs.value.value.dtype : ('float32' as DType);
        default:
          return this.dtypes.get(in0);
      }
    })();
    if (dt && !this.dtypes.has(out)) this.dtypes.set(out, dt);
    if (this.ranks.has(out)) return;
    const r0 = this.ranks.get(in0);
    const rank = ((): number | undefined => {
      switch (n.opType) {
        case 'Relu': case 'Sigmoid': case 'Tanh': case 'LeakyRelu': case 'Elu': case 'Selu': case 'Softplus': case 'Exp': case 'Log': case 'Abs': case 'Neg':
        case 'Sqrt': case 'Reciprocal': case 'Dropout': case 'Identity': case 'BatchNormalization': case 'InstanceNormalization': case 'LRN':
        case 'Softmax': case 'LogSoftmax': case 'Hardmax': case 'Conv': case 'ConvTranspose': case 'MaxPool': case 'AveragePool': case 'GlobalAveragePool':
        case 'GlobalMaxPool': case 'Clip': case 'Pad': case 'Transpose': case 'Concat': case 'Upsample': case 'Cast': case 'PRelu': case 'HardSigmoid':
          return r0;
        case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Sum': case 'Max': case 'Min': case 'Mean': {
          const rs = n.inputs.map((i) => this.ranks.get(i));
          if (rs.some((r) => r === undefined)) return undefined;
          return Math.max(...(rs as number[]));
        }
        case 'Gemm': case 'Flatten':
          return 2;
        case 'Shape':
          return 1;
        case 'Constant':
          return n.attrs.value?.kind === 'tensor' ? n.attrs.value.value.dims.length : undefined;
        case 'Reshape': {
          const s = opset < 5 ? attrInts(n, 'shape') : undefined;
          if (s) return s.length;
          return undefined;
        }
        case 'Unsqueeze':
          return r0 !== undefined && attrInts(n, 'axes') ? r0 + attrInts(n, 'axes')!.length : undefined;
        case 'Squeeze':
          return r0 !== undefined && attrInts(n, 'axes') ? r0 - attrInts(n, 'axes')!.length : undefined;
        default:
          return undefined;
      }
    })();
    if (rank !== undefined) this.ranks.set(out, rank);
  }
}

/** Emits nodes of the upgraded graph with fresh names; constants become initializers. */
class Emitter {
  readonly nodes: Node[] = [];
  private readonly taken = new Set<string>();
  private counter = 0;

  constructor(private readonly g: Graph) {
    for (const v of g.inputs) this.taken.add(v.name);
    for (const k of g.initializers.keys()) this.taken.add(k);
    for (const n of g.nodes) {
      this.taken.add(n.name);
      for (const o of n.outputs) this.taken.add(o);
    }
  }

  fresh(hint: string): string {
    let name = `upgrade/${hint}`;
    while (this.taken.has(name)) name = `upgrade/${hint}_${++this.counter}`;
    this.taken.add(name);
    return name;
  }

  constant(t: Tensor, hint: string): string {
    const name = this.fresh(hint);
    this.g.initializers.set(name, t);
    return name;
  }

  int64s(values: number[], hint: string): string {
    return this.constant(tensor('int64', [values.length], values), hint);
  }

  push(n: Node): void {
    this.nodes.push(n);
  }

  /** A new node; `outputs` given reuses names of the old graph, else fresh ones. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[]): string[] {
    const outs = outputs ?? [this.fresh(`${opType}_out`)];
    this.nodes.push({ opType, domain: '', name: this.fresh(opType), inputs, outputs: outs, attrs });
    return outs;
  }
}

function without(attrs: Record<string, Attr>, ...names: string[]): Record<string, Attr> {
  const out = { ...attrs };
  for (const n of names) delete out[n];
  return out;
}

/** Which tensors any node or graph output reads. */
function consumedNames(g: Graph): Set<string> {
  const used = new Set<string>(g.outputs.map((o) => o.name));
  for (const n of g.nodes) for (const i of n.inputs) used.add(i);
  return used;
}

const isDefaultDomain = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';

/**
 * Upgrades `source` to `target` (default 18). Returns a new model; `source` is not changed.
 * Throws UNSUPPORTED_OP for legacy forms that have no exact modern equivalent here.
 */
export function upgradeOpset(source: Model, target = TARGET_OPSET): Model {
  if (target < TARGET_OPSET) throw new Error(`upgradeOpset: target ${target} is below ${TARGET_OPSET} (the rewrites produce opset-18 forms)`);
  const from = onnxOpset(source);
  const model = cloneModel(source);
  model.irVersion = Math.max(model.irVersion, MIN_IR_VERSION);
  if (from >= target) return expandComposites(model);
  const g = model.graph;
  const withSubgraph = g.nodes.find((n) => Object.values(n.attrs).some((a) => a.kind === 'graph' || a.kind === 'graphs'));
  if (withSubgraph) unsupported(withSubgraph, `subgraphs (If/Loop/Scan) are not upgraded from opset ${from}`);
  const facts = new TypeFacts(g);
  const e = new Emitter(g);
  const used = consumedNames(g);

  for (const n of g.nodes) {
    if (!isDefaultDomain(n)) {
      e.push(n);
      continue;
    }
    upgradeNode(n, from, target, e, facts, used, g);
    facts.learn(n, from);
  }
  g.nodes = e.nodes;
  model.opsets.delete('ai.onnx');
  model.opsets.set('', target);
  return expandComposites(model);
}

/** Composite ops (training losses) become primitives the autodiff differentiates (decompose.ts). */
function expandComposites(model: Model): Model {
  // Weights stored as Constant / DequantizeLinear / Cast nodes become initializers first, so
  // parameter selection, shape facts and the safety network all see them as stored weights.
  liftConstantWeights(model);
  const facts = new TypeFacts(model.graph);
  for (const n of model.graph.nodes) facts.learn(n, TARGET_OPSET);
  return expandCompositeOps(model, (name) => facts.dtype(name));
}

function unsupported(n: Node, why: string): never {
  throw new AppError('UNSUPPORTED_OP', `${n.opType} "${n.name}": ${why}`, { ops: [n.opType] });
}

function upgradeNode(n: Node, from: number, target: number, e: Emitter, facts: TypeFacts, used: Set<string>, g: Graph): void {
  const attrs = without(n.attrs, 'consumed_inputs');
  const keep = (a: Record<string, Attr> = attrs, inputs = n.inputs, outputs = n.outputs) =>
    e.push({ ...n, inputs, outputs, attrs: a });
  const op = n.opType;

  // ---- opset < 7: legacy broadcasting (broadcast=1, optional axis)
  if (from < 7 && (LEGACY_BROADCAST_OPS.has(op) || op === 'Gemm')) {
    const a = without(attrs, 'broadcast', 'axis');
    if (op === 'Gemm' || attrInt(n, 'broadcast', 0) === 0 || n.attrs.axis === undefined) return keep(a);
    const [lhs, rhs] = n.inputs as [string, string];
    const rankA = facts.ranks.get(lhs);
    const rankB = facts.ranks.get(rhs);
    if (rankA === undefined || rankB === undefined) unsupported(n, 'legacy broadcast with axis needs the ranks of both inputs');
    let axis = attrInt(n, 'axis', 0);
    if (axis < 0) axis += rankA;
    const trailing = rankA - axis - rankB;
    if (trailing < 0) throw badModel(`${op} "${n.name}": broadcast axis ${axis} does not fit ranks ${rankA}/${rankB}`);
    if (trailing === 0) return keep(a);
    const axes = Array.from({ length: trailing }, (_, i) => rankB + i);
    const [reshaped] = e.op('Unsqueeze', [rhs, e.int64s(axes, 'axes')]);
    return keep(a, [lhs, reshaped!]);
  }

  // ---- opset < 7: PRelu's slope of size C was per channel (axis 1); numpy broadcasting needs [C, 1, ...]
  if (from < 7 && op === 'PRelu') {
    const [x, slope] = n.inputs as [string, string];
    const rankX = facts.ranks.get(x);
    const rankS = facts.ranks.get(slope);
    if (rankS !== 1 || rankX === undefined || rankX < 3) {
      if (rankS === undefined || (rankS === 1 && rankX === undefined)) unsupported(n, 'legacy per-channel slope needs the ranks of X and slope');
      return keep();
    }
    const axes = Array.from({ length: rankX - 2 }, (_, i) => i + 1);
    const [reshaped] = e.op('Unsqueeze', [slope, e.int64s(axes, 'axes')]);
    return keep(attrs, [x, reshaped!]);
  }

  switch (op) {
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax': {
      if (from >= 13) return keep();
      const x = n.inputs[0]!;
      const axis = attrInt(n, 'axis', 1);
      const rank = facts.ranks.get(x);
      const normAxis = rank !== undefined && axis < 0 ? axis + rank : axis;
      // When the coerced 2-D view's second dim is just the last axis, the opset-13 op is the same.
      if (rank !== undefined && normAxis === rank - 1) return keep({ ...attrs, axis: int(-1) });
      const [flat] = e.op('Flatten', [x], { axis: int(axis) });
      const [y] = e.op(op, [flat!], { axis: int(-1) });
      const [shape] = e.op('Shape', [x]);
      e.op('Reshape', [y!, shape!], {}, [n.outputs[0]!]);
      return;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      if (from >= 13) return keep();
      const axes = attrInts(n, 'axes');
      const a = without(attrs, 'axes');
      if (!axes) return keep(a);
      return keep(a, [n.inputs[0]!, e.int64s(axes, 'axes')]);
    }
    case 'Split': {
      const a = without(attrs, 'split');
      if (from < 13) {
        const split = attrInts(n, 'split');
        if (split) return keep(a, [n.inputs[0]!, e.int64s(split, 'split')]);
        if (n.inputs[1]) return keep(a); // opset 1 allowed split as a second input
        return keep({ ...a, num_outputs: int(n.outputs.length) }, [n.inputs[0]!]);
      }
      if (!n.inputs[1] && n.attrs.num_outputs === undefined) return keep({ ...attrs, num_outputs: int(n.outputs.length) });
      return keep();
    }
    case 'Slice': {
      if (from >= 10) return keep();
      const starts = attrInts(n, 'starts');
      const ends = attrInts(n, 'ends');
      if (!starts || !ends) throw badModel(`Slice "${n.name}": starts and ends are required`);
      const inputs = [n.inputs[0]!, e.int64s(starts, 'starts'), e.int64s(ends, 'ends')];
      const axes = attrInts(n, 'axes');
      if (axes) inputs.push(e.int64s(axes, 'axes'));
      return keep({}, inputs);
    }
    case 'Pad': {
      if (from >= 11) return keep();
      const pads = attrInts(n, 'pads') ?? attrInts(n, 'paddings');
      if (!pads) throw badModel(`Pad "${n.name}": pads are required`);
      const value = attrFloat(n, 'value', 0);
      const mode = attrString(n, 'mode', 'constant');
      const x = n.inputs[0]!;
      const inputs = [x, e.int64s(pads, 'pads')];
      if (value !== 0 && mode === 'constant') inputs.push(e.constant(tensor(facts.dtype(x), [], [value]), 'pad_value'));
      return keep({ mode: str(mode) }, inputs);
    }
    case 'Clip': {
      if (from >= 11) return keep();
      const x = n.inputs[0]!;
      const dt = facts.dtype(x);
      const min = n.attrs.min ? e.constant(tensor(dt, [], [attrFloat(n, 'min', 0)]), 'clip_min') : '';
      const max = n.attrs.max ? e.constant(tensor(dt, [], [attrFloat(n, 'max', 0)]), 'clip_max') : '';
      const inputs = max ? [x, min, max] : min ? [x, min] : [x];
      return keep({}, inputs);
    }
    case 'Dropout': {
      if (from >= 12) return keep();
      const mask = n.outputs[1];
      if (!mask || !used.has(mask)) {
        e.op('Identity', [n.inputs[0]!], {}, [n.outputs[0]!]);
        return;
      }
      const ratio = e.constant(tensor('float32', [], [attrFloat(n, 'ratio', 0.5)]), 'ratio');
      return keep({}, [n.inputs[0]!, ratio]);
    }
    case 'BatchNormalization': {
      const a = without(attrs, 'spatial', 'is_test');
      if (from < 9 && attrInt(n, 'spatial', 1) === 0) return foldPerActivationBatchNorm(n, e, g);
      // Extra outputs (running / saved statistics) exist only in training at opset 14; drop unused ones.
      const outs = [...n.outputs];
      while (outs.length > 1 && (!outs[outs.length - 1] || !used.has(outs[outs.length - 1]!))) outs.pop();
      if (outs.length > 1 && from < 14) unsupported(n, 'training-mode statistics outputs are read by the graph');
      return keep(a, n.inputs, outs);
    }
    case 'Upsample':
    case 'Resize': {
      if (op === 'Resize' && from >= 11) return keep();
      const mode = attrString(n, 'mode', 'nearest');
      const x = n.inputs[0]!;
      let scales = n.inputs[1];
      if (!scales) {
        const sa = n.attrs.scales;
        const s = sa && (sa.kind === 'floats' || sa.kind === 'ints') ? sa.value : undefined;
        if (s) scales = e.constant(tensor('float32', [s.length], s), 'scales');
        else if (n.attrs.height_scale || n.attrs.width_scale) {
          // Upsample-1: 4-D NCHW with height_scale / width_scale.
          scales = e.constant(tensor('float32', [4], [1, 1, attrFloat(n, 'height_scale', 1), attrFloat(n, 'width_scale', 1)]), 'scales');
        } else throw badModel(`${op} "${n.name}": no scales`);
      }
      const linear = mode === 'linear' || mode === 'bilinear';
      if (!linear && mode !== 'nearest') unsupported(n, `mode ${mode}`);
      const ra: Record<string, Attr> = { mode: str(linear ? 'linear' : 'nearest'), coordinate_transformation_mode: str('asymmetric') };
      if (!linear) ra.nearest_mode = str('floor');
      e.push({ opType: 'Resize', domain: '', name: n.name, inputs: [x, '', scales], outputs: n.outputs, attrs: ra });
      return;
    }
    case 'Scatter':
      e.push({ ...n, opType: 'ScatterElements', attrs });
      return;
    case 'ImageScaler': {
      // Experimental op removed at opset 10: y = scale * x + bias[c] on NCHW.
      const x = n.inputs[0]!;
      const dt = facts.dtype(x);
      const ba = n.attrs.bias;
      const bias = ba && (ba.kind === 'floats' || ba.kind === 'ints') ? ba.value : [];
      const [scaled] = e.op('Mul', [x, e.constant(tensor(dt, [], [attrFloat(n, 'scale', 1)]), 'scale')]);
      if (bias.length === 0) {
        e.op('Identity', [scaled!], {}, [n.outputs[0]!]);
        return;
      }
      e.op('Add', [scaled!, e.constant(tensor(dt, [1, bias.length, 1, 1], bias), 'bias')], {}, [n.outputs[0]!]);
      return;
    }
    case 'TopK': {
      if (from >= 10) return keep();
      const k = attrInt(n, 'k');
      if (k === undefined) throw badModel(`TopK "${n.name}": k is required`);
      return keep(without(attrs, 'k'), [n.inputs[0]!, e.int64s([k], 'k')]);
    }
    case 'Reshape': {
      if (from >= 5) return keep();
      const shape = attrInts(n, 'shape');
      if (!shape) return keep();
      return keep({}, [n.inputs[0]!, e.int64s(shape, 'shape')]);
    }
    case 'Concat':
      if (from < 4 && n.attrs.axis === undefined) return keep({ ...attrs, axis: int(1) });
      return keep();
    default:
      if (REDUCE_OPS.has(op)) {
        const asInput = op === 'ReduceSum' ? 13 : 18;
        if (from >= asInput || target < asInput) return keep();
        const axes = attrInts(n, 'axes');
        const a = without(attrs, 'axes');
        if (!axes) return keep(a);
        return keep(a, [n.inputs[0]!, e.int64s(axes, 'axes')]);
      }
      if (from < 7 && n.attrs.is_test) return keep(without(attrs, 'is_test'));
      return keep();
  }
}

/**
 * BatchNormalization with spatial=0 (opset < 9): scale, B, mean and var have the shape of one
 * example (C x D1 x ...). With constant statistics it is y = x * a + c,
 * a = scale / sqrt(var + eps), c = B - mean * a, broadcast over the batch.
 */
function foldPerActivationBatchNorm(n: Node, e: Emitter, g: Graph): void {
  const [x, scale, bias, mean, variance] = n.inputs as [string, string, string, string, string];
  const ts = [scale, bias, mean, variance].map((name) => g.initializers.get(name));
  if (ts.some((t) => !t)) unsupported(n, 'spatial=0 needs constant scale, B, mean and var');
  const [s, b, m, v] = ts.map((t) => toNumberArray(t!));
  const eps = attrFloat(n, 'epsilon', 1e-5);
  const a = s!.map((si, i) => si / Math.sqrt(v![i]! + eps));
  const c = b!.map((bi, i) => bi - m![i]! * a[i]!);
  const dims = [...ts[0]!.dims];
  const aName = e.constant(tensor(ts[0]!.dtype, dims, a), 'bn_scale');
  const cName = e.constant(tensor(ts[0]!.dtype, dims, c), 'bn_shift');
  const [scaled] = e.op('Mul', [x, aName]);
  e.op('Add', [scaled!, cName], {}, [n.outputs[0]!]);
}
