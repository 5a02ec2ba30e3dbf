/**
 * Ops that select among their inputs elementwise: Clip, Min, Max, Where.
 *
 * Clip(x, lo?, hi?) = min(max(x, lo), hi) (ORT's order; lo, hi are optional scalars):
 *   dx  = dy * [lo < x < hi]
 *   dlo = sum(dy * [x < lo and not lo > hi])      (y = lo there)
 *   dhi = sum(dy * [x > hi or lo > hi])           (y = hi there; lo > hi clips everything to hi)
 *   JVP: ty = tx * [lo < x < hi] + tlo * [..] + thi * [..] with the same masks.
 *   A missing bound drops its comparisons. Ties (x == lo or x == hi) get no gradient.
 *
 * Min / Max (variadic, numpy broadcasting): w_i = [x_i == y] / sum_j [x_j == y], so the
 * gradient goes to the selected input and ties share it evenly (the convention of
 * ReduceMax/ReduceMin in reduce.ts and GlobalMaxPool in pool.ts; VJP and JVP use the same
 * weights, so they stay each other's transpose). dx_i = unbroadcast(dy * w_i), ty = sum t_i * w_i.
 *
 * Where(c, x, y): c carries no gradient; dx = unbroadcast(Where(c, dy, 0)),
 * dy_ = unbroadcast(Where(c, 0, dy)); JVP ty = Where(c, tx, ty) (a zero for a missing tangent,
 * then Expand to the output's shape when the present branch is smaller). Where, not a Cast
 * mask, so an Inf/NaN in the branch that is not taken cannot leak into the gradient.
 */
import { registerRule } from '../registry.js';
import { expandLike, scalarLike, sumTerms, unbroadcast } from '../emit.js';
import type { RuleContext } from '../types.js';
import { X, Y, mask } from './pointwise.js';

const present = (name: string | undefined): name is string => name !== undefined && name !== '';

interface ClipMasks {
  x: string;
  lo: string | null;
  hi: string | null;
}

function clipMasks(ctx: RuleContext): ClipMasks {
  const b = ctx.b;
  const x = X(ctx);
  const lo = present(ctx.node.inputs[1]) ? ctx.node.inputs[1] : null;
  const hi = present(ctx.node.inputs[2]) ? ctx.node.inputs[2] : null;
  const inside = [lo && b.op('Greater', [x, lo]), hi && b.op('Less', [x, hi])].filter((c): c is string => !!c);
  const xCond = inside.length === 2 ? b.op('And', inside as [string, string]) : inside[0];
  const crossed = lo && hi ? b.op('Greater', [lo, hi]) : null;
  let loCond: string | null = null;
  if (lo) {
    loCond = b.op('Less', [x, lo]);
    if (crossed) loCond = b.op('And', [loCond, b.op('Not', [crossed])]);
  }
  let hiCond: string | null = null;
  if (hi) {
    hiCond = b.op('Greater', [x, hi]);
    if (crossed) hiCond = b.op('Or', [hiCond, crossed]);
  }
  return {
    x: xCond ? mask(ctx, xCond) : '',
    lo: loCond && mask(ctx, loCond),
    hi: hiCond && mask(ctx, hiCond),
  };
}

const noBounds = (ctx: RuleContext) => !present(ctx.node.inputs[1]) && !present(ctx.node.inputs[2]);

registerRule({
  ops: ['Clip'],
  vjp(ctx, [dy]) {
    if (noBounds(ctx)) return [dy!];
    const b = ctx.b;
    const m = clipMasks(ctx);
    const bound = (i: number, w: string | null) => {
      const name = ctx.node.inputs[i];
      if (!w || !present(name) || ctx.constantValue(name)) return null;
      return unbroadcast(ctx, b.mul(dy!, w), name, Y(ctx));
    };
    return [b.mul(dy!, m.x), bound(1, m.lo), bound(2, m.hi)];
  },
  jvp(ctx, [tx, tlo, thi]) {
    if (noBounds(ctx)) return [tx!];
    const b = ctx.b;
    const m = clipMasks(ctx);
    return [
      sumTerms(b, [
        tx ? b.mul(tx, m.x) : null,
        tlo && m.lo ? b.mul(tlo, m.lo) : null,
        thi && m.hi ? b.mul(thi, m.hi) : null,
      ]),
    ];
  },
});

/** Per-input weights w_i (shaped like the output) of a Min/Max node with >= 2 inputs. */
function selectionWeights(ctx: RuleContext): string[] {
  const b = ctx.b;
  const y = Y(ctx);
  const hits = ctx.node.inputs.map((x) => mask(ctx, b.op('Equal', [x, y])));
  const count = b.op('Sum', hits);
  return hits.map((h) => b.div(h, count));
}

registerRule({
  ops: ['Min', 'Max'],
  vjp(ctx, [dy]) {
    const inputs = ctx.node.inputs;
    if (inputs.length === 1) return [dy!];
    const w = selectionWeights(ctx);
    return inputs.map((x, i) => (ctx.constantValue(x) ? null : unbroadcast(ctx, ctx.b.mul(dy!, w[i]!), x, Y(ctx))));
  },
  jvp(ctx, ts) {
    if (ctx.node.inputs.length === 1) return [ts[0]!];
    const w = selectionWeights(ctx);
    return [sumTerms(ctx.b, ts.map((t, i) => (t ? ctx.b.mul(t, w[i]!) : null)))];
  },
});

registerRule({
  ops: ['Where'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const [c, x, z] = ctx.node.inputs as [string, string, string];
    const y = Y(ctx);
    const zero = scalarLike(ctx, 0, y);
    const branch = (name: string, picked: string) => (ctx.constantValue(name) ? null : unbroadcast(ctx, picked, name, y));
    return [null, branch(x, b.op('Where', [c, dy!, zero])), branch(z, b.op('Where', [c, zero, dy!]))];
  },
  jvp(ctx, [, tx, tz]) {
    const b = ctx.b;
    const [c, x, z] = ctx.node.inputs as [string, string, string];
    const y = Y(ctx);
    if (tx && tz) return [b.op('Where', [c, tx, tz])];
    if (!tx && !tz) return [null];
    const zero = scalarLike(ctx, 0, y);
    if (tx) return [expandLike(ctx, b.op('Where', [c, tx, zero]), x, y)];
    return [expandLike(ctx, b.op('Where', [c, zero, tz!]), z, y)];
  },
});
