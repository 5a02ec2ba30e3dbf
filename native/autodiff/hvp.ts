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

export interface HvpProbe {
  /** wrt -> input that takes this probe's v (same shape as wrt). */
  tangentInputs: Map<string, string>;
  /** wrt -> output holding this probe's (H v) for that tensor. */
  hvps: Map<string, string>;
}

export interface HvpGraph {
  model: Model;
  /** wrt -> output holding the gradient (empty for a products-only graph). */
  grads: Map<string, string>;
  /** wrt -> input that takes v (same shape as wrt): the first probe's. */
  tangentInputs: Map<string, string>;
  /** wrt -> output holding (H v) for that tensor: the first probe's. */
  hvps: Map<string, string>;
  /** Every probe's inputs and outputs (`probes` of them; the first is tangentInputs/hvps). */
  probes: HvpProbe[];
}

/**
 * opts.probes (default 1): k products H v_1 .. H v_k from one run. The tangent pass is emitted k
 * times over the one primal forward + backward, which every copy reads (so they are computed
 * once per run, not k times); inputs `v/<w>`, `v1/<w>`, ..., outputs `hv/<w>`, `hv1/<w>`, ...
 */
export async function buildHvp(
  source: Model,
  of: string,
  wrt: string[],
  opts: { feeds?: FeedFactory; shapes?: ShapeMap; productsOnly?: boolean; probes?: number } = {},
): Promise<HvpGraph> {
  const shapes = opts.shapes ?? (await probeShapes(source, opts.feeds));
  const grad = buildGradient(source, { of, wrt }, shapes);
  const model = grad.model;
  const gradShapes = await probeShapes(model, opts.feeds);
  const b = new GraphBuilder(model.graph, onnxOpset(model), 'hvp');
  const count = Math.max(1, Math.floor(opts.probes ?? 1));
  const primal = [...model.graph.nodes];
  const probes: HvpProbe[] = [];
  for (let k = 0; k < count; k++) {
    const suffix = k === 0 ? '' : String(k);
    const tangents = new Map<string, string>();
    const tangentInputs = new Map<string, string>();
    for (const w of wrt) {
      const info = shapes.get(w)!;
      const name = b.claim(`v${suffix}/${w}`);
      b.addInput({ name, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
      tangents.set(w, name);
      tangentInputs.set(w, name);
    }
    const hvNames = new Map(wrt.map((w) => [w, b.claim(`hv${suffix}/${w}`)]));
    pushTangents(b, model, gradShapes, primal, tangents, new Set(wrt));
    const hvps = new Map<string, string>();
    for (const w of wrt) {
      const info = shapes.get(w)!;
      const name = hvNames.get(w)!;
      const t = tangents.get(grad.grads.get(w)!) ?? zerosOfShape(b, b.shape(w), info.dtype);
      model.graph.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [t], outputs: [name], attrs: {} });
      model.graph.outputs.push({ name, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
      hvps.set(w, name);
    }
    probes.push({ tangentInputs, hvps });
  }
  if (opts.productsOnly) {
    // ONNX Runtime runs every node of a session whatever the caller fetches: a graph that only
    // outputs H v drops the primal weight-gradient GEMMs and the loss reductions, which the
    // tangents never read (about 9% of the small bench CNN's HVP kernel time).
    const keep = new Set(probes.flatMap((p) => [...p.hvps.values()]));
    model.graph.outputs = model.graph.outputs.filter((o) => keep.has(o.name));
  }
  eliminateCommonSubexpressions(model);
  const first = probes[0]!;
  return { model, grads: opts.productsOnly ? new Map() : grad.grads, tangentInputs: first.tangentInputs, hvps: first.hvps, probes };
}
