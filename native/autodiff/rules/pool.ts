/**
 * Pooling: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
 *
 * MaxPool: y = x at the argmax of each window. ORT's Indices output holds flat indices into the
 * whole input (batch and channel offsets included, padding not counted; checked with a small
 * run: x = arange gives Indices = the flat positions of the maxima). So
 *   VJP: dx = Reshape(ScatterElements(zeros[numel x], flat Indices, flat dy, reduction=add), x)
 *        (overlapping windows that pick the same element accumulate),
 *   JVP: ty = Reshape(GatherElements(flat tx, flat Indices), y).
 * When the node has no Indices output the rule adds one to it (the forward node is the same
 * MaxPool, so the argmax is the one the forward pass used).
 *
 * AveragePool: y = (sum of the window) / count(o), a linear map A. VJP = A^T dy = depthwise
 * ConvTranspose(dy / count, ones) with the pool's strides, dilations and begin pads; count(o) is computed
 * here from the static spatial dims (a product of per-axis counts: window cells inside the
 * input, or inside input + pads when count_include_pad=1). JVP = the same AveragePool on the tangent.
 * Global pools: GlobalAveragePool spreads dy / (spatial size); GlobalMaxPool sends dy to the
 * maxima (split evenly among ties).
 */
import { registerRule } from '../registry.js';
import { attrInt, attrInts, attrString } from '../../onnx/ir.js';
import { tensor } from '../../onnx/tensor.js';
import { range, staticSpatial, zerosOfShape } from '../emit.js';
import { AppError } from '../../../common/errors.js';
import type { RuleContext } from '../types.js';


const flat = (ctx: RuleContext, t: string) => ctx.b.op('Reshape', [t, ctx.b.int64s([-1], 'shape')]);

/**
 * Row-major flat indices of the node's argmax: its Indices output (added to the node when it
 * has none). With storage_order=1 (2-D only) ORT writes plane offset + w*H + h; that is
 * converted to plane offset + h*W + w with integer ops (they carry no tangent).
 */
function maxPoolIndices(ctx: RuleContext): string {
  let idx = ctx.node.outputs[1];
  if (!idx) {
    idx = ctx.b.fresh(`${ctx.node.outputs[0]}/argmax`);
    ctx.node.outputs[1] = idx;
  }
  if (attrInt(ctx.node, 'storage_order', 0) === 0) return idx;
  const sp = staticSpatial(ctx, ctx.node.inputs[0]!);
  if (sp.length !== 2) {
    throw new AppError('UNSUPPORTED_OP', `MaxPool "${ctx.node.name}": storage_order=1 is differentiable for 2-D pooling only`, { ops: ['MaxPool'] });
  }
  const [H, W] = sp as [number, number];
  const b = ctx.b;
  const k = (v: number) => b.constant(tensor('int64', [], [v]), 'int');
  const plane = b.div(idx, k(H * W));
  const r = b.sub(idx, b.mul(plane, k(H * W)));
  const w = b.div(r, k(H));
  const h = b.sub(r, b.mul(w, k(H)));
  return b.add(b.add(b.mul(plane, k(H * W)), b.mul(h, k(W))), w);
}

/**
 * Windows that never overlap (stride >= dilated kernel extent on every axis): each input cell is
 * the argmax of at most one window, so dx = MaxUnpool(dy, Indices, shape(x)), a plain scatter
 * that needs no accumulation. ONNX Runtime's CPU provider has MaxUnpool in float32 only.
 */
function unpoolable(ctx: RuleContext): boolean {
  const node = ctx.node;
  const x = node.inputs[0]!;
  if (ctx.info(x).dtype !== 'float32') return false;
  const k = attrInts(node, 'kernel_shape')!;
  const s = attrInts(node, 'strides') ?? new Array<number>(k.length).fill(1);
  const dil = attrInts(node, 'dilations') ?? new Array<number>(k.length).fill(1);
  return k.every((kk, i) => s[i]! >= dil[i]! * (kk - 1) + 1);
}

