/**
 * Reductions other than ReduceSum (reduce-sum.ts has the shared helpers). With E(g) the
 * cotangent spread back over the input's shape (expandReduced: handles keepdims, axes as input,
 * noop_with_empty_axes) and R(t) = ReduceSum over the node's own axes/keepdims:
 *
 *   ReduceMean       dx = E(dy) / n               ty = ReduceMean(t)          n = Size(x)/Size(y)
 *   ReduceMax/Min    dx = E(dy) * w               ty = R(t * w)
 *                    w = m / E(R(m)), m = [x == E(y)]: ties share the gradient evenly (a valid
 *                    subgradient; VJP and JVP use the same w so they stay each other's transpose).
 *   ReduceL2         dx = E(dy) * x / E(y)        ty = R(x * t) / y
 *   ReduceSumSquare  dx = 2 E(dy) * x             ty = 2 R(x * t)
 *   ReduceL1         dx = E(dy) * Sign(x)         ty = R(Sign(x) * t)
 *   ReduceLogSum     dx = E(dy / R(x))            ty = R(t) / R(x)
 *   ReduceLogSumExp  dx = E(dy) * p              ty = R(t * p),  p = Exp(x - E(y))
 *   ReduceProd       dx = E(dy) * o              ty = R(t * o),  o = product of the others
 * (standard formulas, e.g. TF.js max_grad / mean_grad / logSumExp_grad; productOfOthers
 * derives o for ReduceProd without dividing by zero, exact to second order).
 */
import { registerRule } from '../registry.js';
import { scalarLike } from '../emit.js';
import { expandReduced, sameReduction } from './reduce-sum.js';
import type { RuleContext } from '../types.js';

/** ReduceSum with the node's axes input and attributes (keepdims, noop_with_empty_axes). */
function reduceSumLike(ctx: RuleContext, t: string): string {
  return ctx.b.op('ReduceSum', [t, ...ctx.node.inputs.slice(1)], ctx.node.attrs);
}

const X = (ctx: RuleContext) => ctx.node.inputs[0]!;
const Y = (ctx: RuleContext) => ctx.node.outputs[0]!;

function meanCount(ctx: RuleContext): string {
  const dtype = ctx.info(X(ctx)).dtype;
  const b = ctx.b;
  return b.div(b.cast(b.op('Size', [X(ctx)]), dtype), b.cast(b.op('Size', [Y(ctx)]), dtype));
}

registerRule({
  ops: ['ReduceMean'],
  vjp: (ctx, [dy]) => [ctx.b.div(expandReduced(ctx, dy!), meanCount(ctx))],
  jvp: (ctx, [t]) => [sameReduction(ctx, t!)],
});

function argWeights(ctx: RuleContext): string {
  const b = ctx.b;
  const x = X(ctx);
  const m = b.cast(b.op('Equal', [x, expandReduced(ctx, Y(ctx))]), ctx.info(x).dtype);
  return b.div(m, expandReduced(ctx, reduceSumLike(ctx, m)));
}

registerRule({
  ops: ['ReduceMax', 'ReduceMin'],
  vjp: (ctx, [dy]) => [ctx.b.mul(expandReduced(ctx, dy!), argWeights(ctx))],
  jvp: (ctx, [t]) => [reduceSumLike(ctx, ctx.b.mul(t!, argWeights(ctx)))],
});

registerRule({
  ops: ['ReduceL2'],
  vjp: (ctx, [dy]) => [ctx.b.div(ctx.b.mul(expandReduced(ctx, dy!), X(ctx)), expandReduced(ctx, Y(ctx)))],
  jvp: (ctx, [t]) => [ctx.b.div(reduceSumLike(ctx, ctx.b.mul(X(ctx), t!)), Y(ctx))],
});

registerRule({
  ops: ['ReduceSumSquare'],
  vjp: (ctx, [dy]) => [ctx.b.mul(ctx.b.mul(expandReduced(ctx, dy!), X(ctx)), scalarLike(ctx, 2, X(ctx)))],
  jvp: (ctx, [t]) => [ctx.b.mul(reduceSumLike(ctx, ctx.b.mul(X(ctx), t!)), scalarLike(ctx, 2, X(ctx)))],
});

