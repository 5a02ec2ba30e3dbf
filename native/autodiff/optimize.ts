/**
 * Clean-up of emitted graphs before they reach ONNX Runtime: common subexpressions merged
 * (identical nodes on identical inputs, identical small constants), then dead nodes dropped
 * (prune). Rules emit locally (each asks for its own Shape, its own [-1] constant, its own mask),
 * and the HVP's tangent pass asks again for what the gradient pass already built; merging them
 * here shrinks the graph the runtime has to plan and keeps one copy of each value alive.
 */
import type { Attr, Model, Node } from '../onnx/ir.js';
import type { Tensor } from '../onnx/tensor.js';
import { prune } from './prune.js';

/** Initializers up to this many elements are merged by value (shapes, axes, scalars). */
const SMALL_CONSTANT = 16;

function attrKey(a: Attr): string | null {
  if (a.kind === 'tensor') return `t:${tensorKey(a.value)}`;
  if (a.kind === 'graph' || a.kind === 'graphs') return null; // subgraphs are never merged
  return JSON.stringify(a, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

function tensorKey(t: Tensor): string {
  return `${t.dtype}[${t.dims.join(',')}]${Array.from(t.data as ArrayLike<number | bigint>, String).join(',')}`;
}

function nodeKey(n: Node): string | null {
  const attrs: string[] = [];
  for (const k of Object.keys(n.attrs).sort()) {
    const key = attrKey(n.attrs[k]!);
    if (key === null) return null;
    attrs.push(`${k}=${key}`);
  }
  return `${n.domain}|${n.opType}|${n.inputs.join(',')}|${n.outputs.length}|${attrs.join(';')}`;
}

/**
 * Merges duplicates in place and prunes. `keep`: tensor names that must stay as they are (graph
 * inputs and outputs always do). Nodes with random outputs are never merged.
 */
export function eliminateCommonSubexpressions(model: Model, keep: Iterable<string> = []): Model {
  const g = model.graph;
  const fixed = new Set<string>([...keep, ...g.inputs.map((v) => v.name), ...g.outputs.map((v) => v.name)]);
  const rename = new Map<string, string>();
  const byValue = new Map<string, string>();
  for (const [name, t] of g.initializers) {
    if (fixed.has(name) || t.data.length > SMALL_CONSTANT) continue;
    const key = tensorKey(t);
    const first = byValue.get(key);
    if (first === undefined) byValue.set(key, name);
    else rename.set(name, first);
  }
  const seen = new Map<string, Node>();
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => rename.get(i) ?? i);
    if (n.opType.startsWith('Random') || n.opType === 'Dropout' || n.outputs.some((o) => fixed.has(o))) continue;
    const key = nodeKey(n);
    if (key === null) continue;
    const first = seen.get(key);
    if (!first) {
      seen.set(key, n);
      continue;
    }
    n.outputs.forEach((o, i) => {
      if (o && first.outputs[i]) rename.set(o, first.outputs[i]!);
    });
  }
  for (const o of g.outputs) if (rename.has(o.name)) throw new Error(`optimize: graph output ${o.name} was renamed`);
  return prune(model);
}
