/**
 * VNNLIB (the VNN-COMP property format, an SMT-LIB subset) -> a property in disjunctive normal
 * form. A VNNLIB file asserts the UNSAFE set: "sat" (some input satisfies every assert) means the
 * property is violated. We read:
 *   (declare-const X_i Real) / (declare-const Y_j Real)
 *   (assert F) with F built from (<= s t), (>= s t), (< s t), (> s t), (and F...), (or F...)
 *   and linear terms s, t: numbers, variables, (+ t...), (- t [t]), (* c t).
 * The conjunction of every assert is put in DNF; each disjunct must bound every X_i by
 * constants (a box) and may constrain the Y_j by linear inequalities a.y <= b.
 */
import { badParams } from '../../common/errors.js';

/** An unsafe-set inequality sum_j a[j]*Y_j <= b (strict: <). */
export interface OutputConstraint {
  a: Float64Array;
  b: number;
  strict: boolean;
}

/** One disjunct of the unsafe set: x in [lo, hi] and every constraint holds. */
export interface Disjunct {
  lo: Float64Array;
  hi: Float64Array;
  constraints: OutputConstraint[];
}

export interface Property {
  numInputs: number;
  numOutputs: number;
  disjuncts: Disjunct[];
}

/** Most disjuncts the DNF may have (VNN-COMP files have at most a few hundred). */
const MAX_DISJUNCTS = 20000;

type SExpr = string | SExpr[];

export function tokenize(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(' || c === ')') {
      out.push(c);
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s();]/.test(text[j]!)) j++;
      out.push(text.slice(i, j));
      i = j;
    }
  }
  return out;
}

export function parseSExprs(text: string): SExpr[] {
  const tokens = tokenize(text);
  const stack: SExpr[][] = [[]];
  for (const t of tokens) {
    if (t === '(') stack.push([]);
    else if (t === ')') {
      if (stack.length === 1) throw badParams('vnnlib: unbalanced ")"');
      const done = stack.pop()!;
      stack[stack.length - 1]!.push(done);
    } else stack[stack.length - 1]!.push(t);
  }
  if (stack.length !== 1) throw badParams('vnnlib: unbalanced "(": the file ends inside an expression');
  return stack[0]!;
}

/** A linear form over the variables: coefficient per name + constant. */
interface Linear {
  coef: Map<string, number>;
  c: number;
}

/** Atom in "form <= 0" (or < 0) shape. */
interface Atom {
  form: Linear;
  strict: boolean;
}

type Formula = { kind: 'atom'; atom: Atom } | { kind: 'and' | 'or'; args: Formula[] };

const show = (e: SExpr): string => (typeof e === 'string' ? e : `(${e.map(show).join(' ')})`);

function linear(e: SExpr, vars: Set<string>): Linear {
  if (typeof e === 'string') {
    if (vars.has(e)) return { coef: new Map([[e, 1]]), c: 0 };
    const v = Number(e);
    if (e.trim() === '' || !Number.isFinite(v)) throw badParams(`vnnlib: unknown symbol ${e} (declare it with declare-const)`);
    return { coef: new Map(), c: v };
  }
  const [head, ...args] = e;
  if (typeof head !== 'string') throw badParams(`vnnlib: cannot read term ${show(e)}`);
  const parts = args.map((a) => linear(a, vars));
  if (head === '+') return parts.reduce((acc, p) => add(acc, p, 1), { coef: new Map(), c: 0 } as Linear);
  if (head === '-') {
    if (parts.length === 1) return scale(parts[0]!, -1);
    return parts.slice(1).reduce((acc, p) => add(acc, p, -1), parts[0]!);
  }
  if (head === '*') {
    // Linear only: every factor but one must be a constant.
    let result: Linear = { coef: new Map(), c: 1 };
    let seenVar = false;
    for (const p of parts) {
      if (p.coef.size === 0) result = scale(result, p.c);
      else {
        if (seenVar) throw badParams(`vnnlib: non-linear product ${show(e)}`);
        seenVar = true;
        result = scale(p, result.c);
      }
    }
    return result;
  }
  throw badParams(`vnnlib: unsupported term operator ${head} in ${show(e)}`);
}

function add(a: Linear, b: Linear, s: number): Linear {
  const coef = new Map(a.coef);
  for (const [k, v] of b.coef) coef.set(k, (coef.get(k) ?? 0) + s * v);
  return { coef, c: a.c + s * b.c };
}

const scale = (a: Linear, s: number): Linear => ({ coef: new Map([...a.coef].map(([k, v]) => [k, v * s])), c: a.c * s });

function formula(e: SExpr, vars: Set<string>): Formula {
  if (typeof e === 'string' || e.length === 0 || typeof e[0] !== 'string') throw badParams(`vnnlib: expected a formula, got ${show(e)}`);
  const head = e[0];
  const args = e.slice(1);
  if (head === 'and' || head === 'or') return { kind: head, args: args.map((a) => formula(a, vars)) };
  if (head === '<=' || head === '>=' || head === '<' || head === '>') {
    if (args.length !== 2) throw badParams(`vnnlib: ${head} takes two terms: ${show(e)}`);
    const l = linear(args[0]!, vars);
    const r = linear(args[1]!, vars);
    // l <= r  <=>  l - r <= 0 ;  l >= r  <=>  r - l <= 0
    const form = head[0] === '<' ? add(l, r, -1) : add(r, l, -1);
    return { kind: 'atom', atom: { form, strict: head.length === 1 } };
  }
  throw badParams(`vnnlib: unsupported formula operator ${head}`);
}

