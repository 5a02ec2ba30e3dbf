/**
 * Small emitters every rule shares. One way to do each thing: unbroadcast, constants that
 * match a tensor's dtype, zeros, and summing partial results.
 */
import { tensor } from '../onnx/tensor.js';
import { tensorAttr } from '../onnx/ir.js';
import type { RuleContext } from './types.js';
import { AppError } from '../../common/errors.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { DType } from '../onnx/dtype.js';

/** A rank-0 constant with the dtype of tensor `like`. */
export function scalarLike(ctx: RuleContext, value: number, like: string): string {
  return ctx.b.scalar(value, ctx.info(like).dtype);
}

/** Zeros shaped like `x` (ConstantOfShape, so NaN/Inf in x cannot leak in as 0*x would). */
export function zerosLike(ctx: RuleContext, x: string): string {
  return zerosOfShape(ctx.b, ctx.b.shape(x), ctx.info(x).dtype);
}

export function zerosOfShape(b: GraphBuilder, shape: string, dtype: DType): string {
  return b.op('ConstantOfShape', [shape], { value: tensorAttr(tensor(dtype, [1], [0])) });
}

/** Sums non-null terms; null when there are none. */
export function sumTerms(b: GraphBuilder, terms: (string | null)[]): string | null {
  const present = terms.filter((t): t is string => t !== null);
  if (present.length === 0) return null;
  if (present.length === 1) return present[0]!;
  if (present.length === 2) return b.add(present[0]!, present[1]!);
  return b.op('Sum', present);
}

/**
 * Reduces a cotangent `g` shaped like `out` (a broadcast result) to the shape of `input`:
 * ReduceSum over the leading axes `input` lacks and over axes where `input` has size 1 and
 * `out` does not, then Reshape. Static dims decide the axes; dims that follow the batch are
 * never 1 in probes, so they are never reduced.
 */
export function unbroadcast(ctx: RuleContext, g: string, input: string, out: string): string {
  const inDims = ctx.info(input).dims;
  const outDims = ctx.info(out).dims;
  const lead = outDims.length - inDims.length;
  if (lead < 0) throw new Error(`unbroadcast: ${input} has higher rank than ${out}`);
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  inDims.forEach((d, i) => {
    if (d === 1 && outDims[i + lead] !== 1) axes.push(i + lead);
  });
  if (axes.length === 0) return g;
  const summed = ctx.b.reduceSum(g, axes, true);
  if (lead === 0) return summed;
  return ctx.b.op('Reshape', [summed, ctx.b.shape(input)]);
}

/** Broadcasts `t` to the shape of `like` when it might be smaller (forward-mode Add with one zero tangent). */
export function expandLike(ctx: RuleContext, t: string, tOf: string, like: string): string {
  const a = ctx.info(tOf).dims;
  const b = ctx.info(like).dims;
  if (a.length === b.length && a.every((d, i) => d === b[i])) return t;
  return ctx.b.op('Expand', [t, ctx.b.shape(like)]);
}

export const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => i + from);

/** Spatial dims (after N and C) of a tensor, which conv and pooling gradients need fixed. */
export function staticSpatial(ctx: RuleContext, name: string): number[] {
  const dims = ctx.info(name).dims.slice(2);
  if (dims.some((d) => d === null)) {
    throw new AppError('UNSUPPORTED_OP', `${ctx.node.opType} "${ctx.node.name}": spatial dims of ${name} are not fixed (the gradient needs fixed spatial sizes; only the batch may vary)`, { ops: [ctx.node.opType] });
  }
  return dims as number[];
}
