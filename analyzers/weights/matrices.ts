/**
 * The weight matrices of a model, found without running it: the constant operand of every
 * Gemm, MatMul, Conv and ConvTranspose, read from initializers or Constant nodes (also through
 * Identity, Cast, Reshape, Flatten, Squeeze, Unsqueeze and 2-D Transpose, as exporters such as
 * CNTK write them), each tensor once.
 *
 * Conv kernels [out, in/group, k1, k2, ...] become matrices in one of two ways:
 *  - `slices` (WeightWatcher's convention, `conv2D_Wmats` in weightwatcher/weightwatcher.py,
 *    Martin & Mahoney JMLR 2021 §4): one [out, in] matrix per kernel position (k1·k2 of them),
 *    whose eigenvalues together form the layer's ESD;
 *  - `flatten`: one [out, in·k1·k2] matrix (the layer as the linear map of one receptive field).
 * ConvTranspose kernels are [in, out/group, k...] and are treated the same way.
 */
import { attrInts, type Model, type Node } from '../../native/onnx/ir.js';
import { knownConstants } from '../../native/onnx/constants.js';
import { staticShapes } from '../../native/onnx/static-shapes.js';
import { numel, type Tensor } from '../../native/onnx/tensor.js';

export type ConvMode = 'slices' | 'flatten';

export interface WeightMatrices {
  /** The weight tensor's name. */
  name: string;
  /** The node that uses it (the first, when several do). */
  node: string;
  opType: string;
  /** The tensor's dims as stored. */
  tensorShape: number[];
  /** Shape of each matrix. */
  rows: number;
  cols: number;
  /** Row-major rows × cols matrices: one for Gemm/MatMul and flattened kernels, one per kernel position for slices. */
  matrices: Float64Array[];
  /** Every entry of the tensor (what the randomized control shuffles). */
  entries: Float64Array;
}

export interface ExtractedWeights {
  layers: WeightMatrices[];
  /** Weight operands left out, and why. */
  skipped: string[];
}

const VIEW_OPS = new Set(['Identity', 'Cast', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);
const LINEAR_OPS = new Set(['Gemm', 'MatMul']);
const CONV_OPS = new Set(['Conv', 'ConvTranspose']);

/** Every weight matrix of the model, in graph order. */
export function extractWeights(model: Model, convMode: ConvMode): ExtractedWeights {
  const g = model.graph;
  const constants = knownConstants(model);
  const producers = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producers.set(o, n);
  let shapes: ReturnType<typeof staticShapes> | undefined;
  const shapeOf = (name: string) => (shapes ??= staticShapes(g)).get(name);

  /** The constant value of a tensor, following view ops back to a constant; undefined if not constant. */
  const resolve = (name: string, depth = 0): Tensor | undefined => {
    const known = constants.get(name);
    if (known) return known;
    const p = producers.get(name);
    if (!p || depth > 8 || (p.domain !== '' && p.domain !== 'ai.onnx')) return undefined;
    const src = p.inputs[0] ? resolve(p.inputs[0], depth + 1) : undefined;
    if (!src) return undefined;
    if (VIEW_OPS.has(p.opType)) {
      const dims = shapeOf(name);
      if (!dims || dims.some((d) => d === null) || numel(dims as number[]) !== src.data.length) return undefined;
      // A Cast keeps the source's values; a half-precision source stays half (and is skipped).
      return { dtype: src.dtype, dims: dims as number[], data: src.data };
    }
    if (p.opType === 'Transpose' && src.dims.length === 2) {
      const perm = attrInts(p, 'perm') ?? [1, 0];
      return perm[0] === 0 ? src : transpose2d(src);
    }
    return undefined;
  };

  const layers: WeightMatrices[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const n of g.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
    const slots = LINEAR_OPS.has(n.opType) ? [1, 0] : CONV_OPS.has(n.opType) ? [1] : [];
    for (const slot of slots) {
      const name = n.inputs[slot];
      if (!name || seen.has(name)) continue;
      const t = resolve(name);
      if (!t) continue;
      seen.add(name);
      if (t.dtype !== 'float32' && t.dtype !== 'float64') {
        skipped.push(`${name} (${n.opType} ${n.name}): ${t.dtype} weights are not read`);
        continue;
      }
      const entries = Float64Array.from(t.data as Float32Array);
      if (LINEAR_OPS.has(n.opType)) {
        if (t.dims.length !== 2) {
          skipped.push(`${name} (${n.opType} ${n.name}): rank ${t.dims.length}, not a matrix`);
          continue;
        }
        layers.push({ name, node: n.name, opType: n.opType, tensorShape: [...t.dims], rows: t.dims[0]!, cols: t.dims[1]!, matrices: [entries], entries });
      } else {
        if (t.dims.length < 3) {
          skipped.push(`${name} (${n.opType} ${n.name}): kernel of rank ${t.dims.length}`);
          continue;
        }
        layers.push({ name, node: n.name, opType: n.opType, tensorShape: [...t.dims], ...kernelMatrices(entries, t.dims, convMode), entries });
      }
      break; // one weight per node: a Gemm/MatMul with two constant operands is folded, not a layer
    }
  }
  return { layers, skipped };
}

/** A conv kernel [a, b, k...] as matrices (see the file comment). */
export function kernelMatrices(entries: Float64Array, dims: readonly number[], mode: ConvMode): { rows: number; cols: number; matrices: Float64Array[] } {
  const [a, b] = [dims[0]!, dims[1]!];
  const positions = numel(dims.slice(2));
  if (mode === 'flatten') return { rows: a, cols: b * positions, matrices: [entries] };
  const matrices: Float64Array[] = [];
  for (let p = 0; p < positions; p++) {
    const m = new Float64Array(a * b);
    for (let i = 0; i < a * b; i++) m[i] = entries[i * positions + p]!;
    matrices.push(m);
  }
  return { rows: a, cols: b, matrices };
}

function transpose2d(t: Tensor): Tensor {
  const [r, c] = [t.dims[0]!, t.dims[1]!];
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = Number(t.data[i * c + j]);
  return { dtype: 'float64', dims: [c, r], data };
}
