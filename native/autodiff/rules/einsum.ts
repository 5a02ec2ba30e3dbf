/**
 * Einsum: multilinear in its operands, so each operand's cotangent is again an Einsum.
 * With y = einsum(x_1 .. x_n) (einsum-equation.ts turns the equation into per-axis labels):
 *
 *   VJP  dx_i = einsum(dy, x_j for j != i  ->  labels of x_i)
 *   JVP  ty   = sum_i einsum(x_1 .. t_i .. x_n)       (the node's own equation)
 *
 * (the adjoint of a multilinear map is the contraction of the cotangent with the other operands;
 * Laue, Mitterreiter, Giesen, "A Simple and Efficient Tensor Calculus", AAAI 2020). Three
 * cases need more than relabelling, since an Einsum output label must occur in some input:
 * - a label of x_i that no other term has (summed in the forward): the gradient is constant
 *   along that axis, so the axis is left out of the Einsum, then restored by Unsqueeze and
 *   Expand to x_i's shape (taken from Shape at run time);
 * - a label repeated within x_i (a diagonal, "ii->i", "...ii->...i", a trace "ii"): the later
 *   occurrences get new labels, and an identity matrix over (label, new label) joins the
 *   operands, which puts the cotangent on the diagonal and zeros elsewhere. The identity is
 *   EyeLike of a square shaped from Shape at run time, so batch-following axes work too;
 * - an axis of size 1 broadcast against a larger one (ellipsis axes; ONNX Runtime broadcasts
 *   letters too): it gets a label of its own, i.e. it is summed over its single entry in the
 *   forward, and its cotangent is summed over the broadcast axis like any label found nowhere
 *   else.
 * Refused (UNSUPPORTED_OP naming the equation): malformed equations (ONNX Runtime rejects them
 * too) and gradients that would need more than 52 subscript letters.
 */
import { registerRule } from '../registry.js';
import { attrString } from '../../onnx/ir.js';
import { sumTerms, zerosOfShape } from '../emit.js';
import { formatEinsum, parseEinsum, type EinsumSpec, type Term } from './einsum-equation.js';
import type { RuleContext } from '../types.js';

interface Operand {
  name: string;
  term: Term;
}

/** The node's equation parsed, with size-1 axes that broadcast given labels of their own. */
function einsumSpec(ctx: RuleContext): EinsumSpec & { equation: string } {
  const equation = attrString(ctx.node, 'equation', '');
  const dims = ctx.node.inputs.map((x) => ctx.info(x).dims);
  const spec = parseEinsum(equation, dims.map((d) => d.length));
  const outRank = ctx.info(ctx.node.outputs[0]!).dims.length;
  if (spec.output.length !== outRank) {
    throw new Error(`Einsum "${ctx.node.name}": equation "${equation}" read as ${spec.output.length} output axes, the runtime gave ${outRank}`);
  }
  // A label's size over all its axes: null (follows the batch, never 1) wins, else the largest.
  const size = new Map<string, number | null>();
  spec.inputs.forEach((term, i) =>
    term.forEach((label, axis) => {
      const d = dims[i]![axis]!;
      const seen = size.get(label);
      size.set(label, seen === null || d === null ? null : Math.max(seen ?? 0, d));
    }),
  );
  const inputs = spec.inputs.map((term, i) =>
    term.map((label, axis) => (dims[i]![axis] === 1 && size.get(label) !== 1 ? `${label}@${i}:${axis}` : label)),
  );
  return { inputs, output: spec.output, equation };
}

/** The identity matrix over axis `axis` of x (size from Shape at run time). */
function identityOver(ctx: RuleContext, x: string, axis: number): string {
  const b = ctx.b;
  const n = b.op('Shape', [x], { start: axis, end: axis + 1 });
  const square = b.op('Concat', [n, n], { axis: 0 });
  return b.op('EyeLike', [zerosOfShape(b, square, ctx.info(x).dtype)]);
}

function operandCotangent(ctx: RuleContext, spec: EinsumSpec & { equation: string }, i: number, dy: string): string {
  const b = ctx.b;
  const x = ctx.node.inputs[i]!;
  const term = spec.inputs[i]!;
  // Diagonals: a repeated label is renamed; an identity operand ties it to its first axis.
  const own: Term = [];
  const identities: Operand[] = [];
  term.forEach((label, axis) => {
    if (!term.slice(0, axis).includes(label)) {
      own.push(label);
      return;
    }
    const twin = `${label}#${axis}`;
    own.push(twin);
    identities.push({ name: identityOver(ctx, x, axis), term: [label, twin] });
  });
  const others = ctx.node.inputs.flatMap((name, j) => (j === i ? [] : [{ name, term: spec.inputs[j]! }]));
  const operands: Operand[] = [{ name: dy, term: spec.output }, ...others, ...identities];
  const available = new Set(operands.flatMap((o) => o.term));
  const kept = own.filter((l) => available.has(l));
  const identityMap = operands.length === 1 && kept.join() === spec.output.join();
  const g = identityMap
    ? dy
    : b.op('Einsum', operands.map((o) => o.name), { equation: formatEinsum(operands.map((o) => o.term), kept, spec.equation) });
  // Labels only x_i has were summed in the forward: the cotangent is constant along them.
  const missing = own.flatMap((l, axis) => (available.has(l) ? [] : [axis]));
  if (missing.length === 0) return g;
  return b.op('Expand', [b.unsqueeze(g, missing), b.shape(x)]);
}

registerRule({
  ops: ['Einsum'],
  vjp(ctx, [dy]) {
    const spec = einsumSpec(ctx);
    return ctx.node.inputs.map((x, i) => (ctx.constantValue(x) ? null : operandCotangent(ctx, spec, i, dy!)));
  },
  jvp(ctx, ts) {
    const inputs = ctx.node.inputs;
    const terms = ts.map((t, i) => (t ? ctx.b.op('Einsum', inputs.map((x, j) => (j === i ? t : x)), ctx.node.attrs) : null));
    return [sumTerms(ctx.b, terms)];
  },
});
