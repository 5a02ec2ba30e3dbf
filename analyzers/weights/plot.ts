/**
 * A layer's ESD on log-log axes (the plot Martin & Mahoney read tails from): the density of λ in
 * log-spaced bins, the fitted power law over [xmin, λ_max] scaled to the tail's share of the
 * eigenvalues, and the shuffled control's density. Drawn by the shared line plot.
 */
import { linePlot, type Series } from '../common/plot.js';
import type { LayerSpectrum } from './result.js';

/** log10 of the density of lambdas in `bins` log-spaced bins: x = log10 bin centre (empty bins left out). */
export function logDensity(lambdas: Float64Array, bins = 40): { x: number[]; y: number[] } {
  const logs = Array.from(lambdas, (l) => Math.log10(l)).filter(Number.isFinite);
  if (logs.length === 0) return { x: [], y: [] };
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const width = (hi - lo) / bins || 1;
  const counts = new Float64Array(bins);
  for (const v of logs) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]! += 1;
  const x: number[] = [];
  const y: number[] = [];
  counts.forEach((c, i) => {
    if (c === 0) return;
    const a = 10 ** (lo + i * width);
    const b = 10 ** (lo + (i + 1) * width);
    x.push(lo + (i + 0.5) * width);
    y.push(Math.log10(c / (lambdas.length * (b - a))));
  });
  return { x, y };
}

export function esdSvg(layer: LayerSpectrum, esd: Float64Array, shuffledEsd: Float64Array | null): string {
  const series: Series[] = [{ name: 'ESD', ...logDensity(esd), colour: '#1f77b4' }];
  if (shuffledEsd) series.push({ name: 'shuffled W', ...logDensity(shuffledEsd), colour: '#7f7f7f' });
  if (layer.alpha !== null && layer.xmin !== null) {
    const { alpha, xmin } = layer;
    const share = layer.tailCount / layer.eigenvalueCount;
    const x0 = Math.log10(xmin);
    const x1 = Math.log10(layer.lambdaMax);
    const xs = [x0, x1 > x0 ? x1 : x0 + 1];
    // p(λ) = share · (alpha - 1)/xmin · (λ/xmin)^(-alpha) for λ >= xmin.
    const ys = xs.map((lx) => Math.log10(share * ((alpha - 1) / xmin)) - alpha * (lx - x0));
    series.push({ name: `power law alpha=${alpha.toFixed(2)}`, x: xs, y: ys, colour: '#d62728' });
  }
  return linePlot(`ESD of ${layer.name} (${layer.n}×${layer.m}, ${layer.matrices} matrices)`, 'log10 eigenvalue', 'log10 density', series);
}
