/** Builds small ONNX models in code for tests (one op, or a few nodes). */
import type { Attr, Model, Node } from '../../native/onnx/ir.js';
import type { DType } from '../../native/onnx/dtype.js';
import type { Tensor } from '../../native/onnx/tensor.js';
import { serializeModel } from '../../native/onnx/ir.js';
import { loadModel } from '../../native/onnx/load.js';

export interface InputSpec {
  name: string;
  dtype?: DType;
  dims: (number | string)[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

export function buildModel(spec: {
  opset?: number;
  inputs: InputSpec[];
  nodes: NodeSpec[];
  outputs: string[];
  initializers?: Record<string, Tensor>;
}): Model {
  const nodes: Node[] = spec.nodes.map((n, i) => ({
    opType: n.op,
    domain: '',
    name: `${n.op}_${i}`,
    inputs: n.inputs,
    outputs: n.outputs,
    attrs: n.attrs ?? {},
  }));
  const model: Model = {
    irVersion: 9,
    opsets: new Map([['', spec.opset ?? 18]]),
    producerName: 'onnxscope-tests',
    producerVersion: '0',
    graph: {
      name: 'test',
      nodes,
      inputs: spec.inputs.map((v) => ({ name: v.name, dtype: v.dtype ?? 'float64', shape: v.dims })),
      outputs: spec.outputs.map((name) => ({ name, dtype: 'float32', shape: null, untyped: true })),
      initializers: new Map(Object.entries(spec.initializers ?? {})),
      valueInfo: new Map(),
    },
  };
  // Round-trip through protobuf so tests exercise the same path as uploaded models.
  return loadModel(serializeModel(model));
}

/** A model of one node whose inputs are all graph inputs. */
export function singleOp(
  op: string,
  inputs: InputSpec[],
  attrs: Record<string, Attr> = {},
  outputCount = 1,
  opset = 18,
): Model {
  const outputs = Array.from({ length: outputCount }, (_, i) => `y${i}`);
  return buildModel({ opset, inputs, nodes: [{ op, inputs: inputs.map((i) => i.name), outputs, attrs }], outputs });
}
