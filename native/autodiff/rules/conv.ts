/**
 * Conv and ConvTranspose (any number of spatial dims, groups incl. depthwise, strides, pads,
 * auto_pad, dilations, optional bias). Spatial dims must be static; N may follow the batch.
 *
 * Conv:  Y[n,m,o] = sum_{c,k} W[m,c,k] X[n, G(m)*Cg + c, o*s + k*d - pB]  (+ B[m])
 *  - dX = ConvTranspose(dY, W) with the same strides/dilations/pads/group, and
 *    output_padding = in - (s(out-1) + d(k-1) + 1 - pB - pE) so that dX has X's shape exactly.
 *  - dW[m,c,k] = sum_{n,o} dY[n,m,o] X[n, G(m)Cg+c, o*s + k*d - pB]: a Conv over the batch axis
 *    (batch and channel axes swapped with Transpose; stride and dilation swap roles), grouped
 *    so each group only meets its own channels (see correlate()).
 *  - dB = ReduceSum(dY) over every axis but 1.
 * ConvTranspose is the adjoint of Conv in its input: Y[n, G*Coutg+co, i*s + k*d - pB] += X[n,ci,i] W[ci,co,k]
 *  - dX = Conv(dY, W) (same strides/dilations/group, pads chosen so the result has X's shape),
 *  - dW = correlate(dY, X), dB as for Conv.
 * JVP (both are bilinear): op(tX, W) + op(X, tW, tB).
 * (Formulas as in TF.js conv2d_grad / conv2d_transpose, JAX's conv transpose rules.)
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { attrInt, attrInts, attrString } from '../../onnx/ir.js';
import { range, staticSpatial, sumTerms } from '../emit.js';
import type { RuleContext } from '../types.js';

/**
 * Input channels from which the weight gradient is one GEMM per kernel tap; below, the taps
 * are stacked into one patch matrix first (per-tap GEMMs with 1-16 columns are too narrow).
 * Stacking at 32 and 64 channels measured slower on the wider CNN (the copy costs more than
 * the wider GEMM saves).
 */
const WIDE_CHANNELS = 32;

/**
 * Input channels from which dX is a forward Conv with the flipped kernel rather than a
 * ConvTranspose. Measured on the small CNN (16 -> 32 channels): its dX kernel 0.84 -> 0.57 ms
 * (single thread, batch 256); cnn_mnist_pytorch's 10-channel conv stays a ConvTranspose.
 */
const FLIP_CHANNELS = 16;

interface Geometry {
  /** Spatial rank. */
  nd: number;
  group: number;
  k: number[];
  s: number[];
  d: number[];
  /** Begin padding (the shift between input and output grids). */
  pB: number[];
  /** Spatial dims of the node's data input and output. */
  inSp: number[];
  outSp: number[];
}


function geometry(ctx: RuleContext): Geometry {
  const [x, w] = ctx.node.inputs as [string, string];
  const y = ctx.node.outputs[0]!;
  const inSp = staticSpatial(ctx, x);
  const outSp = staticSpatial(ctx, y);
  const nd = inSp.length;
  const wDims = ctx.info(w).dims.slice(2);
  const k = attrInts(ctx.node, 'kernel_shape') ?? (wDims as number[]);
  if (k.some((v) => v === null)) throw new AppError('UNSUPPORTED_OP', `${ctx.node.opType}: kernel shape unknown`, { ops: [ctx.node.opType] });
  const s = attrInts(ctx.node, 'strides') ?? new Array<number>(nd).fill(1);
  const d = attrInts(ctx.node, 'dilations') ?? new Array<number>(nd).fill(1);
  const group = attrInt(ctx.node, 'group', 1);
  const autoPad = attrString(ctx.node, 'auto_pad', 'NOTSET');
  const pads = attrInts(ctx.node, 'pads') ?? new Array<number>(2 * nd).fill(0);
  let pB: number[];
  if (ctx.node.opType === 'Conv') {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      pB = range(nd).map((i) => {
        const total = Math.max(0, (outSp[i]! - 1) * s[i]! + d[i]! * (k[i]! - 1) + 1 - inSp[i]!);
        return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
      });
    } else if (autoPad === 'VALID') {
      pB = new Array<number>(nd).fill(0);
    } else {
      pB = pads.slice(0, nd);
    }
  } else {
    // ConvTranspose: out = s(in-1) + op + d(k-1) + 1 - pB - pE.
    const op = attrInts(ctx.node, 'output_padding') ?? new Array<number>(nd).fill(0);
    const hasShape = (attrInts(ctx.node, 'output_shape') ?? []).length > 0;
    if (autoPad === 'VALID') {
      pB = new Array<number>(nd).fill(0);
    } else if (hasShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      // ONNX spec: total = s(in-1) + op + d(k-1) + 1 - out; SAME_UPPER puts the smaller half first.
      pB = range(nd).map((i) => {
        const total = s[i]! * (inSp[i]! - 1) + op[i]! + d[i]! * (k[i]! - 1) + 1 - outSp[i]!;
        return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
      });
    } else {
      pB = pads.slice(0, nd);
    }
  }
  return { nd, group, k, s, d, pB, inSp, outSp };
}

