/** GraphQL type of the landscape analyzer's result (analyzers/landscape/result.ts). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'Loss (and accuracy) along one filter-normalized random direction.' })
export class LandscapeSurface1D {
  @Field(() => [Float])
  alphas!: number[];

  @Field(() => [Float])
  losses!: number[];

  @Field(() => [Float], { nullable: 'items', description: 'null entries for regression.' })
  accuracies!: Array<number | null>;
}

@ObjectType({ description: 'Loss on a grid spanned by two filter-normalized random directions.' })
export class LandscapeSurface2D {
  @Field(() => [Float])
  alphas!: number[];

  @Field(() => [Float])
  betas!: number[];

  @Field(() => [[Float]], { description: 'losses[j][i] at theta + alpha_i d1 + beta_j d2.' })
  losses!: number[][];

  @Field(() => Float, { description: 'cos(d1, d2).' })
  directionCosine!: number;
}

@ObjectType({ description: 'Loss and accuracy along the straight line between two models.' })
export class LandscapePath {
  @Field(() => [Float])
  ts!: number[];

  @Field(() => [Float])
  losses!: number[];

  @Field(() => [Float], { nullable: 'items' })
  accuracies!: Array<number | null>;

  @Field(() => Float, { description: 'max_t L(t) - max(L0, L1).' })
  barrier!: number;

  @Field(() => Float, { description: '(L0 + L1)/2 - L(t*), t* = argmax_t |(L0 + L1)/2 - L(t)| (Yang et al. 2021).' })
  mcLinear!: number;

  @Field(() => Float)
  tStar!: number;
}

@ObjectType({ description: 'Loss along a quadratic Bezier curve with a trained bend (Garipov et al. 2018).' })
export class LandscapeCurve {
  @Field(() => [Float])
  ts!: number[];

  @Field(() => [Float])
  losses!: number[];

  @Field(() => [Float], { nullable: 'items' })
  accuracies!: Array<number | null>;

  @Field(() => Float)
  barrier!: number;

  @Field(() => Float, { description: 'Mode connectivity on the curve: < 0 barrier, > 0 dip below the end points, ~ 0 connected.' })
  mc!: number;

  @Field(() => Float)
  tStar!: number;

  @Field(() => Int)
  epochs!: number;

  @Field(() => Float)
  lr!: number;

  @Field(() => [Float], { description: 'Mean minibatch loss on the curve per training epoch.' })
  epochLosses!: number[];

  @Field(() => Int)
  steps!: number;
}

@ObjectType({ description: 'Linear CKA (Kornblith et al. 2019) between the two models on the dataset.' })
export class LandscapeCka {
  @Field(() => String)
  layer!: string;

  @Field(() => Float)
  value!: number;

  @Field(() => Int)
  examples!: number;

  @Field(() => Int)
  width!: number;
}

@ObjectType({ description: 'Loss landscape around a model and between two models.' })
export class LandscapeResult {
  @Field(() => Int)
  parameterCount!: number;

  @Field(() => Int)
  examples!: number;

  @Field(() => String)
  lossKind!: string;

  @Field(() => String)
  precision!: string;

  @Field(() => Boolean)
  batched!: boolean;

  @Field(() => Int)
  seed!: number;

  @Field(() => String)
  normalization!: string;

  @Field(() => Boolean)
  ignoreBiasAndNorm!: boolean;

  @Field(() => Float)
  loss!: number;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => String, { nullable: true, description: 'sha256 of the other model.' })
  otherModel!: string | null;

  @Field(() => LandscapeSurface1D, { nullable: true })
  surface1d!: LandscapeSurface1D | null;

  @Field(() => LandscapeSurface2D, { nullable: true })
  surface2d!: LandscapeSurface2D | null;

  @Field(() => LandscapePath, { nullable: true })
  interpolation!: LandscapePath | null;

  @Field(() => LandscapeCurve, { nullable: true })
  curve!: LandscapeCurve | null;

  @Field(() => LandscapeCka, { nullable: true })
  cka!: LandscapeCka | null;

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('landscape', LandscapeResult);
