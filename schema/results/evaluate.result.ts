/** GraphQL type of the evaluate analyzer's result (analyzers/evaluate, EvaluateResult). */
import type { EvaluateResult as Result } from '../../analyzers/evaluate/index.js';
import type { PerClass } from '../../analyzers/evaluate/metrics.js';
import { bool, float, int, list, nullable, obj, objectType, str } from '../fields.js';
import { defineResultType } from './registry.js';

export const ClassAccuracy = objectType<PerClass>('ClassAccuracy', undefined, {
  class: int(),
  name: nullable(str()),
  count: int(),
  correct: int(),
  accuracy: nullable(float('null when the class has no samples.')),
});

export const EvaluateResult = objectType<Result>('EvaluateResult', 'Loss and accuracy of a model over a dataset, with throughput and batching facts.', {
  lossKind: str('cross-entropy, nll, nll-of-probabilities, binary-cross-entropy or mse.'),
  outputKind: str('What the model output was taken to be (logits, log-probabilities, ...).'),
  loss: float('Mean loss over the evaluated samples.'),
  accuracy: nullable(float('null for regression.')),
  correct: nullable(int()),
  numClasses: nullable(int()),
  perClassAccuracy: nullable(list(obj(ClassAccuracy))),
  confusionMatrix: nullable(list(list(int()), 'confusionMatrix[true][predicted].')),
  count: int('Samples evaluated.'),
  output: nullable(str('The model output evaluated (null in results cached before it was reported).')),
  labelLayout: nullable(str('How labels relate to the output: class, per-position or dense (null in results cached before it was reported).')),
  throughput: float('Samples per second, excluding session setup.'),
  runMs: float(),
  batchSize: int(),
  batched: bool('False when a fixed-batch-1 model ran one sample at a time.'),
  batchingNote: nullable(str()),
  reshapedInput: bool('Whether x was reshaped to the model input (same element count).'),
  inputShape: list(int()),
  datasetSampleShape: list(int()),
  provider: nullable(str('Execution provider the run used.')),
});

export default defineResultType('evaluate', EvaluateResult);
