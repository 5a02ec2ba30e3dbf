/**
 * Activations. With m = [x > 0] as a 0/1 mask (see pointwise.ts for why masks are Cast + Mul),
 * the derivative d (dx = dy * d, ty = tx * d):
 *
 *   Relu         d = m
 *   LeakyRelu    d = alpha + (1 - alpha) * m                      (alpha default 0.01)
 *   Elu          d = m + (1 - m) * (y + alpha)                     (alpha e^x = y + alpha for x <= 0)
 *   Sigmoid      d = y * (1 - y)
 *   HardSigmoid  d = alpha * [0 < y < 1]   (y = max(0, min(1, alpha x + beta)); zero outside the
 *                linear region; alpha default 0.2, beta 0.5)
 *   Tanh         d = 1 - y^2
 *   Softplus     d = Sigmoid(x)
 *   Gelu (opset 20), approximate="none":  y = x Phi(x),
 *                d = Phi(x) + x phi(x) = 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)
 *                approximate="tanh": y = 0.5 x (1 + t), t = tanh(u), u = c (x + 0.044715 x^3), c = sqrt(2/pi),
 *                d = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2)
 *   ThresholdedRelu  y = x for x > alpha, else 0:  d = [x > alpha]      (alpha default 1; y jumps
 *                by alpha at x = alpha: no derivative there)
 *   Shrink       y = x + bias for x < -lambd, x - bias for x > lambd, else 0:
 *                d = [x < -lambd or x > lambd]    (lambd default 0.5; kinks or jumps at +-lambd.
 *                ONNX Runtime's kernel computes in float32 even for float64 tensors)
 *   PRelu(x, slope), slope broadcast to x (unidirectional), n = 1 - m:
 *                dx = dy * (m + slope * n),  dslope = unbroadcast(dy * x * n)
 *                ty = tx * (m + slope * n) + tslope * x * n
 *
 * Float attributes are float32 in ONNX and ORT applies them as such in float64 kernels, so
 * defaults are Math.fround'ed to match the forward pass exactly.
 */
import { registerRule } from '../registry.js';
import { attrFloat, attrString } from '../../onnx/ir.js';
import { sumTerms, unbroadcast } from '../emit.js';
import type { RuleContext } from '../types.js';
import { X, Y, gtMask, k, mask, registerUnary } from './pointwise.js';

const alphaOf = (ctx: RuleContext, fallback: number) => attrFloat(ctx.node, 'alpha', Math.fround(fallback));
const positive = (ctx: RuleContext) => gtMask(ctx, X(ctx), k(ctx, 0));

registerUnary(['Relu'], positive);

registerUnary(['LeakyRelu'], (ctx) => {
  const alpha = alphaOf(ctx, 0.01);
  return ctx.b.add(ctx.b.mul(positive(ctx), k(ctx, 1 - alpha)), k(ctx, alpha));
});

registerUnary(['Elu'], (ctx) => {
  const b = ctx.b;
  const m = positive(ctx);
  const negSlope = b.add(Y(ctx), k(ctx, alphaOf(ctx, 1)));
  return b.add(m, b.mul(b.sub(k(ctx, 1), m), negSlope));
});

registerUnary(['ThresholdedRelu'], (ctx) => gtMask(ctx, X(ctx), k(ctx, alphaOf(ctx, 1))));

registerUnary(['Shrink'], (ctx) => {
  const b = ctx.b;
  const x = X(ctx);
  const lambd = attrFloat(ctx.node, 'lambd', 0.5);
  return mask(ctx, b.op('Or', [b.op('Less', [x, k(ctx, -lambd)]), b.op('Greater', [x, k(ctx, lambd)])]));
});

registerUnary(['Sigmoid'], (ctx) => ctx.b.mul(Y(ctx), ctx.b.sub(k(ctx, 1), Y(ctx))));

registerUnary(['HardSigmoid'], (ctx) => {
  const b = ctx.b;
  const y = Y(ctx);
  const linear = b.op('And', [b.op('Greater', [y, k(ctx, 0)]), b.op('Less', [y, k(ctx, 1)])]);
  return b.mul(mask(ctx, linear), k(ctx, alphaOf(ctx, 0.2)));
});

registerUnary(['Tanh'], (ctx) => ctx.b.sub(k(ctx, 1), ctx.b.mul(Y(ctx), Y(ctx))));

registerUnary(['Softplus'], (ctx) => ctx.b.op('Sigmoid', [X(ctx)]));

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

registerUnary(['Gelu'], (ctx) => {
  const b = ctx.b;
  const x = X(ctx);
  const x2 = b.mul(x, x);
  const approximate = attrString(ctx.node, 'approximate', 'none');
  if (approximate === 'tanh') {
    const u = b.mul(k(ctx, GELU_C), b.add(x, b.mul(k(ctx, GELU_A), b.mul(x2, x))));
    const t = b.op('Tanh', [u]);
    const half1t = b.mul(k(ctx, 0.5), b.add(k(ctx, 1), t));
    const du = b.mul(k(ctx, GELU_C), b.add(k(ctx, 1), b.mul(k(ctx, 3 * GELU_A), x2)));
    const sech2 = b.sub(k(ctx, 1), b.mul(t, t));
    return b.add(half1t, b.mul(b.mul(k(ctx, 0.5), x), b.mul(sech2, du)));
  }
  if (approximate !== 'none') throw new Error(`Gelu "${ctx.node.name}": unknown approximate="${approximate}"`);
  const cdf = b.mul(k(ctx, 0.5), b.add(k(ctx, 1), b.op('Erf', [b.mul(x, k(ctx, Math.SQRT1_2))])));
  const pdf = b.mul(k(ctx, 1 / Math.sqrt(2 * Math.PI)), b.op('Exp', [b.mul(x2, k(ctx, -0.5))]));
  return b.add(cdf, b.mul(x, pdf));
});

/** PRelu pieces: m = [x > 0], n = 1 - m. */
function preluMasks(ctx: RuleContext): { m: string; n: string } {
  const m = positive(ctx);
  return { m, n: ctx.b.sub(k(ctx, 1), m) };
}

registerRule({
  ops: ['PRelu'],
  vjp(ctx, [dy]) {
    const b = ctx.b;
    const [x, slope] = ctx.node.inputs as [string, string];
    const { m, n } = preluMasks(ctx);
    const dx = b.mul(dy!, b.add(m, b.mul(slope, n)));
    const dslope = ctx.constantValue(slope) ? null : unbroadcast(ctx, b.mul(b.mul(dy!, x), n), slope, Y(ctx));
    return [dx, dslope];
  },
  jvp(ctx, [tx, tslope]) {
    const b = ctx.b;
    const [x, slope] = ctx.node.inputs as [string, string];
    const { m, n } = preluMasks(ctx);
    return [sumTerms(b, [tx ? b.mul(tx, b.add(m, b.mul(slope, n))) : null, tslope ? b.mul(b.mul(tslope, x), n) : null])];
  },
});
