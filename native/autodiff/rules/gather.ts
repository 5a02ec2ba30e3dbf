/**
 * Index-based data movement: Gather, GatherElements, GatherND and their transposes
 * ScatterElements, ScatterND (reduction "none" or "add"; both are linear in data and updates).
 *
 * Gather(x, idx, axis): y = x[:, ..., idx, ...]. VJP scatters dy back with accumulation (repeated
 * indices add up; negative indices are valid ScatterElements indices too):
 *   dyv = Reshape(dy, Shape(x)[:axis] ++ [-1] ++ Shape(x)[axis+1:])        (q = numel idx on one axis)
 *   iv  = Expand(Reshape(idx, [1]*axis ++ [-1] ++ [1]*(r-axis-1)), Shape(dyv))
 *   dx  = ScatterElements(zeros(x), iv, dyv, axis, reduction=add)
 * JVP: Gather of the tangent.
 * GatherElements: dx = ScatterElements(zeros(x), idx, dy, axis, add); JVP GatherElements.
 * GatherND (batch_dims = 0): dx = ScatterND(zeros(x), idx, dy, add); JVP GatherND.
 *
 * ScatterElements / ScatterND (data, idx, updates):
 *   JVP: the same scatter of (t_data or 0, idx, t_updates or 0): linear in both.
 *   VJP: updates get GatherElements / GatherND of dy. data gets dy where it survives: for "add"
 *   every position (y = data + scattered), for "none" dy with the written positions zeroed
 *   (the same scatter of zeros onto dy). With repeated indices under "none" ONNX leaves the
 *   winner unspecified; the rule assumes distinct indices there, as the ops we emit have.
 * Other reductions (mul, max, min) are not differentiated.
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { attrInt, attrString } from '../../onnx/ir.js';
import { zerosLike } from '../emit.js';
import { sameOpOn } from './reshape-expand.js';
import type { RuleContext } from '../types.js';

function axisOf(ctx: RuleContext): number {
  const rank = ctx.info(ctx.node.inputs[0]!).dims.length;
  const a = attrInt(ctx.node, 'axis', 0);
  return a < 0 ? a + rank : a;
}

/**
 * The transpose of y = Gather(x, idx, axis) (axis >= 0) applied to dy: dy scattered back into
 * zeros shaped like x, repeated indices adding up. Compress (topk-compress.ts) is a Gather of
 * run-time positions and uses it too.
 */
export function scatterGathered(ctx: RuleContext, x: string, idx: string, dy: string, axis: number): string {
  const b = ctx.b;
  const rank = ctx.info(x).dims.length;
  const pieces: string[] = [];
  if (axis > 0) pieces.push(b.op('Shape', [x], { start: 0, end: axis }));
  pieces.push(b.int64s([-1]));
  if (axis < rank - 1) pieces.push(b.op('Shape', [x], { start: axis + 1 }));
  const dyv = b.op('Reshape', [dy, pieces.length === 1 ? pieces[0]! : b.op('Concat', pieces, { axis: 0 })]);
  const idxShape = Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1));
  const iv = b.op('Expand', [b.op('Reshape', [idx, b.int64s(idxShape, 'shape')]), b.shape(dyv)]);
  return b.op('ScatterElements', [zerosLike(ctx, x), iv, dyv], { axis, reduction: 'add' });
}

registerRule({
  ops: ['Gather'],
  vjp(ctx, [dy]) {
    const [x, idx] = ctx.node.inputs as [string, string];
    return [scatterGathered(ctx, x, idx, dy!, axisOf(ctx)), null];
  },
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

/** The transpose of y = GatherElements(x, idx, axis) applied to dy (TopK's Values are such a gather too). */
export function scatterElementsBack(ctx: RuleContext, x: string, idx: string, dy: string, axis: number): string {
  return ctx.b.op('ScatterElements', [zerosLike(ctx, x), idx, dy], { axis, reduction: 'add' });
}

registerRule({
  ops: ['GatherElements'],
  vjp(ctx, [dy]) {
    const [x, idx] = ctx.node.inputs as [string, string];
    return [scatterElementsBack(ctx, x, idx, dy!, axisOf(ctx)), null];
  },
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

registerRule({
  ops: ['GatherND'],
  vjp(ctx, [dy]) {
    if (attrInt(ctx.node, 'batch_dims', 0) !== 0) {
      throw new AppError('UNSUPPORTED_OP', `GatherND "${ctx.node.name}": batch_dims != 0 is not supported by the autodiff`, { ops: ['GatherND'] });
    }
    const [x, idx] = ctx.node.inputs as [string, string];
    return [ctx.b.op('ScatterND', [zerosLike(ctx, x), idx, dy!], { reduction: 'add' }), null];
  },
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

function scatterReduction(ctx: RuleContext): 'none' | 'add' {
  const r = attrString(ctx.node, 'reduction', 'none');
  if (r !== 'none' && r !== 'add') {
    throw new AppError('UNSUPPORTED_OP', `${ctx.node.opType} "${ctx.node.name}": reduction=${r} is not supported by the autodiff`, { ops: [ctx.node.opType] });
  }
  return r;
}

registerRule({
  ops: ['ScatterElements', 'ScatterND'],
  vjp(ctx, [dy]) {
    const [, idx, upd] = ctx.node.inputs as [string, string, string];
    const elements = ctx.node.opType === 'ScatterElements';
    const red = scatterReduction(ctx);
    const dData = red === 'add' ? dy! : ctx.b.op(ctx.node.opType, [dy!, idx, zerosLike(ctx, upd)], ctx.node.attrs);
    const dUpd = elements
      ? ctx.b.op('GatherElements', [dy!, idx], { axis: axisOf(ctx) })
      : ctx.b.op('GatherND', [dy!, idx]);
    return [dData, null, dUpd];
  },
  jvp(ctx, [td, , tu]) {
    scatterReduction(ctx);
    const [data, idx, upd] = ctx.node.inputs as [string, string, string];
    const inputs = [td ?? zerosLike(ctx, data), idx, tu ?? zerosLike(ctx, upd)];
    return [ctx.b.op(ctx.node.opType, inputs, ctx.node.attrs)];
  },
});