/**
 * Crops the spatial axes to `want` (static sizes) with a negative end Pad: Pad's rules are in
 * this family, so the HVP needs no Slice.
 */
function cropSpatial(ctx: RuleContext, t: string, have: number[], want: number[]): string {
  if (have.every((h, i) => h <= want[i]!)) return t;
  const nd = have.length;
  const ends = have.map((h, i) => Math.min(0, want[i]! - h));
  const pads = [0, 0, ...new Array<number>(nd).fill(0), 0, 0, ...ends];
  return ctx.b.op('Pad', [t, ctx.b.int64s(pads, 'pads')]);
}

/**
 * End pads for a Conv that must produce a given length: `need` is the exact end pad per axis
 * (computed by the caller). A negative need cannot be a pad: it becomes 0, the Conv then
 * produces a longer result, and the caller crops it to size (cropSpatial). Returns the pads
 * and the lengths the Conv will produce (`produced(axis, pE)`).
 */
function endPads(need: number[], produced: (i: number, pE: number) => number): { pE: number[]; got: number[] } {
  const pE = need.map((v) => Math.max(0, v));
  return { pE, got: pE.map((p, i) => produced(i, p)) };
}

/**
 * R[G*Qg+q, p, kk] = sum_{n,j} Q[n, G*Qg+q, j] * P[n, G*Pg+p, j*s + kk*d - pB],  kk in [0, k).
 * P: [N, g*Pg, Lp...], Q: [N, g*Qg, Lq...]; result [g*Qg, Pg, k...]. One grouped Conv whose
 * batch is P's per-group channel and whose channels are (group, n) pairs.
 */
function correlate(ctx: RuleContext, P: string, Q: string, geo: Geometry, Pg: number, Lp: number[], Lq: number[]): string {
  const { nd, group: g, k, s, d, pB } = geo;
  const sp = range(nd, 2);
  const b = ctx.b;
  let Pp: string;
  if (g === 1) {
    Pp = b.op('Transpose', [P], { perm: [1, 0, ...sp] });
  } else {
    const split = b.op('Reshape', [P, b.int64s([0, g, Pg, ...Lp], 'shape')]);
    const moved = b.op('Transpose', [split], { perm: [2, 1, 0, ...sp.map((a) => a + 1)] });
    Pp = b.op('Reshape', [moved, b.int64s([Pg, -1, ...Lp], 'shape')]);
  }
  const Qp = b.op('Transpose', [Q], { perm: [1, 0, ...sp] });
  // Output length along an axis with end pad pE: floor((Lp + pB + pE - s(Lq-1) - 1)/d) + 1.
  const need = range(nd).map((i) => s[i]! * (Lq[i]! - 1) + d[i]! * (k[i]! - 1) + 1 - Lp[i]! - pB[i]!);
  const { pE, got } = endPads(need, (i, p) => Math.floor((Lp[i]! + pB[i]! + p - s[i]! * (Lq[i]! - 1) - 1) / d[i]!) + 1);
  const conv = b.op('Conv', [Pp, Qp], { group: g, strides: d, dilations: s, pads: [...pB, ...pE] });
  const r = b.op('Transpose', [conv], { perm: [1, 0, ...sp] });
  return cropSpatial(ctx, r, got, k);
}

/**
 * dW of an ungrouped Conv as GEMMs over batch x output positions (im2col, as PyTorch and TF.js
 * do on CPU):
 *   dW[m, c, kk] = sum_{n,o} dY[n, m, o] X[n, c, o*s + kk*d - pB]
 *               = Gemm(dY as [M, N*O], S_kk as [C, N*O], transB=1),
 * where S_kk is a strided Slice of X, transposed once to [C, N, in...] and zero-padded by the
 * forward's pads, so each slice is already in GEMM layout. With few input channels the taps
 * are stacked into one patch matrix [C*K, N*O] (Concat) and contracted by one GEMM; from
 * WIDE_CHANNELS on, one GEMM per tap is wide enough and skips the copy. correlate() instead
 * runs C narrow convolutions whose outputs are only the K kernel taps.
 */
