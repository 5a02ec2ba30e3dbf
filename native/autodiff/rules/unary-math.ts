/**
 * Elementwise math: Pow, Sqrt, Reciprocal, Exp, Log, Abs, Erf.
 *
 *   Sqrt        d = 0.5 / y
 *   Reciprocal  d = -y * y
 *   Exp         d = y
 *   Log         d = 1 / x           (emitted as dy / x, t / x)
 *   Abs         d = Sign(x)         (Sign carries no tangent: Abs'' = 0 away from 0)
 *   Erf         d = 2/sqrt(pi) * exp(-x^2)
 *   Pow         y = a^b, broadcasting both ways (TF's _PowGrad):
 *               da = dy * b * a^(b-1),   db = dy * y * log(a) where a > 0, else 0
 *               (log of a non-positive base is NaN; the exponent derivative does not exist
 *               there for real powers, and at a = 0 the limit y*log(a) -> 0 for b > 0. The log
 *               is taken of Where(a > 0, a, 1) and the result masked with Where so no NaN leaks.)
 *               An integer exponent (T2 != T1) is cast to the base's dtype and gets no gradient.
 *               JVP: ty = ta * b * a^(b-1) + tb * y * log(a), both terms shaped like y.
 * ORT's CPU provider has every one of these in float64 except Erf (float32 only).
 */
import { registerRule } from '../registry.js';
import { sumTerms, unbroadcast } from '../emit.js';
import { isFloatDType } from '../../onnx/dtype.js';
import type { RuleContext } from '../types.js';
import { X, Y, k, registerUnary } from './pointwise.js';

registerUnary(['Sqrt'], (ctx) => ctx.b.div(k(ctx, 0.5), Y(ctx)));
registerUnary(['Reciprocal'], (ctx) => ctx.b.neg(ctx.b.mul(Y(ctx), Y(ctx))));
registerUnary(['Exp'], (ctx) => Y(ctx));
registerUnary(['Abs'], (ctx) => ctx.b.op('Sign', [X(ctx)]));
registerUnary(['Erf'], (ctx) => {
  const b = ctx.b;
  const x = X(ctx);
  return b.mul(k(ctx, 2 / Math.sqrt(Math.PI)), b.op('Exp', [b.neg(b.mul(x, x))]));
});

registerRule({
  ops: ['Log'],
  vjp: (ctx, [dy]) => [ctx.b.div(dy!, X(ctx))],
  jvp: (ctx, [t]) => [ctx.b.div(t!, X(ctx))],
});

/** The exponent in the base's dtype (ONNX Pow allows an integer exponent). */
function exponent(ctx: RuleContext): string {
  const e = X(ctx, 1);
  const want = ctx.info(X(ctx)).dtype;
  return ctx.info(e).dtype === want ? e : ctx.b.cast(e, want);
}

/** b * a^(b-1): dy/da, shaped like y. */
function powBaseFactor(ctx: RuleContext): string {
  const b = ctx.b;
  const e = exponent(ctx);
  return b.mul(e, b.op('Pow', [X(ctx), b.sub(e, k(ctx, 1))]));
}

/** y * log(a) where a > 0, else 0: dy/db, shaped like y. */
function powExponentFactor(ctx: RuleContext): string {
  const b = ctx.b;
  const a = X(ctx);
  const positive = b.op('Greater', [a, k(ctx, 0)]);
  const safeA = b.op('Where', [positive, a, k(ctx, 1)]);
  const logA = b.op('Where', [positive, b.op('Log', [safeA]), k(ctx, 0)]);
  return b.mul(Y(ctx), logA);
}

/** False for an integer exponent or a constant one (the usual x^2): then no exponent gradient is emitted. */
const exponentDifferentiable = (ctx: RuleContext) =>
  isFloatDType(ctx.info(X(ctx, 1)).dtype) && ctx.constantValue(X(ctx, 1)) === undefined;

registerRule({
  ops: ['Pow'],
  vjp(ctx, [dy]) {
    const [a, e] = ctx.node.inputs as [string, string];
    const y = Y(ctx);
    const da = ctx.constantValue(a) ? null : unbroadcast(ctx, ctx.b.mul(dy!, powBaseFactor(ctx)), a, y);
    const de = exponentDifferentiable(ctx) ? unbroadcast(ctx, ctx.b.mul(dy!, powExponentFactor(ctx)), e, y) : null;
    return [da, de];
  },
  jvp(ctx, [ta, te]) {
    const b = ctx.b;
    const useE = te && exponentDifferentiable(ctx);
    return [sumTerms(b, [ta ? b.mul(ta, powBaseFactor(ctx)) : null, useE ? b.mul(te, powExponentFactor(ctx)) : null])];
  },
});
