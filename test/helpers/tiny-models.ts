/**
 * Small hand-built models for runtime/dataset/evaluate tests: typed inputs and outputs with a
 * fixed batch of 1 (like real exports), so batching has something to rewrite.
 */
import { serializeModel, type Attr, type Dim, type Model, type Node } from '../../native/onnx/ir.js';
import { loadModel } from '../../native/onnx/load.js';
import type { Tensor } from '../../native/onnx/tensor.js';
import type { LoadedModel } from '../../analyzers/types.js';
import { createHash } from 'node:crypto';

export interface TinySpec {
  opset?: number;
  input: { name: string; shape: Dim[] };
  output: { name: string; shape: Dim[] };
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, Attr> }[];
  initializers?: Record<string, Tensor>;
}

export function tinyModel(spec: TinySpec): Model {
  const nodes: Node[] = spec.nodes.map((n, i) => ({ opType: n.op, domain: '', name: `${n.op}_${i}`, inputs: n.inputs, outputs: n.outputs, attrs: n.attrs ?? {} }));
  const model: Model = {
    irVersion: 8,
    opsets: new Map([['', spec.opset ?? 13]]),
    producerName: 'onnxscope-tests',
    producerVersion: '0',
    graph: {
      name: 'tiny',
      nodes,
      inputs: [{ name: spec.input.name, dtype: 'float32', shape: spec.input.shape }],
      outputs: [{ name: spec.output.name, dtype: 'float32', shape: spec.output.shape }],
      initializers: new Map(Object.entries(spec.initializers ?? {})),
      valueInfo: new Map(),
    },
  };
  return loadModel(serializeModel(model));
}

/** The LoadedModel an analyzer receives, from a Model or from file bytes. */
export function loaded(source: Model | Uint8Array): LoadedModel {
  const bytes = source instanceof Uint8Array ? source : serializeModel(source);
  return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes, ir: loadModel(bytes) };
}
