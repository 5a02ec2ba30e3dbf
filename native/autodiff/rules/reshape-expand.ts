/** Reshape and Expand: linear ops whose gradients undo the data movement. */
import { registerRule } from '../registry.js';
import { unbroadcast } from '../emit.js';
import type { RuleContext } from '../types.js';

/** The same op applied to a tangent, keeping the other inputs (shape) and attributes. */
export function sameOpOn(ctx: RuleContext, t: string): string {
  return ctx.b.op(ctx.node.opType, [t, ...ctx.node.inputs.slice(1)], ctx.node.attrs);
}

registerRule({
  ops: ['Reshape'],
  // allowzero: the target is an exact shape, where a 0 is a size, not "copy this dim".
  vjp: (ctx, [dy]) => [ctx.b.op('Reshape', [dy!, ctx.b.shape(ctx.node.inputs[0]!)], { allowzero: 1 })],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

registerRule({
  ops: ['Expand'],
  vjp: (ctx, [dy]) => [unbroadcast(ctx, dy!, ctx.node.inputs[0]!, ctx.node.outputs[0]!)],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});
