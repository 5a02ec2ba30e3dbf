/**
 * A small, mutable graph IR over ONNX. Tensors are referred to by name; "" is an omitted
 * optional input. Attributes keep their ONNX kind so they round-trip exactly.
 */
import { dtypeFromCode, dtypeToCode, type DType } from './dtype.js';
import { tensorFromProto, tensorToProto, type Tensor } from './tensor.js';
import { onnx, type AttributeProto, type GraphProto, type ModelProto, type ValueInfoProto } from './proto.js';
import { badModel } from '../../common/errors.js';

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: Tensor }
  // Subgraphs (If/Loop/Scan) are carried opaquely: the autodiff has no rules for them.
  | { kind: 'graph'; value: GraphProto }
  | { kind: 'graphs'; value: GraphProto[] };

export const int = (value: number): Attr => ({ kind: 'int', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const floats = (value: number[]): Attr => ({ kind: 'floats', value });
export const str = (value: string): Attr => ({ kind: 'string', value });
export const tensorAttr = (value: Tensor): Attr => ({ kind: 'tensor', value });

/** A dimension: a size, a symbolic name (e.g. "N"), or unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** null when the rank is unknown. */
  shape: Dim[] | null;
  /** Written without a type (lets the runtime infer it, e.g. for probed intermediates). */
  untyped?: boolean;
}

export interface Node {
  opType: string;
  /** "" is the default ai.onnx domain. */
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  valueInfo: Map<string, ValueInfo>;
}

export interface Model {
  irVersion: number;
  /** domain -> opset version ("" is ai.onnx). */
  opsets: Map<string, number>;
  producerName: string;
  producerVersion: string;
  graph: Graph;
  /** ModelProto.metadata_props (key -> value); absent when the file has none. */
  metadata?: Record<string, string>;
}

export const onnxOpset = (m: Model): number => m.opsets.get('') ?? m.opsets.get('ai.onnx') ?? 1;

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attrs[name];
  if (!a) return fallback;
  if (a.kind !== 'int') throw badModel(`${node.opType} "${node.name}": attribute ${name} should be an int`);
  return a.value;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  if (!a) return fallback;
  if (a.kind !== 'float' && a.kind !== 'int') throw badModel(`${node.opType} "${node.name}": attribute ${name} should be a float`);
  return a.value;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = node.attrs[name];
  if (!a) return undefined;
  if (a.kind !== 'ints') throw badModel(`${node.opType} "${node.name}": attribute ${name} should be ints`);
  return a.value;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attrs[name];
  if (!a) return fallback;
  if (a.kind !== 'string') throw badModel(`${node.opType} "${node.name}": attribute ${name} should be a string`);
  return a.value;
}

// ---------------------------------------------------------------- proto -> IR

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function attrFromProto(a: AttributeProto): Attr {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return int(Number(a.i));
    case T.FLOAT:
      return float(a.f);
    case T.STRING:
      return str(decoder.decode(a.s));
    case T.INTS:
      return ints(a.ints.map(Number));
    case T.FLOATS:
      return floats([...a.floats]);
    case T.STRINGS:
      return { kind: 'strings', value: a.strings.map((s) => decoder.decode(s)) };
    case T.TENSOR:
      return tensorAttr(tensorFromProto(a.t as never));
    case T.GRAPH:
      return { kind: 'graph', value: a.g as GraphProto };
    case T.GRAPHS:
      return { kind: 'graphs', value: a.graphs as GraphProto[] };
    default:
      throw badModel(`attribute "${a.name}" has unsupported type ${a.type}`);
  }
}

function valueInfoFromProto(v: ValueInfoProto): ValueInfo {
  const tt = v.type?.tensorType;
  if (!tt) return { name: v.name, dtype: 'float32', shape: null, untyped: true };
  const dtype = dtypeFromCode(tt.elemType ?? 1);
  const shape = tt.shape
    ? (tt.shape.dim ?? []).map((d): Dim =>
        d.dimValue !== undefined && d.dimValue !== null && (d as { value?: string }).value === 'dimValue'
          ? Number(d.dimValue)
          : d.dimParam
            ? d.dimParam
            : null,
      )
    : null;
  return { name: v.name, dtype, shape };
}

