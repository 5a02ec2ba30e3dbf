/** The weights analyzer's result (mirrored by schema/results/weights.result.ts). */
import type { EsdMetrics } from './esd.js';
import type { ConvMode } from './matrices.js';
import type { SvdMethod } from './svd.js';

/** The same metrics on the layer's entries shuffled (a random matrix with W's entry distribution). */
export interface ShuffledControl {
  lambdaMax: number;
  alpha: number | null;
  numSpikes: number;
  mpSoftrank: number;
}

export interface LayerSpectrum extends EsdMetrics {
  /** The weight tensor's name. */
  name: string;
  node: string;
  opType: string;
  tensorShape: number[];
  /** N >= M: each matrix is N × M (or M × N); λ = σ² / N. */
  n: number;
  m: number;
  /** Matrices whose eigenvalues form the ESD (kernel positions for conv slices, else 1). */
  matrices: number;
  parameterCount: number;
  svdMethod: SvdMethod;
  /** Marchenko–Pastur bulk of a random matrix of this shape with W's mean squared entry. */
  mpBulkMin: number;
  mpBulkMax: number;
  mpSpikeThreshold: number;
  shuffled: ShuffledControl | null;
  /** The shuffled matrix still has spikes: large single entries (WeightWatcher's "correlation trap"). */
  correlationTrap: boolean | null;
  /** Jensen–Shannon distance between the ESD and the shuffled control's (0 = indistinguishable). */
  randDistance: number | null;
}

/** Means over layers: alpha-based ones over the layers with a fit. */
export interface SpectrumMeans {
  alpha: number | null;
  alphaWeighted: number | null;
  logAlphaNorm: number | null;
  logSpectralNorm: number | null;
  logNorm: number | null;
  stableRank: number | null;
  mpSoftrank: number | null;
  randDistance: number | null;
}

export interface WeightsSummary extends SpectrumMeans {
  layers: number;
  fittedLayers: number;
  alphaMin: number | null;
  alphaMax: number | null;
  /** Spikes summed over layers. */
  numSpikes: number;
  correlationTraps: number;
  /** The same means weighted by each layer's parameter count. */
  sizeWeighted: SpectrumMeans;
}

export interface WeightsResult {
  convMode: ConvMode;
  parameterCount: number;
  summary: WeightsSummary;
  layers: LayerSpectrum[];
  notes: string[];
}
