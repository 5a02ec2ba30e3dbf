/**
 * Linear ops that are their own JVP:
 *   CumSum(x, axis; exclusive, reverse): the adjoint is the cumulative sum in the other
 *     direction with the same exclusivity (sum_{j>=i} instead of sum_{j<=i}).
 *   Trilu(x, k; upper): a mask, hence self-adjoint.
 * Hardmax outputs a one-hot tensor: piecewise constant, no gradient.
 */
import { attrInt } from '../../onnx/ir.js';
import { registerRule } from '../registry.js';
import { sameOpOn } from './reshape-expand.js';

registerRule({
  ops: ['CumSum'],
  vjp: (ctx, [dy]) => [
    ctx.b.op('CumSum', [dy!, ctx.node.inputs[1]!], { ...ctx.node.attrs, reverse: attrInt(ctx.node, 'reverse', 0) === 1 ? 0 : 1 }),
  ],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

registerRule({
  ops: ['Trilu'],
  vjp: (ctx, [dy]) => [sameOpOn(ctx, dy!)],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

registerRule({ ops: ['Hardmax'] });
