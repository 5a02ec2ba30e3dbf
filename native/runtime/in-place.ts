/**
 * Graph inputs that a run of onnxruntime overwrites. Its BatchNormalization kernel declares the
 * running_mean / running_var outputs (1, 2) as aliases of inputs 3 and 4 (an in-place update,
 * for training), and onnxruntime-node wraps a feed's typed array without copying it: in training
 * mode a run writes the updated statistics into the caller's own tensors, so the same feeds give
 * different results on the next run. (Found by the HVP checker, whose finite differences reuse
 * one set of feeds.) runSession copies these inputs before each run.
 */
import { attrInt, type Model } from '../onnx/ir.js';
import { loadModel } from '../onnx/load.js';

const MARKER = new TextEncoder().encode('training_mode');

/** Names of the graph inputs a run may write to. */
export function inputsOverwrittenByRun(bytes: Uint8Array): ReadonlySet<string> {
  // Decoding is only worth it when the attribute appears at all (most models never use it).
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(MARKER) < 0) return new Set();
  return overwrittenInputs(loadModel(bytes));
}

export function overwrittenInputs(model: Model): ReadonlySet<string> {
  const graphInputs = new Set(model.graph.inputs.map((v) => v.name));
  const out = new Set<string>();
  for (const n of model.graph.nodes) {
    if (n.opType !== 'BatchNormalization' || attrInt(n, 'training_mode', 0) === 0) continue;
    for (const i of [3, 4]) {
      const name = n.inputs[i];
      if (name && graphInputs.has(name)) out.add(name);
    }
  }
  return out;
}
