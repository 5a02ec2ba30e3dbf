import { Field, Float, Int, ObjectType } from 'type-graphql';
import { defineResultType } from './registry.js';

@ObjectType({ description: 'One saliency map: a sample, the class explained, the map at the layer and at the input resolution.' })
export class SaliencyMap {
  @Field(() => Int, { description: 'Dataset index of the sample.' })
  index!: number;

  @Field(() => Int, { description: 'Class whose score was explained.' })
  target!: number;

  @Field(() => Int, { nullable: true, description: "The dataset's label (null without labels)." })
  label!: number | null;

  @Field(() => Int, { description: 'Highest-scoring class.' })
  predicted!: number;

  @Field(() => Float, { description: "The target's score (pre-softmax)." })
  score!: number;

  @Field(() => Float, { description: "The target's softmax probability." })
  probability!: number;

  @Field(() => String, { description: "Layer tensor; several joined by '+' when combined." })
  layer!: string;

  @Field(() => [Int], { description: '[h, w] of values.' })
  shape!: number[];

  @Field(() => [Float], { description: 'Min-max normalized map, row-major.' })
  values!: number[];

  @Field(() => [Int], { description: '[H, W] of the input.' })
  upsampledShape!: number[];

  @Field(() => [Float], { description: 'The map bilinearly resized to the input (half-pixel centres, as cv2.resize / torch interpolate).' })
  upsampled!: number[];

  @Field(() => Float, { description: 'Minimum of the raw map before normalization.' })
  rawMin!: number;

  @Field(() => Float, { description: 'Maximum of the raw map before normalization (0 with rawMin 0: an all-zero map).' })
  rawMax!: number;

  @Field(() => String, { nullable: true, description: 'File name of the PNG heatmap overlay (saliency_<index>.png), when artifacts were collected.' })
  overlay!: string | null;
}

@ObjectType({ description: 'A per-sample metric and its mean.' })
export class SaliencyClassSensitivity {
  @Field(() => Float, { description: 'Mean Spearman correlation between the maps of the top and the bottom class (lower: more class-sensitive).' })
  mean!: number;

  @Field(() => [Float])
  perIndex!: number[];
}

@ObjectType({ description: 'A deletion or insertion curve (RISE, Petsiuk et al. 2018).' })
export class SaliencyCurve {
  @Field(() => Float, { description: 'Mean area under the target-probability curve (deletion: lower is better; insertion: higher).' })
  meanAuc!: number;

  @Field(() => Int, { description: 'Steps; curves have steps + 1 points.' })
  steps!: number;

  @Field(() => [Float])
  perIndex!: number[];

  @Field(() => [Float], { description: 'Mean curve over the samples.' })
  meanCurve!: number[];
}

@ObjectType({ description: 'One step of the cascading model-parameter randomization (Adebayo et al. 2018).' })
export class SaliencyRandomizationStep {
  @Field(() => [String], { description: 'Nodes whose weights have been re-drawn, top first.' })
  randomized!: string[];

  @Field(() => Float, { description: 'Mean Spearman rank correlation of the maps with the original maps.' })
  meanSpearman!: number;

  @Field(() => [Float])
  perIndex!: number[];
}

@ObjectType({ description: 'Model randomization sanity check: maps must change when the weights they explain are destroyed.' })
export class SaliencyRandomization {
  @Field(() => [SaliencyRandomizationStep])
  steps!: SaliencyRandomizationStep[];

  @Field(() => Float, { description: 'Mean Spearman after the last step (every listed layer re-drawn).' })
  finalSpearman!: number;
}

@ObjectType({ description: 'Saliency quality metrics (null when not requested).' })
export class SaliencyMetrics {
  @Field(() => SaliencyClassSensitivity, { nullable: true })
  classSensitivity!: SaliencyClassSensitivity | null;

  @Field(() => SaliencyCurve, { nullable: true })
  deletion!: SaliencyCurve | null;

  @Field(() => SaliencyCurve, { nullable: true })
  insertion!: SaliencyCurve | null;

  @Field(() => SaliencyRandomization, { nullable: true })
  randomization!: SaliencyRandomization | null;
}

@ObjectType({ description: 'Result of the saliency analyzer: NormGrad, Grad-CAM++, Smooth Grad-CAM++, Grad-CAM, gradient or SmoothGrad maps.' })
export class SaliencyResult {
  @Field(() => String)
  method!: string;

  @Field(() => String, { nullable: true, description: 'NormGrad variant: virtual-identity, proper or selective.' })
  variant!: string | null;

  @Field(() => [String], { description: 'Layer tensors (the input for gradient methods).' })
  layers!: string[];

  @Field(() => String, { nullable: true, description: 'sum or geometric, for multi-layer maps.' })
  combine!: string | null;

  @Field(() => [Float], { nullable: true })
  weights!: number[] | null;

  @Field(() => String, { description: 'Tensor differentiated: the logits before a final (Log)Softmax or Sigmoid, else the output.' })
  scoreTensor!: string;

  @Field(() => String, { description: "label, predicted or a class index." })
  targetMode!: string;

  @Field(() => Int, { nullable: true, description: 'Noisy copies (smooth methods).' })
  samples!: number | null;

  @Field(() => Float, { nullable: true, description: 'Noise level relative to the input range (smooth methods).' })
  sigma!: number | null;

  @Field(() => Int)
  numClasses!: number;

  @Field(() => [Int], { description: 'Per-sample input shape.' })
  inputShape!: number[];

  @Field(() => Boolean, { description: 'False when the model kept a fixed batch of 1 and ran one sample at a time.' })
  batched!: boolean;

  @Field(() => [SaliencyMap])
  maps!: SaliencyMap[];

  @Field(() => SaliencyMetrics, { nullable: true })
  metrics!: SaliencyMetrics | null;

  @Field(() => [String], { description: 'Layers suitable for the layer param (conv/activation outputs with a spatial map).' })
  candidateLayers!: string[];

  @Field(() => [String])
  notes!: string[];
}

export default defineResultType('saliency', SaliencyResult);
