/**
 * What an opset-upgrade adapter (upgrade-adapters.ts) works with: the node, the opset it came
 * from, the type facts of the source graph and an emitter for the upgraded graph.
 */
import { tensor, type Tensor } from './tensor.js';
import { dtypeFromCode, type DType } from './dtype.js';
import { attrInts, type Attr, type Graph, type Node } from './ir.js';
import { AppError } from '../../common/errors.js';

export /** Element types and ranks of tensors, propagated forwards as far as simple rules allow. */
class TypeFacts {
  readonly dtypes = new Map<string, DType>();
  readonly ranks = new Map<string, number>();

  constructor(g: Graph) {
    for (const v of [...g.inputs, ...g.valueInfo.values(), ...g.outputs]) {
      if (!v.untyped) this.dtypes.set(v.name, v.dtype);
      if (v.shape) this.ranks.set(v.name, v.shape.length);
    }
    for (const [name, t] of g.initializers) {
      this.dtypes.set(name, t.dtype);
      this.ranks.set(name, t.dims.length);
    }
  }

  dtype(name: string): DType {
    return this.dtypes.get(name) ?? 'float32';
  }

  /** Records the outputs of a node of the source graph (best effort: unknown stays unknown). */
  learn(n: Node, opset: number): void {
    const out = n.outputs[0];
    if (!out) return;
    const in0 = n.inputs[0] ?? '';
    const dt = (() => {
      switch (n.opType) {
        case 'Cast':
          return n.attrs.to?.kind === 'int' ? dtypeFromCode(n.attrs.to.value) : undefined;
        case 'Shape': case 'Size': case 'ArgMax': case 'ArgMin': case 'NonZero':
          return 'int64' as DType;
        case 'Equal': case 'Greater': case 'Less': case 'GreaterOrEqual': case 'LessOrEqual': case 'Not': case 'And': case 'Or': case 'Xor': case 'IsNaN': case 'IsInf':
          return 'bool' as DType;
        case 'Constant':
          return n.attrs.value?.kind === 'tensor' ? n.attrs.value.value.dtype : undefined;
        case 'ConstantOfShape':
          return n.attrs.value?.kind === 'tensor' ? n.attrs.value.value.dtype : ('float32' as DType);
        default:
          return this.dtypes.get(in0);
      }
    })();
    if (dt && !this.dtypes.has(out)) this.dtypes.set(out, dt);
    if (this.ranks.has(out)) return;
    const r0 = this.ranks.get(in0);
    const rank = ((): number | undefined => {
      switch (n.opType) {
        case 'Relu': case 'Sigmoid': case 'Tanh': case 'LeakyRelu': case 'Elu': case 'Selu': case 'Softplus': case 'Exp': case 'Log': case 'Abs': case 'Neg':
        case 'Sqrt': case 'Reciprocal': case 'Dropout': case 'Identity': case 'BatchNormalization': case 'InstanceNormalization': case 'LRN':
        case 'Softmax': case 'LogSoftmax': case 'Hardmax': case 'Conv': case 'ConvTranspose': case 'MaxPool': case 'AveragePool': case 'GlobalAveragePool':
        case 'GlobalMaxPool': case 'Clip': case 'Pad': case 'Transpose': case 'Concat': case 'Upsample': case 'Cast': case 'PRelu': case 'HardSigmoid':
          return r0;
        case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Sum': case 'Max': case 'Min': case 'Mean': {
          const rs = n.inputs.map((i) => this.ranks.get(i));
          if (rs.some((r) => r === undefined)) return undefined;
          return Math.max(...(rs as number[]));
        }
        case 'Gemm': case 'Flatten':
          return 2;
        case 'Shape':
          return 1;
        case 'Constant':
          return n.attrs.value?.kind === 'tensor' ? n.attrs.value.value.dims.length : undefined;
        case 'Reshape': {
          const s = opset < 5 ? attrInts(n, 'shape') : undefined;
          if (s) return s.length;
          return undefined;
        }
        case 'Unsqueeze':
          return r0 !== undefined && attrInts(n, 'axes') ? r0 + attrInts(n, 'axes')!.length : undefined;
        case 'Squeeze':
          return r0 !== undefined && attrInts(n, 'axes') ? r0 - attrInts(n, 'axes')!.length : undefined;
        default:
          return undefined;
      }
    })();
    if (rank !== undefined) this.ranks.set(out, rank);
  }
}

export /** Emits nodes of the upgraded graph with fresh names; constants become initializers. */
class Emitter {
  readonly nodes: Node[] = [];
  private readonly taken = new Set<string>();
  private counter = 0;

  constructor(private readonly g: Graph) {
    for (const v of g.inputs) this.taken.add(v.name);
    for (const k of g.initializers.keys()) this.taken.add(k);
    for (const n of g.nodes) {
      this.taken.add(n.name);
      for (const o of n.outputs) this.taken.add(o);
    }
  }

  fresh(hint: string): string {
    let name = `upgrade/${hint}`;
    while (this.taken.has(name)) name = `upgrade/${hint}_${++this.counter}`;
    this.taken.add(name);
    return name;
  }

  constant(t: Tensor, hint: string): string {
    const name = this.fresh(hint);
    this.g.initializers.set(name, t);
    return name;
  }

  int64s(values: number[], hint: string): string {
    return this.constant(tensor('int64', [values.length], values), hint);
  }

  push(n: Node): void {
    this.nodes.push(n);
  }

  /** A new node; `outputs` given reuses names of the old graph, else fresh ones. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[]): string[] {
    const outs = outputs ?? [this.fresh(`${opType}_out`)];
    this.nodes.push({ opType, domain: '', name: this.fresh(opType), inputs, outputs: outs, attrs });
    return outs;
  }
}

export function without(attrs: Record<string, Attr>, ...names: string[]): Record<string, Attr> {
  const out = { ...attrs };
  for (const n of names) delete out[n];
  return out;
}

export function unsupported(n: Node, why: string): never {
  throw new AppError('UNSUPPORTED_OP', `${n.opType} "${n.name}": ${why}`, { ops: [n.opType] });
}

/** One node being upgraded. `keep` emits it with (by default) its attributes minus consumed_inputs. */
export interface UpgradeContext {
  n: Node;
  from: number;
  target: number;
  /** n's attributes without consumed_inputs (dropped everywhere below opset 6). */
  attrs: Record<string, Attr>;
  e: Emitter;
  facts: TypeFacts;
  /** Tensors some node or graph output reads. */
  used: Set<string>;
  g: Graph;
  keep(attrs?: Record<string, Attr>, inputs?: string[], outputs?: string[]): void;
}
