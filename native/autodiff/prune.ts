import type { Model } from '../onnx/ir.js';
import { ancestors } from './gradient.js';

/** Drops nodes and initializers that no graph output needs. Graph inputs are kept (callers feed them). */
export function prune(model: Model): Model {
  const g = model.graph;
  const need = ancestors(model, g.outputs.map((o) => o.name));
  g.nodes = g.nodes.filter((n) => n.outputs.some((o) => o && need.has(o)));
  for (const name of [...g.initializers.keys()]) if (!need.has(name)) g.initializers.delete(name);
  for (const name of [...g.valueInfo.keys()]) if (!need.has(name)) g.valueInfo.delete(name);
  return model;
}
