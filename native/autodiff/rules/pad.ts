/**
 * Pad. Constant mode: y = x placed inside a frame of `constant_value`.
 *  - VJP: dx = Pad(dy, -pads) (ONNX Pad crops on negative pads: exactly the Slice of the
 *    interior), d constant_value = sum(dy) - sum(dx) (the frame's cotangent).
 *  - JVP: Pad(tx, pads, t_constant_value) (linear in both).
 * Edge/reflect/wrap: the JVP is the same Pad of the tangent (linear). Pad then acts on each
 * padded axis separately as y = P x with a 0/1 matrix P [Lout, L] (output position -> source
 * position: clamped, mirrored or wrapped), so the VJP applies P^T axis by axis: move the axis
 * last (Transpose), MatMul by the constant P, move it back. The padded axes must be static
 * and the pads constant.
 */
import { registerRule } from '../registry.js';
import { attrString } from '../../onnx/ir.js';
import { toNumberArray } from '../../onnx/tensor.js';
import { AppError } from '../../../common/errors.js';
import { tensor } from '../../onnx/tensor.js';
import { zerosLike } from '../emit.js';
import type { RuleContext } from '../types.js';

function negatedPads(ctx: RuleContext, pads: string): string {
  const v = ctx.constantValue(pads);
  if (v) return ctx.b.int64s(toNumberArray(v).map((p) => -p), 'pads');
  return ctx.b.neg(pads);
}

/** Source index of output position o (0 <= o < L + pB + pE) for a non-constant mode. */
function sourceIndex(mode: string, o: number, pB: number, L: number): number {
  const j = o - pB;
  if (mode === 'edge') return Math.min(L - 1, Math.max(0, j));
  if (mode === 'wrap') return ((j % L) + L) % L;
  // reflect: mirror without repeating the edge (period 2(L-1)).
  if (L === 1) return 0;
  const period = 2 * (L - 1);
  const m = ((j % period) + period) % period;
  return m < L ? m : period - m;
}

function unsupported(ctx: RuleContext, why: string): AppError {
  return new AppError('UNSUPPORTED_OP', `Pad "${ctx.node.name}": ${why}`, { ops: ['Pad'] });
}

/** VJP of edge/reflect/wrap padding: P^T applied along each padded axis. */
function nonConstantVjp(ctx: RuleContext, dy: string, mode: string): string {
  if (!['edge', 'reflect', 'wrap'].includes(mode)) throw unsupported(ctx, `unknown mode "${mode}"`);
  const [x, padsName, , axesName] = ctx.node.inputs as [string, string, string | undefined, string | undefined];
  const { dtype, dims } = ctx.info(x);
  const rank = dims.length;
  const outDims = ctx.info(ctx.node.outputs[0]!).dims;
  const padsT = ctx.constantValue(padsName);
  if (!padsT) throw unsupported(ctx, `no gradient for mode="${mode}" with pads computed at run time`);
  const pads = toNumberArray(padsT);
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (axesName) {
    const a = ctx.constantValue(axesName);
    if (!a) throw unsupported(ctx, `no gradient for mode="${mode}" with axes computed at run time`);
    axes = toNumberArray(a).map((v) => (v < 0 ? v + rank : v));
  }
  const n = axes.length;
  let g = dy;
  axes.forEach((axis, k) => {
    const pB = pads[k]!;
    const pE = pads[k + n]!;
    if (pB === 0 && pE === 0) return;
    const L = dims[axis];
    const Lout = outDims[axis];
    if (L === null || L === undefined || Lout === null || Lout === undefined) {
      throw unsupported(ctx, `no gradient for mode="${mode}" along an axis that follows the batch`);
    }
    const P = new Array<number>(Lout * L).fill(0);
    for (let o = 0; o < Lout; o++) P[o * L + sourceIndex(mode, o, pB, L)] = 1;
    const mat = ctx.b.constant(tensor(dtype, [Lout, L], P), 'pad_matrix');
    const last = rank - 1;
    const perm = Array.from({ length: rank }, (_, i) => (i === axis ? last : i === last ? axis : i));
    const moved = axis === last ? g : ctx.b.op('Transpose', [g], { perm });
    const back = ctx.b.op('MatMul', [moved, mat]);
    g = axis === last ? back : ctx.b.op('Transpose', [back], { perm });
  });
  return g;
}

registerRule({
  ops: ['Pad'],
  vjp(ctx, [dy]) {
    const mode = attrString(ctx.node, 'mode', 'constant');
    if (mode !== 'constant') return [nonConstantVjp(ctx, dy!, mode), null, null, null];
    const [, pads, value, axes] = ctx.node.inputs as [string, string, string | undefined, string | undefined];
    const inputs = [dy!, negatedPads(ctx, pads!)];
    if (axes) inputs.push('', axes);
    const dx = ctx.b.op('Pad', inputs);
    let dv: string | null = null;
    if (value) {
      const frame = ctx.b.sub(ctx.b.reduceSum(dy!, null, false), ctx.b.reduceSum(dx, null, false));
      dv = ctx.b.op('Reshape', [frame, ctx.b.shape(value)]);
    }
    return [dx, null, dv, null];
  },
  jvp(ctx, [tx, , tv]) {
    const [x, pads, , axes] = ctx.node.inputs as [string, string, string | undefined, string | undefined];
    if (attrString(ctx.node, 'mode', 'constant') !== 'constant') {
      // The constant value plays no part outside constant mode.
      if (!tx) return [null];
      tv = null;
    }
    const inputs = [tx ?? zerosLike(ctx, x), pads!, tv ?? ''];
    if (axes) inputs.push(axes);
    while (inputs[inputs.length - 1] === '') inputs.pop();
    return [ctx.b.op('Pad', inputs, ctx.node.attrs)];
  },
});
