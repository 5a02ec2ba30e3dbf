/**
 * Einsum equations as lists of labels, one per axis, so the rule can rearrange operands and
 * write new equations. A label is a subscript letter, or `.k` for the k-th broadcast (ellipsis)
 * axis counted from the left of the widest ellipsis: ellipses are right-aligned as in numpy, so
 * an operand whose "..." covers fewer axes gets the last labels.
 *
 * Semantics follow the ONNX spec and ONNX Runtime, which runs the graphs:
 * - whitespace is ignored ("bij, bjk -> bik" appears in ONNX's own test models);
 * - implicit output (no "->"): the ellipsis axes first, then every letter that occurs exactly
 *   once over all terms, in ONNX Runtime's label order a..z then A..Z ("ii" is a trace);
 * - a letter repeated within one input term takes a diagonal.
 */
import { AppError } from '../../../common/errors.js';

export type Term = string[];

export interface EinsumSpec {
  inputs: Term[];
  output: Term;
}

export function refuseEinsum(equation: string, why: string): never {
  throw new AppError('UNSUPPORTED_OP', `Einsum equation "${equation}": ${why}`, { ops: ['Einsum'], equation });
}

interface RawTerm {
  before: string[];
  after: string[];
  ellipsis: boolean;
}

function splitTerm(term: string, equation: string): RawTerm {
  const parts = term.split('...');
  if (parts.length > 2) refuseEinsum(equation, `more than one "..." in the term "${term}"`);
  for (const ch of parts.join('')) {
    if (!/^[a-zA-Z]$/.test(ch)) refuseEinsum(equation, `"${ch}" is not a subscript letter`);
  }
  return { before: [...parts[0]!], after: parts.length === 2 ? [...parts[1]!] : [], ellipsis: parts.length === 2 };
}

/** ONNX Runtime's order of letters for implicit outputs: a..z, then A..Z. */
const letterRank = (c: string): number => (c >= 'a' ? c.charCodeAt(0) - 97 : 26 + c.charCodeAt(0) - 65);

/** Parses `equation` for inputs of the given ranks (the ranks fix how many axes each "..." covers). */
export function parseEinsum(equation: string, ranks: number[]): EinsumSpec {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.split('->');
  if (arrow.length > 2) refuseEinsum(equation, 'more than one "->"');
  const raw = arrow[0]!.split(',').map((t) => splitTerm(t, equation));
  if (raw.length !== ranks.length) refuseEinsum(equation, `${raw.length} input terms for ${ranks.length} inputs`);
  const widths = raw.map((t, i) => {
    const w = ranks[i]! - t.before.length - t.after.length;
    if (t.ellipsis ? w < 0 : w !== 0) refuseEinsum(equation, `input ${i} has rank ${ranks[i]}, which its term does not match`);
    return w;
  });
  const width = Math.max(0, ...widths);
  const ellipsisLabels = (w: number): Term => Array.from({ length: w }, (_, j) => `.${width - w + j}`);
  const inputs = raw.map((t, i) => [...t.before, ...ellipsisLabels(widths[i]!), ...t.after]);

  let output: Term;
  if (arrow.length === 2) {
    const o = splitTerm(arrow[1]!, equation);
    output = o.ellipsis ? [...o.before, ...ellipsisLabels(width), ...o.after] : o.before;
    if (new Set(output).size !== output.length) refuseEinsum(equation, 'a subscript repeats in the output');
    const known = new Set(inputs.flat());
    const stray = output.find((l) => !known.has(l));
    if (stray !== undefined) refuseEinsum(equation, `output subscript "${stray}" is in no input`);
  } else {
    const count = new Map<string, number>();
    for (const t of raw) for (const c of [...t.before, ...t.after]) count.set(c, (count.get(c) ?? 0) + 1);
    const once = [...count].filter(([, n]) => n === 1).map(([c]) => c);
    once.sort((a, b) => letterRank(a) - letterRank(b));
    output = [...(raw.some((t) => t.ellipsis) ? ellipsisLabels(width) : []), ...once];
  }
  return { inputs, output };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** An explicit equation for the given terms: labels are given letters in order of appearance. */
export function formatEinsum(inputs: Term[], output: Term, equation: string): string {
  const letters = new Map<string, string>();
  const letter = (label: string): string => {
    let c = letters.get(label);
    if (c === undefined) {
      if (letters.size === ALPHABET.length) refuseEinsum(equation, `its gradient needs more than ${ALPHABET.length} subscripts`);
      c = ALPHABET[letters.size]!;
      letters.set(label, c);
    }
    return c;
  };
  return `${inputs.map((t) => t.map(letter).join('')).join(',')}->${output.map(letter).join('')}`;
}
