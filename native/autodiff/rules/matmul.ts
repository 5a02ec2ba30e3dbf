/**
 * MatMul (numpy semantics: 2-D, batched N-D with broadcast batch dims, 1-D operands on either
 * side). With A1, B1 the operands promoted to rank >= 2 ([K] -> [1,K] on the left, [K,1] on the
 * right) and dY1 the cotangent with the dropped axes restored:
 *   dA1 = dY1 . B1^T,   dB1 = A1^T . dY1      (then summed over broadcast batch axes)
 * JVP (bilinear): dY = tA . B + A . tB.
 */
import { registerRule } from '../registry.js';
import { sumTerms } from '../emit.js';
import type { RuleContext } from '../types.js';

type Dims = (number | null)[];

/** Transpose of the last two axes of a tensor of rank `rank`. */
export function swapLast2(ctx: RuleContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return ctx.b.op('Transpose', [x], { perm });
}

/** Static Reshape target: 0 copies the input dim at the same index, -1 infers one dim. */
function reshapeConst(ctx: RuleContext, x: string, target: number[]): string {
  return ctx.b.op('Reshape', [x, ctx.b.int64s(target, 'shape')]);
}

/**
 * Sums a full-rank operand gradient g (batchOut + [r, c]) down to the operand's own shape
 * `dims` (rank >= 2): leading batch axes it lacks, and batch axes where it has 1 and the
 * broadcast result does not.
 */
function reduceBatch(ctx: RuleContext, g: string, operand: string, dims: Dims, batchOut: Dims): string {
  const fullRank = batchOut.length + 2;
  const lead = fullRank - dims.length;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  for (let i = 0; i < dims.length - 2; i++) {
    if (dims[i] === 1 && batchOut[i + lead] !== 1) axes.push(i + lead);
  }
  if (axes.length === 0) return g;
  const summed = ctx.b.reduceSum(g, axes, true);
  return lead === 0 ? summed : ctx.b.op('Reshape', [summed, ctx.b.shape(operand)]);
}

/** Broadcast of the batch dims of two operands (null = follows the batch, never 1). */
function broadcastBatch(a: Dims, c: Dims): Dims {
  const n = Math.max(a.length, c.length);
  const out: Dims = [];
  for (let i = 0; i < n; i++) {
    // Missing leading dims count as 1; null (follows the batch) must stay null.
    const ia = a.length - n + i;
    const ic = c.length - n + i;
    const x = ia >= 0 ? a[ia]! : 1;
    const y = ic >= 0 ? c[ic]! : 1;
    out.push(x === 1 ? y : y === 1 ? x : x === null ? y : x);
  }
  return out;
}

registerRule({
  ops: ['MatMul'],
  vjp(ctx, [dy]) {
    const [a, c] = ctx.node.inputs as [string, string];
    const aDims = ctx.info(a).dims;
    const cDims = ctx.info(c).dims;
    const yDims = ctx.info(ctx.node.outputs[0]!).dims;
    const a1d = aDims.length === 1;
    const c1d = cDims.length === 1;
    const a1 = a1d ? reshapeConst(ctx, a, [1, -1]) : a;
    const c1 = c1d ? reshapeConst(ctx, c, [-1, 1]) : c;
    const a1Dims = a1d ? [1, aDims[0]!] : aDims;
    const c1Dims = c1d ? [cDims[0]!, 1] : cDims;
    const batchOut = broadcastBatch(a1Dims.slice(0, -2), c1Dims.slice(0, -2));
    const nb = batchOut.length;
    // Restore the axes MatMul dropped for 1-D operands (Reshape: 0 copies, -1 infers).
    let dy1 = dy!;
    if (a1d && c1d) dy1 = reshapeConst(ctx, dy1, [1, 1]);
    else if (a1d) dy1 = reshapeConst(ctx, dy1, [...new Array<number>(nb).fill(0), 1, yDims[nb] ?? -1]);
    else if (c1d) dy1 = reshapeConst(ctx, dy1, [...new Array<number>(nb + 1).fill(0), 1]);
    const rank = nb + 2;
    const da1 = ctx.b.op('MatMul', [dy1, swapLast2(ctx, c1, c1Dims.length)]);
    const dc1 = ctx.b.op('MatMul', [swapLast2(ctx, a1, a1Dims.length), dy1]);
    // A 1-D operand's gradient: sum over every batch axis and the restored unit axis.
    const da = a1d
      ? ctx.b.reduceSum(da1, Array.from({ length: rank - 1 }, (_, i) => i), false)
      : reduceBatch(ctx, da1, a, aDims, batchOut);
    const dc = c1d
      ? ctx.b.reduceSum(dc1, [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1], false)
      : reduceBatch(ctx, dc1, c, cDims, batchOut);
    return [da, dc];
  },
  jvp(ctx, [ta, tc]) {
    const [a, c] = ctx.node.inputs as [string, string];
    return [sumTerms(ctx.b, [ta ? ctx.b.op('MatMul', [ta, c]) : null, tc ? ctx.b.op('MatMul', [a, tc]) : null])];
  },
});
