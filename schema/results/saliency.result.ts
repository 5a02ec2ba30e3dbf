/** GraphQL type of the saliency analyzer's result (analyzers/saliency/index.ts is the source). */
import type { SaliencyMap as SaliencyMapI, SaliencyMetrics as Metrics, SaliencyResult as Result } from '../../analyzers/saliency/index.js';
import type { CurveResult, RandomizationStep } from '../../analyzers/saliency/quality.js';
import { bool, float, int, list, nullable, obj, objectType, str } from '../fields.js';
import { defineResultType } from './registry.js';

export const SaliencyMap = objectType<SaliencyMapI>('SaliencyMap', 'One saliency map: a sample, the class explained, the map at the layer and at the input resolution.', {
  index: int('Dataset index of the sample.'),
  target: int('Class whose score was explained.'),
  label: nullable(int("The dataset's label (null without labels).")),
  predicted: int('Highest-scoring class.'),
  score: float("The target's score (pre-softmax)."),
  probability: float("The target's softmax probability."),
  layer: str("Layer tensor; several joined by '+' when combined."),
  shape: list(int(), '[h, w] of values.'),
  values: list(float(), 'Min-max normalized map, row-major.'),
  upsampledShape: list(int(), '[H, W] of the input.'),
  upsampled: list(float(), 'The map bilinearly resized to the input (half-pixel centres, as cv2.resize / torch interpolate).'),
  rawMin: float('Minimum of the raw map before normalization.'),
  rawMax: float('Maximum of the raw map before normalization (0 with rawMin 0: an all-zero map).'),
  overlay: nullable(str('File name of the PNG heatmap overlay (saliency_<index>.png), when artifacts were collected.')),
});

export const SaliencyClassSensitivity = objectType<NonNullable<Metrics["classSensitivity"]>>('SaliencyClassSensitivity', 'A per-sample metric and its mean.', {
  mean: float('Mean Spearman correlation between the maps of the top and the bottom class (lower: more class-sensitive).'),
  perIndex: list(float()),
});

export const SaliencyCurve = objectType<CurveResult>('SaliencyCurve', 'A deletion or insertion curve (RISE, Petsiuk et al. 2018).', {
  meanAuc: float('Mean area under the target-probability curve (deletion: lower is better; insertion: higher).'),
  steps: int('Steps; curves have steps + 1 points.'),
  perIndex: list(float()),
  meanCurve: list(float(), 'Mean curve over the samples.'),
});

export const SaliencyRandomizationStep = objectType<RandomizationStep>('SaliencyRandomizationStep', 'One step of the cascading model-parameter randomization (Adebayo et al. 2018).', {
  randomized: list(str(), 'Nodes whose weights have been re-drawn, top first.'),
  meanSpearman: float('Mean Spearman rank correlation of the maps with the original maps.'),
  perIndex: list(float()),
});

export const SaliencyRandomization = objectType<NonNullable<Metrics["randomization"]>>('SaliencyRandomization', 'Model randomization sanity check: maps must change when the weights they explain are destroyed.', {
  steps: list(obj(SaliencyRandomizationStep)),
  finalSpearman: float('Mean Spearman after the last step (every listed layer re-drawn).'),
});

export const SaliencyMetrics = objectType<Metrics>('SaliencyMetrics', 'Saliency quality metrics (null when not requested).', {
  classSensitivity: nullable(obj(SaliencyClassSensitivity)),
  deletion: nullable(obj(SaliencyCurve)),
  insertion: nullable(obj(SaliencyCurve)),
  randomization: nullable(obj(SaliencyRandomization)),
});

export const SaliencyResult = objectType<Result>('SaliencyResult', 'Result of the saliency analyzer: NormGrad, Grad-CAM++, Smooth Grad-CAM++, Grad-CAM, gradient or SmoothGrad maps.', {
  method: str(),
  variant: nullable(str('NormGrad variant: virtual-identity, proper or selective.')),
  layers: list(str(), 'Layer tensors (the input for gradient methods).'),
  combine: nullable(str('sum or geometric, for multi-layer maps.')),
  weights: nullable(list(float())),
  scoreTensor: str('Tensor differentiated: the logits before a final (Log)Softmax or Sigmoid, else the output.'),
  targetMode: str("label, predicted or a class index."),
  samples: nullable(int('Noisy copies (smooth methods).')),
  sigma: nullable(float('Noise level relative to the input range (smooth methods).')),
  numClasses: int(),
  inputShape: list(int(), 'Per-sample input shape.'),
  batched: bool('False when the model kept a fixed batch of 1 and ran one sample at a time.'),
  maps: list(obj(SaliencyMap)),
  metrics: nullable(obj(SaliencyMetrics)),
  candidateLayers: list(str(), 'Layers suitable for the layer param (conv/activation outputs with a spatial map).'),
  notes: list(str()),
});

export default defineResultType('saliency', SaliencyResult);
