/**
 * Resize (and Upsample, which the opset upgrade turns into Resize): linear in X for every mode,
 * and separable per axis (ONNX applies nearest, linear and cubic interpolation one axis at a
 * time). For a spatial axis with input size n and output size m, the interpolation matrix
 * A (m x n) is read off by resizing an identity: Resize(I_n as [1, .., 1, n, n]) along its last
 * axis with the node's own mode, coordinate transform and scale (or size) gives A^T (n x m),
 * a constant ONNX Runtime folds at session start. With y = A_h x A_w^T per (N, C):
 *   VJP: dx = A_h^T dy A_w       JVP: the same Resize of the tangent.
 * Supported: 1 or 2 resized trailing axes, batch and channel scales of 1, no `axes` attribute,
 * no tf_crop_and_resize (its roi makes the map depend on an extra input).
 */
import { registerRule } from '../registry.js';
import { attrInts, attrString } from '../../onnx/ir.js';
import { tensor, toNumberArray } from '../../onnx/tensor.js';
import { AppError } from '../../../common/errors.js';
import { sameOpOn } from './reshape-expand.js';
import type { RuleContext } from '../types.js';

function refuse(ctx: RuleContext, why: string): never {
  throw new AppError('UNSUPPORTED_OP', `Resize "${ctx.node.name}": ${why}`, { ops: ['Resize'] });
}

/** A^T (n x m) for one axis, as a graph tensor. */
function axisMatrixT(ctx: RuleContext, rank: number, n: number, m: number, scale: number | null): string {
  const b = ctx.b;
  const dtype = ctx.info(ctx.node.inputs[0]!).dtype;
  const eye = tensor(dtype, [...new Array<number>(rank - 2).fill(1), n, n]);
  for (let i = 0; i < n; i++) (eye.data as Float32Array)[i * n + i] = 1;
  const ones = new Array<number>(rank - 1).fill(1);
  const scales = scale === null ? '' : b.constant(tensor('float32', [rank], [...ones, scale]), 'scales');
  const sizes = scale === null ? b.int64s([...new Array<number>(rank - 2).fill(1), n, m], 'sizes') : '';
  const resized = b.op('Resize', [b.constant(eye, 'identity'), '', scales, ...(sizes ? [sizes] : [])], ctx.node.attrs);
  return b.op('Reshape', [resized, b.int64s([n, m], 'shape')]);
}

function vjp(ctx: RuleContext, dy: string): string {
  const [x, , scalesIn, sizesIn] = ctx.node.inputs;
  if (attrInts(ctx.node, 'axes')) refuse(ctx, 'the axes attribute is not supported');
  if (attrString(ctx.node, 'coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize') refuse(ctx, 'tf_crop_and_resize is not supported');
  const xd = ctx.info(x!).dims;
  const yd = ctx.info(ctx.node.outputs[0]!).dims;
  const rank = xd.length;
  const scalesT = scalesIn ? ctx.constantValue(scalesIn) : undefined;
  const sizesT = sizesIn ? ctx.constantValue(sizesIn) : undefined;
  if (!scalesT && !sizesT) refuse(ctx, 'scales or sizes must be constants');
  const scales = scalesT && scalesT.data.length > 0 ? toNumberArray(scalesT) : null;
  const resized: number[] = [];
  for (let i = 0; i < rank; i++) {
    const same = scales ? scales[i] === 1 : xd[i] === yd[i];
    if (!same) resized.push(i);
  }
  if (resized.some((i) => i < rank - 2)) refuse(ctx, 'only the last two axes may be resized');
  if (resized.some((i) => xd[i] === null || yd[i] === null)) refuse(ctx, 'resized axes must have fixed sizes');
  let dx = dy;
  for (const i of resized) {
    const n = xd[i] as number;
    const m = yd[i] as number;
    const at = axisMatrixT(ctx, Math.max(rank, 2), n, m, scales ? scales[i]! : null); // [n, m] = A^T
    if (i === rank - 1) dx = ctx.b.op('MatMul', [dx, ctx.b.op('Transpose', [at], { perm: [1, 0] })]); // dy A_w
    else dx = ctx.b.op('MatMul', [at, dx]); // A_h^T dy
  }
  return dx;
}

registerRule({
  ops: ['Resize'],
  vjp: (ctx, [dy]) => [vjp(ctx, dy!), null, null, null],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});
