/**
 * Reverse mode: appends to a model the nodes that compute the gradient of one tensor with
 * respect to chosen tensors (graph inputs, lifted parameters, or any intermediate).
 */
import { GraphBuilder } from '../onnx/builder.js';
import { cloneModel, onnxOpset, type Model } from '../onnx/ir.js';
import { AppError } from '../../common/errors.js';
import { makeContext } from './context.js';
import { sumTerms, zerosOfShape } from './emit.js';
import { ruleFor } from './registry.js';
import type { ShapeMap } from './shapes.js';
import { tensorAttr } from '../onnx/ir.js';
import { tensor } from '../onnx/tensor.js';

export interface GradientSpec {
  /** The tensor to differentiate. Without `seed` it must be a scalar (one element). */
  of: string;
  /** Name of a new graph input that holds the cotangent of `of` (same shape), for vector-Jacobian products. */
  seed?: string;
  /** More (tensor, cotangent input) pairs: the gradient of the sum of all seeded products. */
  extraSeeds?: { of: string; seed: string }[];
  /** Tensors to differentiate with respect to. */
  wrt: string[];
  /** Output name for each gradient; default `grad/<name>` (suffixed `_<k>` when the model already uses it: read `grads`). */
  gradName?: (wrt: string) => string;
}

export interface GradientGraph {
  model: Model;
  /** wrt tensor -> name of the graph output holding its gradient. */
  grads: Map<string, string>;
  /** Tensors (forward and backward) whose gradient was formed: the cotangent map, for callers that chain. */
  cotangents: Map<string, string>;
}

/** Tensors computed from any of `roots` (the roots included). */
export function descendants(model: Model, roots: Iterable<string>): Set<string> {
  const reach = new Set(roots);
  for (const n of model.graph.nodes) {
    if (n.inputs.some((i) => reach.has(i))) for (const o of n.outputs) if (o) reach.add(o);
  }
  return reach;
}

/** Tensors that `target` is computed from (the target included). */
export function ancestors(model: Model, targets: Iterable<string>): Set<string> {
  const need = new Set(targets);
  const nodes = model.graph.nodes;
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (n.outputs.some((o) => need.has(o))) for (const i of n.inputs) if (i) need.add(i);
  }
  return need;
}

export function assertRulesExist(model: Model, nodes = model.graph.nodes): void {
  const missing = [...new Set(nodes.filter((n) => !ruleFor(n.opType, n.domain)).map((n) => n.opType))].sort();
  if (missing.length > 0) {
    throw new AppError('UNSUPPORTED_OP', `no autodiff rule for: ${missing.join(', ')}`, { ops: missing });
  }
}

export function buildGradient(source: Model, spec: GradientSpec, shapes: ShapeMap): GradientGraph {
  const model = cloneModel(source);
  const g = model.graph;
  const b = new GraphBuilder(g, onnxOpset(model), 'grad');
  // Output names first, so nothing emitted below (the seed, fresh intermediates) can take them.
  const outNames = new Map(spec.wrt.map((w) => [w, b.claim(spec.gradName ? spec.gradName(w) : `grad/${w}`)]));
  const variables = new Set(spec.wrt);
  const live = descendants(model, spec.wrt);
  const extra = spec.extraSeeds ?? [];
  const needed = ancestors(model, [spec.of, ...extra.map((e) => e.of)]);
  const forward = g.nodes.filter((n) => n.outputs.some((o) => live.has(o) && needed.has(o)));
  assertRulesExist(model, forward);

  const partials = new Map<string, (string | null)[]>();
  const push = (name: string, term: string | null) => {
    if (term === null) return;
    const list = partials.get(name) ?? [];
    list.push(term);
    partials.set(name, list);
  };
  const cotangents = new Map<string, string>();
  const collect = (name: string): string | null => {
    const done = cotangents.get(name);
    if (done) return done;
    const total = sumTerms(b, partials.get(name) ?? []);
    if (total) cotangents.set(name, total);
    return total;
  };

  const seedInput = (of: string, seed: string) => {
    const info = shapes.get(of);
    if (!info) throw new Error(`autodiff: unknown tensor ${of}`);
    b.addInput({ name: seed, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
    push(of, seed);
  };
  const ofInfo = shapes.get(spec.of);
  if (!ofInfo) throw new Error(`autodiff: unknown tensor ${spec.of}`);
  for (const e of extra) seedInput(e.of, e.seed);
  if (spec.seed) {
    seedInput(spec.of, spec.seed);
  } else {
    if (ofInfo.dims.some((d) => d !== 1)) {
      throw new Error(`autodiff: ${spec.of} has shape [${ofInfo.dims}]; give a seed to differentiate a non-scalar`);
    }
    push(spec.of, b.op('ConstantOfShape', [b.shape(spec.of)], { value: tensorAttr(tensor(ofInfo.dtype, [1], [1])) }, 'one'));
  }

  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k]!;
    const rule = ruleFor(node.opType, node.domain)!;
    if (!rule.vjp) continue;
    const dy = node.outputs.map((o) => (o ? collect(o) : null));
    if (dy.every((d) => d === null)) continue;
    const ctx = makeContext(b, model, shapes, node, variables);
    const dx = rule.vjp(ctx, dy);
    node.inputs.forEach((input, i) => {
      if (input && live.has(input)) push(input, dx[i] ?? null);
    });
  }

  const grads = new Map<string, string>();
  for (const w of spec.wrt) {
    const info = shapes.get(w);
    if (!info) throw new Error(`autodiff: unknown tensor ${w}`);
    const name = outNames.get(w)!;
    const total = collect(w) ?? zerosOfShape(b, b.shape(w), info.dtype);
    g.nodes.push({ opType: 'Identity', domain: '', name: b.fresh('out'), inputs: [total], outputs: [name], attrs: {} });
    g.outputs.push({ name, dtype: info.dtype, shape: info.dims.map((d, i) => d ?? `d${i}`) });
    grads.set(w, name);
  }
  return { model, grads, cotangents };
}