registerRule({
  ops: ['MaxPool'],
  vjp(ctx, [dy]) {
    const x = ctx.node.inputs[0]!;
    const idx = maxPoolIndices(ctx);
    if (unpoolable(ctx)) {
      // MaxUnpool checks output_shape against (out-1)s + k - pads, a bound only: the indices are
      // absolute. End pads that bring the bound down to the input size keep it satisfied.
      const k = attrInts(ctx.node, 'kernel_shape')!;
      const s = attrInts(ctx.node, 'strides') ?? new Array<number>(k.length).fill(1);
      const inSp = staticSpatial(ctx, x);
      const outSp = staticSpatial(ctx, ctx.node.outputs[0]!);
      const end = k.map((kk, i) => Math.max(0, (outSp[i]! - 1) * s[i]! + kk - inSp[i]!));
      const attrs = { kernel_shape: k, strides: s, pads: [...k.map(() => 0), ...end] };
      return [ctx.b.op('MaxUnpool', [dy!, idx, ctx.b.shape(x)], attrs)];
    }
    const zeros = zerosOfShape(ctx.b, ctx.b.shape(flat(ctx, x)), ctx.info(x).dtype);
    const scattered = ctx.b.op('ScatterElements', [zeros, flat(ctx, idx), flat(ctx, dy!)], { axis: 0, reduction: 'add' });
    return [ctx.b.op('Reshape', [scattered, ctx.b.shape(x)])];
  },
  jvp(ctx, [t]) {
    const idx = maxPoolIndices(ctx);
    const picked = ctx.b.op('GatherElements', [flat(ctx, t!), flat(ctx, idx)], { axis: 0 });
    return [ctx.b.op('Reshape', [picked, ctx.b.shape(ctx.node.outputs[0]!)]), null];
  },
});

/**
 * MaxUnpool(x, I, output_shape?): y = zeros, y.flat[I.flat[j]] = x.flat[j] (the adjoint of a
 * gather at I). VJP dx = GatherElements(flat dy, flat I) in x's shape; JVP = MaxUnpool(tx, I).
 * Indices that repeat would make the op ill-defined (the last write wins); MaxPool's Indices of
 * non-overlapping windows never repeat, which is how the MaxPool rule uses it.
 */
registerRule({
  ops: ['MaxUnpool'],
  vjp(ctx, [dy]) {
    const [x, idx] = ctx.node.inputs as [string, string];
    const picked = ctx.b.op('GatherElements', [flat(ctx, dy!), flat(ctx, idx)], { axis: 0 });
    return [ctx.b.op('Reshape', [picked, ctx.b.shape(x)]), null, null];
  },
  jvp(ctx, [t]) {
    return [ctx.b.op('MaxUnpool', [t!, ...ctx.node.inputs.slice(1)], ctx.node.attrs)];
  },
});

/** Per-axis window geometry of AveragePool and the count of cells each output averages. */
function avgPoolCounts(ctx: RuleContext): { k: number[]; s: number[]; dil: number[]; pB: number[]; inSp: number[]; outSp: number[]; counts: number[] } {
  const x = ctx.node.inputs[0]!;
  const inSp = staticSpatial(ctx, x);
  const outSp = staticSpatial(ctx, ctx.node.outputs[0]!);
  const nd = inSp.length;
  const k = attrInts(ctx.node, 'kernel_shape')!;
  const s = attrInts(ctx.node, 'strides') ?? new Array<number>(nd).fill(1);
  const dil = attrInts(ctx.node, 'dilations') ?? new Array<number>(nd).fill(1);
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  const pads = attrInts(ctx.node, 'pads') ?? new Array<number>(2 * nd).fill(0);
  let pB = pads.slice(0, nd);
  let pE = pads.slice(nd);
  if (autoPad === 'VALID') {
    pB = new Array<number>(nd).fill(0);
    pE = new Array<number>(nd).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = range(nd).map((i) => Math.max(0, (outSp[i]! - 1) * s[i]! + dil[i]! * (k[i]! - 1) + 1 - inSp[i]!));
    pB = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
    pE = total.map((t, i) => t - pB[i]!);
  }
  const includePad = attrInt(ctx.node, 'count_include_pad', 0) === 1;
  // count(o) = prod_i c_i(o_i); c_i = #{j < k : start + j*d in [0, in)}, or in [-pB, in+pE) with pads.
  const perAxis = range(nd).map((i) =>
    range(outSp[i]!).map((o) => {
      const start = o * s[i]! - pB[i]!;
      const lo = includePad ? -pB[i]! : 0;
      const hi = includePad ? inSp[i]! + pE[i]! : inSp[i]!;
      return range(k[i]!).filter((j) => start + j * dil[i]! >= lo && start + j * dil[i]! < hi).length;
    }),
  );
  const counts: number[] = [];
  const total = outSp.reduce((a, b) => a * b, 1);
  for (let flatIdx = 0; flatIdx < total; flatIdx++) {
    let rem = flatIdx;
    let c = 1;
    for (let i = nd - 1; i >= 0; i--) {
      c *= perAxis[i]![rem % outSp[i]!]!;
      rem = Math.floor(rem / outSp[i]!);
    }
    counts.push(c);
  }
  return { k, s, dil, pB, inSp, outSp, counts };
}

