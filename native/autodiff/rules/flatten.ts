/**
 * Flatten, Squeeze, Unsqueeze: pure reshapes. VJP = Reshape(dy, Shape(x)) (the input's run-time
 * shape, so the batch is never baked in); JVP = the same op on the tangent (same axes input/attrs).
 */
import { registerRule } from '../registry.js';
import { sameOpOn } from './reshape-expand.js';

registerRule({
  ops: ['Flatten', 'Squeeze', 'Unsqueeze'],
  vjp: (ctx, [dy]) => [ctx.b.op('Reshape', [dy!, ctx.b.shape(ctx.node.inputs[0]!)])],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});
