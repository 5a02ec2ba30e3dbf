/**
 * The opset-upgrade adapters, one per op (or op family), each rewriting one node into its
 * opset-18 form (upgrade.ts has the table of what changed when). An op without an adapter did
 * not change and is copied. Registered like the autodiff's rules (native/autodiff/registry.ts).
 */
import { int, str, attrFloat, attrInt, attrInts, attrString, type Attr } from './ir.js';
import { tensor, toNumberArray } from './tensor.js';
import { badModel } from '../../common/errors.js';
import { unsupported, without, type UpgradeContext } from './upgrade-context.js';

export type UpgradeAdapter = (c: UpgradeContext) => void;

const adapters = new Map<string, UpgradeAdapter>();

export function registerUpgrade(ops: readonly string[], adapter: UpgradeAdapter): void {
  for (const op of ops) {
    if (adapters.has(op)) throw new Error(`upgrade: adapter for ${op} registered twice`);
    adapters.set(op, adapter);
  }
}

export function upgradeAdapterFor(opType: string): UpgradeAdapter | undefined {
  return adapters.get(opType);
}

/** The ops with an adapter (the rest are copied as they are). */
export function upgradedOps(): string[] {
  return [...adapters.keys()].sort();
}

const REDUCE_OPS = [
  'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2',
  'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
];
const LEGACY_BROADCAST_OPS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less'];

// opset < 7: legacy broadcasting (broadcast=1, optional axis: B aligned at `axis`, not at the end).
registerUpgrade([...LEGACY_BROADCAST_OPS, 'Gemm'], ({ n, from, attrs, facts, e, keep }) => {
  if (from >= 7) return keep();
  const op = n.opType;
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
});

// opset < 7: PRelu's slope of size C was per channel (axis 1); numpy broadcasting needs [C, 1, ...].
registerUpgrade(['PRelu'], ({ n, from, attrs, facts, e, keep }) => {
  if (from >= 7) return keep();
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
});

// < 13: the op coerced its input to 2-D at `axis` and normalized over the second dim.
registerUpgrade(['Softmax', 'LogSoftmax', 'Hardmax'], ({ n, from, attrs, facts, e, keep }) => {
  if (from >= 13) return keep();
  const x = n.inputs[0]!;
  const axis = attrInt(n, 'axis', 1);
  const rank = facts.ranks.get(x);
  const normAxis = rank !== undefined && axis < 0 ? axis + rank : axis;
  // When the coerced 2-D view's second dim is just the last axis, the opset-13 op is the same.
  if (rank !== undefined && normAxis === rank - 1) return keep({ ...attrs, axis: int(-1) });
  const [flat] = e.op('Flatten', [x], { axis: int(axis) });
  const [y] = e.op(n.opType, [flat!], { axis: int(-1) });
  const [shape] = e.op('Shape', [x]);
  e.op('Reshape', [y!, shape!], {}, [n.outputs[0]!]);
});

// < 13: `axes` attribute -> input.
registerUpgrade(['Squeeze', 'Unsqueeze'], ({ n, from, attrs, e, keep }) => {
  if (from >= 13) return keep();
  const axes = attrInts(n, 'axes');
  const a = without(attrs, 'axes');
  if (!axes) return keep(a);
  return keep(a, [n.inputs[0]!, e.int64s(axes, 'axes')]);
});

// < 13: `split` attribute -> input, none -> num_outputs; 13..17 without a split input: num_outputs.
registerUpgrade(['Split'], ({ n, from, attrs, e, keep }) => {
  const a = without(attrs, 'split');
  if (from < 13) {
    const split = attrInts(n, 'split');
    if (split) return keep(a, [n.inputs[0]!, e.int64s(split, 'split')]);
    if (n.inputs[1]) return keep(a); // opset 1 allowed split as a second input
    return keep({ ...a, num_outputs: int(n.outputs.length) }, [n.inputs[0]!]);
  }
  if (!n.inputs[1] && n.attrs.num_outputs === undefined) return keep({ ...attrs, num_outputs: int(n.outputs.length) });
  return keep();
});

// < 10: starts / ends / axes attributes -> inputs.
registerUpgrade(['Slice'], ({ n, from, e, keep }) => {
  if (from >= 10) return keep();
  const starts = attrInts(n, 'starts');
  const ends = attrInts(n, 'ends');
  if (!starts || !ends) throw badModel(`Slice "${n.name}": starts and ends are required`);
  const inputs = [n.inputs[0]!, e.int64s(starts, 'starts'), e.int64s(ends, 'ends')];
  const axes = attrInts(n, 'axes');
  if (axes) inputs.push(e.int64s(axes, 'axes'));
  return keep({}, inputs);
});