registerRule({
  ops: ['AveragePool'],
  vjp(ctx, [dy]) {
    const x = ctx.node.inputs[0]!;
    const { dtype, dims } = ctx.info(x);
    const C = dims[1];
    if (C === null || C === undefined) throw new AppError('UNSUPPORTED_OP', `AveragePool "${ctx.node.name}": channel count must be static`, { ops: [ctx.node.opType] });
    const { k, s, dil, pB, inSp, outSp, counts } = avgPoolCounts(ctx);
    const nd = k.length;
    const inv = ctx.b.constant(tensor(dtype, [1, 1, ...outSp], counts.map((c) => 1 / c)), 'inv_count');
    const ones = ctx.b.constant(tensor(dtype, [C, 1, ...k], new Array<number>(C * k.reduce((a, b) => a * b, 1)).fill(1)), 'ones');
    // ConvTranspose length: s(out-1) + d(k-1) + 1 - pB - pE'; choose pE' >= 0 and zero-pad what remains.
    const need = range(nd).map((i) => s[i]! * (outSp[i]! - 1) + dil[i]! * (k[i]! - 1) + 1 - pB[i]! - inSp[i]!);
    const spread = ctx.b.op('ConvTranspose', [ctx.b.mul(dy!, inv), ones], {
      group: C,
      strides: s,
      dilations: dil,
      kernel_shape: k,
      pads: [...pB, ...need.map((v) => Math.max(0, v))],
    });
    if (need.every((v) => v >= 0)) return [spread];
    const tail = need.map((v) => Math.max(0, -v));
    return [ctx.b.op('Pad', [spread, ctx.b.int64s([0, 0, ...new Array<number>(nd).fill(0), 0, 0, ...tail], 'pads')])];
  },
  jvp: (ctx, [t]) => [ctx.b.op('AveragePool', [t!], ctx.node.attrs)],
});

registerRule({
  ops: ['GlobalAveragePool'],
  vjp(ctx, [dy]) {
    const x = ctx.node.inputs[0]!;
    const n = staticSpatial(ctx, x).reduce((a, b) => a * b, 1);
    const scaled = ctx.b.mul(dy!, ctx.b.scalar(1 / n, ctx.info(x).dtype));
    return [ctx.b.op('Expand', [scaled, ctx.b.shape(x)])];
  },
  jvp: (ctx, [t]) => [ctx.b.op('GlobalAveragePool', [t!])],
});

/** mask = (x == y) as x's dtype, and the number of maxima per (n, c). */
function globalMaxMask(ctx: RuleContext): { mask: string; count: string; axes: number[] } {
  const x = ctx.node.inputs[0]!;
  const axes = range(ctx.info(x).dims.length - 2, 2);
  const mask = ctx.b.cast(ctx.b.op('Equal', [x, ctx.node.outputs[0]!]), ctx.info(x).dtype);
  return { mask, count: ctx.b.reduceSum(mask, axes, true), axes };
}

registerRule({
  ops: ['GlobalMaxPool'],
  vjp(ctx, [dy]) {
    const { mask, count } = globalMaxMask(ctx);
    return [ctx.b.mul(mask, ctx.b.div(dy!, count))];
  },
  jvp(ctx, [t]) {
    const { mask, count, axes } = globalMaxMask(ctx);
    return [ctx.b.div(ctx.b.reduceSum(ctx.b.mul(t!, mask), axes, true), count)];
  },
});
