/**
 * What a classifier's first output holds, read from the op that produces it. The loss
 * conventions (DESIGN.md) depend on it: cross-entropy on logits, NLL on (log-)probabilities,
 * binary cross-entropy on a single sigmoid unit. Pure and small: the evaluate analyzer and the
 * autodiff's loss head both import it.
 */
import type { Model, Node } from './ir.js';

export type OutputKind = 'logits' | 'probabilities' | 'log-probabilities' | 'sigmoid';

/**
 * Ops that move or relabel values without changing them, so they may sit between the
 * Softmax and the graph output (exporters like to end on Identity, Flatten or Reshape).
 */
const PASS_THROUGH = new Set(['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Dropout']);

/** The op that finally determines the values of `tensor`, skipping pass-through ops. */
function producingOp(model: Model, tensor: string): Node | undefined {
  const byOutput = new Map<string, Node>();
  for (const n of model.graph.nodes) for (const o of n.outputs) if (o) byOutput.set(o, n);
  let name = tensor;
  for (let hops = 0; hops < 16; hops++) {
    const node = byOutput.get(name);
    if (!node || !PASS_THROUGH.has(node.opType)) return node;
    name = node.inputs[0] ?? '';
  }
  return undefined;
}

/** Output units per sample (product of the non-batch dims), or null when the shape is not declared or symbolic. */
function unitsPerSample(model: Model, output: string): number | null {
  const info = model.graph.outputs.find((o) => o.name === output);
  if (!info?.shape || info.shape.length === 0) return null;
  let units = 1;
  for (const d of info.shape.slice(1)) {
    if (typeof d !== 'number') return null;
    units *= d;
  }
  return units;
}

/** Classifies the given output (default: the first). */
export function detectOutputKind(model: Model, output?: string): OutputKind {
  const name = output ?? model.graph.outputs[0]?.name;
  if (!name) return 'logits';
  const op = producingOp(model, name)?.opType;
  if (op === 'Softmax') return 'probabilities';
  if (op === 'LogSoftmax') return 'log-probabilities';
  // A sigmoid over several units is multi-label, not a binary classifier: its loss is not ours
  // to guess. An undeclared output shape is taken as the common case, one unit.
  if (op === 'Sigmoid') {
    const units = unitsPerSample(model, name);
    if (units === null || units === 1) return 'sigmoid';
  }
  return 'logits';
}
