/** GraphQL type of the blindspots analyzer's result (analyzers/blindspots). */
import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType()
export class BlindspotDistances {
  @Field(() => Float)
  l2!: number;

  @Field(() => Float)
  linf!: number;

  @Field(() => Float, { nullable: true, description: 'Structural similarity; null for inputs that are not images.' })
  ssim!: number | null;
}

@ObjectType({ description: 'One level-set traversal from a source image toward a target image.' })
export class BlindspotPair {
  @Field(() => Int)
  source!: number;

  @Field(() => Int)
  target!: number;

  @Field(() => Int)
  sourceClass!: number;

  @Field(() => Int)
  targetClass!: number;

  @Field(() => Float)
  initialConfidence!: number;

  @Field(() => Float)
  finalConfidence!: number;

  @Field(() => Int)
  finalPredicted!: number;

  @Field(() => Int)
  acceptedSteps!: number;

  @Field(() => [Float], { description: 'Source-class confidence sampled over the iterations.' })
  confidenceTrace!: number[];

  @Field(() => BlindspotDistances)
  initialDistance!: BlindspotDistances;

  @Field(() => BlindspotDistances)
  finalDistance!: BlindspotDistances;

  @Field(() => Float)
  l2Reduction!: number;

  @Field(() => [Float], { description: 'Confidence on the straight line from the source to the end point.' })
  lineConfidence!: number[];
}

@ObjectType()
export class BlindspotDeltaFraction {
  @Field(() => Float)
  delta!: number;

  @Field(() => Float)
  fraction!: number;
}

@ObjectType()
export class BlindspotTriangle {
  @Field(() => Int)
  grid!: number;

  @Field(() => Int)
  points!: number;

  @Field(() => [BlindspotDeltaFraction])
  fractionAbove!: BlindspotDeltaFraction[];
}

@ObjectType()
export class BlindspotSourceGeometry {
  @Field(() => Int)
  source!: number;

  @Field(() => [Int])
  endpoints!: number[];

  @Field(() => BlindspotTriangle)
  triangle!: BlindspotTriangle;
}

@ObjectType({ description: 'Level-set traversal results: blind spots of the model around each source image.' })
export class BlindspotsResult {
  @Field(() => [BlindspotPair])
  pairs!: BlindspotPair[];

  @Field(() => [BlindspotSourceGeometry])
  triangles!: BlindspotSourceGeometry[];

  @Field(() => Float)
  meanL2Reduction!: number;

  @Field(() => Float, { description: 'Fraction of end points still predicted as the source class.' })
  keptSourceClass!: number;

  @Field(() => [Int])
  sampleShape!: number[];
}

export default defineResultType('blindspots', BlindspotsResult);
