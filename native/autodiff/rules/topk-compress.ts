/**
 * Selections whose positions are decided at run time: TopK and Compress. Once the positions are
 * known each is a gather, so the rules reuse the gather transposes of gather.ts.
 *
 * TopK(X, K; axis = -1, largest, sorted) -> (Values, Indices):
 *   Values = GatherElements(X, Indices, axis) whatever largest/sorted say (Indices carry them).
 *   VJP: dX = ScatterElements(zeros(X), Indices, dValues, axis, add); JVP: GatherElements(tX,
 *   Indices, axis). Indices (int64) and K carry no gradient. Ties between equal entries get the
 *   gradient wherever ONNX Runtime's Indices put them (a valid subgradient; the finite-difference
 *   checks keep away from ties).
 *
 * Compress(x, condition; axis?): keeps the positions where `condition` (1-D bool, possibly
 * shorter than the axis: the rest is dropped) is true.
 *   positions = Reshape(NonZero(condition), [-1])       (run time: the condition may be computed)
 *   axis given:  y = Gather(x, positions, axis)          dx = Gather's transpose (scatterGathered)
 *   no axis:     y = Gather(Reshape(x, [-1]), positions) dx = Reshape(ScatterElements(zeros[numel x],
 *                                                                 positions, dy, 0), Shape(x))
 *   JVP: Compress of the tangent with the same condition. The positions are distinct. Besides
 *   NonZero and shape bookkeeping (Shape, Concat, ConstantOfShape: no tangents) the gradient
 *   graph holds only Reshape, Expand and ScatterElements, all with JVP rules, so the HVP goes
 *   through it.
 */
import { registerRule } from '../registry.js';
import { attrInt } from '../../onnx/ir.js';
import { zerosLike } from '../emit.js';
import { scatterElementsBack, scatterGathered } from './gather.js';
import { sameOpOn } from './reshape-expand.js';
import type { RuleContext } from '../types.js';

/** The node's `axis` attribute (else `fallback`) made non-negative; undefined when neither is there. */
function axisOf(ctx: RuleContext, fallback?: number): number | undefined {
  const a = attrInt(ctx.node, 'axis') ?? fallback;
  if (a === undefined) return undefined;
  const rank = ctx.info(ctx.node.inputs[0]!).dims.length;
  return a < 0 ? a + rank : a;
}

/** TopK's Indices output (ONNX requires it to be named, so it is always there to read). */
const topkIndices = (ctx: RuleContext): string => ctx.node.outputs[1]!;

registerRule({
  ops: ['TopK'],
  vjp(ctx, [dValues]) {
    if (!dValues) return [null, null];
    return [scatterElementsBack(ctx, ctx.node.inputs[0]!, topkIndices(ctx), dValues, axisOf(ctx, -1)!), null];
  },
  jvp(ctx, [t]) {
    if (!t) return [null, null];
    return [ctx.b.op('GatherElements', [t, topkIndices(ctx)], { axis: axisOf(ctx, -1)! }), null];
  },
});

registerRule({
  ops: ['Compress'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const [x, condition] = ctx.node.inputs as [string, string];
    const flat = b.int64s([-1], 'shape');
    const positions = b.op('Reshape', [b.op('NonZero', [condition]), flat]);
    const axis = axisOf(ctx);
    if (axis !== undefined) return [scatterGathered(ctx, x, positions, dy!, axis), null];
    const zeros = b.op('Reshape', [zerosLike(ctx, x), flat]);
    const scattered = b.op('ScatterElements', [zeros, positions, dy!], { axis: 0, reduction: 'add' });
    return [b.op('Reshape', [scattered, b.shape(x)]), null];
  },
  jvp: (ctx, [t]) => [t ? sameOpOn(ctx, t) : null],
});
