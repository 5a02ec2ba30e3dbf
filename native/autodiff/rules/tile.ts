/**
 * Tile(x, repeats): y[i] = x[i mod d]. With repeats r (a constant) and x dims d,
 * y viewed as [r0, d0, r1, d1, ...] is x broadcast over the r axes, so
 *   VJP: dx = ReduceSum(Reshape(dy, [r0, d0, r1, d1, ...]), axes = [0, 2, 4, ...], keepdims=0)
 * (the reshape target takes d_i from Shape(x) at run time when a dim follows the batch);
 *   JVP: Tile of the tangent with the same repeats.
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { toNumberArray } from '../../onnx/tensor.js';
import { sameOpOn } from './reshape-expand.js';

registerRule({
  ops: ['Tile'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const [x, reps] = ctx.node.inputs as [string, string];
    const rv = ctx.constantValue(reps);
    if (!rv) throw new AppError('UNSUPPORTED_OP', `Tile "${ctx.node.name}": repeats must be a constant`, { ops: ['Tile'] });
    const r = toNumberArray(rv);
    const dims = ctx.info(x).dims;
    let target: string;
    if (dims.every((d) => d !== null)) {
      target = b.int64s(dims.flatMap((d, i) => [r[i]!, d!]), 'shape');
    } else {
      const parts = dims.flatMap((_, i) => [b.int64s([r[i]!]), b.op('Shape', [x], { start: i, end: i + 1 })]);
      target = b.op('Concat', parts, { axis: 0 });
    }
    const viewed = b.op('Reshape', [dy!, target]);
    return [b.reduceSum(viewed, dims.map((_, i) => 2 * i), false), null];
  },
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});
