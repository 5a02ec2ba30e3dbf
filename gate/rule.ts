/**
 * The text of one gate rule, parsed: `ANALYSIS.FIELD OP EXPECTED`, e.g.
 * `evaluate.accuracy >= 0.97`, `hessian.topEigenvalues[0] <= 50`, `safety.status == holds`,
 * `hessian.trace <= baseline * 1.1`. Parsing knows no analyzer; gate/fields.ts checks the field.
 */

export const OPERATORS = ['<=', '>=', '==', '!=', '<', '>'] as const;
export type Operator = (typeof OPERATORS)[number];

/**
 * A path into a result: field names, list indices (negative counts from the end), and selectors
 * `[name=fc1.weight]`: the first list element whose string field `name` equals that value.
 */
export type PathSegment = string | number | ListSelector;

export interface ListSelector {
  field: string;
  equals: string;
}

export type Expected =
  | { kind: 'literal'; value: number | string | boolean }
  /** The same field of the same analysis on the baseline model, optionally scaled or shifted. */
  | { kind: 'baseline'; arithmetic: '*' | '+' | '-' | null; operand: number };

export interface ParsedRule {
  analysis: string;
  /** The field as written, without the analysis: `topEigenvalues[0]`. */
  field: string;
  path: PathSegment[];
  op: Operator;
  expected: Expected;
}

/** Thrown for a rule that does not parse; the config loader adds file and line. */
export class RuleSyntaxError extends Error {}

// A selector's value is quoted, or runs to the closing bracket without spaces or quotes.
const SEGMENT = String.raw`\.([A-Za-z_]\w*)|\[(-?\d+)\]|\[([A-Za-z_]\w*)=(?:"([^"]*)"|'([^']*)'|([^\]\s"']+))\]`;
const LHS = new RegExp(String.raw`^\s*([A-Za-z_][\w-]*)((?:${SEGMENT})*)\s*`);
const OPERATOR_CHARS = /^[<>=!~]+/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASELINE = /^baseline(?:\s*([*+-])\s*(\S+))?$/;
const WORD = /^[A-Za-z_][\w-]*$/;

export function parseRule(text: string): ParsedRule {
  const lhs = LHS.exec(text);
  if (!lhs) throw new RuleSyntaxError(`expected ANALYSIS.FIELD OP VALUE (e.g. "evaluate.accuracy >= 0.97"), got "${text}"`);
  const [matched, analysis, fieldPart] = lhs as unknown as [string, string, string];
  if (!fieldPart) throw new RuleSyntaxError(`"${analysis}" names no field: write ${analysis}.FIELD`);
  const rest = text.slice(matched.length);
  const opText = OPERATOR_CHARS.exec(rest)?.[0];
  if (!opText) throw new RuleSyntaxError(`expected an operator (${OPERATORS.join(' ')}) after ${analysis}${fieldPart}, got "${rest.trim() || 'nothing'}"`);
  if (!(OPERATORS as readonly string[]).includes(opText)) throw new RuleSyntaxError(`unknown operator "${opText}"; use one of ${OPERATORS.join(' ')}`);
  const rhs = rest.slice(opText.length).trim();
  if (!rhs) throw new RuleSyntaxError(`nothing to compare with after "${opText}"`);
  return {
    analysis,
    field: fieldPart.replace(/^\./, ''),
    path: parsePath(fieldPart),
    op: opText as Operator,
    expected: parseExpected(rhs),
  };
}

function parsePath(fieldPart: string): PathSegment[] {
  const path: PathSegment[] = [];
  for (const m of fieldPart.matchAll(new RegExp(SEGMENT, 'g'))) {
    if (m[1] !== undefined) path.push(m[1]);
    else if (m[2] !== undefined) path.push(Number(m[2]));
    else path.push({ field: m[3]!, equals: m[4] ?? m[5] ?? m[6]! });
  }
  return path;
}

function parseExpected(rhs: string): Expected {
  if (NUMBER.test(rhs)) return { kind: 'literal', value: Number(rhs) };
  const base = BASELINE.exec(rhs);
  if (base) {
    if (!base[1]) return { kind: 'baseline', arithmetic: null, operand: 0 };
    if (!NUMBER.test(base[2]!)) throw new RuleSyntaxError(`expected a number after "baseline ${base[1]}", got "${base[2]}"`);
    return { kind: 'baseline', arithmetic: base[1] as '*' | '+' | '-', operand: Number(base[2]) };
  }
  if (rhs === 'true' || rhs === 'false') return { kind: 'literal', value: rhs === 'true' };
  const quoted = /^(["'])(.*)\1$/.exec(rhs);
  if (quoted) return { kind: 'literal', value: quoted[2]! };
  if (WORD.test(rhs)) return { kind: 'literal', value: rhs };
  throw new RuleSyntaxError(`cannot read "${rhs}" as a value: use a number, a word, a quoted string, or baseline [* + -] NUMBER`);
}

/** The threshold a rule's expected value stands for, given the baseline's value of the field. */
export function thresholdOf(expected: Expected, baseline: unknown): unknown {
  if (expected.kind === 'literal') return expected.value;
  if (expected.arithmetic === null) return baseline;
  if (typeof baseline !== 'number') return undefined;
  switch (expected.arithmetic) {
    case '*':
      return baseline * expected.operand;
    case '+':
      return baseline + expected.operand;
    case '-':
      return baseline - expected.operand;
  }
}

/** observed OP threshold. Numbers compare as numbers; strings and booleans only by == and !=. */
export function compare(observed: unknown, op: Operator, threshold: unknown): boolean {
  if (typeof observed === 'number' && typeof threshold === 'number') {
    switch (op) {
      case '<':
        return observed < threshold;
      case '<=':
        return observed <= threshold;
      case '>':
        return observed > threshold;
      case '>=':
        return observed >= threshold;
      case '==':
        return observed === threshold;
      case '!=':
        return observed !== threshold;
    }
  }
  if (op === '==') return observed === threshold;
  if (op === '!=') return observed !== threshold;
  return false;
}
