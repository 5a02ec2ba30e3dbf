/** ReduceSum: the gradient spreads back over the reduced axes; the tangent is reduced the same way. */
import { registerRule } from '../registry.js';
import { attrInt, attrInts } from '../../onnx/ir.js';
import { toNumberArray } from '../../onnx/tensor.js';
import type { RuleContext } from '../types.js';

/** The reduced axes (normalized to >= 0), or null for "all axes". */
export function reducedAxes(ctx: RuleContext): number[] | null {
  const rank = ctx.info(ctx.node.inputs[0]!).dims.length;
  let axes = attrInts(ctx.node, 'axes');
  const axesInput = ctx.node.inputs[1];
  if (axesInput) {
    const v = ctx.constantValue(axesInput);
    if (!v) throw new Error(`${ctx.node.opType} "${ctx.node.name}": axes must be a constant`);
    axes = toNumberArray(v);
  }
  if (!axes || axes.length === 0) {
    if (attrInt(ctx.node, 'noop_with_empty_axes', 0) === 1) return [];
    return null;
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

/** Spreads `dy` (the reduced shape) back over the shape of the node's input. */
export function expandReduced(ctx: RuleContext, dy: string): string {
  const x = ctx.node.inputs[0]!;
  const rank = ctx.info(x).dims.length;
  const axes = reducedAxes(ctx);
  const keep = attrInt(ctx.node, 'keepdims', 1) === 1;
  let g = dy;
  if (!keep && axes?.length !== 0) {
    const all = axes ?? Array.from({ length: rank }, (_, i) => i);
    g = ctx.b.op('Reshape', [dy, ctx.b.int64s(shapeWithOnes(ctx, all))]);
  }
  return ctx.b.op('Expand', [g, ctx.b.shape(x)]);
}

/** The input's shape with reduced axes set to 1 and batch-following dims as 0 (copy) in Reshape. */
function shapeWithOnes(ctx: RuleContext, axes: number[]): number[] {
  const dims = ctx.info(ctx.node.inputs[0]!).dims;
  const reducedSet = new Set(axes);
  const keptDynamic = dims.filter((d, i) => d === null && !reducedSet.has(i)).length;
  if (keptDynamic > 1) throw new Error(`${ctx.node.opType}: more than one dynamic dim kept`);
  // A single dynamic kept dim is written as -1 (inferred from the element count).
  return dims.map((d, i) => (reducedSet.has(i) ? 1 : d === null ? -1 : d));
}

/** Re-emits the node's reduction on another tensor (its tangent). */
export function sameReduction(ctx: RuleContext, t: string): string {
  const inputs = [t, ...ctx.node.inputs.slice(1)];
  return ctx.b.op(ctx.node.opType, inputs, ctx.node.attrs);
}

registerRule({
  ops: ['ReduceSum'],
  vjp: (ctx, [dy]) => [expandReduced(ctx, dy!)],
  jvp: (ctx, [t]) => [sameReduction(ctx, t!)],
});