function weightGradGemm(ctx: RuleContext, x: string, dy: string, geo: Geometry, C: number, M: number): string {
  const { nd, k, s, d, pB, inSp, outSp } = geo;
  const b = ctx.b;
  const sp = range(nd, 2);
  const xt = b.op('Transpose', [x], { perm: [1, 0, ...sp] });
  // Padded length needed by the last tap: d(k-1) + s(out-1) + 1 = pB + in + pE.
  const pE = range(nd).map((i) => Math.max(0, d[i]! * (k[i]! - 1) + s[i]! * (outSp[i]! - 1) + 1 - pB[i]! - inSp[i]!));
  const padded = [...pB, ...pE].some((v) => v > 0) ? b.op('Pad', [xt, b.int64s([0, 0, ...pB, 0, 0, ...pE], 'pads')]) : xt;
  const dyMat = b.op('Reshape', [b.op('Transpose', [dy], { perm: [1, 0, ...sp] }), b.int64s([M, -1], 'shape')]);
  const K = k.reduce((acc, v) => acc * v, 1);
  const slices: string[] = [];
  for (let t = 0; t < K; t++) {
    // Row-major tap index -> per-axis offsets.
    const offs: number[] = new Array<number>(nd);
    for (let i = nd - 1, r = t; i >= 0; i--) {
      offs[i] = r % k[i]!;
      r = Math.floor(r / k[i]!);
    }
    const starts = offs.map((o, i) => o * d[i]!);
    const ends = starts.map((st, i) => st + s[i]! * (outSp[i]! - 1) + 1);
    slices.push(b.op('Slice', [padded, b.int64s(starts, 'starts'), b.int64s(ends, 'ends'), b.int64s(sp, 'axes'), b.int64s(s, 'steps')]));
  }
  if (C < WIDE_CHANNELS && K > 1) {
    // [C, N, out...] per tap -> [C, K, N, out...] -> [C*K, N*O]: rows in W's (c, kk) order.
    const patches = b.op('Concat', slices.map((sl) => b.unsqueeze(sl, [1])), { axis: 1 });
    const pMat = b.op('Reshape', [patches, b.int64s([C * K, -1], 'shape')]);
    return b.op('Reshape', [b.op('Gemm', [dyMat, pMat], { transB: 1 }), b.int64s([M, C, ...k], 'shape')]);
  }
  const taps = slices.map((sl) => b.unsqueeze(b.op('Gemm', [dyMat, b.op('Reshape', [sl, b.int64s([C, -1], 'shape')])], { transB: 1 }), [2]));
  const stacked = taps.length === 1 ? taps[0]! : b.op('Concat', taps, { axis: 2 });
  return b.op('Reshape', [stacked, b.int64s([M, C, ...k], 'shape')]);
}

/**
 * dX of an ungrouped stride-1 Conv as a Conv of dY with the kernel transposed over its channel
 * axes and flipped spatially: with i = o + k*d - pB and k' = K-1-k,
 *   dX[n, c, i] = sum_{m,k'} dY[n, m, i - ((K-1)d - pB) + k'd] W[m, c, K-1-k'],
 * so begin pads (K-1)d - pB and end pads in - out + pB (both must be >= 0). The same arithmetic
 * ConvTranspose does, but a forward Conv is what ONNX Runtime's NCHWc kernels run fastest;
 * the flip of a baked weight folds to a constant. Null where the form does not apply.
 */
function flippedConvInputGrad(ctx: RuleContext, dy: string, w: string, geo: Geometry): string | null {
  const { nd, group, k, s, d, pB, inSp, outSp } = geo;
  const C = ctx.info(ctx.node.inputs[0]!).dims[1];
  if (group !== 1 || typeof C !== 'number' || C < FLIP_CHANNELS || s.some((v) => v !== 1)) return null;
  const begin = range(nd).map((i) => (k[i]! - 1) * d[i]! - pB[i]!);
  const end = range(nd).map((i) => inSp[i]! - outSp[i]! + pB[i]!);
  if ([...begin, ...end].some((v) => v < 0)) return null;
  const b = ctx.b;
  const sp = range(nd, 2);
  const swapped = b.op('Transpose', [w], { perm: [1, 0, ...sp] });
  const flipped = b.op('Slice', [swapped, b.int64s(sp.map(() => -1), 'starts'), b.int64s(sp.map(() => -(2 ** 53)), 'ends'), b.int64s(sp, 'axes'), b.int64s(sp.map(() => -1), 'steps')]);
  return b.op('Conv', [dy, flipped], { kernel_shape: k, dilations: d, pads: [...begin, ...end] });
}