/** DNF as a list of conjunctions (lists of atoms). */
function dnf(f: Formula): Atom[][] {
  if (f.kind === 'atom') return [[f.atom]];
  if (f.kind === 'or') {
    const out: Atom[][] = [];
    for (const a of f.args) out.push(...dnf(a));
    if (out.length > MAX_DISJUNCTS) throw badParams(`vnnlib: more than ${MAX_DISJUNCTS} disjuncts`);
    return out;
  }
  let acc: Atom[][] = [[]];
  for (const a of f.args) {
    const d = dnf(a);
    if (acc.length * d.length > MAX_DISJUNCTS) throw badParams(`vnnlib: more than ${MAX_DISJUNCTS} disjuncts`);
    const next: Atom[][] = [];
    for (const x of acc) for (const y of d) next.push([...x, ...y]);
    acc = next;
  }
  return acc;
}

const varIndex = (name: string, prefix: 'X' | 'Y'): number | null => {
  const m = new RegExp(`^${prefix}_(\\d+)$`).exec(name);
  return m ? Number(m[1]) : null;
};

export function parseVnnlib(text: string): Property {
  const exprs = parseSExprs(text);
  const vars = new Set<string>();
  let numInputs = 0;
  let numOutputs = 0;
  const asserts: Formula[] = [];
  for (const e of exprs) {
    if (typeof e === 'string' || typeof e[0] !== 'string') throw badParams(`vnnlib: unexpected top-level ${show(e)}`);
    if (e[0] === 'declare-const') {
      const name = e[1];
      if (typeof name !== 'string') throw badParams(`vnnlib: bad declaration ${show(e)}`);
      const xi = varIndex(name, 'X');
      const yi = varIndex(name, 'Y');
      if (xi === null && yi === null) throw badParams(`vnnlib: variable ${name} is neither X_i nor Y_j`);
      vars.add(name);
      if (xi !== null) numInputs = Math.max(numInputs, xi + 1);
      if (yi !== null) numOutputs = Math.max(numOutputs, yi + 1);
    } else if (e[0] === 'assert') {
      if (e.length !== 2) throw badParams(`vnnlib: assert takes one formula`);
      asserts.push(formula(e[1]!, vars));
    } else if (e[0] === 'set-logic' || e[0] === 'check-sat' || e[0] === 'get-model' || e[0] === 'set-info') {
      // harmless SMT-LIB commands
    } else {
      throw badParams(`vnnlib: unsupported command ${e[0]}`);
    }
  }
  if (numInputs === 0) throw badParams('vnnlib: no input variables X_i declared');
  if (numOutputs === 0) throw badParams('vnnlib: no output variables Y_j declared');
  const conjunctions = dnf({ kind: 'and', args: asserts });
  const disjuncts: Disjunct[] = [];
  for (const atoms of conjunctions) {
    const lo = new Float64Array(numInputs).fill(-Infinity);
    const hi = new Float64Array(numInputs).fill(Infinity);
    const constraints: OutputConstraint[] = [];
    for (const { form, strict } of atoms) {
      const xs = [...form.coef].filter(([k, v]) => v !== 0 && k.startsWith('X'));
      const ys = [...form.coef].filter(([k, v]) => v !== 0 && k.startsWith('Y'));
      if (xs.length > 0 && ys.length > 0) throw badParams('vnnlib: constraints mixing inputs and outputs are not supported');
      if (xs.length > 1) throw badParams('vnnlib: input constraints must be bounds on one X_i');
      if (xs.length === 1) {
        const [name, k] = xs[0]!;
        const i = varIndex(name, 'X')!;
        const bound = 0 - form.c / k; // k*x + c <= 0 (0 - v: no -0)
        if (k > 0) hi[i] = Math.min(hi[i]!, bound);
        else lo[i] = Math.max(lo[i]!, bound);
      } else if (ys.length > 0) {
        const a = new Float64Array(numOutputs);
        for (const [name, k] of ys) a[varIndex(name, 'Y')!] = k;
        constraints.push({ a, b: 0 - form.c, strict });
      } else if (form.c > 0 || (strict && form.c >= 0)) {
        // A constant atom that is false makes the disjunct empty.
        lo.fill(1);
        hi.fill(0);
      }
    }
    let empty = false;
    for (let i = 0; i < numInputs; i++) {
      if (!Number.isFinite(lo[i]!) || !Number.isFinite(hi[i]!)) {
        throw badParams(`vnnlib: input X_${i} needs a finite lower and upper bound in every case`);
      }
      if (lo[i]! > hi[i]!) empty = true;
    }
    if (!empty) disjuncts.push({ lo, hi, constraints });
  }
  return { numInputs, numOutputs, disjuncts };
}

/** True when y lies in the constraint set of d (y is in the unsafe set). */
export function satisfiesAll(d: Disjunct, y: ArrayLike<number>): boolean {
  return d.constraints.every((c) => {
    const v = dot(c.a, y);
    return c.strict ? v < c.b : v <= c.b;
  });
}

/** max_k (a_k.y - b_k): <= 0 means y is in the unsafe set of d (up to strictness). */
export function violationScore(d: Disjunct, y: ArrayLike<number>): number {
  let worst = -Infinity;
  for (const c of d.constraints) worst = Math.max(worst, dot(c.a, y) - c.b);
  return d.constraints.length === 0 ? -Infinity : worst;
}

function dot(a: Float64Array, y: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) if (a[j] !== 0) s += a[j]! * y[j]!;
  return s;
}