// < 11: pads (`paddings` at opset 1) / value attributes -> inputs.
registerUpgrade(['Pad'], ({ n, from, facts, e, keep }) => {
  if (from >= 11) return keep();
  const pads = attrInts(n, 'pads') ?? attrInts(n, 'paddings');
  if (!pads) throw badModel(`Pad "${n.name}": pads are required`);
  const value = attrFloat(n, 'value', 0);
  const mode = attrString(n, 'mode', 'constant');
  const x = n.inputs[0]!;
  const inputs = [x, e.int64s(pads, 'pads')];
  if (value !== 0 && mode === 'constant') inputs.push(e.constant(tensor(facts.dtype(x), [], [value]), 'pad_value'));
  return keep({ mode: str(mode) }, inputs);
});

// < 11: min / max attributes -> scalar inputs.
registerUpgrade(['Clip'], ({ n, from, facts, e, keep }) => {
  if (from >= 11) return keep();
  const x = n.inputs[0]!;
  const dt = facts.dtype(x);
  const min = n.attrs.min ? e.constant(tensor(dt, [], [attrFloat(n, 'min', 0)]), 'clip_min') : '';
  const max = n.attrs.max ? e.constant(tensor(dt, [], [attrFloat(n, 'max', 0)]), 'clip_max') : '';
  const inputs = max ? [x, min, max] : min ? [x, min] : [x];
  return keep({}, inputs);
});

// < 12: inference Identity; with its mask read, Dropout 12 with a ratio input.
registerUpgrade(['Dropout'], ({ n, from, used, e, keep }) => {
  if (from >= 12) return keep();
  const mask = n.outputs[1];
  if (!mask || !used.has(mask)) {
    e.op('Identity', [n.inputs[0]!], {}, [n.outputs[0]!]);
    return;
  }
  const ratio = e.constant(tensor('float32', [], [attrFloat(n, 'ratio', 0.5)]), 'ratio');
  return keep({}, [n.inputs[0]!, ratio]);
});

// < 9 / < 14: spatial, is_test dropped; unused training outputs dropped; spatial=0 folded.
registerUpgrade(['BatchNormalization'], (c) => {
  const { n, from, attrs, used, keep } = c;
  const a = without(attrs, 'spatial', 'is_test');
  if (from < 9 && attrInt(n, 'spatial', 1) === 0) return foldPerActivationBatchNorm(c);
  // Extra outputs (running / saved statistics) exist only in training at opset 14; drop unused ones.
  const outs = [...n.outputs];
  while (outs.length > 1 && (!outs[outs.length - 1] || !used.has(outs[outs.length - 1]!))) outs.pop();
  if (outs.length > 1 && from < 14) unsupported(n, 'training-mode statistics outputs are read by the graph');
  return keep(a, n.inputs, outs);
});

// Upsample (7..9), Resize 10: Resize with the old index rule x_in = x_out / scale.
registerUpgrade(['Upsample', 'Resize'], ({ n, from, e, keep }) => {
  const op = n.opType;
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
});

// Scatter (9..10): ScatterElements, same semantics, renamed at 11.
registerUpgrade(['Scatter'], ({ n, attrs, e }) => {
  e.push({ ...n, opType: 'ScatterElements', attrs });
});

// Experimental op removed at opset 10: y = scale * x + bias[c] on NCHW.
registerUpgrade(['ImageScaler'], ({ n, facts, e }) => {
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
});

// < 10: k attribute -> input.
registerUpgrade(['TopK'], ({ n, from, attrs, e, keep }) => {
  if (from >= 10) return keep();
  const k = attrInt(n, 'k');
  if (k === undefined) throw badModel(`TopK "${n.name}": k is required`);
  return keep(without(attrs, 'k'), [n.inputs[0]!, e.int64s([k], 'k')]);
});

// < 5: shape attribute -> input.
registerUpgrade(['Reshape'], ({ n, from, e, keep }) => {
  if (from >= 5) return keep();
  const shape = attrInts(n, 'shape');
  if (!shape) return keep();
  return keep({}, [n.inputs[0]!, e.int64s(shape, 'shape')]);
});

// < 4: axis defaulted to 1.
registerUpgrade(['Concat'], ({ n, from, attrs, keep }) => {
  if (from < 4 && n.attrs.axis === undefined) return keep({ ...attrs, axis: int(1) });
  return keep();
});

// ReduceSum < 13, the other Reduce* < 18: `axes` attribute -> int64 input.
registerUpgrade(REDUCE_OPS, ({ n, from, target, attrs, e, keep }) => {
  const asInput = n.opType === 'ReduceSum' ? 13 : 18;
  if (from >= asInput || target < asInput) return keep();
  const axes = attrInts(n, 'axes');
  const a = without(attrs, 'axes');
  if (!axes) return keep(a);
  return keep(a, [n.inputs[0]!, e.int64s(axes, 'axes')]);
});

/**
 * BatchNormalization with spatial=0 (opset < 9): scale, B, mean and var have the shape of one
 * example (C x D1 x ...). With constant statistics it is y = x * a + c,
 * a = scale / sqrt(var + eps), c = B - mean * a, broadcast over the batch.
 */
function foldPerActivationBatchNorm({ n, e, g }: UpgradeContext): void {
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
