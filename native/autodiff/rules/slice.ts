/**
 * Slice (starts/ends/axes/steps as inputs, opset >= 10): a selection of distinct elements.
 *
 * VJP: the selected positions are found by slicing an index tensor the same way,
 *   idx = Reshape(Range(0, Size(x), 1), Shape(x)),  sel = Slice(idx, starts, ends, axes, steps),
 *   dx  = Reshape(ScatterElements(zeros[Size(x)], flat sel, flat dy, axis=0), Shape(x)),
 * so negative steps, clamping and run-time (batch) dims are exactly ORT's own Slice semantics.
 * Positions are distinct, so reduction "none" is exact. JVP: the same Slice of the tangent.
 */
import { registerRule } from '../registry.js';
import { zerosLike } from '../emit.js';
import { sameOpOn } from './reshape-expand.js';

registerRule({
  ops: ['Slice'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const x = ctx.node.inputs[0]!;
    const flatShape = b.int64s([-1], 'shape');
    const count = b.op('Size', [x]);
    const range = b.op('Range', [b.scalar(0, 'int64'), count, b.scalar(1, 'int64')]);
    const idx = b.op('Reshape', [range, b.shape(x)]);
    const sel = b.op('Slice', [idx, ...ctx.node.inputs.slice(1)]);
    const zeros = b.op('Reshape', [zerosLike(ctx, x), flatShape]);
    const scattered = b.op('ScatterElements', [zeros, b.op('Reshape', [sel, flatShape]), b.op('Reshape', [dy!, flatShape])], { axis: 0 });
    return [b.op('Reshape', [scattered, b.shape(x)])];
  },
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});
