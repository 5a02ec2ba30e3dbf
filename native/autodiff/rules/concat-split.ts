/**
 * Concat and Split, each other's transpose.
 *
 * Concat(x_0..x_k, axis): VJP = Split(dy, axis, split = [size of x_i along axis]); the sizes are
 * constants when every one is static, else Concat of Shape(x_i)[axis] at run time. JVP = Concat
 * of the tangents, zeros (ConstantOfShape of Shape(x_i)) for inputs without one.
 *
 * Split(x, [split], axis | num_outputs): VJP = Concat(dy_i, axis) with zeros for outputs whose
 * cotangent is null; JVP = the same Split (same split input and attributes) of the tangent.
 */
import { registerRule } from '../registry.js';
import { attrInt } from '../../onnx/ir.js';
import { zerosLike } from '../emit.js';
import type { RuleContext } from '../types.js';

function normAxis(ctx: RuleContext, like: string): number {
  const rank = ctx.info(like).dims.length;
  const a = attrInt(ctx.node, 'axis', 0);
  return a < 0 ? a + rank : a;
}

registerRule({
  ops: ['Concat'],
  vjp(ctx, [dy]) {
    const xs = ctx.node.inputs;
    const axis = normAxis(ctx, xs[0]!);
    const sizes = xs.map((x) => ctx.info(x).dims[axis]!);
    const split = sizes.every((s) => s !== null)
      ? ctx.b.int64s(sizes as number[], 'split')
      : ctx.b.op('Concat', xs.map((x) => ctx.b.op('Shape', [x], { start: axis, end: axis + 1 })), { axis: 0 });
    if (xs.length === 1) return [dy!];
    return ctx.b.node('Split', [dy!, split], { axis }, xs.length);
  },
  jvp(ctx, ts) {
    const parts = ctx.node.inputs.map((x, i) => ts[i] ?? zerosLike(ctx, x));
    return [ctx.b.op('Concat', parts, { axis: attrInt(ctx.node, 'axis', 0) })];
  },
});

registerRule({
  ops: ['Split'],
  vjp(ctx, dys) {
    const parts = ctx.node.outputs.map((o, i) => dys[i] ?? zerosLike(ctx, o));
    return [ctx.b.op('Concat', parts, { axis: normAxis(ctx, ctx.node.inputs[0]!) }), null];
  },
  jvp(ctx, [t]) {
    return ctx.b.node('Split', [t!, ...ctx.node.inputs.slice(1)], ctx.node.attrs, ctx.node.outputs.length);
  },
});
