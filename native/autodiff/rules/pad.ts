/**
 * Pad. Constant mode: y = x placed inside a frame of `constant_value`.
 *  - VJP: dx = Pad(dy, -pads) (ONNX Pad crops on negative pads: exactly the Slice of the
 *    interior), d constant_value = sum(dy) - sum(dx) (the frame's cotangent).
 *  - JVP: Pad(tx, pads, t_constant_value) (linear in both).
 * Edge/reflect/wrap: the JVP is the same Pad of the tangent (linear); the VJP (a scatter-add of
 * border cotangents) is not implemented and says so.
 */
import { registerRule } from '../registry.js';
import { attrString } from '../../onnx/ir.js';
import { toNumberArray } from '../../onnx/tensor.js';
import { AppError } from '../../../common/errors.js';
import { zerosLike } from '../emit.js';
import type { RuleContext } from '../types.js';

function negatedPads(ctx: RuleContext, pads: string): string {
  const v = ctx.constantValue(pads);
  if (v) return ctx.b.int64s(toNumberArray(v).map((p) => -p), 'pads');
  return ctx.b.neg(pads);
}

registerRule({
  ops: ['Pad'],
  vjp(ctx, [dy]) {
    const mode = attrString(ctx.node, 'mode', 'constant');
    if (mode !== 'constant') {
      throw new AppError('UNSUPPORTED_OP', `Pad "${ctx.node.name}": no gradient for mode="${mode}" (only constant)`, {
        ops: [`Pad(mode=${mode})`],
      });
    }
    const [, pads, value, axes] = ctx.node.inputs as [string, string, string | undefined, string | undefined];
    const inputs = [dy!, negatedPads(ctx, pads!)];
    if (axes) inputs.push('', axes);
    const dx = ctx.b.op('Pad', inputs);
    let dv: string | null = null;
    if (value) {
      const frame = ctx.b.sub(ctx.b.reduceSum(dy!, null, false), ctx.b.reduceSum(dx, null, false));
      dv = ctx.b.op('Reshape', [frame, ctx.b.shape(value)]);
    }
    return [dx, null, dv, null];
  },
  jvp(ctx, [tx, , tv]) {
    const [x, pads, , axes] = ctx.node.inputs as [string, string, string | undefined, string | undefined];
    const inputs = [tx ?? zerosLike(ctx, x), pads!, tv ?? ''];
    if (axes) inputs.push(axes);
    while (inputs[inputs.length - 1] === '') inputs.pop();
    return [ctx.b.op('Pad', inputs, ctx.node.attrs)];
  },
});
