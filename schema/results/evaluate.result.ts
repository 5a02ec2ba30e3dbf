/** GraphQL type of the evaluate analyzer's result (analyzers/evaluate, EvaluateResult). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType()
export class ClassAccuracy {
  @Field(() => Int)
  class!: number;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => Int)
  count!: number;

  @Field(() => Int)
  correct!: number;

  @Field(() => Float, { nullable: true, description: 'null when the class has no samples.' })
  accuracy!: number | null;
}

@ObjectType({ description: 'Loss and accuracy of a model over a dataset, with throughput and batching facts.' })
export class EvaluateResult {
  @Field(() => String, { description: 'cross-entropy, nll, nll-of-probabilities, binary-cross-entropy or mse.' })
  lossKind!: string;

  @Field(() => String, { description: 'What the model output was taken to be (logits, log-probabilities, ...).' })
  outputKind!: string;

  @Field(() => Float, { description: 'Mean loss over the evaluated samples.' })
  loss!: number;

  @Field(() => Float, { nullable: true, description: 'null for regression.' })
  accuracy!: number | null;

  @Field(() => Int, { nullable: true })
  correct!: number | null;

  @Field(() => Int, { nullable: true })
  numClasses!: number | null;

  @Field(() => [ClassAccuracy], { nullable: true })
  perClassAccuracy!: ClassAccuracy[] | null;

  @Field(() => [[Int]], { nullable: true, description: 'confusionMatrix[true][predicted].' })
  confusionMatrix!: number[][] | null;

  @Field(() => Int, { description: 'Samples evaluated.' })
  count!: number;

  @Field(() => Float, { description: 'Samples per second, excluding session setup.' })
  throughput!: number;

  @Field(() => Float)
  runMs!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Boolean, { description: 'False when a fixed-batch-1 model ran one sample at a time.' })
  batched!: boolean;

  @Field(() => String, { nullable: true })
  batchingNote!: string | null;

  @Field(() => Boolean, { description: 'Whether x was reshaped to the model input (same element count).' })
  reshapedInput!: boolean;

  @Field(() => [Int])
  inputShape!: number[];

  @Field(() => [Int])
  datasetSampleShape!: number[];

  @Field(() => String, { nullable: true, description: 'Execution provider the run used.' })
  provider!: string | null;
}

export default defineResultType('evaluate', EvaluateResult);
