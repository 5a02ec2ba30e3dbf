/**
 * LRN (local response normalization across channels):
 *   d = bias + alpha/size * S(x^2),   y = x * d^-beta,
 * where S sums over the channel window [c - floor((size-1)/2), c + ceil((size-1)/2)] (a linear
 * map: MatMul by a constant 0/1 band matrix along the channel axis). With p = d^-beta and
 * q = d^(-beta-1) = p / d:
 *   VJP: dx = dy * p - (2 alpha beta / size) * x * S^T(dy * x * q)
 *   JVP: ty = tx * p - (2 alpha beta / size) * x * q * S(x * tx)
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { attrFloat, attrInt } from '../../onnx/ir.js';
import { tensor } from '../../onnx/tensor.js';
import { scalarLike } from '../emit.js';
import type { RuleContext } from '../types.js';

function lrnParts(ctx: RuleContext) {
  const b = ctx.b;
  const x = ctx.node.inputs[0]!;
  const { dtype, dims } = ctx.info(x);
  const rank = dims.length;
  const C = dims[1];
  if (C === null || C === undefined) throw new AppError('UNSUPPORTED_OP', `LRN "${ctx.node.name}": channel count must be static`, { ops: [ctx.node.opType] });
  const size = attrInt(ctx.node, 'size', 1);
  const alpha = attrFloat(ctx.node, 'alpha', 1e-4);
  const beta = attrFloat(ctx.node, 'beta', 0.75);
  const bias = attrFloat(ctx.node, 'bias', 1);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  // band[c][j] = 1 when j is in c's window; S(v)[c] = sum_j band[c][j] v[j].
  const band = new Array<number>(C * C).fill(0);
  for (let c = 0; c < C; c++) for (let j = Math.max(0, c - lo); j <= Math.min(C - 1, c + hi); j++) band[c * C + j] = 1;
  const bandT = new Array<number>(C * C).fill(0);
  for (let c = 0; c < C; c++) for (let j = 0; j < C; j++) bandT[j * C + c] = band[c * C + j]!;
  const last = rank - 1;
  const perm = Array.from({ length: rank }, (_, i) => (i === 1 ? last : i === last ? 1 : i));
  /** v -> v along the channel axis times mat^T (channel moved last for the MatMul). */
  const channelMap = (v: string, rows: number[]) => {
    const m = b.constant(tensor(dtype, [C, C], rows), 'lrn_band');
    if (rank === 2) return b.op('MatMul', [v, m]);
    const moved = b.op('Transpose', [v], { perm });
    return b.op('Transpose', [b.op('MatMul', [moved, m])], { perm });
  };
  // v_t @ band^T applies S; v_t @ band applies S^T.
  const S = (v: string) => channelMap(v, bandT);
  const ST = (v: string) => channelMap(v, band);
  const d = b.add(scalarLike(ctx, bias, x), b.mul(scalarLike(ctx, alpha / size, x), S(b.mul(x, x))));
  const p = b.op('Pow', [d, scalarLike(ctx, -beta, x)]);
  const q = b.div(p, d);
  const k = scalarLike(ctx, (2 * alpha * beta) / size, x);
  return { b, x, S, ST, p, q, k };
}

registerRule({
  ops: ['LRN'],
  vjp(ctx, [dy]) {
    const { b, x, ST, p, q, k } = lrnParts(ctx);
    return [b.sub(b.mul(dy!, p), b.mul(k, b.mul(x, ST(b.mul(b.mul(dy!, x), q)))))];
  },
  jvp(ctx, [t]) {
    const { b, x, S, p, q, k } = lrnParts(ctx);
    return [b.sub(b.mul(t!, p), b.mul(k, b.mul(b.mul(x, q), S(b.mul(x, t!)))))];
  },
});
