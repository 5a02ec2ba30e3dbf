/**
 * Softmax and LogSoftmax with opset >= 13 semantics: one axis (default -1), normalized along it.
 * (Opset < 13 coerced the input to 2-D; native/onnx/upgrade.ts rewrites those first.)
 * With S(t) = ReduceSum(t, [axis], keepdims=1):
 *
 *   Softmax     dx = y * (dy - S(dy * y))          ty = y * (t - S(t * y))
 *   LogSoftmax  dx = dy - p * S(dy),  p = exp(y)   ty = t - S(p * t)
 *
 * Both are self-adjoint up to the diagonal, hence the same shape of formula both ways.
 */
import { registerRule } from '../registry.js';
import { attrInt } from '../../onnx/ir.js';
import type { RuleContext } from '../types.js';
import { X, Y } from './pointwise.js';

function axisSum(ctx: RuleContext, t: string): string {
  if (ctx.opset < 13) throw new Error(`${ctx.node.opType}: opset ${ctx.opset} < 13 must be upgraded first`);
  const rank = ctx.info(X(ctx)).dims.length;
  const axis = attrInt(ctx.node, 'axis', -1);
  return ctx.b.reduceSum(t, [axis < 0 ? axis + rank : axis], true);
}

registerRule({
  ops: ['Softmax'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const y = Y(ctx);
    return [b.mul(y, b.sub(dy!, axisSum(ctx, b.mul(dy!, y))))];
  },
  jvp(ctx, [t]) {
    const b = ctx.b;
    const y = Y(ctx);
    return [b.mul(y, b.sub(t!, axisSum(ctx, b.mul(t!, y))))];
  },
});

registerRule({
  ops: ['LogSoftmax'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    return [b.sub(dy!, b.mul(b.op('Exp', [Y(ctx)]), axisSum(ctx, dy!)))];
  },
  jvp(ctx, [t]) {
    const b = ctx.b;
    return [b.sub(t!, axisSum(ctx, b.mul(b.op('Exp', [Y(ctx)]), t!)))];
  },
});