registerRule({
  ops: ['ReduceL1'],
  vjp: (ctx, [dy]) => [ctx.b.mul(expandReduced(ctx, dy!), ctx.b.op('Sign', [X(ctx)]))],
  jvp: (ctx, [t]) => [reduceSumLike(ctx, ctx.b.mul(t!, ctx.b.op('Sign', [X(ctx)])))],
});

registerRule({
  ops: ['ReduceLogSum'],
  vjp: (ctx, [dy]) => [expandReduced(ctx, ctx.b.div(dy!, reduceSumLike(ctx, X(ctx))))],
  jvp: (ctx, [t]) => [ctx.b.div(reduceSumLike(ctx, t!), reduceSumLike(ctx, X(ctx)))],
});

function lseWeights(ctx: RuleContext): string {
  return ctx.b.op('Exp', [ctx.b.sub(X(ctx), expandReduced(ctx, Y(ctx)))]);
}

registerRule({
  ops: ['ReduceLogSumExp'],
  vjp: (ctx, [dy]) => [ctx.b.mul(expandReduced(ctx, dy!), lseWeights(ctx))],
  jvp: (ctx, [t]) => [reduceSumLike(ctx, ctx.b.mul(t!, lseWeights(ctx)))],
});

/** The node's reduction (axes input, noop_with_empty_axes) as `op`, always with keepdims. */
function reduceKeep(ctx: RuleContext, op: string, t: string): string {
  return ctx.b.op(op, [t, ...ctx.node.inputs.slice(1)], { ...ctx.node.attrs, keepdims: 1 });
}

/**
 * o_k = prod_{j != k} x_j over each reduced slice, shaped like x. y / x fails at zeros, so with
 * Z the zero entries of the slice, z = |Z|, P = the product of its nonzero entries and S = the
 * sum of x over Z (its value is 0, its tangent that of the zero entries):
 *   k not in Z:  o_k = ([z = 0] + [z = 1] S) P / x_k          (z = 0: y / x_k; z >= 1: 0)
 *   k in Z:      o_k = ([z = 1] + [z = 2] (S - x_k)) P        (z = 1: P; z >= 2: 0)
 * The zero-valued S terms are there for the HVP: the JVP treats the masks as constants, and
 * these terms keep the derivatives of o right at zeros (one zero at q: d o_k / d x_q = P / x_k;
 * two zeros q, r: d o_q / d x_r = P), which y / x or the masks alone would lose.
 */
function productOfOthers(ctx: RuleContext): string {
  const b = ctx.b;
  const x = X(ctx);
  const k = (v: number) => scalarLike(ctx, v, x);
  const dtype = ctx.info(x).dtype;
  const isZero = b.op('Equal', [x, k(0)]);
  const safe = b.op('Where', [isZero, k(1), x]);
  const p = reduceKeep(ctx, 'ReduceProd', safe);
  const z = reduceKeep(ctx, 'ReduceSum', b.cast(isZero, dtype));
  const s = reduceKeep(ctx, 'ReduceSum', b.op('Where', [isZero, x, k(0)]));
  const zeros = (n: number) => b.cast(b.op('Equal', [z, k(n)]), dtype);
  const one = zeros(1);
  const atNonzero = b.div(b.mul(b.add(zeros(0), b.mul(one, s)), p), safe);
  const atZero = b.mul(b.add(one, b.mul(zeros(2), b.sub(s, x))), p);
  return b.op('Where', [isZero, atZero, atNonzero]);
}

registerRule({
  ops: ['ReduceProd'],
  vjp: (ctx, [dy]) => [ctx.b.mul(expandReduced(ctx, dy!), productOfOthers(ctx))],
  jvp: (ctx, [t]) => [reduceSumLike(ctx, ctx.b.mul(t!, productOfOthers(ctx)))],
});
