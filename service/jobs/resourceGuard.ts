/**
 * Memory guards inside the process that runs an analysis (the pool's other guards, the heap cap
 * and the resident-size watch, are in worker/pool.ts):
 *
 * - `checkTensorSizes`, before anything runs: a tensor whose size the graph fixes (declared
 *   shapes, ConstantOfShape and Expand of constant shapes) and that alone exceeds the process's
 *   memory limit is refused with RESOURCE_LIMIT. A 1 kB model can ask for 10^10 elements; ORT
 *   would try to allocate them.
 * - `jobError`: a failed allocation the analysis could catch (onnxruntime's "Failed to allocate
 *   memory", a JS RangeError for a huge typed array) is RESOURCE_LIMIT, not INTERNAL; the one
 *   classifier of such messages is native/runtime/errors.ts `allocationFailure`.
 */
import { AppError, toAppError } from '../../common/errors.js';
import type { Model } from '../../native/onnx/ir.js';
import { dtypeSize, type DType } from '../../native/onnx/dtype.js';
import { constantTensor, staticShapes } from '../../native/onnx/static-shapes.js';
import { allocationFailure } from '../../native/runtime/errors.js';
import { toNumberArray } from '../../native/onnx/tensor.js';

const MB = 1024 * 1024;

/** The AppError a job ends with: an AppError as it is, a failed allocation as RESOURCE_LIMIT (native/runtime/errors.ts), anything else INTERNAL. */
export function jobError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return allocationFailure(err) ?? toAppError(err);
}

/** A tensor the graph fixes and its size. */
interface SizedTensor {
  name: string;
  dims: number[];
  bytes: number;
}

/**
 * Throws RESOURCE_LIMIT for the largest tensor whose shape the graph fixes when it alone exceeds
 * maxBytes (`limit` names the setting in the message). Tensors of unknown shape pass: the
 * runtime guards catch those.
 */
export function checkTensorSizes(model: Model, maxBytes: number, limit: string): void {
  const largest = largestFixedTensor(model);
  if (!largest || largest.bytes <= maxBytes) return;
  throw new AppError(
    'RESOURCE_LIMIT',
    `tensor "${largest.name}" of shape [${largest.dims.join(', ')}] would take ${(largest.bytes / MB).toFixed(0)} MB, ` +
      `more than the ${(maxBytes / MB).toFixed(0)} MB an analysis may use (${limit})`,
    { tensor: largest.name, dims: largest.dims, bytes: largest.bytes, maxBytes },
  );
}

export function largestFixedTensor(model: Model): SizedTensor | undefined {
  const g = model.graph;
  const shapes = staticShapes(g);
  const dtypes = new Map<string, DType>();
  for (const v of [...g.inputs, ...g.valueInfo.values(), ...g.outputs]) if (!v.untyped) dtypes.set(v.name, v.dtype);
  for (const [name, t] of g.initializers) dtypes.set(name, t.dtype);
  let best: SizedTensor | undefined;
  const consider = (name: string, dims: readonly (number | null)[] | undefined, dtype: DType | undefined) => {
    if (!dims || dims.some((d) => d === null || d < 0)) return;
    const known = dims as number[];
    const bytes = known.reduce((a, d) => a * d, 1) * (dtype ? dtypeSize(dtype) : 4);
    if (!best || bytes > best.bytes) best = { name, dims: [...known], bytes };
  };
  for (const [name, dims] of shapes) consider(name, dims, dtypes.get(name));
  for (const n of g.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx') continue;
    const shapeInput = n.opType === 'ConstantOfShape' ? n.inputs[0] : n.opType === 'Expand' ? n.inputs[1] : undefined;
    const shapeTensor = shapeInput ? constantTensor(g, shapeInput) : undefined;
    if (!shapeTensor) continue;
    const target = toNumberArray(shapeTensor);
    let dims: number[] = target;
    let dtype: DType | undefined;
    if (n.opType === 'ConstantOfShape') {
      const value = n.attrs.value;
      dtype = value?.kind === 'tensor' ? value.value.dtype : 'float32';
    } else {
      // Expand broadcasts: each output dim is the larger of the input's (when known) and the target's.
      const x = shapes.get(n.inputs[0] ?? '');
      const rank = Math.max(target.length, x?.length ?? 0);
      dims = Array.from({ length: rank }, (_, i) => {
        const t = target[i - (rank - target.length)] ?? 1;
        const xd = x?.[i - (rank - x.length)] ?? 1;
        return Math.max(t, xd ?? 1);
      });
      dtype = dtypes.get(n.inputs[0] ?? '') ?? constantTensor(g, n.inputs[0] ?? '')?.dtype;
    }
    consider(n.outputs[0] ?? n.name, dims, dtype);
  }
  return best;
}
