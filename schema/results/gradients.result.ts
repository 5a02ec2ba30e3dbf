/** GraphQL type of the gradients analyzer's result (analyzers/gradients). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'Gradient of the loss restricted to one parameter tensor.' })
export class GradientTensor {
  @Field(() => String)
  name!: string;

  @Field(() => [Int])
  shape!: number[];

  @Field(() => Int)
  size!: number;

  @Field(() => Float, { description: 'L2 norm of this tensor\'s gradient.' })
  norm!: number;

  @Field(() => Float)
  maxAbs!: number;
}

@ObjectType({ description: 'Mean loss over the dataset and its exact gradient w.r.t. the parameters.' })
export class GradientsResult {
  @Field(() => Float)
  loss!: number;

  @Field(() => String)
  lossKind!: string;

  @Field(() => Float)
  gradNorm!: number;

  @Field(() => Int)
  parameterCount!: number;

  @Field(() => Int)
  samples!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Boolean)
  batched!: boolean;

  @Field(() => String, { description: 'float32 or float64.' })
  precision!: string;

  @Field(() => [GradientTensor])
  tensors!: GradientTensor[];

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('gradients', GradientsResult);