function biasGrad(ctx: RuleContext, dy: string, nd: number): string {
  return ctx.b.reduceSum(dy, [0, ...range(nd, 2)], false);
}

/** Same op (all attributes) on other operands: the bilinear JVP. */
function bilinearJvp(ctx: RuleContext, [tx, tw, tb]: (string | null)[]): (string | null)[] {
  const [x, w] = ctx.node.inputs as [string, string];
  const attrs = ctx.node.attrs;
  const op = ctx.node.opType;
  const terms: (string | null)[] = [];
  if (tx) terms.push(ctx.b.op(op, [tx, w], attrs));
  if (tw) terms.push(ctx.b.op(op, tb ? [x, tw, tb] : [x, tw], attrs));
  if (tb && !tw) {
    const nd = ctx.info(x).dims.length - 2;
    const col = ctx.b.op('Reshape', [tb, ctx.b.int64s([-1, ...new Array<number>(nd).fill(1)], 'shape')]);
    terms.push(terms.length > 0 ? col : ctx.b.op('Expand', [col, ctx.b.shape(ctx.node.outputs[0]!)]));
  }
  return [sumTerms(ctx.b, terms)];
}

registerRule({
  ops: ['Conv'],
  vjp(ctx, [dy]) {
    const [x, w, bias] = ctx.node.inputs as [string, string, string | undefined];
    const geo = geometry(ctx);
    const { nd, k, s, d, pB, inSp, outSp, group } = geo;
    // pE of the forward conv, as the runtime applied it: any value in [pE_min, pE_min + s) gives `out`.
    const pEmin = range(nd).map((i) => s[i]! * (outSp[i]! - 1) + d[i]! * (k[i]! - 1) + 1 - inSp[i]! - pB[i]!);
    const dx = flippedConvInputGrad(ctx, dy!, w, geo) ?? ctx.b.op('ConvTranspose', [dy!, w], {
      group,
      strides: s,
      dilations: d,
      kernel_shape: k,
      pads: [...pB, ...pEmin.map((v) => Math.max(0, v))],
      // in = s(out-1) + d(k-1) + 1 - pB - pE + op
      output_padding: pEmin.map((v) => Math.max(0, v) - v),
    });
    const C = ctx.info(x).dims[1];
    if (C === null || C === undefined) throw new AppError('UNSUPPORTED_OP', `Conv "${ctx.node.name}": channel count must be static`, { ops: [ctx.node.opType] });
    const M = ctx.info(w).dims[0]!;
    const dw = group === 1 ? weightGradGemm(ctx, x, dy!, geo, C, M) : correlate(ctx, x, dy!, geo, C / group, inSp, outSp);
    return [dx, dw, bias ? biasGrad(ctx, dy!, nd) : null];
  },
  jvp: bilinearJvp,
});

registerRule({
  ops: ['ConvTranspose'],
  vjp(ctx, [dy]) {
    const [, w, bias] = ctx.node.inputs as [string, string, string | undefined];
    const x = ctx.node.inputs[0]!;
    const geo = geometry(ctx);
    const { nd, k, s, d, pB, inSp, outSp, group } = geo;
    // dX = Conv(dY, W): output length floor((out + pB + pE - d(k-1) - 1)/s) + 1 must be `in`.
    const need = range(nd).map((i) => s[i]! * (inSp[i]! - 1) + d[i]! * (k[i]! - 1) + 1 - outSp[i]! - pB[i]!);
    const { pE, got } = endPads(need, (i, p) => Math.floor((outSp[i]! + pB[i]! + p - d[i]! * (k[i]! - 1) - 1) / s[i]!) + 1);
    const conv = ctx.b.op('Conv', [dy!, w], { group, strides: s, dilations: d, kernel_shape: k, pads: [...pB, ...pE] });
    const dx = cropSpatial(ctx, conv, got, inSp);
    const Cout = ctx.info(ctx.node.outputs[0]!).dims[1];
    if (Cout === null || Cout === undefined) throw new AppError('UNSUPPORTED_OP', `ConvTranspose "${ctx.node.name}": channel count must be static`, { ops: [ctx.node.opType] });
    const dw = correlate(ctx, dy!, x, geo, Cout / group, outSp, inSp);
    return [dx, dw, bias ? biasGrad(ctx, dy!, nd) : null];
  },
  jvp: bilinearJvp,
});
