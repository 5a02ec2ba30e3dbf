/**
 * Det(A), A of shape [..., M, M] -> [...].
 *
 * The textbook gradient det(A) A^{-T} needs an inverse, which ai.onnx lacks, and fails at
 * singular A. The cofactor matrix C = d det / dA (= adj(A)^T) needs neither: det is linear in
 * each column, so
 *   C[i, j] = det(A with column j replaced by e_i)                      (Laplace along column j)
 *   JVP:  t_det = sum_j det(A with column j replaced by column j of tA)
 *   VJP:  dA = dy[..., None, None] * C
 * Both are batches of Det over the same M x M size, exact for singular A, built with Where over
 * constant masks (no 0 * Inf products) and ONNX Runtime's own Det (LU with pivoting). The VJP
 * emits only Unsqueeze, Where, Det and Mul, all with JVP rules, so the HVP pushes tangents through
 * the cofactors with this same rule.
 *
 * Cost: the gradient holds M^2 matrices of M x M per input matrix (M^4 numbers), the HVP then
 * M^5 (the JVP of the cofactor Det). That is why M must be static and at most MAX_M; anything
 * else is refused with UNSUPPORTED_OP. (An unrolled Gauss-Jordan inverse would cost less but
 * needs pivoting by hand and breaks down at singular A; cofactor formulas written out for M <= 3
 * would support less.) ONNX Runtime's CPU Det exists for float32 only, so models with Det run and
 * are differentiated in float32.
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { numel, tensor } from '../../onnx/tensor.js';
import type { RuleContext } from '../types.js';

/** Largest matrix size differentiated (HVP memory ~ M^5 numbers per matrix: 1M at 16). */
const MAX_M = 16;

/** Rank and the static matrix size M of the node's input, or UNSUPPORTED_OP. */
function matrixOf(ctx: RuleContext): { rank: number; m: number } {
  const dims = ctx.info(ctx.node.inputs[0]!).dims;
  const rank = dims.length;
  const [rows, cols] = [dims[rank - 2], dims[rank - 1]];
  const refuse = (why: string) =>
    new AppError('UNSUPPORTED_OP', `Det "${ctx.node.name}": ${why}`, { ops: ['Det'] });
  if (rows === null || cols === null || rows === undefined || cols === undefined) {
    throw refuse('the matrix size must be static (only leading batch dims may vary)');
  }
  if (rows > MAX_M) throw refuse(`${rows}x${cols} matrices: the autodiff differentiates Det up to ${MAX_M}x${MAX_M} (its gradient costs M^4 numbers per matrix, the HVP M^5)`);
  return { rank, m: rows };
}

/** Row-major entries of a 0/1 tensor of shape `dims`: 1 where f(...index) holds. */
function grid(dims: number[], f: (...index: number[]) => boolean): number[] {
  return Array.from({ length: numel(dims) }, (_, flat) => {
    const index = dims.map(() => 0);
    for (let ax = dims.length - 1; ax >= 0; ax--) {
      index[ax] = flat % dims[ax]!;
      flat = Math.floor(flat / dims[ax]!);
    }
    return f(...index) ? 1 : 0;
  });
}

registerRule({
  ops: ['Det'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const a = ctx.node.inputs[0]!;
    const { rank, m } = matrixOf(ctx);
    const dtype = ctx.info(a).dtype;
    // B[..., i, j, r, c] = (c == j) ? [r == i] : A[..., r, c];  C = Det(B): [..., M, M]
    const column = b.constant(tensor('bool', [1, m, 1, m], grid([1, m, 1, m], (_i, j, _r, c) => j === c)), 'det_col');
    const unit = b.constant(tensor(dtype, [m, 1, m, 1], grid([m, 1, m, 1], (i, _j, r) => i === r)), 'det_unit');
    const replaced = b.op('Where', [column, unit, b.unsqueeze(a, [rank - 2, rank - 1])]);
    const cofactors = b.op('Det', [replaced]);
    return [b.mul(b.unsqueeze(dy!, [rank - 2, rank - 1]), cofactors)];
  },
  jvp(ctx, [t]) {
    const b = ctx.b;
    const a = ctx.node.inputs[0]!;
    const { rank, m } = matrixOf(ctx);
    // X[..., j, r, c] = (c == j) ? tA[..., r, c] : A[..., r, c];  t_det = sum_j Det(X)[..., j]
    const column = b.constant(tensor('bool', [m, 1, m], grid([m, 1, m], (j, _r, c) => j === c)), 'det_col');
    const replaced = b.op('Where', [column, b.unsqueeze(t!, [rank - 2]), b.unsqueeze(a, [rank - 2])]);
    return [b.reduceSum(b.op('Det', [replaced]), [rank - 2], false)];
  },
});
