/**
 * Cast / CastLike and Dropout: identities up to dtype.
 *
 * Cast between floating types is the identity on values (up to rounding): dx = Cast(dy, dtype of
 * x), ty = Cast(tx, dtype of y). A cast to or from an integer or bool type is piecewise constant:
 * no gradient, no tangent (masks built as Cast(comparison) never carry one).
 *
 * Dropout in inference (training_mode absent or a constant false, or ratio a constant 0): y = x,
 * so dx = dy, ty = tx; the mask output is bool and carries nothing. In training mode the output
 * depends on a random draw; the autodiff refuses it (UNSUPPORTED_OP) rather than differentiate
 * one sample of the noise. A training_mode fed at run time is refused for the same reason.
 */
import { registerRule } from '../registry.js';
import { isFloatDType } from '../../onnx/dtype.js';
import { toNumberArray } from '../../onnx/tensor.js';
import { AppError } from '../../../common/errors.js';
import type { RuleContext } from '../types.js';
import { X, Y } from './pointwise.js';

const floatToFloat = (ctx: RuleContext) => isFloatDType(ctx.info(X(ctx)).dtype) && isFloatDType(ctx.info(Y(ctx)).dtype);

/** Casts `t` to the dtype of `like` unless it already has it. */
function castTo(ctx: RuleContext, t: string, like: string): string {
  const want = ctx.info(like).dtype;
  const from = ctx.info(like === X(ctx) ? Y(ctx) : X(ctx)).dtype;
  return want === from ? t : ctx.b.cast(t, want);
}

registerRule({
  ops: ['Cast', 'CastLike'],
  vjp: (ctx, [dy]) => [floatToFloat(ctx) ? castTo(ctx, dy!, X(ctx)) : null, null],
  jvp: (ctx, [t]) => [floatToFloat(ctx) && t ? castTo(ctx, t, Y(ctx)) : null],
});

function constantFlag(ctx: RuleContext, i: number): number | null | undefined {
  const name = ctx.node.inputs[i];
  if (name === undefined || name === '') return undefined;
  const v = ctx.constantValue(name);
  return v ? toNumberArray(v)[0]! : null;
}

/** Throws unless the Dropout node is an identity on its first output. */
function assertInference(ctx: RuleContext): void {
  const training = constantFlag(ctx, 2);
  if (training === undefined || training === 0) return;
  if (constantFlag(ctx, 1) === 0) return;
  const why = training === null ? 'training_mode is not a constant' : 'training_mode=1';
  throw new AppError('UNSUPPORTED_OP', `Dropout "${ctx.node.name}": ${why}; only inference-mode Dropout is differentiable`, {
    ops: [`Dropout(${why})`],
  });
}

registerRule({
  ops: ['Dropout'],
  vjp(ctx, [dy]) {
    assertInference(ctx);
    return [dy ?? null, null, null];
  },
  jvp(ctx, [t]) {
    assertInference(ctx);
    return [t ?? null, null];
  },
});
