/**
 * How a dataset's labels relate to a model output, from shapes alone (DESIGN.md loss
 * conventions): one class index per sample (`class`), one per position of a sequence or map with
 * the classes on the last axis (`per-position`: [N, T, C] with y [N, T]), one per pixel with the
 * classes on axis 1 (`per-pixel`: a segmentation net's [N, C, H, W] with y [N, H, W], the layout
 * of ONNX SoftmaxCrossEntropyLoss and PyTorch's CrossEntropyLoss), or a target of the output's
 * own shape (`dense`: BCE on a sigmoid map, MSE otherwise). When both per-position and per-pixel
 * fit (every dim equal) the classes are taken to be last. The autodiff's loss head and the
 * evaluate analyzer both read it, so they agree on every model.
 */
import { AppError } from '../../common/errors.js';

export type LabelLayout = 'class' | 'per-position' | 'per-pixel' | 'dense';

/**
 * How labels of per-sample shape `labelShape` relate to the output (see the header): one class
 * index per sample, one per position, or a dense target. Throws BAD_DATASET when they fit none.
 */
export function labelLayout(output: string, outDims: readonly (number | string | null)[] | null, labelShape: number[], mse: boolean): LabelLayout {
  const perSample = outDims ? outDims.slice(1) : null;
  const known = perSample !== null && perSample.every((d): d is number => typeof d === 'number');
  const fmt = (dims: readonly (number | string | null)[]) => `[${dims.map((d) => d ?? '?').join(', ')}]`;
  if (mse) return 'dense';
  if (labelShape.length === 0) {
    if (known && perSample.filter((d) => d > 1).length > 1) {
      throw new AppError(
        'BAD_DATASET',
        `output "${output}" has per-sample shape ${fmt(perSample)}, not one class vector, but y holds one label per sample: ` +
          `give y per-sample shape ${fmt(perSample.slice(0, -1))} (a class index per position, classes on the last axis), ` +
          `${fmt(perSample.slice(1))} (a class index per pixel, classes on axis 1 as in [N, C, H, W]) ` +
          `or ${fmt(perSample)} (a target map: BCE on a sigmoid map, else MSE), or pick another output with the output param`,
        { output, outputShape: perSample, labelShape },
      );
    }
    return 'class';
  }
  const same = (a: readonly (number | string | null)[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (known && same(perSample, labelShape)) return 'dense';
  if (known && perSample.length >= 2 && same(perSample.slice(0, -1), labelShape)) return 'per-position';
  if (known && perSample.length >= 2 && same(perSample.slice(1), labelShape)) return 'per-pixel';
  const dims = perSample ?? ['?'];
  throw new AppError(
    'BAD_DATASET',
    `y has per-sample shape ${fmt(labelShape)}, which fits output "${output}" of per-sample shape ${fmt(dims)} in no way: ` +
      `a class index per sample needs y of shape [], per position (classes last) ${fmt(dims.slice(0, -1))}, ` +
      `per pixel (classes on axis 1) ${fmt(dims.slice(1))}, a target map ${fmt(dims)}`,
    { output, outputShape: perSample, labelShape },
  );
}
