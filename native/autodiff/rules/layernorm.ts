/**
 * LayerNormalization over axes [axis, rank): with mu = mean(x), xc = x - mu,
 * var = mean(xc^2), r = 1/sqrt(var + eps), xhat = xc * r,  y = xhat * scale + B.
 * Full gradient through the mean and the variance (means over the normalized axes):
 *   g = dy * scale,   dx = r * (g - mean(g) - xhat * mean(g * xhat))
 *   dscale = unbroadcast(dy * xhat),   dB = unbroadcast(dy)
 * plus, when the Mean / InvStdDev outputs are used: dx += dMean / n - dInv * r^2 * xhat / n.
 * JVP: tmu = mean(tx), m = mean(xhat * tx), txhat = r * (tx - tmu - xhat * m),
 *   ty = txhat * scale + xhat * tscale + tB,  tMean = tmu,  tInvStdDev = -r^2 * m.
 * Means are ReduceSum times 1/n (n static); r comes from invStd() (a BatchNormalization node).
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { attrFloat, attrInt } from '../../onnx/ir.js';
import { expandLike, scalarLike, sumTerms, unbroadcast } from '../emit.js';
import { invStd } from './batchnorm.js';
import type { RuleContext } from '../types.js';

/** Normalization statistics over axes [axis, rank) (InstanceNormalization: axis 2). */
function lnParts(ctx: RuleContext, fixedAxis?: number) {
  const b = ctx.b;
  const x = ctx.node.inputs[0]!;
  const { dtype, dims } = ctx.info(x);
  const rank = dims.length;
  let axis = fixedAxis ?? attrInt(ctx.node, 'axis', -1);
  if (axis < 0) axis += rank;
  const axes = Array.from({ length: rank - axis }, (_, i) => i + axis);
  const normDims = axes.map((a) => dims[a]);
  if (normDims.some((d) => d === null)) throw new AppError('UNSUPPORTED_OP', `LayerNormalization "${ctx.node.name}": normalized dims must be static`, { ops: [ctx.node.opType] });
  const n = (normDims as number[]).reduce((p, q) => p * q, 1);
  const invN = scalarLike(ctx, 1 / n, x);
  const mean = (t: string) => b.mul(b.reduceSum(t, axes, true), invN);
  const xc = b.sub(x, mean(x));
  const r = invStd(ctx, mean(b.mul(xc, xc)), attrFloat(ctx.node, 'epsilon', 1e-5), dtype);
  return { b, x, mean, invN, r, xhat: b.mul(xc, r) };
}

/**
 * InstanceNormalization: the same normalization per (n, c) over the spatial axes, with a
 * per-channel scale and bias ([C] -> [C, 1, ...]):
 *   dx = r * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * scale;  dscale = sum(dy * xhat), dB = sum(dy)
 *   (sums over every axis but 1); JVP: txhat * scale + xhat * tscale + tB.
 */
function instanceParts(ctx: RuleContext) {
  const parts = lnParts(ctx, 2);
  const rank = ctx.info(parts.x).dims.length;
  const col = (p: string) => parts.b.op('Reshape', [p, parts.b.int64s([-1, ...new Array<number>(rank - 2).fill(1)], 'shape')]);
  const outer = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  return { ...parts, col, outer };
}

registerRule({
  ops: ['InstanceNormalization'],
  vjp(ctx, [dy]) {
    if (!dy) return [null, null, null];
    const { b, mean, r, xhat, col, outer } = instanceParts(ctx);
    const g = b.mul(dy, col(ctx.node.inputs[1]!));
    const dx = b.mul(r, b.sub(b.sub(g, mean(g)), b.mul(xhat, mean(b.mul(g, xhat)))));
    return [dx, b.reduceSum(b.mul(dy, xhat), outer, false), b.reduceSum(dy, outer, false)];
  },
  jvp(ctx, [tx, tscale, tbias]) {
    const { b, mean, r, xhat, col } = instanceParts(ctx);
    const terms: (string | null)[] = [];
    if (tx) {
      const txhat = b.mul(r, b.sub(b.sub(tx, mean(tx)), b.mul(xhat, mean(b.mul(xhat, tx)))));
      terms.push(b.mul(txhat, col(ctx.node.inputs[1]!)));
    }
    if (tscale) terms.push(b.mul(xhat, col(tscale)));
    const full = sumTerms(b, terms);
    if (!tbias) return [full];
    return [full ? b.add(full, col(tbias)) : b.op('Expand', [col(tbias), b.shape(ctx.node.outputs[0]!)])];
  },
});

