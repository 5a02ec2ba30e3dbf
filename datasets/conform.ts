/**
 * Fits a decoded dataset to a model's input (DESIGN.md dataset conventions):
 *   - per-sample shape equal to the model input without its batch dim: unchanged;
 *   - same element count, other shape (784 CSV features for a [1, 28, 28] input): reshaped,
 *     and the result says so (`reshapedInput`, `originalSampleShape`);
 *   - image folders (and samples a preprocessing spec declared CHW images): resized to the
 *     model's H x W, channels converted, CHW -> HWC for channels-last models (`adapted` says
 *     what was done);
 *   - class labels outside the model's classes (its first output's last dim; 2 for one
 *     sigmoid output): BAD_DATASET naming the first such label, as the analyzers word it;
 *   - anything else: DATASET_MISMATCH naming both shapes.
 * The first dimension of the model input is always taken as the batch dimension.
 */
import type { LoadedDataset } from './types.js';
import type { Dim, Model } from '../native/onnx/ir.js';
import { AppError } from '../common/errors.js';
import { chwToHwc, convertChannels, resizeBilinear } from './resize.js';

export interface ConformedDataset extends LoadedDataset {
  /** True when x was reshaped (same element count, different per-sample shape). */
  reshapedInput: boolean;
  /** The per-sample shape as stored, before any reshape or resize. */
  originalSampleShape: number[];
  /** Image adaptation done, e.g. "resized 32x32 -> 28x28; 3 -> 1 channels". */
  adapted?: string;
}

const fmt = (dims: readonly Dim[]): string => `[${dims.map((d) => (d === null ? '?' : d)).join(',')}]`;
const prod = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** The model input's per-sample shape (batch dim dropped); symbolic dims stay strings/null. */
export function modelSampleShape(model: Model): { name: string; full: Dim[]; perSample: Dim[] } {
  const input = model.graph.inputs[0];
  if (!input) throw new AppError('BAD_MODEL', 'the model has no inputs');
  if (!input.shape || input.shape.length === 0) {
    throw new AppError('BAD_MODEL', `model input "${input.name}" has no declared shape, so a dataset cannot be fitted to it`);
  }
  return { name: input.name, full: input.shape, perSample: input.shape.slice(1) };
}

export function conformDataset(dataset: LoadedDataset, model: Model): ConformedDataset {
  const previous = dataset as Partial<ConformedDataset>;
  const originalSampleShape = previous.originalSampleShape ?? dataset.sampleShape;
  const wasReshaped = previous.reshapedInput ?? false;
  const { name, full, perSample } = modelSampleShape(model);
  const mismatch = (extra = '') =>
    new AppError(
      'DATASET_MISMATCH',
      `dataset samples have shape ${fmt(dataset.sampleShape)} (${prod(dataset.sampleShape)} values) but model input "${name}" ` +
        `has shape ${fmt(full)}, i.e. ${fmt(perSample)} per sample${perSample.every((d) => typeof d === 'number') ? ` (${prod(perSample as number[])} values)` : ''}${extra}`,
      { datasetShape: dataset.sampleShape, modelShape: full, modelSampleShape: perSample, input: name },
    );
  const keep = (d: LoadedDataset, extra: Partial<ConformedDataset> = {}): ConformedDataset => ({
    ...d,
    reshapedInput: wasReshaped,
    originalSampleShape,
    ...(previous.adapted ? { adapted: previous.adapted } : {}),
    ...extra,
  });

  checkLabelRange(dataset, model);
  if (matches(dataset.sampleShape, perSample)) return keep(dataset);

  if ((dataset.format === 'imagefolder' || dataset.chwImages) && dataset.sampleShape.length === 3 && perSample.length === 3) {
    const adapted = adaptImages(dataset, perSample);
    if (adapted) return keep(adapted.dataset, { adapted: adapted.note });
  }

  if (perSample.every((d) => typeof d === 'number')) {
    const target = perSample as number[];
    if (prod(target) === prod(dataset.sampleShape)) {
      return keep({ ...dataset, sampleShape: [...target] }, { reshapedInput: true });
    }
    throw mismatch();
  }
  throw mismatch('; the symbolic dims are not fixed, so only a dataset of the same rank with equal fixed dims fits');
}

function checkLabelRange(dataset: LoadedDataset, model: Model): void {
  if (!(dataset.y instanceof Int32Array) || dataset.yShape.length > 0) return;
  const out = model.graph.outputs[0];
  const k = out?.shape && out.shape.length >= 2 ? out.shape[out.shape.length - 1] : null;
  if (typeof k !== 'number') return;
  const classes = k === 1 ? 2 : k;
  const i = dataset.y.findIndex((v) => v < 0 || v >= classes);
  if (i < 0) return;
  throw new AppError(
    'BAD_DATASET',
    `label y[${i}] = ${dataset.y[i]} is not a class index in 0..${classes - 1} (model output "${out!.name}" has ${k} value${k === 1 ? '' : 's'} per sample)`,
    { index: i, label: dataset.y[i], classes },
  );
}

/** Equal rank and every fixed model dim equal; symbolic model dims match anything. */
function matches(data: number[], model: Dim[]): boolean {
  return data.length === model.length && model.every((d, i) => typeof d !== 'number' || d === data[i]);
}

/** CHW images to the model's CHW or HWC layout and size; null when the model is neither. */
function adaptImages(dataset: LoadedDataset, target: Dim[]): { dataset: LoadedDataset; note: string } | null {
  const [c, h, w] = dataset.sampleShape as [number, number, number];
  const isChannels = (d: Dim) => d === 1 || d === 3;
  const channelsLast = !isChannels(target[0]!) && isChannels(target[2]!);
  const [tc, th, tw] = (channelsLast ? [target[2], target[0], target[1]] : target).map((d, i) => (typeof d === 'number' ? d : [c, h, w][i]!)) as [number, number, number];
  if (!isChannels(tc) || !isChannels(c)) return null;
  const per = tc * th * tw;
  const x = new Float32Array(dataset.count * per);
  for (let s = 0; s < dataset.count; s++) {
    const img = dataset.x.subarray(s * c * h * w, (s + 1) * c * h * w);
    let out = convertChannels(resizeBilinear(img, c, h, w, th, tw), c, th * tw, tc);
    if (channelsLast) out = chwToHwc(out, tc, th, tw);
    x.set(out, s * per);
  }
  const notes: string[] = [];
  if (h !== th || w !== tw) notes.push(`resized ${h}x${w} -> ${th}x${tw}`);
  if (c !== tc) notes.push(`${c} -> ${tc} channels`);
  if (channelsLast) notes.push('CHW -> HWC');
  const sampleShape = channelsLast ? [th, tw, tc] : [tc, th, tw];
  return { dataset: { ...dataset, x, sampleShape }, note: notes.join('; ') || 'unchanged' };
}
