/**
 * Emits standard ai.onnx nodes into a Graph and returns the names of their outputs.
 * Constants become initializers. Helpers whose signature changed across opsets
 * (Reduce*, Squeeze/Unsqueeze, Split) choose the form for the graph's opset, which the
 * autodiff raises to at least 18 (native/onnx/upgrade.ts).
 */
import { ints, type Attr, type Graph, type Node, type ValueInfo } from './ir.js';
import { tensor, type Tensor } from './tensor.js';
import { dtypeToCode, type DType } from './dtype.js';

export type AttrInput = Attr | number | number[] | string;

function toAttr(name: string, v: AttrInput): Attr {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v}: use float() for float attributes`);
    return { kind: 'int', value: v };
  }
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.some((x) => !Number.isInteger(x))) throw new Error(`attribute ${name}: use floats() for float lists`);
    return ints(v);
  }
  return v;
}

export class GraphBuilder {
  private counter = 0;
  private readonly taken: Set<string>;
  /** dtype of tensors this builder created, for rules that need it. */
  readonly dtypes = new Map<string, DType>();

  constructor(
    readonly graph: Graph,
    readonly opset: number,
    private readonly prefix = 'ad',
  ) {
    this.taken = new Set<string>();
    for (const v of graph.inputs) this.taken.add(v.name);
    for (const k of graph.initializers.keys()) this.taken.add(k);
    for (const n of graph.nodes) for (const o of n.outputs) this.taken.add(o);
  }

  /** A tensor name not used anywhere in the graph. */
  fresh(hint: string): string {
    const base = `${this.prefix}/${hint.replace(/[^A-Za-z0-9_./:-]/g, '_')}`;
    let name = base;
    while (this.taken.has(name)) name = `${base}_${++this.counter}`;
    this.taken.add(name);
    return name;
  }

  /**
   * `name` itself when nothing in the graph uses it yet, else `name_<k>`; reserved either way.
   * For the names derived graphs promise their callers (grad/<w>, v/<w>, hv/<w>), which a
   * model's own tensors may already hold: callers read the chosen name from the result.
   */
  claim(name: string): string {
    let chosen = name;
    while (this.taken.has(chosen)) chosen = `${name}_${++this.counter}`;
    this.taken.add(chosen);
    return chosen;
  }

  /** Emits one node and returns its outputs. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}, outputCount = 1, hint?: string): string[] {
    const outputs = Array.from({ length: outputCount }, (_, i) => this.fresh(`${hint ?? opType}${outputCount > 1 ? `_o${i}` : ''}`));
    const node: Node = {
      opType,
      domain: '',
      name: this.fresh(`${opType}_node`),
      inputs,
      outputs,
      attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, toAttr(k, v)])),
    };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Emits one single-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrInput> = {}, hint?: string): string {
    return this.node(opType, inputs, attrs, 1, hint)[0]!;
  }

  constant(t: Tensor, hint = 'const'): string {
    const name = this.fresh(hint);
    this.graph.initializers.set(name, t);
    this.dtypes.set(name, t.dtype);
    return name;
  }

  /** A rank-0 constant of the given dtype. */
  scalar(value: number, dtype: DType, hint = 'scalar'): string {
    return this.constant(tensor(dtype, [], [value]), hint);
  }

  /** A 1-D int64 constant (shapes, axes, indices). */
  int64s(values: number[], hint = 'ints'): string {
    return this.constant(tensor('int64', [values.length], values), hint);
  }

  addInput(v: ValueInfo): string {
    this.taken.add(v.name);
    this.graph.inputs.push(v);
    return v.name;
  }

  // ---- opset-aware helpers (signatures changed at opset 13 and 18)

  reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceL2' | 'ReduceSumSquare', x: string, axes: number[] | null, keepdims: boolean): string {
    const axesAsInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    const keep = keepdims ? 1 : 0;
    if (axes === null) return this.op(op, [x], { keepdims: keep });
    if (axes.length === 0) return this.op('Identity', [x]);
    if (axesAsInput) return this.op(op, [x, this.int64s(axes, 'axes')], { keepdims: keep });
    return this.op(op, [x], { keepdims: keep, axes });
  }

  reduceSum(x: string, axes: number[] | null, keepdims: boolean): string {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }

  unsqueeze(x: string, axes: number[]): string {
    if (this.opset >= 13) return this.op('Unsqueeze', [x, this.int64s(axes, 'axes')]);
    return this.op('Unsqueeze', [x], { axes });
  }

  squeeze(x: string, axes: number[]): string {
    if (this.opset >= 13) return this.op('Squeeze', [x, this.int64s(axes, 'axes')]);
    return this.op('Squeeze', [x], { axes });
  }

  // ---- elementwise shorthands
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  neg(a: string): string {
    return this.op('Neg', [a]);
  }
  shape(x: string): string {
    return this.op('Shape', [x]);
  }
  cast(x: string, to: DType): string {
    return this.op('Cast', [x], { to: dtypeToCode(to) });
  }
}

