/**
 * Dynamic shapes made concrete from the data. Exporters leave spatial and sequence dims symbolic
 * (Paddle2ONNX writes `[N, 3, H, W]` with every dim a name; PyTorch's dynamic_axes do the same),
 * but gradient graphs, saliency layer search, the safety network and shape probes need sizes. A
 * dataset fixes them: its samples all have one shape, so each symbolic dim of the data input
 * beyond the batch takes the dataset's size at that position. The caller reports what was fixed
 * (`fixedDims`), so no result rests on a silent guess.
 */
import { cloneModel, type Model } from './ir.js';

export interface FixedDim {
  input: string;
  /** Position in the input's shape (0 is the batch, never fixed). */
  axis: number;
  /** The symbolic name the model gave the dim ('' when it had none). */
  symbol: string;
  value: number;
}

/**
 * The model with the first input's symbolic non-batch dims set from `sampleShape` (the dataset's
 * per-sample shape), and the list of what changed. Unchanged (same object, empty list) when the
 * input has no symbolic dims beyond the batch, or when the ranks differ (then the dataset does
 * not say which of its dims is which; fitting it reports the mismatch).
 */
export function fixInputDims(model: Model, sampleShape: readonly number[]): { model: Model; fixed: FixedDim[] } {
  const input = model.graph.inputs[0];
  const shape = input?.shape;
  if (!input || !shape || shape.length !== sampleShape.length + 1) return { model, fixed: [] };
  const fixed: FixedDim[] = [];
  shape.forEach((d, axis) => {
    if (axis === 0 || typeof d === 'number') return;
    fixed.push({ input: input.name, axis, symbol: d ?? '', value: sampleShape[axis - 1]! });
  });
  if (fixed.length === 0) return { model, fixed };
  const out = cloneModel(model);
  const target = out.graph.inputs[0]!;
  target.shape = shape.map((d, axis) => (axis === 0 ? d : typeof d === 'number' ? d : sampleShape[axis - 1]!));
  return { model: out, fixed };
}

/** One line per fixed dim, for notes: `x[2] (H) = 48`. */
export const describeFixedDims = (fixed: readonly FixedDim[]): string =>
  fixed.map((f) => `${f.input}[${f.axis}]${f.symbol ? ` (${f.symbol})` : ''} = ${f.value}`).join(', ');
