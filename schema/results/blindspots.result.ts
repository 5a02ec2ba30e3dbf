/** GraphQL type of the blindspots analyzer's result (analyzers/blindspots). */
import type { BlindspotsResult as Result, Distances, PairResult, SourceGeometry } from '../../analyzers/blindspots/index.js';
import type { TriangleStats } from '../../analyzers/blindspots/geometry.js';
import { float, int, list, nullable, obj, objectType } from '../fields.js';
import { defineResultType } from './registry.js';

export const BlindspotDistances = objectType<Distances>('BlindspotDistances', undefined, {
  l2: float(),
  linf: float(),
  ssim: nullable(float('Structural similarity; null for inputs that are not images.')),
});

export const BlindspotPair = objectType<PairResult>('BlindspotPair', 'One level-set traversal from a source image toward a target image.', {
  source: int(),
  target: int(),
  sourceClass: int(),
  targetClass: int(),
  initialConfidence: float(),
  finalConfidence: float(),
  finalPredicted: int(),
  acceptedSteps: int(),
  confidenceTrace: list(float(), 'Source-class confidence sampled over the iterations.'),
  initialDistance: obj(BlindspotDistances),
  finalDistance: obj(BlindspotDistances),
  l2Reduction: float(),
  lineConfidence: list(float(), 'Confidence on the straight line from the source to the end point.'),
});

export const BlindspotDeltaFraction = objectType<TriangleStats["fractionAbove"][number]>('BlindspotDeltaFraction', undefined, {
  delta: float(),
  fraction: float(),
});

export const BlindspotTriangle = objectType<TriangleStats>('BlindspotTriangle', undefined, {
  grid: int(),
  points: int(),
  fractionAbove: list(obj(BlindspotDeltaFraction)),
});

export const BlindspotSourceGeometry = objectType<SourceGeometry>('BlindspotSourceGeometry', undefined, {
  source: int(),
  endpoints: list(int()),
  triangle: obj(BlindspotTriangle),
});

export const BlindspotsResult = objectType<Result>('BlindspotsResult', 'Level-set traversal results: blind spots of the model around each source image.', {
  pairs: list(obj(BlindspotPair)),
  triangles: list(obj(BlindspotSourceGeometry)),
  meanL2Reduction: float(),
  keptSourceClass: float('Fraction of end points still predicted as the source class.'),
  sampleShape: list(int()),
});

export default defineResultType('blindspots', BlindspotsResult);
