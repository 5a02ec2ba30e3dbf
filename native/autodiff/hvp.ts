/**
 * Exact Hessian-vector products, forward-over-reverse: build the gradient graph, then push
 * tangents v (one per differentiated tensor) through forward and backward nodes alike with
 * the JVP rules. The tangent of each gradient output is H·v. No finite differences.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { onnxOpset, type Model } from '../onnx/ir.js';
import { buildGradient } from './gradient.js';
import { pushTangents } from './jvp.js';
import { eliminateCommonSubexpressions } from './optimize.js';
import { probeShapes, type FeedFactory, type ShapeMap } from './shapes.js';
import { zerosOfShape } from './emit.js';

export interface HvpGraph {
  model: Model;
  /** wrt -> output holding the gradient (empty for a products-only graph). */
  grads: Map<string, string>;
  /** wrt -> input that takes v (same shape as wrt). */
  tangentInputs: Map<string, string>;
  /** wrt -> output holding (H v) for that tensor. */
  hvps: Map<string, string>;
}

export async function buildHvp(
  source: Model,
  of: string,
  wrt: string[],
  opts: { feeds?: FeedFactory; shapes?: ShapeMap; productsOnly?: boolean } = {},
): Promise<HvpGraph> {
  const shapes = opts.shapes ?? (await probeShapes(source, opts.feeds));
  const grad = buildGradient(source, { of, wrt }, shapes);
  const model = grad.model;
  const gradShapes = await probeShapes(model, opts.feeds);
  const b = new GraphBuilder(model.graph, onnxOpset(model), 'hvp');
  const tangents = new Map<string, string>();
  const tangentInputs = new Map<string, string>();
  for (const w of wrt) {
    const info = shapes.get(w)!;
    const name = b.claim(`v/${w}`);
    b.addInput({ name, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
    tangents.set(w, name);
    tangentInputs.set(w, name);
  }
  const hvNames = new Map(wrt.map((w) => [w, b.claim(`hv/${w}`)]));
  pushTangents(b, model, gradShapes, [...model.graph.nodes], tangents, new Set(wrt));
  const hvps = new Map<string, string>();
  for (const w of wrt) {
    const info = shapes.get(w)!;
    const name = hvNames.get(w)!;
    const t = tangents.get(grad.grads.get(w)!) ?? zerosOfShape(b, b.shape(w), info.dtype);
    model.graph.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [t], outputs: [name], attrs: {} });
    model.graph.outputs.push({ name, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
    hvps.set(w, name);
  }
  if (opts.productsOnly) {
    // ONNX Runtime runs every node of a session whatever the caller fetches: a graph that only
    // outputs H v drops the primal weight-gradient GEMMs and the loss reductions, which the
    // tangents never read (about 9% of the small bench CNN's HVP kernel time).
    model.graph.outputs = model.graph.outputs.filter((o) => [...hvps.values()].includes(o.name));
  }
  eliminateCommonSubexpressions(model);
  return { model, grads: opts.productsOnly ? new Map() : grad.grads, tangentInputs, hvps };
}
