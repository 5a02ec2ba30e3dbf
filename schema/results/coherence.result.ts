/** GraphQL type of the coherence analyzer's result (analyzers/coherence/index.ts is the source). */
import type { CheckpointCoherence as Checkpoint, CoherenceReport as Report, CoherenceResult as Result, LayerCoherence as Layer } from '../../analyzers/coherence/index.js';
import type { CoherenceMetrics as Metrics } from '../../analyzers/coherence/metrics.js';
import { bool, float, int, list, nullable, obj, objectType, str, type Fields } from '../fields.js';
import { defineResultType } from './registry.js';

const metricsFields: Fields<Metrics> = {
  examples: int(),
  alpha: float('||sum g_i||^2 / (m sum ||g_i||^2).'),
  mCoherence: float('m alpha: 1 for orthogonal gradients, m for identical ones.'),
  gradientDiversity: float('Gradient diversity (Yin et al.): sum ||g_i||^2 / ||sum g_i||^2.'),
  sumGradSqNorm: float(),
  sumOfSqNorms: float(),
  gsnrMean: float('Mean gradient signal-to-noise ratio over parameters (Liu et al.).'),
  gsnrMedian: float(),
};

export const CoherenceMetrics = objectType<Metrics>('CoherenceMetrics', 'Coherence of per-example gradients (Chatterjee & Zielinski).', metricsFields);

export const LayerCoherence = objectType<Layer>('LayerCoherence', undefined, {
  ...metricsFields,
  name: str(),
  size: int(),
});

export const CoherenceReport = objectType<Report>('CoherenceReport', undefined, {
  metrics: obj(CoherenceMetrics),
  perLayer: list(obj(LayerCoherence)),
});

export const CheckpointCoherence = objectType<Checkpoint>('CheckpointCoherence', undefined, {
  model: str('sha256 of the checkpoint.'),
  real: obj(CoherenceReport),
  randomLabels: nullable(obj(CoherenceReport)),
});

export const CoherenceResult = objectType<Result>('CoherenceResult', 'Gradient coherence with a shuffled-label control and an optional checkpoint series.', {
  examples: int(),
  parameterCount: int(),
  lossKind: str(),
  precision: str(),
  batched: bool(),
  real: obj(CoherenceReport),
  randomLabels: nullable(obj(CoherenceReport)),
  series: nullable(list(obj(CheckpointCoherence))),
  notes: list(str()),
});

export default defineResultType('coherence', CoherenceResult);
