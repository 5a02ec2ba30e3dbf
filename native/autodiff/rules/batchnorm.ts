/**
 * BatchNormalization in inference mode (training_mode = 0):
 *   y = (x - mean) * inv * scale + bias,   inv = 1 / sqrt(var + eps),  per channel (axis 1).
 * All five inputs get their gradient (mean and var are usually constants, but the cost is small):
 *   dx = dy * scale * inv,   dscale = sum(dy * xhat),   dbias = sum(dy),
 *   dmean = -sum(dy) * scale * inv,   dvar = -1/2 sum(dy * (x - mean)) * scale * inv^3
 * (sums over every axis but 1). JVP: the same partials applied to the tangents.
 * inv itself is computed with a BatchNormalization node (ones normalized by var), so no
 * Sqrt/Pow rule is needed and the HVP reuses this rule.
 */
import { registerRule } from '../registry.js';
import { attrFloat, attrInt, float, tensorAttr } from '../../onnx/ir.js';
import { tensor } from '../../onnx/tensor.js';
import { scalarLike, sumTerms } from '../emit.js';
import type { DType } from '../../onnx/dtype.js';
import { AppError } from '../../../common/errors.js';
import type { RuleContext } from '../types.js';

/** 1 / sqrt(v + eps), elementwise, any shape, as BatchNormalization(ones[1,M]; mean 0, var v). */
export function invStd(ctx: RuleContext, v: string, eps: number, dtype: DType): string {
  const b = ctx.b;
  const flatV = b.op('Reshape', [v, b.int64s([-1], 'shape')]);
  const len = b.shape(flatV);
  const fill = (value: number) => b.op('ConstantOfShape', [len], { value: tensorAttr(tensor(dtype, [1], [value])) });
  const ones = fill(1);
  const zeros = fill(0);
  const row = b.op('Reshape', [ones, b.int64s([1, -1], 'shape')]);
  const inv = b.op('BatchNormalization', [row, ones, zeros, zeros, flatV], { epsilon: float(eps) });
  return b.op('Reshape', [inv, b.shape(v)]);
}

registerRule({
  ops: ['BatchNormalization'],
  vjp(ctx, [dy]) {
    const k = bnParts(ctx);
    const { b, col } = k;
    const g = dy!;
    const dbias = b.reduceSum(g, k.axes, false);
    const dx = b.mul(g, col(k.scaleInv));
    const dscale = b.reduceSum(b.mul(g, k.xhat()), k.axes, false);
    const dmean = b.neg(b.mul(dbias, k.scaleInv));
    const dvar = b.mul(b.reduceSum(b.mul(g, k.xc()), k.axes, false), k.halfScaleInv3());
    return [dx, dscale, dbias, dmean, dvar];
  },
  jvp(ctx, [tx, tscale, tbias, tmean, tvar]) {
    const k = bnParts(ctx);
    const { b, col } = k;
    const full = sumTerms(b, [
      tx ? b.mul(tx, col(k.scaleInv)) : null,
      tscale ? b.mul(k.xhat(), col(tscale)) : null,
      tvar ? b.mul(k.xc(), col(b.mul(tvar, k.halfScaleInv3()))) : null,
    ]);
    const small = sumTerms(b, [tbias ? col(tbias) : null, tmean ? col(b.neg(b.mul(tmean, k.scaleInv))) : null]);
    if (full && small) return [b.add(full, small)];
    if (full) return [full];
    return [b.op('Expand', [small!, b.shape(ctx.node.outputs[0]!)])];
  },
});

/** Shared pieces of the BatchNormalization rule, emitted on demand. */
function bnParts(ctx: RuleContext) {
  if (attrInt(ctx.node, 'training_mode', 0) !== 0 || ctx.node.outputs.filter((o) => o).length > 1) {
    throw new AppError('UNSUPPORTED_OP', `BatchNormalization "${ctx.node.name}": only inference mode (training_mode=0) is differentiable`, {
      ops: ['BatchNormalization(training_mode=1)'],
    });
  }
  const b = ctx.b;
  const [x, scale, , mean, variance] = ctx.node.inputs as [string, string, string, string, string];
  const { dtype, dims } = ctx.info(x);
  const rank = dims.length;
  const eps = attrFloat(ctx.node, 'epsilon', 1e-5);
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  // [C] -> [C, 1, ..., 1] so it broadcasts against [N, C, ...].
  const col = (p: string) => (rank <= 2 ? p : b.op('Reshape', [p, b.int64s([-1, ...new Array<number>(rank - 2).fill(1)], 'shape')]));
  const inv = invStd(ctx, variance, eps, dtype);
  const scaleInv = b.mul(scale, inv);
  let xcMemo: string | undefined;
  const xc = () => (xcMemo ??= b.sub(x, col(mean)));
  return {
    b,
    col,
    axes,
    scaleInv,
    xc,
    xhat: () => b.mul(xc(), col(inv)),
    /** -1/2 * scale * inv^3, per channel. */
    halfScaleInv3: () => b.mul(b.mul(scaleInv, b.mul(inv, inv)), scalarLike(ctx, -0.5, x)),
  };
}
