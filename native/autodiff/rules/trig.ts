/**
 * Trigonometric and hyperbolic functions, and Selu: y = f(x), d = f'(x).
 *
 *   Sin   cos x          Cos   -sin x         Tan   1 + y^2
 *   Asin  1/sqrt(1-x^2)  Acos  -1/sqrt(1-x^2) Atan  1/(1+x^2)
 *   Sinh  cosh x         Cosh  sinh x         Tanh  (activations.ts)
 *   Asinh 1/sqrt(x^2+1)  Acosh 1/sqrt(x^2-1)  Atanh 1/(1-x^2)
 *   Selu  gamma (x > 0 ? 1 : alpha e^x), defaults alpha = 1.67326..., gamma = 1.0507...
 */
import { attrFloat } from '../../onnx/ir.js';
import { X, Y, k, registerUnary } from './pointwise.js';
import type { RuleContext } from '../types.js';

const sq = (ctx: RuleContext, t: string) => ctx.b.mul(t, t);
const rsqrt = (ctx: RuleContext, t: string) => ctx.b.op('Reciprocal', [ctx.b.op('Sqrt', [t])]);

registerUnary(['Sin'], (ctx) => ctx.b.op('Cos', [X(ctx)]));
registerUnary(['Cos'], (ctx) => ctx.b.neg(ctx.b.op('Sin', [X(ctx)])));
registerUnary(['Tan'], (ctx) => ctx.b.add(k(ctx, 1), sq(ctx, Y(ctx))));
registerUnary(['Asin'], (ctx) => rsqrt(ctx, ctx.b.sub(k(ctx, 1), sq(ctx, X(ctx)))));
registerUnary(['Acos'], (ctx) => ctx.b.neg(rsqrt(ctx, ctx.b.sub(k(ctx, 1), sq(ctx, X(ctx))))));
registerUnary(['Atan'], (ctx) => ctx.b.op('Reciprocal', [ctx.b.add(k(ctx, 1), sq(ctx, X(ctx)))]));
registerUnary(['Sinh'], (ctx) => ctx.b.op('Cosh', [X(ctx)]));
registerUnary(['Cosh'], (ctx) => ctx.b.op('Sinh', [X(ctx)]));
registerUnary(['Asinh'], (ctx) => rsqrt(ctx, ctx.b.add(sq(ctx, X(ctx)), k(ctx, 1))));
registerUnary(['Acosh'], (ctx) => rsqrt(ctx, ctx.b.sub(sq(ctx, X(ctx)), k(ctx, 1))));
registerUnary(['Atanh'], (ctx) => ctx.b.op('Reciprocal', [ctx.b.sub(k(ctx, 1), sq(ctx, X(ctx)))]));

// ONNX stores float attributes as float32; ORT applies the stored values.
const SELU_ALPHA = Math.fround(1.6732632423543772);
const SELU_GAMMA = Math.fround(1.0507009873554805);
registerUnary(['Selu'], (ctx) => {
  const b = ctx.b;
  const x = X(ctx);
  const alpha = Math.fround(attrFloat(ctx.node, 'alpha', SELU_ALPHA));
  const gamma = Math.fround(attrFloat(ctx.node, 'gamma', SELU_GAMMA));
  const negative = b.mul(k(ctx, alpha * gamma), b.op('Exp', [x]));
  return b.op('Where', [b.op('Greater', [x, k(ctx, 0)]), k(ctx, gamma), negative]);
});