registerRule({
  ops: ['LayerNormalization'],
  vjp(ctx, [dy, dMean, dInv]) {
    const { b, x, mean, invN, r, xhat } = lnParts(ctx);
    const [, scale, bias] = ctx.node.inputs as [string, string, string | undefined];
    const y = ctx.node.outputs[0]!;
    let main: string | null = null;
    if (dy) {
      const g = b.mul(dy, scale);
      main = b.mul(r, b.sub(b.sub(g, mean(g)), b.mul(xhat, mean(b.mul(g, xhat)))));
    }
    // Mean/InvStdDev are stash_type (float32 by default) even for float64 inputs.
    const xType = ctx.info(x).dtype;
    const asX = (t: string | null, o: number) => (t && ctx.info(ctx.node.outputs[o]!).dtype !== xType ? b.cast(t, xType) : t);
    const dM = asX(dMean ?? null, 1);
    const dI = asX(dInv ?? null, 2);
    const stats = sumTerms(b, [
      dM ? b.mul(dM, invN) : null,
      dI ? b.mul(b.neg(b.mul(b.mul(dI, b.mul(r, r)), invN)), xhat) : null,
    ]);
    let dx: string | null = main;
    if (stats) {
      const full = dI ? stats : b.op('Expand', [stats, b.shape(x)]);
      dx = main ? b.add(main, full) : full;
    }
    const dscale = dy ? unbroadcast(ctx, b.mul(dy, xhat), scale, y) : null;
    const dbias = dy && bias ? unbroadcast(ctx, dy, bias, y) : null;
    return [dx, dscale, dbias];
  },
  jvp(ctx, [tx, tscale, tbias]) {
    const { b, mean, r, xhat } = lnParts(ctx);
    const [, scale, bias] = ctx.node.inputs as [string, string, string | undefined];
    const y = ctx.node.outputs[0]!;
    let txhat: string | null = null;
    let tMean: string | null = null;
    let tInv: string | null = null;
    if (tx) {
      tMean = mean(tx);
      const m = mean(b.mul(xhat, tx));
      txhat = b.mul(r, b.sub(b.sub(tx, tMean), b.mul(xhat, m)));
      tInv = b.neg(b.mul(b.mul(r, r), m));
    }
    const full = sumTerms(b, [txhat ? b.mul(txhat, scale) : null, tscale ? b.mul(xhat, tscale) : null]);
    let ty: string | null = full;
    if (tbias && bias) ty = full ? b.add(full, tbias) : expandLike(ctx, tbias, bias, y);
    const outs: (string | null)[] = [ty];
    const asStat = (t: string | null, o: number) => {
      const name = ctx.node.outputs[o];
      if (!t || !name) return null;
      const want = ctx.info(name).dtype;
      return want === ctx.info(ctx.node.inputs[0]!).dtype ? t : b.cast(t, want);
    };
    if (ctx.node.outputs.length > 1) outs.push(asStat(tMean, 1));
    if (ctx.node.outputs.length > 2) outs.push(asStat(tInv, 2));
    return outs;
  },
});

/**
 * GroupNormalization: x [N, C, ...] viewed as [N, G, M] (M = C/G * spatial), normalized over M,
 * viewed back, then scaled and shifted per group (opset 18: scale/bias [G]) or per channel
 * (opset 21: [C]). The normalization part has the LayerNormalization formulas over the last axis
 * of the grouped view; scale/bias gradients sum dy*xhat and dy over every axis but the one they follow.
 */
function groupParts(ctx: RuleContext) {
  const b = ctx.b;
  const [x, scale] = ctx.node.inputs as [string, string];
  const { dtype, dims } = ctx.info(x);
  const rank = dims.length;
  const G = attrInt(ctx.node, 'num_groups', 1);
  const rest = dims.slice(1);
  if (rest.some((d) => d === null)) throw new AppError('UNSUPPORTED_OP', `GroupNormalization "${ctx.node.name}": channel and spatial dims must be static`, { ops: [ctx.node.opType] });
  const C = rest[0]!;
  const n = (rest as number[]).reduce((p, q) => p * q, 1) / G;
  const invN = scalarLike(ctx, 1 / n, x);
  const grouped = (t: string) => b.op('Reshape', [t, b.int64s([0, G, -1], 'shape')]);
  const back = (t: string) => b.op('Reshape', [t, b.shape(x)]);
  const mean = (t: string) => b.mul(b.reduceSum(t, [2], true), invN);
  const xg = grouped(x);
  const xc = b.sub(xg, mean(xg));
  const r = invStd(ctx, mean(b.mul(xc, xc)), attrFloat(ctx.node, 'epsilon', 1e-5), dtype);
  const xhatG = b.mul(xc, r);
  const perGroup = (ctx.info(scale).dims[0] ?? C) === G && G !== C;
  // Parameter [G] or [C] -> a per-channel column [C, 1, ...] that broadcasts against x.
  const col = (p: string) => {
    const perChannel = perGroup ? b.op('Reshape', [b.op('Expand', [b.op('Reshape', [p, b.int64s([G, 1], 'shape')]), b.int64s([G, C / G], 'shape')]), b.int64s([C], 'shape')]) : p;
    return b.op('Reshape', [perChannel, b.int64s([-1, ...new Array<number>(rank - 2).fill(1)], 'shape')]);
  };
  // Sum of a full-shape tensor down to the parameter's shape.
  const paramSum = (t: string) =>
    perGroup
      ? b.reduceSum(grouped(t), [0, 2], false)
      : b.reduceSum(t, [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)], false);
  return { b, x, scale, grouped, back, mean, r, xhatG, xhat: back(xhatG), col, paramSum };
}

registerRule({
  ops: ['GroupNormalization'],
  vjp(ctx, [dy]) {
    if (!dy) return [null, null, null];
    const k = groupParts(ctx);
    const { b } = k;
    const g = k.grouped(b.mul(dy, k.col(k.scale)));
    const dx = k.back(b.mul(k.r, b.sub(b.sub(g, k.mean(g)), b.mul(k.xhatG, k.mean(b.mul(g, k.xhatG))))));
    return [dx, k.paramSum(b.mul(dy, k.xhat)), k.paramSum(dy)];
  },
  jvp(ctx, [tx, tscale, tbias]) {
    const k = groupParts(ctx);
    const { b } = k;
    const terms: (string | null)[] = [];
    if (tx) {
      const t = k.grouped(tx);
      const txhat = k.back(b.mul(k.r, b.sub(b.sub(t, k.mean(t)), b.mul(k.xhatG, k.mean(b.mul(k.xhatG, t))))));
      terms.push(b.mul(txhat, k.col(k.scale)));
    }
    if (tscale) terms.push(b.mul(k.xhat, k.col(tscale)));
    const full = sumTerms(b, terms);
    if (!tbias) return [full];
    return [full ? b.add(full, k.col(tbias)) : b.op('Expand', [k.col(tbias), b.shape(ctx.node.outputs[0]!)])];
  },
});
