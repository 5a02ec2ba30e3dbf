import type { GraphBuilder } from '../onnx/builder.js';
import type { Model, Node } from '../onnx/ir.js';
import type { Tensor } from '../onnx/tensor.js';
import type { ShapeMap } from './shapes.js';
import type { RuleContext, TensorInfo } from './types.js';
import { knownConstants } from '../onnx/constants.js';

/** Constants per model, computed once (rules ask for axes, shapes and exponents often). */
const constantsCache = new WeakMap<Model, { nodeCount: number; values: Map<string, Tensor> }>();

function constantsOf(model: Model): Map<string, Tensor> {
  const cached = constantsCache.get(model);
  if (cached && cached.nodeCount === model.graph.nodes.length) return cached.values;
  const values = knownConstants(model);
  constantsCache.set(model, { nodeCount: model.graph.nodes.length, values });
  return values;
}

/** The RuleContext handed to rules: shape facts from probing, constants from the model. */
export function makeContext(
  b: GraphBuilder,
  model: Model,
  shapes: ShapeMap,
  node: Node,
  variables: ReadonlySet<string>,
): RuleContext {
  return {
    b,
    node,
    opset: b.opset,
    info(name: string): TensorInfo {
      const info = shapes.get(name);
      if (!info) throw new Error(`autodiff: no shape known for tensor "${name}" (node ${node.opType} "${node.name}")`);
      return info;
    },
    constantValue(name: string): Tensor | undefined {
      if (variables.has(name)) return undefined;
      return model.graph.initializers.get(name) ?? constantsOf(model).get(name);
    },
  };
}
