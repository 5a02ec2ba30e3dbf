/**
 * Shared pieces of the elementwise rules (unary-math.ts, activations.ts, select.ts). Registers
 * nothing itself.
 *
 * A unary elementwise op y = f(x) has a diagonal Jacobian: with d = f'(x) (a tensor shaped like
 * x, built from x and/or y), VJP dx = dy * d and JVP ty = tx * d. The gradient graph then holds
 * Mul(dy, d), and the HVP pushes tangents through d's construction with the JVP rules of the
 * ops that build it (Exp, Sigmoid, Erf, Tanh, Cast, Sign... all elementwise, all covered here).
 *
 * Masks (Relu, LeakyRelu, PRelu, Elu, HardSigmoid, Clip, Min/Max): d = Cast(comparison, dtype),
 * multiplied in. We chose Mul by a Cast mask over Where(cond, dy, 0) because it keeps the
 * vocabulary of the gradient graphs to Mul + Cast + comparisons, the pattern pool.ts and
 * reduce.ts already use: comparisons carry no tangent, so in the HVP Cast's JVP is never
 * reached on a mask and Mul's JVP does the rest. Where is used only where a NaN must not leak
 * (the log of a non-positive base in Pow, and Where itself): 0 * NaN = NaN but Where picks.
 */
import { registerRule } from '../registry.js';
import { scalarLike } from '../emit.js';
import type { RuleContext } from '../types.js';

export const X = (ctx: RuleContext, i = 0): string => ctx.node.inputs[i]!;
export const Y = (ctx: RuleContext, i = 0): string => ctx.node.outputs[i]!;

/** A rank-0 constant with the dtype of the node's first input (float attributes are float32 in ONNX; pass them as read). */
export const k = (ctx: RuleContext, value: number): string => scalarLike(ctx, value, X(ctx));

/** 1.0 where `cond` (bool) holds, else 0.0, in the dtype of the node's first input. */
export function mask(ctx: RuleContext, cond: string): string {
  return ctx.b.cast(cond, ctx.info(X(ctx)).dtype);
}

/** [a > b] as a 0/1 mask. */
export const gtMask = (ctx: RuleContext, a: string, b: string): string => mask(ctx, ctx.b.op('Greater', [a, b]));

/** Registers a unary op whose derivative is `deriv(ctx)` (shaped like the input): dx = dy * d, ty = tx * d. */
export function registerUnary(ops: string[], deriv: (ctx: RuleContext) => string): void {
  registerRule({
    ops,
    vjp: (ctx, [dy]) => [ctx.b.mul(dy!, deriv(ctx))],
    jvp: (ctx, [t]) => [ctx.b.mul(t!, deriv(ctx))],
  });
}
