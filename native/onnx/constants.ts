import type { Model, Node } from './ir.js';
import { tensor, type Tensor } from './tensor.js';

/** The value a Constant node produces (any of its value* attribute forms), or undefined. */
export function constantNodeValue(node: Node): Tensor | undefined {
  if (node.opType !== 'Constant') return undefined;
  for (const [name, a] of Object.entries(node.attrs)) {
    if (name === 'value' && a.kind === 'tensor') return a.value;
    if (name === 'value_float' && (a.kind === 'float' || a.kind === 'int')) return tensor('float32', [], [a.value]);
    if (name === 'value_floats' && a.kind === 'floats') return tensor('float32', [a.value.length], a.value);
    if (name === 'value_int' && a.kind === 'int') return tensor('int64', [], [a.value]);
    if (name === 'value_ints' && a.kind === 'ints') return tensor('int64', [a.value.length], a.value);
  }
  return undefined;
}

/** Every tensor whose value is known before running: initializers and Constant node outputs. */
export function knownConstants(model: Model): Map<string, Tensor> {
  const out = new Map(model.graph.initializers);
  for (const n of model.graph.nodes) {
    const v = constantNodeValue(n);
    if (v && n.outputs[0]) out.set(n.outputs[0], v);
  }
  return out;
}
