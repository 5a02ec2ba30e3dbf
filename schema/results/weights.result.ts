/** GraphQL type of the weights analyzer's result (analyzers/weights/result.ts is the source). */
import type { LayerSpectrum, ShuffledControl, SpectrumMeans, WeightsResult as Result, WeightsSummary as Summary } from '../../analyzers/weights/result.js';
import { bool, float, int, list, nullable, obj, objectType, str, type Fields } from '../fields.js';
import { defineResultType } from './registry.js';

export const WeightsShuffledControl = objectType<ShuffledControl>('WeightsShuffledControl', 'The metrics of a layer with its weight entries shuffled: a random matrix with the same entries.', {
  lambdaMax: float(),
  alpha: nullable(float()),
  numSpikes: int(),
  mpSoftrank: float(),
});

export const WeightsLayer = objectType<LayerSpectrum>('WeightsLayer', 'One weight matrix (or conv kernel): the ESD of X = WᵀW/N and its heavy-tail metrics.', {
  name: str('The weight tensor.'),
  node: str(),
  opType: str(),
  tensorShape: list(int()),
  n: int('N = max(rows, cols) of each matrix; λ = σ²/N.'),
  m: int('M = min(rows, cols).'),
  matrices: int('Matrices whose eigenvalues form the ESD (kernel positions for conv slices).'),
  parameterCount: int(),
  svdMethod: str('full (every singular value) or randomized (the top topK, Halko et al. 2011).'),
  eigenvalueCount: int(),
  lambdaMax: float(),
  lambdaMin: float(),
  alpha: nullable(float('Power-law exponent of the ESD tail (MLE, xmin by KS; Clauset et al. 2009); null when too few eigenvalues.')),
  alphaStdErr: nullable(float('(alpha - 1)/sqrt(tailCount).')),
  xmin: nullable(float()),
  ksDistance: nullable(float('KS distance between the tail and the fitted law.')),
  tailCount: int(),
  alphaWeighted: nullable(float('alpha · log10 λ_max (alpha-hat).')),
  logSpectralNorm: float('log10 λ_max.'),
  logNorm: float('log10 Σλ = log10 ‖W‖_F²/N.'),
  logAlphaNorm: nullable(float('log10 Σλ^alpha.')),
  stableRank: float('Σλ/λ_max = ‖W‖_F²/‖W‖₂².'),
  mpSoftrank: float('MP bulk edge λ_+ over λ_max.'),
  numSpikes: int('Eigenvalues above the MP bulk edge plus its Tracy–Widom 99% allowance.'),
  mpBulkMin: float(),
  mpBulkMax: float(),
  mpSpikeThreshold: float(),
  shuffled: nullable(obj(WeightsShuffledControl)),
  correlationTrap: nullable(bool('The shuffled matrix still has spikes (large single entries).')),
  randDistance: nullable(float('Jensen–Shannon distance between the ESD and the shuffled control’s.')),
});

const meansFields: Fields<SpectrumMeans> = {
  alpha: nullable(float()),
  alphaWeighted: nullable(float()),
  logAlphaNorm: nullable(float()),
  logSpectralNorm: nullable(float()),
  logNorm: nullable(float()),
  stableRank: nullable(float()),
  mpSoftrank: nullable(float()),
  randDistance: nullable(float()),
};

export const WeightsMeans = objectType<SpectrumMeans>('WeightsMeans', 'Means of the layer metrics (alpha-based ones over the layers with a fit).', meansFields);

export const WeightsSummary = objectType<Summary>('WeightsSummary', 'Model-level summary: plain means over layers (as WeightWatcher), extremes, totals, and size-weighted means.', {
  ...meansFields,
  layers: int(),
  fittedLayers: int(),
  alphaMin: nullable(float()),
  alphaMax: nullable(float()),
  numSpikes: int('Spikes summed over layers.'),
  correlationTraps: int('Layers whose shuffled control has spikes.'),
  sizeWeighted: obj(WeightsMeans, 'Means weighted by layer parameter count.'),
});

export const WeightsResult = objectType<Result>('WeightsResult', 'Data-free weight-spectrum analysis (Heavy-Tailed Self-Regularization, Martin & Mahoney 2021).', {
  convMode: str('slices (one [out, in] matrix per kernel position, WeightWatcher) or flatten ([out, in·k·k]).'),
  parameterCount: int(),
  summary: obj(WeightsSummary),
  layers: list(obj(WeightsLayer)),
  notes: list(str()),
});

export default defineResultType('weights', WeightsResult);