export function modelFromProto(proto: ModelProto): Model {
  const g = proto.graph;
  if (!g) throw badModel('the file holds no graph');
  const opsets = new Map<string, number>();
  for (const o of proto.opsetImport ?? []) opsets.set(o.domain ?? '', Number(o.version));
  if (opsets.size === 0) opsets.set('', 1);
  return {
    irVersion: Number(proto.irVersion ?? 0),
    opsets,
    producerName: proto.producerName ?? '',
    producerVersion: proto.producerVersion ?? '',
    graph: graphFromProto(g as GraphProto),
    ...(proto.metadataProps?.length ? { metadata: Object.fromEntries(proto.metadataProps.map((e) => [e.key ?? '', e.value ?? ''])) } : {}),
  };
}

export function graphFromProto(g: GraphProto): Graph {
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorFromProto(t as never));
  if ((g.sparseInitializer ?? []).length > 0) throw badModel('sparse initializers are not supported');
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of g.valueInfo ?? []) valueInfo.set(v.name ?? '', valueInfoFromProto(v as ValueInfoProto));
  return {
    name: g.name ?? 'graph',
    nodes: (g.node ?? []).map((n, i) => ({
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      name: n.name || `${n.opType}_${i}`,
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: Object.fromEntries((n.attribute ?? []).map((a) => [a.name, attrFromProto(a as AttributeProto)])),
    })),
    // Graph inputs that are also initializers (old exporters) are constants, not inputs.
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => valueInfoFromProto(v as ValueInfoProto)),
    outputs: (g.output ?? []).map((v) => valueInfoFromProto(v as ValueInfoProto)),
    initializers,
    valueInfo,
  };
}

// ---------------------------------------------------------------- IR -> proto

function attrToProto(name: string, a: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return onnx.AttributeProto.create({ name, type: T.INT, i: a.value });
    case 'float':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.value });
    case 'string':
      return onnx.AttributeProto.create({ name, type: T.STRING, s: encoder.encode(a.value) });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.value });
    case 'floats':
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: a.value });
    case 'strings':
      return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: a.value.map((s) => encoder.encode(s)) });
    case 'tensor':
      return onnx.AttributeProto.create({ name, type: T.TENSOR, t: tensorToProto('', a.value) });
    case 'graph':
      return onnx.AttributeProto.create({ name, type: T.GRAPH, g: a.value });
    case 'graphs':
      return onnx.AttributeProto.create({ name, type: T.GRAPHS, graphs: a.value });
  }
}

function valueInfoToProto(v: ValueInfo): ValueInfoProto {
  if (v.untyped) return onnx.ValueInfoProto.create({ name: v.name });
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: {
      tensorType: {
        elemType: dtypeToCode(v.dtype),
        shape: v.shape
          ? {
              dim: v.shape.map((d) =>
                typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {},
              ),
            }
          : undefined,
      },
    },
  });
}

export function graphToProto(g: Graph): GraphProto {
  return onnx.GraphProto.create({
    name: g.name,
    node: g.nodes.map((n) =>
      onnx.NodeProto.create({
        opType: n.opType,
        domain: n.domain,
        name: n.name,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attrToProto(k, a)),
      }),
    ),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    initializer: [...g.initializers].map(([name, t]) => tensorToProto(name, t)),
    valueInfo: [...g.valueInfo.values()].map(valueInfoToProto),
  });
}

export function modelToProto(m: Model): ModelProto {
  return onnx.ModelProto.create({
    irVersion: m.irVersion,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    opsetImport: [...m.opsets].map(([domain, version]) => ({ domain, version })),
    graph: graphToProto(m.graph),
    metadataProps: Object.entries(m.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}

export function serializeModel(m: Model): Uint8Array {
  return onnx.ModelProto.encode(modelToProto(m)).finish();
}

/** A deep-enough copy: nodes, lists and maps are fresh; tensor data is shared (treat it as immutable). */
export function cloneModel(m: Model): Model {
  const g = m.graph;
  return {
    ...m,
    opsets: new Map(m.opsets),
    graph: {
      name: g.name,
      nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
      inputs: g.inputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : null })),
      outputs: g.outputs.map((v) => ({ ...v, shape: v.shape ? [...v.shape] : null })),
      initializers: new Map(g.initializers),
      valueInfo: new Map(g.valueInfo),
    },
  };
}
