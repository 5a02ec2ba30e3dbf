/**
 * Gemm: Y = alpha * op(A) op(B) + beta * C  (op = optional transpose; C unidirectionally
 * broadcast to Y). Gradients are Gemms themselves (so the HVP reuses this file's JVP):
 *   d op(A) = alpha dY op(B)^T,   d op(B) = alpha op(A)^T dY,   dC = beta * unbroadcast(dY)
 * and dA = d op(A) (or its transpose when transA), likewise dB.
 */
import { registerRule } from '../registry.js';
import { attrFloat, attrInt, float } from '../../onnx/ir.js';
import { expandLike, scalarLike, sumTerms, unbroadcast } from '../emit.js';
import type { RuleContext } from '../types.js';
import type { AttrInput } from '../../onnx/builder.js';

function gemm(ctx: RuleContext, p: string, q: string, transA: number, transB: number, alpha: number): string {
  const attrs: Record<string, AttrInput> = { transA, transB };
  if (alpha !== 1) attrs.alpha = float(alpha);
  return ctx.b.op('Gemm', [p, q], attrs);
}

registerRule({
  ops: ['Gemm'],
  vjp(ctx, [dy]) {
    const [a, bIn, c] = ctx.node.inputs as [string, string, string | undefined];
    const tA = attrInt(ctx.node, 'transA', 0);
    const tB = attrInt(ctx.node, 'transB', 0);
    const alpha = attrFloat(ctx.node, 'alpha', 1);
    const beta = attrFloat(ctx.node, 'beta', 1);
    const g = dy!;
    // dA: transA=0 -> dY op(B)^T;  transA=1 -> op(B) dY^T.
    const da = tA === 0 ? gemm(ctx, g, bIn, 0, 1 - tB, alpha) : gemm(ctx, bIn, g, tB, 1, alpha);
    // dB: transB=0 -> op(A)^T dY;  transB=1 -> dY^T op(A).
    const db = tB === 0 ? gemm(ctx, a, g, 1 - tA, 0, alpha) : gemm(ctx, g, a, 1, tA, alpha);
    let dc: string | null = null;
    if (c) {
      const scaled = beta === 1 ? g : ctx.b.mul(g, scalarLike(ctx, beta, c));
      dc = unbroadcast(ctx, scaled, c, ctx.node.outputs[0]!);
    }
    return [da, db, dc];
  },
  jvp(ctx, [ta, tb, tc]) {
    const [a, bIn, c] = ctx.node.inputs as [string, string, string | undefined];
    const tA = attrInt(ctx.node, 'transA', 0);
    const tB = attrInt(ctx.node, 'transB', 0);
    const alpha = attrFloat(ctx.node, 'alpha', 1);
    const beta = attrFloat(ctx.node, 'beta', 1);
    let tcTerm: string | null = null;
    if (tc && c) {
      const scaled = beta === 1 ? tc : ctx.b.mul(tc, scalarLike(ctx, beta, c));
      tcTerm = expandLike(ctx, scaled, c, ctx.node.outputs[0]!);
    }
    return [
      sumTerms(ctx.b, [
        ta ? gemm(ctx, ta, bIn, tA, tB, alpha) : null,
        tb ? gemm(ctx, a, tb, tA, tB, alpha) : null,
        tcTerm,
      ]),
    ];
  },
});
