/** GraphQL type of the landscape analyzer's result (analyzers/landscape/result.ts is the source). */
import type { CurveReport, LandscapeResult as Result, PathReport, Surface1D, Surface2D } from '../../analyzers/landscape/result.js';
import { bool, float, int, list, nullable, obj, objectType, str } from '../fields.js';
import { defineResultType } from './registry.js';

export const LandscapeSurface1D = objectType<Surface1D>('LandscapeSurface1D', 'Loss (and accuracy) along one filter-normalized random direction.', {
  alphas: list(float()),
  losses: list(float()),
  accuracies: list(float(), 'null entries for regression.', true),
});

export const LandscapeSurface2D = objectType<Surface2D>('LandscapeSurface2D', 'Loss on a grid spanned by two filter-normalized random directions.', {
  alphas: list(float()),
  betas: list(float()),
  losses: list(list(float()), 'losses[j][i] at theta + alpha_i d1 + beta_j d2.'),
  directionCosine: float('cos(d1, d2).'),
});

export const LandscapePath = objectType<PathReport>('LandscapePath', 'Loss and accuracy along the straight line between two models.', {
  ts: list(float()),
  losses: list(float()),
  accuracies: list(float(), undefined, true),
  barrier: float('max_t L(t) - max(L0, L1).'),
  mcLinear: float('(L0 + L1)/2 - L(t*), t* = argmax_t |(L0 + L1)/2 - L(t)| (Yang et al. 2021).'),
  tStar: float(),
});

export const LandscapeCurve = objectType<CurveReport>('LandscapeCurve', 'Loss along a quadratic Bezier curve with a trained bend (Garipov et al. 2018).', {
  ts: list(float()),
  losses: list(float()),
  accuracies: list(float(), undefined, true),
  barrier: float(),
  mc: float('Mode connectivity on the curve: < 0 barrier, > 0 dip below the end points, ~ 0 connected.'),
  tStar: float(),
  epochs: int(),
  lr: float(),
  epochLosses: list(float(), 'Mean minibatch loss on the curve per training epoch.'),
  steps: int(),
});

export const LandscapeCka = objectType<NonNullable<Result["cka"]>>('LandscapeCka', 'Linear CKA (Kornblith et al. 2019) between the two models on the dataset.', {
  layer: str(),
  value: float(),
  examples: int(),
  width: int(),
});

export const LandscapeResult = objectType<Result>('LandscapeResult', 'Loss landscape around a model and between two models.', {
  parameterCount: int(),
  examples: int(),
  lossKind: str(),
  precision: str(),
  batched: bool(),
  seed: int(),
  normalization: str(),
  ignoreBiasAndNorm: bool(),
  loss: float(),
  accuracy: nullable(float()),
  otherModel: nullable(str('sha256 of the other model.')),
  surface1d: nullable(obj(LandscapeSurface1D)),
  surface2d: nullable(obj(LandscapeSurface2D)),
  interpolation: nullable(obj(LandscapePath)),
  curve: nullable(obj(LandscapeCurve)),
  cka: nullable(obj(LandscapeCka)),
  notes: list(str()),
});

export default defineResultType('landscape', LandscapeResult);
