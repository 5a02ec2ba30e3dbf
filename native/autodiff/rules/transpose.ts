/** Transpose: a permutation of axes. VJP = the inverse permutation; JVP = the same op. */
import { registerRule } from '../registry.js';
import { attrInts } from '../../onnx/ir.js';
import type { RuleContext } from '../types.js';

/** The node's permutation (default: reversed axes). */
export function transposePerm(ctx: RuleContext): number[] {
  const rank = ctx.info(ctx.node.inputs[0]!).dims.length;
  return attrInts(ctx.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
}

/** perm^-1: inv[perm[i]] = i. */
export function inversePerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

registerRule({
  ops: ['Transpose'],
  vjp: (ctx, [dy]) => [ctx.b.op('Transpose', [dy!], { perm: inversePerm(transposePerm(ctx)) })],
  jvp: (ctx, [t]) => [ctx.b.op('Transpose', [t!], { perm: transposePerm(ctx) })],
});
