/**
 * DepthToSpace and SpaceToDepth (x is [N, C, H, W], b the blocksize): permutations of the
 * elements, so each VJP is the inverse permutation and each JVP the op itself.
 *
 *   DepthToSpace DCR  y[n, c, h*b+i, w*b+j] = x[n, (i*b+j)*C' + c, h, w]     (C' = C / b^2)
 *   DepthToSpace CRD  y[n, c, h*b+i, w*b+j] = x[n, c*b^2 + i*b+j, h, w]
 *   SpaceToDepth      the inverse of DepthToSpace DCR (ONNX operator spec)
 *
 * So SpaceToDepth and DCR are each other's VJP. CRD is DCR after a fixed permutation of the
 * channels, CRD(x) = DCR(Gather(x, p, axis 1)) with p[k*C' + c] = c*b^2 + k, hence its VJP is
 * Gather(SpaceToDepth(dy), p^-1, axis 1). No Reshape target is built, so nothing depends on the
 * batch size (or on H and W); only C must be fixed, to write p.
 */
import { AppError } from '../../../common/errors.js';
import { attrInt, attrString } from '../../onnx/ir.js';
import { registerRule } from '../registry.js';
import { sameOpOn } from './reshape-expand.js';
import { inversePerm } from './transpose.js';
import type { RuleContext } from '../types.js';

const blocksize = (ctx: RuleContext): number => attrInt(ctx.node, 'blocksize', 0);

/** p^-1 for CRD: the channel of x that DCR's channel m (= k*C' + c) reads is c*b^2 + k. */
function crdChannelsInverse(ctx: RuleContext): number[] {
  const channels = ctx.info(ctx.node.inputs[0]!).dims[1];
  if (typeof channels !== 'number') {
    throw new AppError('UNSUPPORTED_OP', `DepthToSpace "${ctx.node.name}": CRD mode needs a fixed channel count`, { ops: ['DepthToSpace'] });
  }
  const bb = blocksize(ctx) ** 2;
  const per = channels / bb;
  const p = Array.from({ length: channels }, (_, m) => (m % per) * bb + Math.floor(m / per));
  return inversePerm(p);
}

registerRule({
  ops: ['DepthToSpace'],
  vjp(ctx, [dy]) {
    const dz = ctx.b.op('SpaceToDepth', [dy!], { blocksize: blocksize(ctx) });
    if (attrString(ctx.node, 'mode', 'DCR') !== 'CRD') return [dz];
    return [ctx.b.op('Gather', [dz, ctx.b.int64s(crdChannelsInverse(ctx), 'crd_channels')], { axis: 1 })];
  },
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});

registerRule({
  ops: ['SpaceToDepth'],
  vjp: (ctx, [dy]) => [ctx.b.op('DepthToSpace', [dy!], { blocksize: blocksize(ctx), mode: 'DCR' })],
  jvp: (ctx, [t]) => [sameOpOn(ctx, t!)],
});
