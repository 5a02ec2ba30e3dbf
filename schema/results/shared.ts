/**
 * Fields every analyzer result type has (added by defineResultType, so a result type file
 * declares only its own): the warnings the analysis raised and the input-range facts of the
 * data it ran on (datasets/inputCheck.ts), and the symbolic input dims fixed from the dataset's
 * sample shape (analyzers/common/fixed-dims.ts). Nullable: results cached before these existed lack them.
 */
import type { ClassType } from 'type-graphql';
import type { InputCheck } from '../../datasets/inputCheck.js';
import type { FixedDim } from '../../analyzers/common/fixed-dims.js';
import { declareFields, float, int, list, nullable, obj, objectType, str } from '../fields.js';

export const InputCheckType = objectType<InputCheck>('InputCheck', 'The range of the input values the model was run on, against the range it expects.', {
  observedMin: float(),
  observedMax: float(),
  expectedMin: float(),
  expectedMax: float(),
  expectedFrom: str('Where the expected range came from: dataset expectedRange, inputRange param, model metadata, or the default.'),
  preprocessingSource: str('Whose preprocessing was applied: dataset, model, image-folder default or none.'),
  preprocessing: str('The preprocessing applied, in one line.'),
  samples: int(),
  constantSamples: int('Samples whose values are all equal (degenerate inputs).'),
});

export const FixedDimType = objectType<FixedDim>('FixedDim', "A symbolic input dim the analysis fixed from the dataset's sample shape.", {
  input: str(),
  axis: int('Position in the input shape (0 is the batch, never fixed).'),
  symbol: str("The model's name for the dim ('' when it had none)."),
  value: int(),
});

/** What service/jobs/execute.ts adds to every object result. */
export interface SharedResultFields {
  warnings?: string[];
  warningCount?: number;
  inputCheck?: InputCheck;
  fixedDims?: FixedDim[];
}

const added = new WeakSet<ClassType>();

export function addSharedResultFields(cls: ClassType): void {
  if (added.has(cls)) return;
  added.add(cls);
  declareFields<SharedResultFields>(cls, {
    warnings: nullable(list(str()), 'Warnings about this analysis, e.g. inputs far outside the range the model expects.'),
    warningCount: nullable(int('Number of warnings (gate rules: ANALYSIS.warningCount == 0).')),
    inputCheck: nullable(obj(InputCheckType), 'Input range seen against the one expected; null without a dataset.'),
    fixedDims: nullable(list(obj(FixedDimType)), "Input dims the model left symbolic, fixed from the dataset's sample shape; null when none were."),
  });
}
