/** GraphQL type of the gradients analyzer's result (analyzers/gradients/index.ts is the source). */
import type { GradientsResult as Result, TensorGradient } from '../../analyzers/gradients/index.js';
import { bool, float, int, list, obj, objectType, str } from '../fields.js';
import { defineResultType } from './registry.js';

export const GradientTensor = objectType<TensorGradient>('GradientTensor', 'Gradient of the loss restricted to one parameter tensor.', {
  name: str(),
  shape: list(int()),
  size: int(),
  norm: float('L2 norm of this tensor\'s gradient.'),
  maxAbs: float(),
});

export const GradientsResult = objectType<Result>('GradientsResult', 'Mean loss over the dataset and its exact gradient w.r.t. the parameters.', {
  loss: float(),
  lossKind: str(),
  gradNorm: float(),
  parameterCount: int(),
  samples: int(),
  batchSize: int(),
  batched: bool(),
  precision: str('float32 or float64.'),
  tensors: list(obj(GradientTensor)),
  notes: list(str()),
});

export default defineResultType('gradients', GradientsResult);
