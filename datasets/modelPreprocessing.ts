/**
 * Preprocessing a model declares in its ONNX metadata_props. The key scheme:
 *
 *   onnxscope.preprocessing   JSON object with the keys of a dataset's spec (preprocessing.ts),
 *                             e.g. {"scale": "1/255", "mean": [0.1307], "std": [0.3081]}
 *   onnxscope.input_range     "MIN,MAX": the range the model's input was trained on
 *                             (the same as "expectedRange" inside onnxscope.preprocessing)
 *
 * The spec applies to a dataset that has no value steps of its own; the input range is what
 * the input-range check (inputCheck.ts) compares the data with. A malformed entry is BAD_MODEL.
 */
import { AppError } from '../common/errors.js';
import type { Model } from '../native/onnx/ir.js';
import { parsePreprocessing, type Preprocessing } from './preprocessing.js';

export const PREPROCESSING_KEY = 'onnxscope.preprocessing';
export const INPUT_RANGE_KEY = 'onnxscope.input_range';

/** The model's declared preprocessing (expectedRange from onnxscope.input_range), or null when it declares none. */
export function modelPreprocessing(model: Model): Preprocessing | null {
  const meta = model.metadata ?? {};
  const json = meta[PREPROCESSING_KEY];
  const range = meta[INPUT_RANGE_KEY];
  if (json === undefined && range === undefined) return null;
  let spec: Preprocessing = {};
  try {
    if (json !== undefined) spec = parsePreprocessing(JSON.parse(json) as unknown, `model metadata ${PREPROCESSING_KEY}`);
    if (range !== undefined) spec = { ...spec, ...parsePreprocessing({ expectedRange: range }, `model metadata ${INPUT_RANGE_KEY}`) };
  } catch (err) {
    throw new AppError('BAD_MODEL', err instanceof SyntaxError ? `model metadata ${PREPROCESSING_KEY} is not JSON: ${err.message}` : (err as Error).message);
  }
  return spec;
}
