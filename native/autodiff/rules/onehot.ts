/**
 * OneHot(indices, depth, values = [off, on]; axis = -1): y = off + (on - off) * H, with H the
 * 0/1 one-hot tensor of the indices (negative indices count from depth, as ONNX says). Linear
 * in `values`, and only there: indices and depth are positions and a size, with no gradient.
 *
 *   H     = OneHot(indices, depth, [0, 1])       (same attributes: same axis, same index types)
 *   VJP:  d on = sum(dy * H),  d off = sum(dy) - d on,  d values = [d off, d on]
 *   JVP:  ty = OneHot(indices, depth, t_values)  (linear: the op itself on the tangent)
 *
 * H uses the dtype of `values`, so the gradient graph needs no OneHot kernel the forward pass did
 * not (ONNX Runtime's CPU OneHot has no float64 values: such models run in float32). Integer
 * values get no gradient.
 */
import { registerRule } from '../registry.js';
import { isFloatDType } from '../../onnx/dtype.js';
import { tensor } from '../../onnx/tensor.js';
import type { RuleContext } from '../types.js';

const valuesDifferentiable = (ctx: RuleContext, values: string) =>
  isFloatDType(ctx.info(values).dtype) && ctx.constantValue(values) === undefined;

registerRule({
  ops: ['OneHot'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const [indices, depth, values] = ctx.node.inputs as [string, string, string];
    if (!valuesDifferentiable(ctx, values)) return [null, null, null];
    const unit = b.constant(tensor(ctx.info(values).dtype, [2], [0, 1]), 'onehot_unit');
    const h = b.op('OneHot', [indices, depth, unit], ctx.node.attrs);
    const on = b.reduceSum(b.mul(dy!, h), null, false);
    const off = b.sub(b.reduceSum(dy!, null, false), on);
    return [null, null, b.op('Concat', [b.unsqueeze(off, [0]), b.unsqueeze(on, [0])], { axis: 0 })];
  },
  jvp(ctx, [, , t]) {
    const [indices, depth] = ctx.node.inputs as [string, string];
    if (!t) return [null];
    return [ctx.b.op('OneHot', [indices, depth, t], ctx.node.attrs)];
  },
});
