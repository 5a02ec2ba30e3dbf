/**
 * BatchNormalization in inference mode (training_mode = 0):
 *   y = (x - mean) * inv * scale + bias,   inv = 1 / sqrt(var + eps),  per channel (axis 1).
 * All five inputs get their gradient (mean and var are usually constants, but the cost is small):
 *   dx = dy * scale * inv,   dscale = sum(dy * xhat),   dbias = sum(dy),
 *   dmean = -sum(dy) * scale * inv,   dvar = -1/2 sum(dy * (x - mean)) * scale * inv^3
 * (sums over every axis but 1). JVP: the same partials applied to the tangents.
 * inv itself is computed with a BatchNormalization node (ones normalized by var), so no
 * Sqrt/Pow rule is needed and the HVP reuses this rule.
 *
 * Training mode (training_mode = 1): x is normalized with the batch statistics mu, var (biased,
 * over every axis but 1; n = numel(x)/C from the run-time shape), and the optional outputs are
 * running_mean = m*mean + (1-m)*mu, running_var = m*var + (1-m)*var_B (checked against ORT).
 * As for LayerNormalization over those axes (A_ means over them, r = 1/sqrt(var_B + eps)):
 *   g = dy*scale,  dx = r*(g - A(g) - xhat*A(g*xhat)) + (1-m)*(d_rm + 2*d_rv*xc)/n
 *   JVP: txhat = r*(tx - A(tx) - xhat*A(xhat*tx)),  t_rm = m*t_mean + (1-m)*A(tx),
 *        t_rv = m*t_var + (1-m)*2*A(xc*tx).
 */
import { registerRule } from '../registry.js';
import { AppError } from '../../../common/errors.js';
import { attrFloat, attrInt, float, tensorAttr } from '../../onnx/ir.js';
import { tensor } from '../../onnx/tensor.js';
import { scalarLike, sumTerms } from '../emit.js';
import type { DType } from '../../onnx/dtype.js';
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

const training = (ctx: RuleContext) => attrInt(ctx.node, 'training_mode', 0) !== 0;

registerRule({
  ops: ['BatchNormalization'],
  vjp(ctx, dys) {
    if (training(ctx)) return trainingVjp(ctx, dys);
    const [dy] = dys;
    if (!dy) return [null, null, null, null, null];
    const k = bnParts(ctx);
    const { b, col } = k;
    const g = dy;
    const dbias = b.reduceSum(g, k.axes, false);
    const dx = b.mul(g, col(k.scaleInv));
    const dscale = b.reduceSum(b.mul(g, k.xhat()), k.axes, false);
    const dmean = b.neg(b.mul(dbias, k.scaleInv));
    const dvar = b.mul(b.reduceSum(b.mul(g, k.xc()), k.axes, false), k.halfScaleInv3());
    return [dx, dscale, dbias, dmean, dvar];
  },
  jvp(ctx, ts) {
    if (training(ctx)) return trainingJvp(ctx, ts);
    const [tx, tscale, tbias, tmean, tvar] = ts;
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

/** Batch statistics of training mode, emitted on demand. */
function trainParts(ctx: RuleContext) {
  const b = ctx.b;
  const [x, scale] = ctx.node.inputs as [string, string];
  const { dtype, dims } = ctx.info(x);
  const rank = dims.length;
  const C = dims[1];
  if (C === null || C === undefined) throw new AppError('UNSUPPORTED_OP', `BatchNormalization "${ctx.node.name}": channel count must be static`, { ops: [ctx.node.opType] });
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const col = (p: string) => (rank <= 2 ? p : b.op('Reshape', [p, b.int64s([-1, ...new Array<number>(rank - 2).fill(1)], 'shape')]));
  const flatC = (t: string) => b.op('Reshape', [t, b.int64s([-1], 'shape')]);
  // 1/n with n = numel(x) / C from the run-time size (the batch may vary).
  const invN = b.div(scalarLike(ctx, C, x), b.cast(b.op('Size', [x]), dtype));
  const mean = (t: string) => b.mul(b.reduceSum(t, axes, true), invN);
  const mu = mean(x);
  const xc = b.sub(x, mu);
  const r = invStd(ctx, mean(b.mul(xc, xc)), attrFloat(ctx.node, 'epsilon', 1e-5), dtype);
  const m = attrFloat(ctx.node, 'momentum', 0.9);
  return { b, x, scale, col, flatC, mean, xc, r, xhat: b.mul(xc, r), invN, m, one: (v: number) => scalarLike(ctx, v, x) };
}

function trainingVjp(ctx: RuleContext, [dy, dRm, dRv]: (string | null)[]): (string | null)[] {
  const k = trainParts(ctx);
  const { b, col } = k;
  const axes = [0, ...Array.from({ length: ctx.info(k.x).dims.length - 2 }, (_, i) => i + 2)];
  const terms: (string | null)[] = [];
  let dscale: string | null = null;
  let dbias: string | null = null;
  if (dy) {
    const g = b.mul(dy, col(k.scale));
    terms.push(b.mul(k.r, b.sub(b.sub(g, k.mean(g)), b.mul(k.xhat, k.mean(b.mul(g, k.xhat))))));
    dscale = b.reduceSum(b.mul(dy, k.xhat), axes, false);
    dbias = b.reduceSum(dy, axes, false);
  }
  const rest = 1 - k.m;
  // d mu / dx = 1/n;  d var_B / dx = 2 xc / n.
  if (dRm) terms.push(b.op('Expand', [b.mul(col(dRm), b.mul(k.invN, k.one(rest))), b.shape(k.x)]));
  if (dRv) terms.push(b.mul(b.mul(col(dRv), b.mul(k.invN, k.one(2 * rest))), k.xc));
  const dmean = dRm ? b.mul(dRm, k.one(k.m)) : null;
  const dvar = dRv ? b.mul(dRv, k.one(k.m)) : null;
  return [sumTerms(b, terms), dscale, dbias, dmean, dvar];
}

function trainingJvp(ctx: RuleContext, [tx, tscale, tbias, tmean, tvar]: (string | null)[]): (string | null)[] {
  const k = trainParts(ctx);
  const { b, col } = k;
  let ty: string | null = null;
  let tRm: string | null = tmean ? b.mul(tmean, k.one(k.m)) : null;
  let tRv: string | null = tvar ? b.mul(tvar, k.one(k.m)) : null;
  const full: (string | null)[] = [];
  if (tx) {
    const mtx = k.mean(tx);
    const txhat = b.mul(k.r, b.sub(b.sub(tx, mtx), b.mul(k.xhat, k.mean(b.mul(k.xhat, tx)))));
    full.push(b.mul(txhat, col(k.scale)));
    tRm = sumTerms(b, [tRm, b.mul(k.flatC(mtx), k.one(1 - k.m))]);
    tRv = sumTerms(b, [tRv, b.mul(k.flatC(k.mean(b.mul(k.xc, tx))), k.one(2 * (1 - k.m)))]);
  }
  if (tscale) full.push(b.mul(k.xhat, col(tscale)));
  const f = sumTerms(b, full);
  if (f && tbias) ty = b.add(f, col(tbias));
  else if (f) ty = f;
  else if (tbias) ty = b.op('Expand', [col(tbias), b.shape(ctx.node.outputs[0]!)]);
  const outs: (string | null)[] = [ty];
  if (ctx.node.outputs.length > 1) outs.push(tRm);
  if (ctx.node.outputs.length > 2) outs.push(tRv);
  return outs;
}
