/**
 * Model-level summaries of the per-layer metrics: plain means over layers (WeightWatcher's
 * `get_summary`) and means weighted by layer size (parameter count), the form the Nature
 * Communications paper's model-quality metrics take when layers differ widely in size.
 */
import type { LayerSpectrum, SpectrumMeans, WeightsSummary } from './result.js';

const MEAN_FIELDS = ['alpha', 'alphaWeighted', 'logAlphaNorm', 'logSpectralNorm', 'logNorm', 'stableRank', 'mpSoftrank', 'randDistance'] as const;

function means(layers: LayerSpectrum[], weight: (l: LayerSpectrum) => number): SpectrumMeans {
  const out = {} as SpectrumMeans;
  for (const f of MEAN_FIELDS) {
    let sum = 0;
    let total = 0;
    for (const l of layers) {
      const v = l[f];
      if (v === null || !Number.isFinite(v)) continue;
      sum += weight(l) * v;
      total += weight(l);
    }
    out[f] = total > 0 ? sum / total : null;
  }
  return out;
}

export function summarize(layers: LayerSpectrum[]): WeightsSummary {
  const alphas = layers.map((l) => l.alpha).filter((a): a is number => a !== null);
  return {
    layers: layers.length,
    fittedLayers: alphas.length,
    ...means(layers, () => 1),
    alphaMin: alphas.length ? Math.min(...alphas) : null,
    alphaMax: alphas.length ? Math.max(...alphas) : null,
    numSpikes: layers.reduce((s, l) => s + l.numSpikes, 0),
    correlationTraps: layers.filter((l) => l.correlationTrap).length,
    sizeWeighted: means(layers, (l) => l.parameterCount),
  };
}
