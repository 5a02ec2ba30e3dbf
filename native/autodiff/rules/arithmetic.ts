/** Add, Sub, Mul, Div, Neg, Sum, Identity, Mod: numpy-broadcasting arithmetic. */
import { registerRule } from '../registry.js';
import { expandLike, sumTerms, unbroadcast } from '../emit.js';
import { attrInt } from '../../onnx/ir.js';
import { isFloatDType } from '../../onnx/dtype.js';
import { AppError } from '../../../common/errors.js';
import type { RuleContext } from '../types.js';

const out = (ctx: RuleContext) => ctx.node.outputs[0]!;
const input = (ctx: RuleContext, i: number) => ctx.node.inputs[i]!;

registerRule({
  ops: ['Add', 'Sub'],
  vjp(ctx, [dy]) {
    const [a, c] = ctx.node.inputs as [string, string];
    const da = unbroadcast(ctx, dy!, a, out(ctx));
    const dcRaw = ctx.node.opType === 'Sub' ? ctx.b.neg(dy!) : dy!;
    return [da, unbroadcast(ctx, dcRaw, c, out(ctx))];
  },
  jvp(ctx, [ta, tc]) {
    const [a, c] = ctx.node.inputs as [string, string];
    const sub = ctx.node.opType === 'Sub';
    if (ta && tc) return [sub ? ctx.b.sub(ta, tc) : ctx.b.add(ta, tc)];
    if (ta) return [expandLike(ctx, ta, a, out(ctx))];
    const t = sub ? ctx.b.neg(tc!) : tc!;
    return [expandLike(ctx, t, c, out(ctx))];
  },
});

registerRule({
  ops: ['Mul'],
  vjp(ctx, [dy]) {
    const [a, c] = ctx.node.inputs as [string, string];
    return [unbroadcast(ctx, ctx.b.mul(dy!, c), a, out(ctx)), unbroadcast(ctx, ctx.b.mul(dy!, a), c, out(ctx))];
  },
  jvp(ctx, [ta, tc]) {
    const [a, c] = ctx.node.inputs as [string, string];
    return [sumTerms(ctx.b, [ta ? ctx.b.mul(ta, c) : null, tc ? ctx.b.mul(a, tc) : null])];
  },
});

registerRule({
  ops: ['Div'],
  // y = a / c:  da = dy / c,  dc = -dy * y / c
  vjp(ctx, [dy]) {
    const [a, c] = ctx.node.inputs as [string, string];
    const y = out(ctx);
    const da = unbroadcast(ctx, ctx.b.div(dy!, c), a, y);
    const dc = unbroadcast(ctx, ctx.b.neg(ctx.b.div(ctx.b.mul(dy!, y), c)), c, y);
    return [da, dc];
  },
  jvp(ctx, [ta, tc]) {
    const c = input(ctx, 1);
    const y = out(ctx);
    const terms = [ta ? ctx.b.div(ta, c) : null, tc ? ctx.b.neg(ctx.b.div(ctx.b.mul(y, tc), c)) : null];
    return [sumTerms(ctx.b, terms)];
  },
});

registerRule({
  ops: ['Neg'],
  vjp: (ctx, [dy]) => [ctx.b.neg(dy!)],
  jvp: (ctx, [t]) => [ctx.b.neg(t!)],
});

registerRule({
  ops: ['Identity'],
  vjp: (_ctx, [dy]) => [dy!],
  jvp: (_ctx, [t]) => [t!],
});

registerRule({
  ops: ['Sum'],
  vjp: (ctx, [dy]) => ctx.node.inputs.map((i) => unbroadcast(ctx, dy!, i, out(ctx))),
  jvp(ctx, ts) {
    const terms = ts.map((t, i) => (t ? expandLike(ctx, t, input(ctx, i), out(ctx)) : null));
    return [sumTerms(ctx.b, terms)];
  },
});

/**
 * Mod(a, c). On floats ONNX allows only fmod=1 (C fmod; ONNX Runtime refuses fmod=0 there):
 * y = a - n c with the integer n = trunc(a / c), locally constant, so
 *   da = unbroadcast(dy),  dc = unbroadcast(-dy * n),  ty = ta - tc * n.
 * n is taken as Round((a - y) / c), the integer that ONNX Runtime's own y implies (fmod is exact,
 * so a - y = n c up to one rounding), rather than trunc(a / c): a quotient that rounds onto an
 * integer could disagree with y there. Round has no gradient, so the HVP sees n as a constant.
 * At a = n c exactly y jumps (no derivative); like any kink, the rule gives the one-sided value.
 * Integer Mod (either fmod) is piecewise constant on integers: no gradient, no tangent.
 */
function modQuotient(ctx: RuleContext): string | null {
  if (!isFloatDType(ctx.info(out(ctx)).dtype)) return null;
  if (attrInt(ctx.node, 'fmod', 0) !== 1) {
    throw new AppError('UNSUPPORTED_OP', `Mod "${ctx.node.name}": fmod=0 on floating-point inputs is not valid ONNX (floats need fmod=1)`, { ops: ['Mod'] });
  }
  const [a, c] = ctx.node.inputs as [string, string];
  return ctx.b.op('Round', [ctx.b.div(ctx.b.sub(a, out(ctx)), c)]);
}

registerRule({
  ops: ['Mod'],
  vjp(ctx, [dy]) {
    const n = modQuotient(ctx);
    if (!n) return [null, null];
    const [a, c] = ctx.node.inputs as [string, string];
    const dc = ctx.constantValue(c) ? null : unbroadcast(ctx, ctx.b.neg(ctx.b.mul(dy!, n)), c, out(ctx));
    return [unbroadcast(ctx, dy!, a, out(ctx)), dc];
  },
  jvp(ctx, [ta, tc]) {
    const n = modQuotient(ctx);
    if (!n) return [null];
    const a = input(ctx, 0);
    return [sumTerms(ctx.b, [ta ? expandLike(ctx, ta, a, out(ctx)) : null, tc ? ctx.b.neg(ctx.b.mul(tc, n)) : null])];
  },
});
