/**
 * Fields every analyzer result type has (added by defineResultType, so a result type file
 * declares only its own): the warnings the analysis raised and the input-range facts of the
 * data it ran on (datasets/inputCheck.ts), and the symbolic input dims fixed from the dataset's
 * sample shape (analyzers/common/fixed-dims.ts). Nullable: results cached before these existed lack them.
 */
import { Field, Float, Int, ObjectType, type ClassType } from 'type-graphql';

@ObjectType('InputCheck', { description: 'The range of the input values the model was run on, against the range it expects.' })
export class InputCheckType {
  @Field(() => Float)
  observedMin!: number;

  @Field(() => Float)
  observedMax!: number;

  @Field(() => Float)
  expectedMin!: number;

  @Field(() => Float)
  expectedMax!: number;

  @Field(() => String, { description: 'Where the expected range came from: dataset expectedRange, inputRange param, model metadata, or the default.' })
  expectedFrom!: string;

  @Field(() => String, { description: 'Whose preprocessing was applied: dataset, model, image-folder default or none.' })
  preprocessingSource!: string;

  @Field(() => String, { description: 'The preprocessing applied, in one line.' })
  preprocessing!: string;

  @Field(() => Int)
  samples!: number;

  @Field(() => Int, { description: 'Samples whose values are all equal (degenerate inputs).' })
  constantSamples!: number;
}

@ObjectType('FixedDim', { description: "A symbolic input dim the analysis fixed from the dataset's sample shape." })
export class FixedDimType {
  @Field(() => String)
  input!: string;

  @Field(() => Int, { description: 'Position in the input shape (0 is the batch, never fixed).' })
  axis!: number;

  @Field(() => String, { description: "The model's name for the dim ('' when it had none)." })
  symbol!: string;

  @Field(() => Int)
  value!: number;
}

const added = new WeakSet<ClassType>();

export function addSharedResultFields(cls: ClassType): void {
  if (added.has(cls)) return;
  added.add(cls);
  const proto = cls.prototype as object;
  Field(() => [String], { nullable: true, description: 'Warnings about this analysis, e.g. inputs far outside the range the model expects.' })(proto, 'warnings');
  Field(() => Int, { nullable: true, description: 'Number of warnings (gate rules: ANALYSIS.warningCount == 0).' })(proto, 'warningCount');
  Field(() => InputCheckType, { nullable: true, description: 'Input range seen against the one expected; null without a dataset.' })(proto, 'inputCheck');
  Field(() => [FixedDimType], { nullable: true, description: "Input dims the model left symbolic, fixed from the dataset's sample shape; null when none were." })(proto, 'fixedDims');
}
