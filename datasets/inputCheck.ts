/**
 * Input-range hygiene: the range of the values a model was run on, compared with the range it
 * expects, so an analysis of 0..255 pixels on a model trained on [0, 1] says so instead of
 * quietly reporting meaningless numbers. Every analysis with a dataset gets it (service/jobs/
 * execute.ts adds it to the result as `inputCheck` and `warnings`).
 *
 * The expected range, first found of:
 *   1. the dataset's preprocessing `expectedRange` (what the user says the model was trained on);
 *   2. the analysis param `inputRange` (safety's box; the user's statement of the valid inputs);
 *   3. the model's metadata (onnxscope.input_range, or expectedRange in onnxscope.preprocessing);
 *   4. a default of [-1, 1]: inputs normalized the usual ways ([0, 1], [-1, 1], mean/std) lie
 *      within a small multiple of it.
 * Far out of range: the observed magnitude max(|min|, |max|) is more than FAR times the
 * expected one; for a declared range (1-3) also less than 1/FAR of it (data scaled twice).
 * Degenerate inputs: samples whose values are all equal (blank images) are counted.
 */
import type { LoadedDataset } from './types.js';

/** The analysis params this check reads (inputRange), as the analyzers hold them. */
type ParamValues = Readonly<Record<string, unknown>>;
import type { Model } from '../native/onnx/ir.js';
import { modelPreprocessing, INPUT_RANGE_KEY } from './modelPreprocessing.js';
import { describePreprocessing } from './preprocessing.js';
import { valueRange } from '../common/range.js';

/** How many times the expected magnitude counts as far out of range. */
export const FAR = 10;

export const DEFAULT_EXPECTED_RANGE: [number, number] = [-1, 1];

export interface InputCheck {
  observedMin: number;
  observedMax: number;
  expectedMin: number;
  expectedMax: number;
  /** Where the expected range came from (see the file comment). */
  expectedFrom: string;
  /** dataset, model, image-folder default or none. */
  preprocessingSource: string;
  /** The preprocessing applied, in one line ("scale=0.00392157"). */
  preprocessing: string;
  samples: number;
  constantSamples: number;
}

const fmt = (v: number): string => String(Number(v.toPrecision(4)));
const range = (lo: number, hi: number) => `[${fmt(lo)}, ${fmt(hi)}]`;
const magnitude = (lo: number, hi: number) => Math.max(Math.abs(lo), Math.abs(hi));

function expectedRange(dataset: LoadedDataset, model: Model, params: ParamValues): { range: [number, number]; from: string; declared: boolean } {
  const own = dataset.preprocessing?.source === 'dataset' ? dataset.preprocessing.spec.expectedRange : undefined;
  if (own) return { range: own, from: 'the dataset preprocessing expectedRange', declared: true };
  const param = params.inputRange;
  if (Array.isArray(param) && param.length === 2 && param.every((v) => typeof v === 'number')) {
    return { range: [param[0] as number, param[1] as number], from: 'the inputRange param', declared: true };
  }
  const declared = modelPreprocessing(model)?.expectedRange;
  if (declared) return { range: declared, from: `the model metadata (${INPUT_RANGE_KEY})`, declared: true };
  return { range: DEFAULT_EXPECTED_RANGE, from: 'the default for normalized inputs, as the model declares no range', declared: false };
}

export function checkInputs(dataset: LoadedDataset, model: Model, params: ParamValues): { inputCheck: InputCheck; warnings: string[] } {
  const [lo, hi] = valueRange(dataset.x) ?? [0, 0];
  const expected = expectedRange(dataset, model, params);
  const [elo, ehi] = expected.range;
  const per = dataset.count > 0 ? dataset.x.length / dataset.count : 0;
  let constant = 0;
  let firstConstant = -1;
  for (let s = 0; s < dataset.count && per > 1; s++) {
    const v0 = dataset.x[s * per]!;
    let same = true;
    for (let i = s * per + 1; i < (s + 1) * per && same; i++) same = dataset.x[i] === v0;
    if (same) {
      constant++;
      if (firstConstant < 0) firstConstant = s;
    }
  }
  const spec = dataset.preprocessing?.spec ?? {};
  const inputCheck: InputCheck = {
    observedMin: lo,
    observedMax: hi,
    expectedMin: elo,
    expectedMax: ehi,
    expectedFrom: expected.from,
    preprocessingSource: dataset.preprocessing?.source ?? 'none',
    preprocessing: describePreprocessing(spec),
    samples: dataset.count,
    constantSamples: constant,
  };
  const warnings: string[] = [];
  const seen = magnitude(lo, hi);
  const wanted = magnitude(elo, ehi);
  const ratio = wanted > 0 ? seen / wanted : Infinity;
  const what = `input values span ${range(lo, hi)} but the model expects about ${range(elo, ehi)} (from ${expected.from})`;
  const applied = `preprocessing: ${inputCheck.preprocessing} (${inputCheck.preprocessingSource})`;
  if (ratio > FAR) {
    warnings.push(`${what}: ${fmt(ratio)} times the expected magnitude; ${applied}. Is a scale missing (e.g. --scale 1/255) or a mean/std?`);
  } else if (expected.declared && seen > 0 && ratio < 1 / FAR) {
    warnings.push(`${what}: 1/${fmt(1 / ratio)} of the expected magnitude; ${applied}. Is the data scaled twice?`);
  }
  if (constant > 0) {
    warnings.push(`${constant} of ${dataset.count} samples are constant (every value equal; first: sample ${firstConstant}, value ${fmt(dataset.x[firstConstant * per]!)}): degenerate inputs`);
  }
  return { inputCheck, warnings };
}
