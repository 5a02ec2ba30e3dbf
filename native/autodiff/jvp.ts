/**
 * Forward mode: pushes tangents through nodes in graph order with each op's JVP rule.
 * Used over forward + gradient graphs to get exact Hessian-vector products.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { Model, Node } from '../onnx/ir.js';
import { makeContext } from './context.js';
import { ruleFor } from './registry.js';
import type { ShapeMap } from './shapes.js';

/**
 * tangents: tensor name -> name of its tangent (seeded entries in, every reached tensor out).
 * `nodes` is the list to process (a snapshot: nodes the rules emit are not revisited).
 */
export function pushTangents(
  b: GraphBuilder,
  model: Model,
  shapes: ShapeMap,
  nodes: readonly Node[],
  tangents: Map<string, string>,
  variables: ReadonlySet<string>,
): void {
  for (const node of nodes) {
    const dx = node.inputs.map((i) => (i ? (tangents.get(i) ?? null) : null));
    if (dx.every((t) => t === null)) continue;
    const rule = ruleFor(node.opType, node.domain);
    if (!rule) throw new Error(`autodiff: no rule for ${node.opType}`);
    if (!rule.jvp) {
      if (rule.vjp) throw new Error(`autodiff: ${node.opType} has a VJP rule but no JVP rule`);
      continue; // not differentiable: outputs carry no tangent
    }
    const ctx = makeContext(b, model, shapes, node, variables);
    const dy = rule.jvp(ctx, dx);
    node.outputs.forEach((o, i) => {
      const t = dy[i];
      if (o && t) tangents.set(o, t);
    });
  }
}
